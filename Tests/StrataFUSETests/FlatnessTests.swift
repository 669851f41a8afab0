import Glibc
import StrataTestSupport
import Testing

/// Memory and descriptors stay flat over a long run: the `StrataSoak flatness` program (lookups of a lower
/// tree's names, then files created and removed in batches) with short counts. In-process it measures
/// itself; through the mount it measures the `strata mount` server (`/proc/PID/status`, `/proc/PID/fd`),
/// mounted with `entry_timeout=0,attr_timeout=0` so that every lookup reaches the server.
/// The long run is `scripts/soak flatness` (a million lookups, 100,000 files).
@Suite(
    "flatness: memory and descriptors over a long run", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct FlatnessTests {
    static var soakExecutable: String {
        RealProgramTests.strataExecutable.replacing("/strata", with: "/StrataSoak", maxReplacements: 1)
    }

    @Test("in-process: 50,000 lookups and 5,000 files created and removed leave memory and descriptors flat",
          .timeLimit(.minutes(2)))
    func inProcess() throws {
        try runSoak(["flatness", "--lookups", "50000", "--files", "5000", "--allowed-growth", "4"])
    }

    @Test("through the mount: 10,000 lookups and 3,000 files created and removed leave the server flat",
          .timeLimit(.minutes(2)))
    func throughMount() throws {
        try runSoak(["flatness", "--lookups", "10000", "--files", "3000", "--allowed-growth", "4", "--through-mount"])
    }

    func runSoak(_ arguments: [String]) throws {
        let executable = Self.soakExecutable
        try #require(access(executable, X_OK) == 0, "no StrataSoak binary at \(executable)")
        let scratch = try TemporaryDirectory(prefix: "strata-flat")
        defer { try? scratch.remove() }
        let result = try RealProgramTests.spawnAndWait(executable, arguments, timeout: 100, scratch: scratch.path)
        print(result.output.split(separator: "\n").filter { $0.hasPrefix("flat") || $0.hasPrefix("NOT") }.joined(separator: "\n"))
        #expect(result.status == 0, "\(result)")
        #expect(result.output.contains("\nflat: "), "\(result)")
    }
}
