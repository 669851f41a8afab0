/// An open descriptor of a node's data, shared by every request that reads or writes the node while the
/// kernel opens files without asking (see `UnionFileSystem.dataFile(of:writing:)`).
///
/// Closed when the last user lets go of it: a request that took it keeps it valid even if the cache
/// drops it meanwhile, so a descriptor number is never reused under a request's feet.
public final class DataFile: Sendable {
    public let descriptor: FileDescriptor
    /// Open for reading and writing: the data is the node's upper copy (or, for a removed file, an
    /// unnamed copy only this descriptor reaches). A read-only one may be a lower layer's file.
    public let writable: Bool

    init(_ descriptor: FileDescriptor, writable: Bool) {
        self.descriptor = descriptor
        self.writable = writable
    }

    deinit { try? descriptor.close() }
}

/// The data files of nodes, by node: a bounded cache of opened descriptors, plus the *kept* ones — the
/// data of files removed while the kernel still knew them (a process may hold one open and go on
/// reading or writing it, as with any unlinked file), kept until the kernel forgets the node.
struct DataFiles {
    /// Open descriptors kept beyond the kept ones. Opening again costs one `openat`; the bound keeps the
    /// server far below its descriptor limit.
    static let capacity = 512

    private struct Entry {
        var file: DataFile
        var kept: Bool
    }

    private var entries: [NodeID: Entry] = [:]
    /// Insertion order of the cached (not kept) entries, oldest first from `head`; may hold nodes
    /// that left since (skipped when evicting).
    private var order: [NodeID] = []
    private var head = 0
    private var cachedCount = 0
    /// Moves on every `drop`: a descriptor opened before a drop of its node may predate a change of the
    /// node's data and is not cached (see `insert`).
    private(set) var generation: UInt64 = 0

    /// The cached file of `node`, if it serves the purpose: any for reading, a writable one for writing.
    func file(_ node: NodeID, writing: Bool) -> DataFile? {
        guard let entry = entries[node], entry.file.writable || !writing else { return nil }
        return entry.file
    }

    /// Whether `node`'s data is kept for a removed file.
    func isKept(_ node: NodeID) -> Bool {
        entries[node]?.kept ?? false
    }

    /// Caches `file` for `node` unless the node was dropped since `generation` was read, or a writable
    /// file is already cached for it (a read-only one gives way). Returns the file to use.
    mutating func insert(_ file: DataFile, for node: NodeID, openedAt generation: UInt64, kept: Bool = false) -> DataFile {
        // A writable file is the node's current data whenever it was opened; a read-only one opened
        // before a drop may be a lower copy the upper one has since left behind.
        guard kept || file.writable || generation == self.generation else { return file }
        if let existing = entries[node] {
            if kept && !existing.kept { cachedCount -= 1 }
            let chosen = existing.file.writable && !file.writable ? existing.file : file
            entries[node] = Entry(file: chosen, kept: existing.kept || kept)
            return chosen
        }
        entries[node] = Entry(file: file, kept: kept)
        if !kept {
            cachedCount += 1
            order.append(node)
            evictOverflow()
        }
        return file
    }

    /// Marks `node`'s file, if one is open, as kept; says whether one is.
    mutating func keep(_ node: NodeID) -> Bool {
        guard let entry = entries[node] else { return false }
        if !entry.kept {
            entries[node]?.kept = true
            cachedCount -= 1
        }
        return true
    }

    /// Forgets `node`'s file (after its data changed outside it, or when the kernel forgot the node).
    mutating func drop(_ node: NodeID) {
        generation &+= 1
        guard let removed = entries.removeValue(forKey: node) else { return }
        if !removed.kept { cachedCount -= 1 }
    }

    /// Forgets every cached file, keeping the kept ones (their files may be open nowhere else).
    mutating func dropCached() {
        generation &+= 1
        entries = entries.filter { $0.value.kept }
        order = []
        head = 0
        cachedCount = 0
    }

    mutating func removeAll() {
        entries = [:]
        order = []
        head = 0
        cachedCount = 0
    }

    private mutating func evictOverflow() {
        while cachedCount > Self.capacity && head < order.count {
            let node = order[head]
            head += 1
            if let entry = entries[node], !entry.kept {
                entries[node] = nil
                cachedCount -= 1
            }
        }
        // Drops leave stale places behind: start the order over once it holds many more than the cache.
        if order.count - head > 4 * Self.capacity {
            var seen: Set<NodeID> = []
            order = order[head...].filter { entries[$0].map { !$0.kept } == true && seen.insert($0).inserted }
            head = 0
        } else if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
