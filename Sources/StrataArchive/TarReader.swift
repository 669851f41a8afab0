import CArchive
import Crypto
import StrataSystem
import SystemPackage

/// Reads a layer blob (tar, tar+gzip or tar+zstd) entry by entry, and digests it as it goes.
///
/// Two libarchive readers form a pipeline: the first only decompresses (format "raw", the one filter the
/// media type names), the second parses tar from the first one's output. Every byte read from the blob
/// is hashed into `compressedDigest`, every decompressed byte into `uncompressedDigest` (the OCI diffID),
/// so one pass over a blob both unpacks and verifies it. The digests are final only after `finish()`,
/// which reads whatever follows the tar end marker.
///
/// A reader is used by one thread at a time; it owns its buffers and frees them in `close()`.
public final class TarReader {
    private let input: Input
    private let tar: OpaquePointer
    private var finished = false

    /// Opens the blob behind `file` (read from its current offset) compressed as `compression`.
    /// The descriptor stays the caller's.
    public init(file: FileDescriptor, compression: LayerCompression) throws(ArchiveError) {
        let source = Source(file: file)
        var decompressor: OpaquePointer?
        if compression != .none {
            guard let stage = unsafe archive_read_new() else { throw ArchiveError("libarchive: out of memory") }
            decompressor = stage
            let filterStatus = compression == .gzip
                ? unsafe archive_read_support_filter_gzip(stage) : unsafe archive_read_support_filter_zstd(stage)
            guard filterStatus == ARCHIVE_OK, unsafe archive_read_support_format_raw(stage) == ARCHIVE_OK else {
                let reason = unsafe Self.message(of: stage)
                unsafe archive_read_free(stage)
                throw ArchiveError("this libarchive cannot read \(compression.rawValue) streams: \(reason)")
            }
        }
        input = Input(source: source, decompressor: decompressor)
        guard let tar = unsafe archive_read_new() else {
            input.release()
            throw ArchiveError("libarchive: out of memory")
        }
        self.tar = tar
        unsafe archive_read_support_format_tar(tar)
        let context = unsafe Unmanaged.passUnretained(input).toOpaque()
        if let decompressor {
            let opened = unsafe archive_read_open2(decompressor, Unmanaged.passUnretained(source).toOpaque(),
                                                   nil, sourceRead, nil, nil)
            var header: OpaquePointer?
            guard opened == ARCHIVE_OK, unsafe archive_read_next_header(decompressor, &header) == ARCHIVE_OK else {
                let reason = source.failure.map { "\($0)" } ?? Self.message(of: decompressor)
                close()
                throw ArchiveError("not a \(compression.rawValue) stream: \(reason)")
            }
            let code = unsafe archive_filter_code(decompressor, 0)
            let expected = compression == .gzip ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_ZSTD
            guard code == expected else {
                close()
                throw ArchiveError("not a \(compression.rawValue) stream (its media type says it is)")
            }
        }
        guard unsafe archive_read_open2(tar, context, nil, pipelineRead, nil, nil) == ARCHIVE_OK else {
            let reason = input.failure ?? Self.message(of: tar)
            close()
            throw ArchiveError("not a tar stream: \(reason)")
        }
    }

    deinit { close() }

    /// The next header, or nil at the end of the archive. Data not read by `writeData(to:)` is skipped.
    public func nextEntry() throws(ArchiveError) -> ArchiveEntry? {
        var raw: OpaquePointer?
        let status = unsafe archive_read_next_header(tar, &raw)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let raw else { throw failure("corrupt tar stream") }
        return try unsafe Self.entry(from: raw)
    }

    /// Writes the current entry's data into `file` at the offsets the archive gives (holes of a sparse
    /// entry stay holes) and returns the number of data bytes written. The caller sets the final size.
    public func writeData(to file: FileDescriptor) throws(ArchiveError) -> Int64 {
        var written: Int64 = 0
        while true {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = unsafe archive_read_data_block(tar, &block, &size, &offset)
            if status == ARCHIVE_EOF { return written }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { throw failure("corrupt file data") }
            guard size > 0, let block else { continue }
            do {
                _ = try unsafe file.writeAll(toAbsoluteOffset: offset, UnsafeRawBufferPointer(start: block, count: size))
            } catch {
                throw ArchiveError("writing unpacked data", errno: error as? Errno)
            }
            written += Int64(size)
        }
    }

