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
        if !wasClosed { layers.close() }
    }

    deinit { close() }

    func withEngine<Result: Sendable>(
        as caller: Credentials? = nil, _ body: (inout Engine) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        if closed.withLock({ $0 }) { throw Errno.badFileDescriptor }
        let caller = caller ?? credentials
        return try engine.withLock { (engine: inout Engine) throws(Errno) -> Result in
            engine.caller = caller
            return try body(&engine)
        }
    }
}
