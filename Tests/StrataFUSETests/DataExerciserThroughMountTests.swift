import Foundation
import Glibc
import Strata
import StrataTestSupport
import Testing

/// The fsx-style data exerciser through `strata mount` (a child process): plain `pread`, `pwrite`,
/// `ftruncate`, `truncate`, `mmap` + `msync`, `fallocate` and `chmod` in the mount, the server unmounted
/// and started again every 250 operations, every byte checked against the model.
///
/// Replay: `STRATA_EXERCISER_SEED=7 STRATA_EXERCISER_OPS=20000 swift test --filter DataExerciserThroughMountTests`.
@Suite(
    "data exerciser through strata mount", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct DataExerciserThroughMountTests {
    @Test("random data operations, mappings and copy-ups through the mount match the model byte for byte",
          .timeLimit(.minutes(3)), arguments: ExerciserEnvironment.seeds)
    func exerciser(seed: UInt64) throws {
        try run(seed: seed, extraOptions: "")
    }

    /// With `writeback_cache` the kernel keeps written pages and sends them later: sizes, truncates and
    /// mappings take another path through the kernel.
    @Test("the same through a mount with writeback_cache", .timeLimit(.minutes(3)))
    func exerciserWritebackCache() throws {
        try run(seed: ExerciserEnvironment.seeds[0] &+ 100, extraOptions: ",writeback_cache")
    }

    /// With `copyup=open` the server answers every OPEN and serves data through the handles it gave out
    /// (the default reads and writes by node).
    @Test("the same through a mount with copyup=open", .timeLimit(.minutes(3)))
    func exerciserCopyUpAtOpen() throws {
        try run(seed: ExerciserEnvironment.seeds[0] &+ 200, extraOptions: ",copyup=open")
    }

    func run(seed: UInt64, extraOptions: String) throws {
        let directory = try TemporaryDirectory(prefix: "strata-fsx-mount")
        defer { try? directory.remove() }
        var settings = DataExerciser.Settings(seed: seed, operations: ExerciserEnvironment.operations)
        settings.maximumTransfer = 32 << 10
        let layers = try ExerciserLayers(in: directory, settings: settings)
        let merged = try directory.makeSubdirectory("merged")
        let options = layers.mountOptions + ",volatile" + extraOptions
        let log = "\(directory.path)/server"
        let current = ServerSlot(try StrataMountProcess(options: options, at: merged, log: log))
        defer { current.server?.kill() }
        let target = MountExerciserTarget(root: merged) { () throws(HarnessError) in
            try current.server?.unmount()
            current.server = nil
            current.server = try StrataMountProcess(options: options, at: merged, log: log)
        }
        var exerciser = DataExerciser(settings: settings, initial: layers.initial)
        do {
            let report = try exerciser.run(target)
            print("data exerciser through the mount\(extraOptions), seed \(seed): \(report)")
            #expect(report.operations == ExerciserEnvironment.operations)
        } catch {
            Issue.record("\(error)")
        }
        try current.server?.unmount()
        current.server = nil
        #expect(!MountTable.contains(merged))
    }
}

/// The server of the moment, replaced at each remount.
final class ServerSlot: @unchecked Sendable {
    var server: StrataMountProcess?
    init(_ server: StrataMountProcess) { self.server = server }
}