    /// Reads the current entry's data into memory (for small entries only: configuration files, tests).
    public func readData(limit: Int) throws(ArchiveError) -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            var block: UnsafeRawPointer?
            var size = 0
            var offset: Int64 = 0
            let status = unsafe archive_read_data_block(tar, &block, &size, &offset)
            if status == ARCHIVE_EOF { return bytes }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { throw failure("corrupt file data") }
            guard offset + Int64(size) <= Int64(limit) else { throw ArchiveError("entry larger than \(limit) bytes") }
            if bytes.count < Int(offset) { bytes += [UInt8](repeating: 0, count: Int(offset) - bytes.count) }
            if let block, size > 0 {
                unsafe bytes.append(contentsOf: UnsafeRawBufferPointer(start: block, count: size))
            }
        }
    }

    /// Reads the rest of the blob (padding after the tar end marker, the compressed stream's trailer),
    /// so that the digests cover every byte. Call it after `nextEntry()` returned nil.
    public func finish() throws(ArchiveError) {
        guard !finished else { return }
        if let decompressor = input.decompressor {
            while true {
                let count = unsafe archive_read_data(decompressor, input.buffer.baseAddress, input.buffer.count)
                if count == 0 { break }
                guard count > 0 else {
                    throw ArchiveError("corrupt compressed stream: \(input.source.failure.map { "\($0)" } ?? Self.message(of: decompressor))")
                }
                unsafe input.uncompressed.update(bufferPointer: UnsafeRawBufferPointer(rebasing: input.buffer[..<count]))
                input.uncompressedSize += Int64(count)
            }
        }
        while try input.source.read() > 0 {}
        if let error = input.source.failure { throw ArchiveError("reading the blob", errno: error) }
        finished = true
    }

    /// The digest of every byte read from the blob (complete after `finish()`).
    public var compressedDigest: ContentDigest {
        input.decompressor == nil ? ContentDigest(finishing: input.uncompressed) : ContentDigest(finishing: input.source.hasher)
    }
    /// The digest of the decompressed tar stream, the OCI diffID (complete after `finish()`).
    public var uncompressedDigest: ContentDigest { ContentDigest(finishing: input.uncompressed) }
    public var compressedSize: Int64 { input.source.size }
    public var uncompressedSize: Int64 { input.uncompressedSize }

    /// Frees libarchive's state; the reader is unusable afterwards. Safe to call twice.
    public func close() {
        input.closeTar(tar)
    }

    private func failure(_ what: String) -> ArchiveError {
        if let reason = input.failure { return ArchiveError("\(what): \(reason)") }
        return ArchiveError("\(what): \(unsafe Self.message(of: tar))")
    }

    static func message(of archive: OpaquePointer) -> String {
        guard let text = unsafe archive_error_string(archive) else { return "unknown libarchive error" }
        return unsafe String(cString: text)
    }

    /// A name of an entry: its UTF-8 form where the header has one (pax records are UTF-8, and the
    /// process's locale, C, could not convert them), else the header's bytes as they are.
    private static func name(_ utf8: UnsafePointer<CChar>?, _ bytes: UnsafePointer<CChar>?) -> String? {
        unsafe (utf8 ?? bytes).map { unsafe FileName.decode(cString: $0) }
    }

    private static func entry(from raw: OpaquePointer) throws(ArchiveError) -> ArchiveEntry {
        // Names are bytes (`FileName`): one that is not UTF-8 is escaped, not repaired.
        let path = unsafe Self.name(archive_entry_pathname_utf8(raw), archive_entry_pathname(raw)) ?? ""
        let kind: ArchiveEntry.Kind
        var target: String?
        if let hardLink = unsafe archive_entry_hardlink(raw) {
            kind = .hardLink
            target = unsafe Self.name(archive_entry_hardlink_utf8(raw), hardLink)
        } else {
            switch UInt32(unsafe archive_entry_filetype(raw)) {
            case carchive_type_regular: kind = .regular
            case carchive_type_directory: kind = .directory
            case carchive_type_symlink:
                kind = .symbolicLink
                target = unsafe Self.name(archive_entry_symlink_utf8(raw), archive_entry_symlink(raw)) ?? ""
            case carchive_type_character: kind = .characterDevice
            case carchive_type_block: kind = .blockDevice
            case carchive_type_fifo: kind = .fifo
            case carchive_type_socket: kind = .socket
            default: throw ArchiveError("entry '\(path)' has an unsupported type")
            }
        }
        let user = unsafe archive_entry_uid(raw)
        let group = unsafe archive_entry_gid(raw)
        guard (0..<Int64(UInt32.max)).contains(user), (0..<Int64(UInt32.max)).contains(group) else {
            throw ArchiveError("entry '\(path)' has an impossible owner \(user):\(group)")
        }
        var attributes: [ArchiveEntry.ExtendedAttribute] = []
        if unsafe archive_entry_xattr_reset(raw) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while unsafe archive_entry_xattr_next(raw, &name, &value, &size) == ARCHIVE_OK {
                guard let name = unsafe name else { continue }
                let bytes = unsafe value.map { unsafe [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                // libarchive's pax headers carry each attribute twice (LIBARCHIVE.xattr and SCHILY.xattr).
                let decoded = unsafe FileName.decode(cString: name)
                if !attributes.contains(where: { FileName.sameBytes($0.name, decoded) }) {
                    attributes.append(.init(name: decoded, value: bytes))
                }
            }
            // A name that is not UTF-8 comes back twice: as its bytes (SCHILY.xattr) and percent-encoded
            // as libarchive wrote it (LIBARCHIVE.xattr). The encoded copy goes.
            let listed = attributes
            attributes.removeAll { (attribute) in
                guard let original = Self.percentDecoded(attribute.name), original != Array(attribute.name.utf8) else { return false }
                return listed.contains { FileName.bytes(of: $0.name) == original && $0.value == attribute.value }
            }
        }
        return ArchiveEntry(
            path: path, kind: kind,
            permissions: UInt32(unsafe archive_entry_perm(raw)) & 0o7777,
            userID: UInt32(user), groupID: UInt32(group),
            size: kind == .regular ? unsafe archive_entry_size(raw) : 0,
            modification: TimeSpec(seconds: Int64(unsafe archive_entry_mtime(raw)),
                                   nanoseconds: Int64(unsafe archive_entry_mtime_nsec(raw))),
            linkTarget: target,
            device: makeDevice(major: UInt32(truncatingIfNeeded: unsafe archive_entry_rdevmajor(raw)),
                               minor: UInt32(truncatingIfNeeded: unsafe archive_entry_rdevminor(raw))),
            extendedAttributes: attributes)
    }
}

