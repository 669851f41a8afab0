import Synchronization

/// A union of read-only lower directories and one writable upper directory, presented as one tree
/// with the semantics of Linux overlayfs — in-process, with no mount, no kernel module and no root.
///
/// Two faces over one engine: a path API for Swift tools (`status(_:)`, `open(_:_:options:permissions:)`,
/// `rename(_:to:flags:)`, …) and a node API (`lookup(_:in:)`, `attributes(of:)`,
/// `directorySnapshot(of:)`, `forget(_:count:)`, …) that a FUSE adapter drives request by request.
/// Every operation throws the `Errno` the kernel's overlayfs would return.
///
/// Thread-safe: the metadata path runs under one lock (see `docs/architecture.md`); reads and writes
/// through an open `UnionFile` use its descriptor without it.
public final class UnionFileSystem: Sendable {
    public let configuration: UnionConfiguration
    /// Whose rights the path API checks: the configuration's, else this process's at open time.
    public let credentials: Credentials
    let engine: Mutex<Engine>
    /// One gate per node whose data is being copied up, taken before the engine lock (lock order:
    /// gate, then engine). A second writer of the same file waits at the gate and finds the work done.
    let copyUpGates = Mutex<[NodeID: CopyUpGate]>([:])
    /// The descriptors `dataFile(of:writing:)` serves, by node. Lock order: never taken around the engine lock.
    let dataFiles = Mutex(DataFiles())
    let keepsRemovedData = Atomic<Bool>(false)
    private let layers: LayerStack
    private let closed = Mutex(false)

    /// Opens a union: validates and opens every layer, locks the work directory, and cleans what an
    /// interrupted copy-up left there.
    ///
    /// - Throws: `StrataError` naming the layer and the rule it broke.
    public init(_ configuration: UnionConfiguration) throws(StrataError) {
        let layers = try LayerStack(configuration)
        let credentials = configuration.credentials ?? .process
        let engine: Engine
        do {
            engine = try Engine(layers: layers, caller: credentials)
        } catch {
            layers.close()
            throw StrataError(.io, "cannot read the root of the union", errno: error)
        }
        self.configuration = configuration
        self.credentials = credentials
        self.layers = layers
        self.engine = Mutex(engine)
    }

    /// Opens a union from overlayfs mount options (`lowerdir=A:B,upperdir=U,workdir=W`).
    public convenience init(options: String) throws(StrataError) {
        try self.init(UnionConfiguration(options: options))
    }

    /// Releases the layer descriptors and the work-directory lock. Further calls fail with `EBADF`.
    public func close() {
        let wasClosed = closed.withLock { (closed: inout Bool) in
            defer { closed = true }
            return closed
        }
        if !wasClosed {
            dataFiles.withLock { $0.removeAll() }
            layers.close()
        }
    }

    deinit { close() }

    /// Brings node `node`'s data into the upper layer, copying the bytes of a large file without
    /// holding the engine lock (see `DataCopyPlan`). Call before an operation that writes the data;
    /// before a truncation to `limit` bytes, only the bytes before `limit` are copied.
    func copyDataUp(_ node: NodeID, limit: Int64? = nil) throws(Errno) {
        let underLock = try withEngine(reading: true) { (engine) throws(Errno) -> Bool? in
            try engine.pendingDataSize(node).map { engine.copiesUnderLock(Engine.bytesKept(of: $0, limit: limit)) }
        }
        guard let underLock else { return }
        if underLock {
            // Small and not synced: copying under the lock costs less than the plan's three trips through it.
            try withEngine { (engine) throws(Errno) in _ = try engine.copyUp(node, withData: true, dataLimit: limit) }
            return
        }
        let gate = copyUpGates.withLock { (gates: inout [NodeID: CopyUpGate]) -> CopyUpGate in
            if let gate = gates[node] { return gate }
            let gate = CopyUpGate()
            gates[node] = gate
            return gate
        }
        defer { copyUpGates.withLock { (gates: inout [NodeID: CopyUpGate]) in gates[node] = nil } }
        try gate.serialize { () throws(Errno) in
            guard let plan = try withEngine({ (engine) throws(Errno) in try engine.dataCopyPlan(node, dataLimit: limit) }) else { return }
            do throws(Errno) {
                try plan.copyData()
            } catch {
                try? withEngine { (engine) throws(Errno) in engine.abandonDataCopy(plan) }
                throw error
            }
            try withEngine { (engine) throws(Errno) in try engine.finishDataCopy(plan) }
        }
    }

    /// Runs `body` on the engine under its lock, as `caller` (by default the request's or the
    /// union's). Unless the call is `reading` only — it changes nothing a path resolves to — the
    /// engine's resolved paths are dropped afterwards, whether it succeeded or not.
    func withEngine<Result: Sendable>(
        as caller: Credentials? = nil, reading: Bool = false, _ body: (inout Engine) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        if closed.withLock({ $0 }) { throw Errno.badFileDescriptor }
        let caller = caller ?? RequestContext.caller ?? credentials
        return try engine.withLock { (engine: inout Engine) throws(Errno) -> Result in
            engine.caller = caller
            defer { if !reading { engine.paths.invalidate() } }
            return try body(&engine)
        }
    }
}

/// Serializes the data copy-ups of one node.
final class CopyUpGate: Sendable {
    private let lock = Mutex(())

    func serialize(_ body: () throws(Errno) -> Void) throws(Errno) {
        try lock.withLock { (_: inout ()) throws(Errno) in try body() }
    }
}
