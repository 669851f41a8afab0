/// Moving the bytes of a copy-up: no engine state, so it can run without the engine lock.
enum DataCopy {
    /// Copies bytes from `source` to `target`, by reflink if the filesystem shares extents, else
    /// segment by segment over `SEEK_DATA`/`SEEK_HOLE` so holes stay holes. A source that is not
    /// `sparse` (its blocks cover its size) is copied as one segment, without asking for holes.
    ///
    /// Without `cloning` no reflink is tried. Returns whether the file systems refused one (they will
    /// again: the caller may stop asking).
    @discardableResult
    static func copy(
        from source: FileDescriptor, to target: FileDescriptor, size: Int64, sparse: Bool, cloning: Bool = true
    ) throws(Errno) -> Bool {
        guard size > 0 else { return false }
        var refused = false
        if cloning {
            do {
                try target.cloneContents(of: source)
                return false
            } catch {
                refused = error == .notSupported || error == .improperLink || error == .invalidArgument
                    || error == .inappropriateIOCTLForDevice
            }
        }
        guard sparse else {
            try copyRange(from: source, to: target, start: 0, end: size)
            return refused
        }
        var offset: Int64 = 0
        while offset < size {
            var start = offset
            var end = size
            do {
                guard let data = try source.nextData(from: offset) else { break }
                start = data
                end = min(try source.nextHole(from: data), size)
            } catch where error == .invalidArgument || error == .notSupported {
                // No hole reporting here: the rest is data.
            }
            try copyRange(from: source, to: target, start: start, end: end)
            offset = end
        }
        // A hole at the end is not copied: the size makes it.
        try target.truncate(to: size)
        return refused
    }

    private static func copyRange(from source: FileDescriptor, to target: FileDescriptor, start: Int64, end: Int64)
        throws(Errno)
    {
        var position = start
        while position < end {
            let copied: Int64
            do {
                copied = try target.copyRange(
                    from: source, sourceOffset: position, offset: position, count: end - position)
            } catch where error == .improperLink || error == .invalidArgument || error == .noFunction
                || error == .notSupported
            {
                let bytes = try source.read(count: Int(min(end - position, 1 << 20)), at: position)
                guard !bytes.isEmpty else { return }
                copied = Int64(try target.write(bytes, at: position))
            }
            guard copied > 0 else { return }
            position += copied
        }
    }
}

extension FileStatus {
    /// Whether the file can have holes: its allocated blocks do not cover its size.
    var mayHaveHoles: Bool { blocks * 512 < size }
}
