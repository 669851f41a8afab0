import ArgumentParser
import Foundation
import StrataBench
import StrataFUSE

/// `strata bench`: lookup and copy-up workloads on one layered fixture, through every overlay
/// implementation this machine can run, side by side.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark Strata against a plain directory, kernel overlayfs, fuse-overlayfs and other overlays.",
        discussion: """
            Builds one layered fixture (on a dedicated ext4 loop image when run as root), then runs lookups, \
            listings, small reads, creates, unlinks, renames, copy-ups and rm -rf through plain syscalls on every backend, \
            with a fresh upper and mount per repetition, and first lookups against 1–128 lower layers. Prints \
            medians [min-max], speedups over the kernel and fuse-overlayfs, and which targets of the benchmark \
            issue are met. Quote the ratios, not the absolute figures: they move with the machine and its load.
            """)

    @Option(help: "Where to make the run's scratch directory (and loop image).")
    var directory = "/var/tmp"

    @Option(help: "The fixture's file system: auto (a loop image when root), loop, or here (the directory's own).")
    var fixtureFs = "auto"

    @Option(help: "Multiply every count and size of the fixture (1: 50k-entry tree, 1 GiB files).")
    var scale: Double?

    @Flag(help: "A short run: scale 0.02, one repetition, two warm passes.")
    var quick = false

    @Option(help: "Lower layers of the main stack.")
    var layers = 5

    @Option(help: "Layer counts of the scaling runs, comma-separated, or 'none'.")
    var scalingLayers = "1,5,20,64,128"

    @Option(name: [.short, .long], help: "Repetitions, each with a fresh upper and mount.")
    var repetitions: Int?

    @Option(help: "Warm passes per repetition.")
    var warm: Int?

    @Option(help: "Backends to run, comma-separated (default: all available: plain, kernel, kernel-volatile, kernel-metacopy-volatile, fuse-overlayfs, strata, strata-volatile, api).")
    var backends: String?

    @Option(help: "Another overlay as NAME=COMMAND, with %L (lowers, top first), %U, %W and %M (mount point). Repeatable.")
    var custom: [String] = []

    @Option(help: "The CPU to pin the run and the FUSE servers to.")
    var cpu = 0

    @Flag(help: "Do not pin to one CPU (FUSE figures then vary several-fold on small VMs).")
    var noPin = false

    @Option(help: "Write the report as JSON to this file ('-' for standard output, which then holds only the JSON).")
    var json: String?

    @Option(help: "Write the SVG chart of lookup cost against layers to this file.")
    var svg: String?

    func run() throws {
        var options = BenchOptions(strataExecutable: Self.executable)
        options.directory = directory
        guard let mode = FixtureFileSystemMode(rawValue: fixtureFs) else {
            throw ValidationError("--fixture-fs must be auto, loop or here, got '\(fixtureFs)'")
        }
        options.fixtureFileSystem = mode
        options.scale = scale ?? (quick ? 0.02 : 1)
        options.repetitions = repetitions ?? (quick ? 1 : 3)
        options.warmPasses = warm ?? (quick ? 2 : 3)
        options.layers = layers
        if scalingLayers != "none" {
            let counts = scalingLayers.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard counts.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--scaling-layers must be comma-separated numbers or 'none', got '\(scalingLayers)'")
            }
            options.scalingLayers = counts.compactMap { $0 }
        } else {
            options.scalingLayers = []
        }
        options.backendNames = backends.map { $0.split(separator: ",").map(String.init) }
        options.custom = custom
        options.cpu = noPin ? nil : cpu
        let toStandardOutput = json == "-"
        let report: BenchReport
        do {
            report = try BenchRun(options: options) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }.run()
        } catch {
            if BenchRun.wasInterrupted { throw ExitCode(130) }
            throw error
        }
        if !toStandardOutput { print(report.text, terminator: "") }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(report)
            if toStandardOutput {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else {
                try data.write(to: URL(fileURLWithPath: json))
            }
        }
        if let svg {
            try Data(report.scalingChart.utf8).write(to: URL(fileURLWithPath: svg))
        }
        if !report.failedChecks.isEmpty {
            throw BenchError("\(report.failedChecks.count) correctness checks failed (see FAILED CHECKS)")
        }
    }

    /// This executable, which `strata mount` and the FUSE floor are run from.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// `strata bench-floor MOUNTPOINT`: serves the do-nothing FUSE file system `strata bench` measures one
/// round trip on. Internal to `strata bench`.
struct BenchFloor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-floor", abstract: "Serve a do-nothing FUSE file system (for strata bench).",
        shouldDisplay: false)

    @Argument(help: "The mount point.")
    var mountPoint: String

    func run() throws {
        do {
            try FloorServer.serve(mountPoint: mountPoint) {}
        } catch {
            throw ValidationError(error.description)
        }
    }
}
