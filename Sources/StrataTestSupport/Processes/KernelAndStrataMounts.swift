import Glibc

/// Runs the same steps on two fresh copies of a fixture, one under the kernel's overlay and one under a
/// `strata mount -f` child, and returns both results (the kernel's first) for a test to compare. Each
/// mount is taken down on every path, within the time limits of `KernelOverlay` and `StrataMountProcess`.
public struct KernelAndStrataMounts {
    public let fixture: LayerFixture
    /// Options of the Strata side besides the layers (the kernel side gets `KernelOverlay`'s features).
    public var strataOptions = "volatile"
    /// Makes each copy's directories open to every user (for steps run as another user).
    public var openToEveryone = false
    /// Applied to each copy of the layers before it is mounted.
    public var prepare: (BuiltLayers) throws -> Void = { _ in }
    /// Starts the Strata server (by default as it is); a test can wrap the start, e.g. in a thread umask.
    public var startStrata: (@escaping @Sendable () throws -> StrataMountProcess) throws -> StrataMountProcess = { try $0() }

    public init(_ fixture: LayerFixture) {
        self.fixture = fixture
    }

    /// `body(mergedDirectory, layers)` on the kernel's mount, then on Strata's, in `directory`.
    public func run<Result>(
        in directory: TemporaryDirectory, _ body: (String, BuiltLayers) throws -> Result
    ) throws -> [Result] {
        if openToEveryone { chmod(directory.path, 0o755) }
        var results: [Result] = []
        for side in ["kernel", "strata"] {
            let layers = try fixture.build(in: try directory.makeSubdirectory("\(side)-layers"))
            if openToEveryone { chmod("\(directory.path)/\(side)-layers", 0o755) }
            try prepare(layers)
            let merged = try directory.makeSubdirectory("\(side)-merged")
            if side == "kernel" {
                let mount = try KernelOverlay(lowers: layers.lowers, upper: layers.upper, work: layers.work, mountPoint: merged)
                defer { try? mount.unmount() }
                results.append(try body(merged, layers))
            } else {
                let lowers = layers.lowers.map(KernelOverlay.escape).joined(separator: ":")
                let options = "lowerdir=\(lowers),upperdir=\(layers.upper),workdir=\(layers.work)"
                    + (strataOptions.isEmpty ? "" : "," + strataOptions)
                let log = "\(directory.path)/strata-server"
                let server = try startStrata { try StrataMountProcess(options: options, at: merged, log: log) }
                defer { server.kill() }
                results.append(try body(merged, layers))
                try server.unmount()
            }
        }
        return results
    }
}
