import CArchive
import Crypto
import StrataSystem
import SystemPackage

/// Writes a layer: a pax tar stream, optionally gzip-compressed, into a descriptor, digesting both the
/// tar (the diffID) and the bytes written (the blob digest) as it goes.
///
/// The output is deterministic for the same entries: no user or group names, no access or change
/// times, and a gzip header without a timestamp. Entries are written in the order given.
public final class TarWriter {
    private let output: Output
    private let tar: OpaquePointer
    private var closed = false

    /// Starts a layer written to `file` (at its current offset). The descriptor stays the caller's.
    public init(file: FileDescriptor, compression: LayerCompression) throws(ArchiveError) {
        guard compression != .zstd else { throw ArchiveError("writing tar+zstd layers is not supported; use gzip or none") }
        output = Output(file: file)
        if compression == .gzip {
            guard let stage = unsafe archive_write_new() else { throw ArchiveError("libarchive: out of memory") }
            output.compressor = stage
            unsafe archive_write_add_filter_gzip(stage)
            unsafe archive_write_set_format_raw(stage)
            unsafe archive_write_set_bytes_per_block(stage, 0)
            // "!timestamp": no modification time in the gzip header, so equal layers are equal blobs.
            unsafe archive_write_set_filter_option(stage, "gzip", "timestamp", nil)
            let context = unsafe Unmanaged.passUnretained(output).toOpaque()
            guard unsafe archive_write_open2(stage, context, nil, blobWrite, nil, nil) == ARCHIVE_OK else {
                let reason = TarReader.message(of: stage)
                output.release()
                throw ArchiveError("starting the gzip stream: \(reason)")
            }
            guard let header = unsafe archive_entry_new() else { throw ArchiveError("libarchive: out of memory") }
            unsafe archive_entry_set_filetype(header, carchive_type_regular)
            unsafe archive_entry_set_pathname(header, "layer.tar")
            let status = unsafe archive_write_header(stage, header)
            unsafe archive_entry_free(header)
            guard status == ARCHIVE_OK else {
                let reason = TarReader.message(of: stage)
                output.release()
                throw ArchiveError("starting the gzip stream: \(reason)")
            }
        }
        guard let tar = unsafe archive_write_new() else {
            output.release()
            throw ArchiveError("libarchive: out of memory")
        }
        self.tar = tar
        unsafe archive_write_set_format_pax_restricted(tar)
        // Names are bytes: written as they are, never converted through the process's locale (which
        // refuses every byte above 0x7F in the C locale). A name that is not UTF-8 is marked so in
        // its header (`hdrcharset=BINARY`, POSIX pax).
        unsafe archive_write_set_format_option(tar, "pax", "hdrcharset", "BINARY")
        let context = unsafe Unmanaged.passUnretained(output).toOpaque()
        guard unsafe archive_write_open2(tar, context, nil, tarWrite, nil, nil) == ARCHIVE_OK else {
            let reason = TarReader.message(of: tar)
            unsafe archive_write_free(tar)
            output.release()
            throw ArchiveError("starting the tar stream: \(reason)")
        }
    }

    deinit {
        if !closed {
            unsafe archive_write_free(tar)
            output.release()
        }
    }

    /// Appends `entry`; for a regular file, its `entry.size` bytes are read from `data` (from offset 0).
    public func append(_ entry: ArchiveEntry, data: FileDescriptor? = nil) throws(ArchiveError) {
        try append(entry) { () throws(ArchiveError) -> [UInt8] in [] } rawData: { (offset, buffer) throws(ArchiveError) -> Int in
            guard let data else { throw ArchiveError("no data given for '\(entry.path)'") }
            do {
                return try unsafe data.read(fromAbsoluteOffset: offset, into: buffer)
            } catch {
                throw ArchiveError("reading '\(entry.path)'", errno: error as? Errno)
            }
        }
    }

    /// Appends `entry`; for a regular file, `read(offset, count)` returns the next bytes of its data
    /// (fewer than asked only at its end).
    public func append(_ entry: ArchiveEntry, read: (Int64, Int) throws(ArchiveError) -> [UInt8]) throws(ArchiveError) {
        var pending: [UInt8] = []
        try append(entry) { () throws(ArchiveError) -> [UInt8] in pending } rawData: { (offset, buffer) throws(ArchiveError) -> Int in
            pending = try read(offset, buffer.count)
            return pending.count
        }
    }

