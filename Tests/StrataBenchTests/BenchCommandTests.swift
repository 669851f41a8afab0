import Foundation
import Glibc
import StrataBench
import StrataTestSupport
import Testing

/// `strata bench` as a user runs it, at a tiny scale: the harness is checked (every backend and
/// workload present, sane figures, passing probes, nothing left mounted), not the timings.
@Suite(
    "strata bench", .serialized,
    .enabled(if: geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0, "needs root (kernel overlayfs, loop image) and /dev/fuse"))
struct BenchCommandTests {
    static var strata: String { builtExecutable("strata") }

    /// Where the runs put their loop image: on tmpfs, because freeing blocks on a root file system
    /// mounted with `discard` stalls every other test's file system calls for seconds.
    static let scratchParent = "/dev/shm"

    static let customTemplate = "kernel-template=mount -t overlay overlay -o lowerdir=%L,upperdir=%U,workdir=%W %M"

    @Test("a tiny run: every backend and workload has a sane figure, every probe passes, nothing is left behind",
          .timeLimit(.minutes(5)))
    func tinyRun() throws {
        try #require(access(Self.strata, X_OK) == 0, "no strata binary at \(Self.strata)")
        let directory = try TemporaryDirectory(prefix: "strata-bench-smoke", in: Self.scratchParent)
        defer { try? directory.remove() }
        let json = "\(directory.path)/report.json"
        let svg = "\(directory.path)/layers.svg"
        let result = try runShortProgram([
            Self.strata, "bench", "--scale", "0.002", "--repetitions", "2", "--warm", "2", "--scaling-layers", "1,3,8",
            "--directory", directory.path, "--custom", Self.customTemplate, "--json", json, "--svg", svg,
        ])
        #expect(result.status == 0, "strata bench failed:\n\(result.output)")
        let report = try JSONDecoder().decode(BenchReport.self, from: try Data(contentsOf: URL(fileURLWithPath: json)))

        let expected = [
            "plain", "kernel", "kernel-volatile", "kernel-metacopy-volatile", "fuse-overlayfs", "strata", "strata-volatile",
            "api", "kernel-template",
        ]
        #expect(report.backends.map(\.name) == expected)
        #expect(report.failedChecks == [])
        #expect(report.repetitions == 2 && report.warmPasses == 2)
        #expect(report.pinning.contains("CPU 0"))
        #expect(report.fixture.fileSystem.hasPrefix("ext4"), "the fixture is on its own ext4 loop image as root")
        #expect((report.fuseFloorMicroseconds?.median ?? 0) > 0)
        #expect(report.fuseFloorMicroseconds?.count == 2)
        for workload in Workload.allCases {
            let row = try #require(report.results.first { $0.workload == workload }, "no row for \(workload)")
            #expect(row.failures == [:], "\(workload): \(row.failures)")
            for backend in expected {
                let value = try #require(row.values[backend], "\(workload) has no figure for \(backend)")
                #expect(value.median.isFinite && value.median > 0, "\(workload) \(backend): \(value)")
                #expect(value.min <= value.median && value.median <= value.max)
                #expect(value.count == (workload.isFirstPass ? 2 : 4), "\(workload) \(backend): \(value.count) samples")
            }
            #expect(row.speedupOverKernel["kernel"] == 1)
            #expect(row.speedupOverFuseOverlayfs["fuse-overlayfs"] == 1)
        }
        for server in ["fuse-overlayfs", "strata", "strata-volatile"] {
            let row = try #require(report.servers.first { $0.backend == server }, "no server figures for \(server)")
            #expect((row.cpuMicrosecondsPerLookup?.median ?? -1) >= 0)
            #expect((row.residentKiBAfterOneWalk?.median ?? 0) > 0)
            #expect((row.residentKiBAfterTenWalks?.median ?? 0) > 0)
        }
        let scaling = Set(report.scaling.map { "\($0.backend)@\($0.layers)" })
        var expectedScaling: Set<String> = ["plain@1"]
        for backend in ["kernel", "fuse-overlayfs", "strata", "api", "kernel-template"] {
            for layers in [1, 3, 8] { expectedScaling.insert("\(backend)@\(layers)") }
        }
        #expect(scaling == expectedScaling)
        for row in report.scaling {
            #expect((row.existMicroseconds?.median ?? 0) > 0 && (row.missMicroseconds?.median ?? 0) > 0, "\(row)")
        }
        #expect(!report.targets.isEmpty)
        let chart = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(chart.hasPrefix("<svg") && chart.contains("<polyline") && chart.contains("strata"))
        #expect(result.output.contains("speedup over kernel") && result.output.contains("targets"))
        try Self.expectNothingLeft(in: directory.path)
    }

    @Test("bad options are refused with a message that names them", .timeLimit(.minutes(1)))
    func badOptions() throws {
        let cases: [([String], String)] = [
            (["--scale", "0"], "--scale"),
            (["--backends", "nope"], "nope"),
            (["--custom", "no-equals-sign"], "--custom"),
            (["--custom", "x=mount-without-mount-point"], "%M"),
            (["--fixture-fs", "nowhere"], "--fixture-fs"),
            (["--scaling-layers", "1,x"], "--scaling-layers"),
            (["--directory", "relative/path"], "--directory"),
        ]
        for (arguments, expected) in cases {
            let result = try runShortProgram([Self.strata, "bench"] + arguments)
            #expect(result.status != 0, "\(arguments) was accepted")
            #expect(result.output.contains(expected), "\(arguments): \(result.output)")
        }
    }

    @Test("SIGINT in the middle of a run unmounts and removes everything", .timeLimit(.minutes(3)))
    func interrupted() throws {
        let directory = try TemporaryDirectory(prefix: "strata-bench-interrupt", in: Self.scratchParent)
        defer { try? directory.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.strata)
        process.arguments = [
            "bench", "--scale", "0.01", "--repetitions", "3", "--backends", "kernel,fuse-overlayfs,strata",
            "--directory", directory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Wait for a union mount made by the run (the loop image's ext4 comes first).
        var sawUnion = false
        for _ in 0..<1_200 where process.isRunning {
            if Self.mounts(under: directory.path).contains(where: { $0.type == "overlay" || $0.type.hasPrefix("fuse") }) {
                sawUnion = true
                break
            }
            usleep(50_000)
        }
        try #require(sawUnion, "the run never mounted a union")
        kill(process.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        try #require(!process.isRunning, "strata bench did not end within 90 s of SIGINT")
        #expect(process.terminationStatus == 128 + SIGINT)
        try Self.expectNothingLeft(in: directory.path)
    }

    // MARK: Helpers

    /// No mount, no loop device and no file of the run is left under `directory`.
    static func expectNothingLeft(in directory: String) throws {
        #expect(mounts(under: directory).isEmpty, "mounts left: \(mounts(under: directory))")
        let loops = try runShortProgram(["losetup", "-a"]).output
        #expect(!loops.contains(directory), "loop devices left: \(loops)")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("strata-bench.") }
        #expect(left.isEmpty, "files left: \(left)")
    }

    /// (mount point, type) of the mounts at or below `directory`.
    static func mounts(under directory: String) -> [(point: String, type: String)] {
        guard let data = FileManager.default.contents(atPath: "/proc/self/mountinfo") else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 4, fields[4].hasPrefix(directory), let dash = fields.firstIndex(of: "-"),
                fields.count > dash + 1
            else { return nil }
            return (fields[4], fields[dash + 1])
        }
    }
}
