import Synchronization

/// An open file of a union, from `UnionFileSystem.open(_:_:options:permissions:)`.
///
/// Reads and writes go straight to the descriptor of the file's topmost copy, without the union's
/// lock. A file opened read-only before a copy-up keeps reading the lower copy (overlayfs does the
/// same). Close it with `close()`; it is closed on deinit otherwise.
public final class UnionFile: Sendable {
    /// The node of the file, for the node API.
    public let node: NodeID
    private let descriptor: FileDescriptor
    private let fileSystem: UnionFileSystem
    private let appends: Bool
    private let isClosed = Mutex(false)

    init(descriptor: FileDescriptor, node: NodeID, fileSystem: UnionFileSystem, appends: Bool) {
        self.descriptor = descriptor
        self.node = node
        self.fileSystem = fileSystem
        self.appends = appends
    }

    private func checkOpen() throws(Errno) {
        if isClosed.withLock({ $0 }) { throw Errno.badFileDescriptor }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file. Matches `pread(2)`.
    public func read(count: Int, at offset: Int64) throws(Errno) -> [UInt8] {
        try checkOpen()
        return try descriptor.read(count: count, at: offset)
    }

    /// Writes `bytes` at `offset`, or at the end for a file opened with `.append`. Matches `pwrite(2)`.
    @discardableResult
    public func write(_ bytes: [UInt8], at offset: Int64) throws(Errno) -> Int {
        try checkOpen()
        return appends ? try descriptor.append(bytes) : try descriptor.write(bytes, at: offset)
    }

    /// The merged attributes of the file; matches `fstat(2)`.
    public func status() throws(Errno) -> FileStatus {
        try checkOpen()
        do {
            return try fileSystem.attributes(of: node)
        } catch where error == .staleNFSFileHandle || error == .noSuchFileOrDirectory {
            // Unlinked while open: the descriptor still knows the object.
            return try descriptor.status()
        }
    }

    /// Matches `ftruncate(2)`; the file must be open for writing (`EINVAL` otherwise).
    public func truncate(to size: Int64) throws(Errno) {
        try checkOpen()
        try descriptor.truncate(to: size)
    }

    /// Matches `fsync(2)`.
    public func synchronize() throws(Errno) {
        try checkOpen()
        try descriptor.synchronize()
    }

    /// Closes the descriptor; later calls fail with `EBADF`.
    public func close() {
        let wasClosed = isClosed.withLock { (closed: inout Bool) in
            defer { closed = true }
            return closed
        }
        if !wasClosed { try? descriptor.close() }
    }

    deinit { close() }
}