    private func append(
        _ entry: ArchiveEntry, chunk: () throws(ArchiveError) -> [UInt8],
        rawData: (Int64, UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int
    ) throws(ArchiveError) {
        guard let raw = unsafe archive_entry_new() else { throw ArchiveError("libarchive: out of memory") }
        defer { unsafe archive_entry_free(raw) }
        // Names are bytes (`FileName`): escapes become the bytes they stand for again.
        guard unsafe FileName.withCString(entry.path, { unsafe archive_entry_set_pathname(raw, $0) }) != nil else {
            throw ArchiveError("'\(entry.path)' is not a well-formed name")
        }
        unsafe archive_entry_set_perm(raw, mode_t(entry.permissions & 0o7777))
        unsafe archive_entry_set_uid(raw, Int64(entry.userID))
        unsafe archive_entry_set_gid(raw, Int64(entry.groupID))
        unsafe archive_entry_set_mtime(raw, time_t(entry.modification.seconds), Int(entry.modification.nanoseconds))
        switch entry.kind {
        case .regular:
            unsafe archive_entry_set_filetype(raw, carchive_type_regular)
            unsafe archive_entry_set_size(raw, entry.size)
        case .directory: unsafe archive_entry_set_filetype(raw, carchive_type_directory)
        case .symbolicLink:
            unsafe archive_entry_set_filetype(raw, carchive_type_symlink)
            _ = unsafe FileName.withCString(entry.linkTarget ?? "") { unsafe archive_entry_set_symlink(raw, $0) }
        case .hardLink:
            unsafe archive_entry_set_filetype(raw, carchive_type_regular)
            _ = unsafe FileName.withCString(entry.linkTarget ?? "") { unsafe archive_entry_set_hardlink(raw, $0) }
            unsafe archive_entry_set_size(raw, 0)
        case .characterDevice, .blockDevice:
            unsafe archive_entry_set_filetype(raw, entry.kind == .characterDevice ? carchive_type_character : carchive_type_block)
            unsafe archive_entry_set_rdevmajor(raw, dev_t(deviceMajor(entry.device)))
            unsafe archive_entry_set_rdevminor(raw, dev_t(deviceMinor(entry.device)))
        case .fifo: unsafe archive_entry_set_filetype(raw, carchive_type_fifo)
        case .socket: throw ArchiveError("'\(entry.path)' is a socket, which a tar layer cannot hold")
        }
        for attribute in entry.extendedAttributes {
            unsafe attribute.value.withUnsafeBytes { bytes in
                _ = unsafe FileName.withCString(attribute.name) {
                    unsafe archive_entry_xattr_add_entry(raw, $0, bytes.baseAddress, bytes.count)
                }
            }
        }
        guard unsafe archive_write_header(tar, raw) == ARCHIVE_OK else { throw failure("writing '\(entry.path)'") }
        guard entry.kind == .regular, entry.size > 0 else { return }
        var offset: Int64 = 0
        while offset < entry.size {
            let wanted = Int(min(Int64(output.buffer.count), entry.size - offset))
            let target = unsafe UnsafeMutableRawBufferPointer(rebasing: output.buffer[..<wanted])
            var count = try unsafe rawData(offset, target)
            let bytes = try chunk()
            if !bytes.isEmpty {
                count = min(bytes.count, wanted)
                unsafe target.copyBytes(from: bytes[..<count])
            }
            guard count > 0 else { throw ArchiveError("'\(entry.path)' shrank while it was archived") }
            guard unsafe archive_write_data(tar, output.buffer.baseAddress, count) == count else {
                throw failure("writing '\(entry.path)'")
            }
            offset += Int64(count)
        }
    }

    /// Ends the archive and returns the digests: `diffID` of the tar stream, `digest` and `size` of the
    /// bytes written to the descriptor.
    public func finish() throws(ArchiveError) -> (diffID: ContentDigest, digest: ContentDigest, size: Int64) {
        guard !closed else { throw ArchiveError("the layer is already finished") }
        closed = true
        let status = unsafe archive_write_close(tar)
        let reason = TarReader.message(of: tar)
        unsafe archive_write_free(tar)
        guard status == ARCHIVE_OK, output.failure == nil else {
            output.release()
            throw ArchiveError("finishing the tar stream: \(output.failure ?? reason)")
        }
        if let compressor = output.compressor {
            let closing = unsafe archive_write_close(compressor)
            let reason = TarReader.message(of: compressor)
            output.release()
            guard closing == ARCHIVE_OK, output.failure == nil else {
                throw ArchiveError("finishing the gzip stream: \(output.failure ?? reason)")
            }
        }
        let diffID = ContentDigest(finishing: output.tarHasher)
        let digest = output.compressed ? ContentDigest(finishing: output.blobHasher) : diffID
        return (diffID, digest, output.blobSize)
    }

    private func failure(_ what: String) -> ArchiveError {
        ArchiveError("\(what): \(output.failure ?? TarReader.message(of: tar))")
    }
}

/// Where the tar bytes go: hashed, then compressed or written straight to the descriptor.
private final class Output {
    let file: FileDescriptor
    var compressor: OpaquePointer?
    var compressed: Bool { compressor != nil || wasCompressed }
    private var wasCompressed = false
    let buffer: UnsafeMutableRawBufferPointer
    var tarHasher = SHA256()
    var blobHasher = SHA256()
    var blobSize: Int64 = 0
    var failure: String?

    init(file: FileDescriptor) {
        self.file = file
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    }

    func release() {
        if let compressor {
            wasCompressed = true
            unsafe archive_write_free(compressor)
        }
        compressor = nil
    }

    deinit {
        release()
        unsafe buffer.deallocate()
    }

    func writeBlob(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            _ = try unsafe file.writeAll(bytes)
        } catch {
            failure = "writing the layer: \(error)"
            return false
        }
        unsafe blobHasher.update(bufferPointer: bytes)
        blobSize += Int64(bytes.count)
        return true
    }

    func writeTar(_ bytes: UnsafeRawBufferPointer) -> Bool {
        unsafe tarHasher.update(bufferPointer: bytes)
        if let compressor {
            guard unsafe archive_write_data(compressor, bytes.baseAddress, bytes.count) == bytes.count else {
                failure = failure ?? "compressing the layer: \(TarReader.message(of: compressor))"
                return false
            }
            return true
        }
        return unsafe writeBlob(bytes)
    }
}

private let tarWrite: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = {
    _, context, bytes, count in
    guard let context = unsafe context else { return -1 }
    let output = unsafe Unmanaged<Output>.fromOpaque(context).takeUnretainedValue()
    return unsafe output.writeTar(UnsafeRawBufferPointer(start: bytes, count: count)) ? count : -1
}

private let blobWrite: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = {
    _, context, bytes, count in
    guard let context = unsafe context else { return -1 }
    let output = unsafe Unmanaged<Output>.fromOpaque(context).takeUnretainedValue()
    return unsafe output.writeBlob(UnsafeRawBufferPointer(start: bytes, count: count)) ? count : -1
}