/// The blob: a descriptor, a buffer, and the hash of everything read from it.
private final class Source {
    let file: FileDescriptor
    let buffer: UnsafeMutableRawBufferPointer
    var hasher = SHA256()
    var size: Int64 = 0
    var failure: Errno?

    init(file: FileDescriptor) {
        self.file = file
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit { unsafe buffer.deallocate() }

    /// Reads the next chunk into `buffer`, hashing it; 0 at the end, -1 on error (kept in `failure`).
    func read() throws(ArchiveError) -> Int {
        do {
            let count = try unsafe file.read(into: buffer)
            unsafe hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            size += Int64(count)
            return count
        } catch {
            failure = error as? Errno ?? .ioError
            return -1
        }
    }
}

/// What the tar reader's callback pulls from: the decompressor, or the blob itself.
private final class Input {
    let source: Source
    var decompressor: OpaquePointer?
    let buffer: UnsafeMutableRawBufferPointer
    var uncompressed = SHA256()
    var uncompressedSize: Int64 = 0
    var failure: String?
    var closed = false

    init(source: Source, decompressor: OpaquePointer?) {
        self.source = source
        self.decompressor = decompressor
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    }

    func closeTar(_ tar: OpaquePointer?) {
        guard !closed else { return }
        closed = true
        if let tar { unsafe archive_read_free(tar) }
        release()
    }

    func release() {
        if let decompressor { unsafe archive_read_free(decompressor) }
        decompressor = nil
    }

    deinit {
        release()
        unsafe buffer.deallocate()
    }

    /// The next chunk of tar bytes: a count and where they are, or -1 with `failure` set.
    func next() -> (Int, UnsafeRawPointer?) {
        if let decompressor {
            let count = unsafe archive_read_data(decompressor, buffer.baseAddress, buffer.count)
            guard count >= 0 else {
                failure = source.failure.map { "reading the blob: \($0)" }
                    ?? "corrupt compressed stream: \(unsafe TarReader.message(of: decompressor))"
                return (-1, nil)
            }
            unsafe uncompressed.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            uncompressedSize += Int64(count)
            return (count, UnsafeRawPointer(buffer.baseAddress))
        }
        let count = (try? source.read()) ?? -1
        guard count >= 0 else {
            failure = "reading the blob: \(source.failure ?? .ioError)"
            return (-1, nil)
        }
        unsafe uncompressed.update(bufferPointer: UnsafeRawBufferPointer(rebasing: source.buffer[..<count]))
        uncompressedSize += Int64(count)
        return (count, UnsafeRawPointer(source.buffer.baseAddress))
    }
}

/// libarchive's read callback for the decompressor: raw blob bytes.
private let sourceRead: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = {
    _, context, out in
    guard let context = unsafe context, let out = unsafe out else { return -1 }
    let source = unsafe Unmanaged<Source>.fromOpaque(context).takeUnretainedValue()
    let count = (try? source.read()) ?? -1
    unsafe out.pointee = UnsafeRawPointer(source.buffer.baseAddress)
    return count
}

/// libarchive's read callback for the tar parser: decompressed bytes.
private let pipelineRead: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int = {
    _, context, out in
    guard let context = unsafe context, let out = unsafe out else { return -1 }
    let input = unsafe Unmanaged<Input>.fromOpaque(context).takeUnretainedValue()
    let (count, pointer) = input.next()
    unsafe out.pointee = pointer
    return count
}

extension TarReader {
    /// The bytes a `%XX`-encoded name stands for (nil when it holds a malformed escape).
    static func percentDecoded(_ name: String) -> [UInt8]? {
        let utf8 = Array(name.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard utf8[index] == UInt8(ascii: "%") else {
                bytes.append(utf8[index])
                index += 1
                continue
            }
            guard index + 2 < utf8.count else { return nil }
            let digits = String(decoding: utf8[index + 1...index + 2], as: UTF8.self)
            guard digits.allSatisfy(\.isHexDigit), let byte = UInt8(digits, radix: 16) else { return nil }
            bytes.append(byte)
            index += 3
        }
        return bytes
    }
}
