import Foundation
import Glibc
import StrataTestSupport
import Testing

/// The package benchmarks (Benchmarks/CoreBenchmarks) in smoke mode: tiny fixtures, two iterations
/// each. Checks that every benchmark still sets up, runs and tears down, not how fast it is.
@Suite("package benchmarks")
struct PackageBenchmarkTests {
    static var executable: String { builtExecutable("CoreBenchmarks") }

    @Test("every CoreBenchmarks benchmark runs in smoke mode", .timeLimit(.minutes(5)))
    func smoke() throws {
        try #require(access(Self.executable, X_OK) == 0, "no CoreBenchmarks binary at \(Self.executable)")
        let before = Set(try Self.scratchDirectories())
        // On tmpfs: thousands of creates and removals on a root file system mounted with `discard`
        // stall the other tests' file system calls.
        let result = try runShortProgram(["STRATA_BENCHMARK_SMOKE=1", "STRATA_BENCHMARK_DIRECTORY=/dev/shm", Self.executable])
        #expect(result.status == 0, "CoreBenchmarks failed:\n\(result.output.suffix(4_000))")
        for name in [
            "lookup first deep bottom-layer, 5 layers", "negative lookup, 1 layer", "merged listing 20k entries, first, 5 layers",
            "open read close small lower file, 1 layer", "copy-up chmod (metadata only), volatile, 5 layers",
            "remove lower tree of 1000 entries, volatile, 5 layers", "copy-up 1 GiB append 1 B, volatile, 5 layers",
            "copy-up 1 GiB overwrite 4 KiB at 0, volatile, 1 layer", "rename lower directory, volatile, 1 layer",
        ] {
            #expect(result.output.contains(name), "\(name) did not run")
        }
        let left = Set(try Self.scratchDirectories()).subtracting(before)
        #expect(left.isEmpty, "layers left in /dev/shm: \(left)")
    }

    /// The layer directories the benchmarks make (`/dev/shm/strata-bench.PID.N`) and must remove.
    static func scratchDirectories() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix("strata-bench.") }
    }
}
