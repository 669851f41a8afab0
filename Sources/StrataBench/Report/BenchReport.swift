/// Everything one `strata bench` run measured: what `--json` writes, and what the table, the chart
/// and the target check are drawn from.
public struct BenchReport: Codable, Sendable {
    public struct Machine: Codable, Sendable {
        public var kernel: String
        public var processors: Int
    }

    public struct Fixture: Codable, Sendable {
        /// The file system the layers, uppers and work directories live on.
        public var fileSystem: String
        public var scale: Double
        public var layers: Int
        public var treeEntries: Int
        public var mergedEntries: Int
        public var negativeNames: Int
        public var filesPerWriteSet: Int
        public var removalTreeEntries: Int
        public var bigFileMiB: Int
        public var scalingNames: Int
    }

    public struct BackendInfo: Codable, Sendable {
        public var name: String
        public var summary: String
        public var fuse: Bool
    }

    public struct WorkloadResult: Codable, Sendable {
        public var workload: Workload
        public var title: String
        public var unit: Workload.Unit
        /// Per backend: median [min-max] over repetitions (first-pass and write workloads) or over
        /// every warm pass of every repetition.
        public var values: [String: Statistics]
        /// Per backend: how much faster than the kernel (`kernel`) and than fuse-overlayfs, from the
        /// medians (> 1: faster than the peer).
        public var speedupOverKernel: [String: Double]
        public var speedupOverFuseOverlayfs: [String: Double]
        /// Per backend: why it has no figure.
        public var failures: [String: String]
    }

    public struct ServerResult: Codable, Sendable {
        public var backend: String
        /// Server CPU (user + system) per path of the first lookup pass, in µs.
        public var cpuMicrosecondsPerLookup: Statistics?
        /// Resident memory after the first full walk of the tree, and after ten.
        public var residentKiBAfterOneWalk: Statistics?
        public var residentKiBAfterTenWalks: Statistics?
    }

    public struct ScalingResult: Codable, Sendable {
        public var backend: String
        public var layers: Int
        /// First-pass `lstat` of a name that exists only in the bottom layer, µs per call.
        public var existMicroseconds: Statistics?
        /// First-pass `lstat` of a never-seen missing name, µs per call.
        public var missMicroseconds: Statistics?
    }

    public var date: String
    public var machine: Machine
    public var fixture: Fixture
    /// How the run and the FUSE servers were pinned, or why they were not.
    public var pinning: String
    public var repetitions: Int
    public var warmPasses: Int
    public var backends: [BackendInfo]
    /// One bare FUSE round trip (LOOKUP of a missing name on a do-nothing FUSE file system), µs.
    public var fuseFloorMicroseconds: Statistics?
    /// CPU the do-nothing server spends per round trip (reading the request, writing the reply), µs:
    /// the least any FUSE server spends per lookup.
    public var fuseFloorServerCPUMicroseconds: Statistics?
    public var results: [WorkloadResult]
    public var servers: [ServerResult]
    public var scaling: [ScalingResult]
    /// Correctness probes that failed (created files missing, removed ones still there, wrong sizes).
    public var failedChecks: [String]
    public var targets: [TargetCheck]

    func result(_ workload: Workload) -> WorkloadResult? {
        results.first { $0.workload == workload }
    }

    func median(_ workload: Workload, _ backend: String) -> Double? {
        result(workload)?.values[backend]?.median
    }
}
