import Strata
import Synchronization

/// The open files of the mount: the `fh` the kernel holds → the descriptor of the object's topmost data.
///
/// Handles are never reused while the mount lives (a counter), so a late request with a stale `fh`
/// finds nothing (`EBADF`) instead of another file.
final class FileHandles: Sendable {
    private let table = Mutex(Table<FileDescriptor>())

    /// Serves FUSE `OPEN`/`CREATE`.
    func insert(_ descriptor: FileDescriptor) -> UInt64 {
        table.withLock { $0.insert(descriptor) }
    }

    func descriptor(_ handle: UInt64) -> FileDescriptor? {
        table.withLock { $0.entries[handle] }
    }

    /// Serves FUSE `RELEASE`: the caller closes the descriptor.
    func remove(_ handle: UInt64) -> FileDescriptor? {
        table.withLock { $0.entries.removeValue(forKey: handle) }
    }

    func removeAll() -> [FileDescriptor] {
        table.withLock { (table: inout Table<FileDescriptor>) -> [FileDescriptor] in
            defer { table.entries = [:] }
            return Array(table.entries.values)
        }
    }
}

/// The open directories of the mount: `fh` → the listing taken at `OPENDIR`.
///
/// Offsets are positions in the snapshot plus one: the entry at index `i` carries offset `i + 1`, and a
/// `READDIR` at offset `o` resumes at index `o` (so `seekdir` to any offset the kernel handed out works).
final class DirectoryHandles: Sendable {
    private let table = Mutex(Table<[DirectoryEntry]>())

    /// Serves FUSE `OPENDIR`.
    func insert(_ entries: [DirectoryEntry]) -> UInt64 {
        table.withLock { $0.insert(entries) }
    }

    func entries(_ handle: UInt64) -> [DirectoryEntry]? {
        table.withLock { $0.entries[handle] }
    }

    /// Serves FUSE `RELEASEDIR`.
    func remove(_ handle: UInt64) {
        _ = table.withLock { $0.entries.removeValue(forKey: handle) }
    }

    func removeAll() {
        table.withLock { $0.entries = [:] }
    }
}

private struct Table<Value> {
    var next: UInt64 = 1
    var entries: [UInt64: Value] = [:]

    mutating func insert(_ value: Value) -> UInt64 {
        let handle = next
        next += 1
        entries[handle] = value
        return handle
    }
}
