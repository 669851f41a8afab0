/// One directory of one layer as read from disk, with its markers decoded.
///
/// Whiteouts are recognised in every format: a character device 0/0, a zero-size file carrying
/// `overlay.whiteout` inside a directory whose `overlay.opaque` is `x`, and an OCI `.wh.NAME` file.
/// A directory is opaque when its `overlay.opaque` (trusted or user) or `user.fuseoverlayfs.opaque`
/// is `y`, or when it holds `.wh..wh..opq`. Marker files themselves never become entries.
struct LayerDirectory {
    /// How a whiteout is stored, which decides how it is replaced or removed.
    enum Marker: Hashable, Sendable {
        /// A character device 0/0, or an xattr-marked empty file: the entry itself is the marker.
        case inPlace
        /// A separate `.wh.NAME` file next to the name.
        case ociFile
    }

    struct Entry {
        /// The entry's type; `nil` when the name holds only a whiteout.
        var kind: FileKind?
        var inode: UInt64
        /// A whiteout for this name exists in this layer (for OCI, possibly next to a real entry:
        /// a same-layer whiteout hides only the layers below).
        var whiteout: Marker?
        var position: Int

        mutating func fill(kind: FileKind?, inode: UInt64, position: Int) {
            self.kind = kind
            self.inode = inode
            self.position = position
        }
    }

    var entries: [NameKey: Entry] = [:]
    var isOpaque = false
    /// The directory's own `overlay.redirect`, when a kernel upper is used as a lower layer.
    var redirect: String?
    /// The opaque marker is the `.wh..wh..opq` file (rather than an xattr).
    var hasOpaqueMarkerFile = false

    /// Reads the directory `path` of a layer whose root is `root`, then hands the descriptor it read
    /// through (open for reading) to `keep`, which owns it from then on.
    static func read(
        _ path: String, in root: FileDescriptor, keep: (FileDescriptor) -> Void
    ) throws(Errno) -> LayerDirectory {
        let directory = try root.open(beneath: path.isEmpty ? "." : path, flags: openReadOnlyDirectory)
        let result: LayerDirectory
        do {
            result = try read(directory)
        } catch {
            try? directory.close()
            throw error
        }
        keep(directory)
        return result
    }

    /// Reads a directory just opened (`O_RDONLY | O_DIRECTORY`, at its start).
    private static func read(_ directory: FileDescriptor) throws(Errno) -> LayerDirectory {
        var result = LayerDirectory()
        let marks = PrivateMarks.read(in: directory)
        result.isOpaque = marks.isOpaque
        result.redirect = marks.redirect
        let mayHoldAttributeWhiteouts = marks.opaque == "x"
        var position = 0
        let records = try directory.readDirectoryRecords(rewinding: false)
        // Sized once: growing a dictionary of thousands of names rehashes every name at each step.
        result.entries.reserveCapacity(records.count)
        for record in records {
            let name = record.name
            if name.isSameName(as: PrivateNames.opaqueMarker) {
                result.isOpaque = true
                result.hasOpaqueMarkerFile = true
                continue
            }
            if name.hasNamePrefix(PrivateNames.whiteoutPrefix) {
                let target = FileName.dropping(PrivateNames.whiteoutPrefix.utf8.count, bytesOf: name)
                // `.wh..wh.*` are AUFS bookkeeping names; they never whiteout anything.
                if !target.hasNamePrefix(PrivateNames.whiteoutPrefix) && isValidName(target) {
                    result.entries[target, default: Entry(kind: nil, inode: 0, whiteout: nil, position: position)]
                        .whiteout = .ociFile
                    position += 1
                }
                continue
            }
            var kind = FileKind(directoryType: record.type)
            if kind == nil || kind == .characterDevice {
                let status: FileStatus
                do {
                    status = try directory.status(at: name)
                } catch where error == .noSuchFileOrDirectory {
                    continue
                }
                kind = status.kind
                if kind == .characterDevice && status.specialDevice == 0 {
                    result.markWhiteout(name, position: position)
                    position += 1
                    continue
                }
            }
            if kind == .regular && mayHoldAttributeWhiteouts && PrivateMarks.read(at: name, in: directory).whiteout {
                result.markWhiteout(name, position: position)
                position += 1
                continue
            }
            // One hash of the name: filled in place (an OCI whiteout of the same layer may be there).
            result.entries[name, default: Entry(kind: nil, inode: 0, whiteout: nil, position: position)]
                .fill(kind: kind, inode: record.inode, position: position)
            position += 1
        }
        return result
    }

    private mutating func markWhiteout(_ name: String, position: Int) {
        var entry = entries[name] ?? Entry(kind: nil, inode: 0, whiteout: nil, position: position)
        entry.whiteout = .inPlace
        entries[name] = entry
    }

    static func isValidName(_ name: String) -> Bool {
        var dots = 0
        var count = 0
        for byte in name.utf8 {
            if byte == UInt8(ascii: "/") { return false }
            if byte == UInt8(ascii: ".") { dots += 1 }
            count += 1
        }
        return count > 0 && !(dots == count && count <= 2)
    }

    /// The value of one private attribute of a directory, trying the trusted then the user namespace.
    static func attribute(_ key: KeyPath<MetadataAttributes, String>, of directory: FileDescriptor, at name: String = "")
        -> String?
    {
        for namespace in MetadataAttributes.all {
            if let value = try? directory.extendedAttribute(namespace[keyPath: key], at: name) {
                return String(decoding: value, as: UTF8.self)
            }
        }
        return nil
    }
}
