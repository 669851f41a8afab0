/// Something that runs `Operation`s against a merged view: the kernel's overlayfs through syscalls, or
/// Strata through its path API. A backend owns its mount or its `UnionFileSystem` until `finish()`.
public protocol Backend: AnyObject {
    /// "kernel", "strata"… used in reports.
    var name: String { get }
    /// The upper directory this backend writes into, compared at the end.
    var upperDirectory: String { get }
    /// Runs one operation. Never throws: a failing operation is an `Outcome.failure(errno:)`.
    func perform(_ operation: Operation) -> Outcome
    /// The whole merged tree, read through this backend.
    func mergedSnapshot() throws(HarnessError) -> TreeSnapshot
    /// Unmounts or closes; afterwards only the upper directory may be read. Called exactly once.
    func finish() throws(HarnessError)
}

/// Makes a backend over one materialised copy of a fixture.
public struct BackendFactory: Sendable {
    public var name: String
    /// `layers` is a private copy of the fixture; `scratch` an empty directory the backend may use
    /// (for a mount point).
    public var make: @Sendable (_ layers: BuiltLayers, _ scratch: String) throws(HarnessError) -> any Backend

    public init(name: String, make: @escaping @Sendable (_ layers: BuiltLayers, _ scratch: String) throws(HarnessError) -> any Backend) {
        self.name = name
        self.make = make
    }
}
