import Synchronization

/// `O_PATH` descriptors of the lower directories used last.
///
/// A first lookup stats one name in a lower directory; opening that directory beneath its layer root
/// for every name cost a path walk and two system calls more than the `fstatat` itself. Lower layers
/// do not change while the union is open, so a kept descriptor stays right; the cache is bounded so
/// that a large tree does not hold one descriptor per directory. Eviction is first-in, first-out:
/// lookups come in bursts per directory, which a small window catches.
final class LowerDirectoryCache: Sendable {
    private struct State {
        var descriptors: [LowerDirectory: FileDescriptor] = [:]
        var ring: [LowerDirectory] = []
        var next = 0
        var closed = false
    }

    static let capacity = 64
    private let state = Mutex(State())

    /// Runs `body` with a descriptor of `directory`, opening it with `open` when it is not kept; the
    /// descriptor stays open after `body` returns.
    func with<Result>(
        _ directory: LowerDirectory, open: () throws(Errno) -> FileDescriptor,
        _ body: (FileDescriptor) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        if let kept = state.withLock({ $0.descriptors[directory] }) { return try body(kept) }
        let descriptor = try open()
        let evicted = state.withLock { (state: inout State) -> FileDescriptor? in
            guard !state.closed, state.descriptors[directory] == nil else { return nil }
            state.descriptors[directory] = descriptor
            guard state.ring.count == Self.capacity else {
                state.ring.append(directory)
                return nil
            }
            let oldest = state.ring[state.next]
            state.ring[state.next] = directory
            state.next = (state.next + 1) % Self.capacity
            return state.descriptors.removeValue(forKey: oldest)
        }
        try? evicted?.close()
        let kept = state.withLock { $0.descriptors[directory] == descriptor }
        defer { if !kept { try? descriptor.close() } }
        return try body(descriptor)
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
}
