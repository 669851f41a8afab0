import Synchronization

/// Descriptors of the layer directories used last, by key: `O_PATH`, or the descriptor a directory
/// was listed through (only ever used as the base of *at calls here, never read from again).
///
/// Opening a directory beneath its layer root for every operation cost a path walk and two system
/// calls more than the operation itself (a first lookup is one `fstatat`). A kept descriptor names
/// the directory's inode, not its path, so it stays right when the directory is renamed. The cache
/// is bounded so that a large tree does not hold one descriptor per directory; eviction is
/// first-in, first-out: operations come in bursts per directory, which a small window catches.
///
/// Lower directories are keyed by their place in their layer (lower layers do not change while the
/// union is open); upper directories by their node, dropped when the node goes.
final class DirectoryCache<Key: Hashable & Sendable>: Sendable {
    private struct State {
        var descriptors: [Key: FileDescriptor] = [:]
        var ring: [Key] = []
        var next = 0
        var closed = false
    }

    static var capacity: Int { 64 }
    private let state = Mutex(State())

    /// Runs `body` with a descriptor of the directory `key`, opening it with `open` when it is not
    /// kept; `body` must not close it.
    func with<Result>(
        _ key: Key, open: () throws(Errno) -> FileDescriptor, _ body: (FileDescriptor) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        if let kept = state.withLock({ $0.descriptors[key] }) { return try body(kept) }
        let descriptor = try open()
        let kept = keep(descriptor, as: key)
        defer { if !kept { try? descriptor.close() } }
        return try body(descriptor)
    }

    /// Keeps `descriptor`, which the caller opened on the directory `key` for some other use and
    /// owns no longer: the next `with` need not open it again. Closed if one is kept already.
    func adopt(_ descriptor: FileDescriptor, as key: Key) {
        if !keep(descriptor, as: key) { try? descriptor.close() }
    }

    /// A descriptor of the directory `key` that the caller owns and closes.
    func duplicate(_ key: Key, open: () throws(Errno) -> FileDescriptor) throws(Errno) -> FileDescriptor {
        try with(key, open: open) { (descriptor) throws(Errno) in try descriptor.duplicate() }
    }

    /// Forgets the directory `key` (its node is gone), closing its descriptor.
    func remove(_ key: Key) {
        let removed = state.withLock { (state: inout State) -> FileDescriptor? in
            guard let descriptor = state.descriptors.removeValue(forKey: key) else { return nil }
            if let index = state.ring.firstIndex(of: key) {
                state.ring.remove(at: index)
                if state.next > index { state.next -= 1 }
                if state.next >= state.ring.count { state.next = 0 }
            }
            return descriptor
        }
        try? removed?.close()
    }

    /// Closes every kept descriptor; nothing is kept afterwards.
    func close() {
        let descriptors = state.withLock { (state: inout State) -> [FileDescriptor] in
            state.closed = true
            defer { state.descriptors = [:]; state.ring = [] }
            return Array(state.descriptors.values)
        }
        for descriptor in descriptors { try? descriptor.close() }
    }

    /// Keeps `descriptor` for `key`, evicting the oldest when full; false if it is not kept (closed
    /// cache, or another caller kept one first).
    private func keep(_ descriptor: FileDescriptor, as key: Key) -> Bool {
        let (kept, evicted) = state.withLock { (state: inout State) -> (Bool, FileDescriptor?) in
            guard !state.closed, state.descriptors[key] == nil else { return (false, nil) }
            state.descriptors[key] = descriptor
            guard state.ring.count == Self.capacity else {
                state.ring.append(key)
                return (true, nil)
            }
            let oldest = state.ring[state.next]
            state.ring[state.next] = key
            state.next = (state.next + 1) % Self.capacity
            return (true, state.descriptors.removeValue(forKey: oldest))
        }
        try? evicted?.close()
        return kept
    }
}
