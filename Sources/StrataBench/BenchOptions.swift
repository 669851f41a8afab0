/// What `strata bench` runs, and where.
public struct BenchOptions: Sendable {
    /// Where the run's directory (and loop image) is made.
    public var directory = "/var/tmp"
    public var fixtureFileSystem = FixtureFileSystemMode.auto
    /// Multiplies every count and size of the fixture (1: the 50k-entry tree and 1 GiB files).
    public var scale = 1.0
    /// Lower layers of the main stack.
    public var layers = 5
    /// Layer counts of the scaling runs (empty: no scaling runs).
    public var scalingLayers = [1, 5, 20, 64, 128]
    /// Repetitions, each on a fresh upper and a fresh mount.
    public var repetitions = 3
    /// Warm passes per repetition.
    public var warmPasses = 3
    /// The backends to run, by name (nil: every one this machine can run).
    public var backendNames: [String]?
    /// `NAME=COMMAND` templates of other overlay implementations.
    public var custom: [String] = []
    /// The CPU to pin the run and its FUSE servers to (nil: not pinned).
    public var cpu: Int? = 0
    /// The `strata` executable that `strata mount` and the FUSE floor run from.
    public var strataExecutable: String

    public init(strataExecutable: String) {
        self.strataExecutable = strataExecutable
    }

    /// Checks the values a user gave.
    func validate() throws(BenchError) {
        guard scale > 0, scale <= 10 else { throw BenchError("--scale must be in (0, 10], got \(scale)") }
        guard (1...500).contains(layers) else { throw BenchError("--layers must be in 1…500, got \(layers)") }
        guard scalingLayers.allSatisfy({ (1...500).contains($0) }) else {
            throw BenchError("--scaling-layers must each be in 1…500, got \(scalingLayers)")
        }
        guard repetitions >= 1 else { throw BenchError("--repetitions must be at least 1") }
        guard warmPasses >= 1 else { throw BenchError("--warm must be at least 1") }
        guard directory.hasPrefix("/"), !directory.contains(where: { ":, \t\n\\".contains($0) }) else {
            throw BenchError("--directory must be an absolute path without ':', ',', '\\' or white space (it goes into lowerdir=), got '\(directory)'")
        }
    }
}
