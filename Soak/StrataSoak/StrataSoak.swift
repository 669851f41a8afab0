import ArgumentParser
import Glibc
import Strata
import StrataTestSupport

/// Long reliability runs, for as long as asked: the data exerciser and the flatness run, in-process or
/// through `strata mount` (the `strata` binary built next to this one). A failure prints the seed and
/// the operation log and exits 1. `scripts/soak` builds and runs it; the test suites run short variants.
@main
struct StrataSoak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "StrataSoak", abstract: "Long reliability runs of Strata (soak).",
        subcommands: [Exerciser.self, Flatness.self])
}

struct Target: ParsableArguments {
    @Flag(help: "Run through `strata mount` (a child process) instead of in-process.")
    var throughMount = false
}

/// Runs `body` with a fresh directory for the layers, removed afterwards.
func withScratch<T>(_ prefix: String, _ body: (TemporaryDirectory) throws -> T) throws -> T {
    let directory = try TemporaryDirectory(prefix: prefix)
    defer { try? directory.remove() }
    return try body(directory)
}

struct Exerciser: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The fsx-style data exerciser, with the union reopened (or remounted) every 250 operations.")

    @Option(help: "The seed (a failure prints it).") var seed: UInt64 = 1
    @Option(help: "Stop after this many seconds.") var seconds: Double = 60
    @Option(help: "Stop after this many operations (replay: the number a failure printed).") var operations = Int.max
    @Option(help: "Where a failure writes the whole operation log.") var log = "strata-soak-exerciser.log"
    @OptionGroup var target: Target

    func run() throws {
        var settings = DataExerciser.Settings(seed: seed, operations: operations, duration: seconds)
        settings.maximumSize = 1 << 20
        settings.files = 8
        let failure: ExerciserFailure? = try withScratch("strata-soak-fsx") { directory in
            let layers = try ExerciserLayers(in: directory, settings: settings)
            var exerciser = DataExerciser(settings: settings, initial: layers.initial)
            do {
                let report: DataExerciser.Report
                if target.throughMount {
                    let merged = try directory.makeSubdirectory("merged")
                    var server: StrataMountProcess? = try StrataMountProcess(
                        options: layers.mountOptions, at: merged, log: "\(directory.path)/server")
                    defer { server?.kill() }
                    report = try exerciser.run(MountExerciserTarget(root: merged) { () throws(HarnessError) in
                        try server?.unmount()
                        server = try StrataMountProcess(options: layers.mountOptions, at: merged, log: "\(directory.path)/server")
                    })
                    try server?.unmount()
                } else {
                    report = try exerciser.run(UnionExerciserTarget(layers.configuration))
                }
                print("seed \(seed), \(target.throughMount ? "through the mount" : "in-process"): \(report)")
                return nil
            } catch let failure as ExerciserFailure {
                return failure
            }
        }
        if let failure {
            print(failure)
            if let file = fopen(log, "w") {
                fputs(failure.fullLog, file)
                fclose(file)
                print("the whole operation log is in \(log)")
            }
            throw ExitCode.failure
        }
    }
}

struct Flatness: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lookups, then files created and removed: the serving process's memory and descriptors must stay flat.")

    @Option(help: "How many lookups.") var lookups = 1_000_000
    @Option(help: "How many files to create and remove.") var files = 100_000
    @Option(help: "Resident growth allowed after the warm-up, in MiB.") var allowedGrowth = 8
    @OptionGroup var target: Target

    func run() throws {
        var run = FlatnessRun(lookups: lookups, files: files, allowedGrowth: allowedGrowth << 20)
        try withScratch("strata-soak-flat") { directory in
            let layers = try FlatnessRun.buildLayers(in: directory.path)
            if target.throughMount {
                let merged = try directory.makeSubdirectory("merged")
                // No kernel caching: every lookup reaches the server.
                let options = "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work),"
                    + "volatile,entry_timeout=0,attr_timeout=0"
                let server = try StrataMountProcess(options: options, at: merged, log: "\(directory.path)/server")
                defer { server.kill() }
                try run.run(FlatnessRun.Actions.throughMount(merged, server: server.pid))
                try server.unmount()
            } else {
                var configuration = UnionConfiguration(
                    lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(layers.work))
                configuration.durability = .volatile
                let union = try UnionFileSystem(configuration)
                defer { union.close() }
                try run.run(FlatnessRun.Actions.inProcess(union))
            }
        }
        for sample in run.samples { print(sample) }
        let problems = run.problems
        if !problems.isEmpty {
            for problem in problems { print("NOT FLAT: \(problem)") }
            throw ExitCode.failure
        }
        print("flat: \(lookups) lookups, \(files) files created and removed, \(target.throughMount ? "through the mount" : "in-process")")
    }
}
