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

/// The listings the mount serves `READDIR` from, by directory node.
///
/// A listing is taken when a `READDIR` starts at offset 0 (or finds none), not at `OPENDIR`: the kernel
/// notes the directory's version when it starts filling its listing cache, just before that `READDIR`,
/// and drops the cache when a change moves the version after that; a snapshot from `OPENDIR` could
/// predate a change and be kept stale. Where the kernel allows it, directories are read without
/// `OPENDIR` at all, so there is no handle to hang a listing on: every reader of one directory shares
/// its node's listing. A `READDIR` at offset 0 takes a new one and the `READDIR` that finds the end
/// drops it. Readers that interleave may so continue in a snapshot taken after theirs began, which
/// the name cookies make safe (no name both snapshots hold repeats or goes missing). Bounded: the
/// oldest listings go first.
final class DirectoryListings: Sendable {
    private struct State {
        var listings: [NodeID: DirectoryListing] = [:]
        var order: [NodeID] = []
    }

    static var capacity: Int { 64 }
    private let state = Mutex(State())

    func listing(
        _ node: NodeID, fresh: Bool, take: () throws(Errno) -> DirectoryListing
    ) throws(Errno) -> DirectoryListing {
        if !fresh, let kept = state.withLock({ $0.listings[node] }) { return kept }
        let listing = try take()
        state.withLock { (state: inout State) in
            if state.listings.updateValue(listing, forKey: node) == nil {
                state.order.append(node)
                if state.order.count > Self.capacity { state.listings[state.order.removeFirst()] = nil }
            }
        }
        return listing
    }

    /// The listing of `node` was read to its end.
    func finished(_ node: NodeID) {
        state.withLock { (state: inout State) in
            guard state.listings.removeValue(forKey: node) != nil else { return }
            state.order.removeAll { $0 == node }
        }
    }

    func removeAll() {
        state.withLock { $0 = State() }
    }
}

/// One snapshot of a merged directory, ordered by each name's cookie: the `d_off` the kernel
/// resumes after.
///
/// The kernel caches listings (`cache_readdir`) and may continue a listing that one handle began
/// with another handle's `READDIR`, whose snapshot was taken at another time. A cookie therefore
/// depends on the name alone (a 64-bit FNV-1a hash, `.` and `..` at 1 and 2), not on a position in
/// one snapshot: resuming after a cookie in any snapshot neither repeats nor skips a name that both
/// snapshots hold. A hash collision takes the next free value, so cookies are unique in a snapshot.
struct DirectoryListing: Sendable {
    let entries: [DirectoryEntry]
    let cookies: [UInt64]

    init(_ snapshot: [DirectoryEntry]) {
        // Sort small (cookie, index) keys, then gather: sorting whole entries moves far more memory.
        var named: [(cookie: UInt64, index: Int)] = []
        named.reserveCapacity(snapshot.count)
        var entries: [DirectoryEntry] = []
        entries.reserveCapacity(snapshot.count)
        for (index, entry) in snapshot.enumerated() where entry.name != "." && entry.name != ".." {
            named.append((Self.cookie(of: entry.name), index))
        }
        if let dot = snapshot.first(where: { $0.name == "." }) { entries.append(dot) }
        if let dotDot = snapshot.first(where: { $0.name == ".." }) { entries.append(dotDot) }
        named.sort {
            $0.cookie != $1.cookie
                ? $0.cookie < $1.cookie : snapshot[$0.index].name.utf8.lexicographicallyPrecedes(snapshot[$1.index].name.utf8)
        }
        var cookies = entries.indices.map { UInt64($0) + 1 }  // `.` → 1, `..` → 2
        cookies.reserveCapacity(snapshot.count)
        var previous: UInt64 = 2
        for (cookie, index) in named {
            let unique = max(cookie, previous + 1)
            entries.append(snapshot[index])
            cookies.append(unique)
            previous = unique
        }
        self.entries = entries
        self.cookies = cookies
    }

    /// The index of the first entry after `offset` (a cookie handed out earlier, or 0 for the start).
    func index(after offset: UInt64) -> Int {
        var low = 0
        var high = cookies.count
        while low < high {
            let middle = (low + high) / 2
            if cookies[middle] <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// FNV-1a over the name's bytes, kept below 2^62 so that the unique-making step cannot overflow
    /// `off_t`, and above the cookies of `.` and `..`.
    static func cookie(of name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return max(hash >> 2, 3)
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
