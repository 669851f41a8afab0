import Strata
import StrataTestSupport
import Testing

/// The fsx-style data exerciser on the in-process union: seeded random reads, writes, truncates,
/// shared mappings, `fallocate` and metadata-only copy-ups on files that start in two lower layers, the
/// union reopened every 250 operations, every byte checked against the model.
///
/// Replay a seed with more operations:
/// `STRATA_EXERCISER_SEED=7 STRATA_EXERCISER_OPS=20000 swift test --filter DataExerciserTests`
/// (the soak runs it for as long as asked: `scripts/soak exerciser`).
@Suite("data exerciser in-process")
struct DataExerciserTests {
    @Test("random data operations and copy-ups match the model byte for byte", arguments: ExerciserEnvironment.seeds)
    func exerciser(seed: UInt64) throws {
        let directory = try TemporaryDirectory(prefix: "strata-fsx")
        defer { try? directory.remove() }
        let settings = DataExerciser.Settings(seed: seed, operations: ExerciserEnvironment.operations)
        let layers = try ExerciserLayers(in: directory, settings: settings)
        let target = try UnionExerciserTarget(layers.configuration)
        var exerciser = DataExerciser(settings: settings, initial: layers.initial)
        do {
            let report = try exerciser.run(target)
            print("data exerciser in-process, seed \(seed): \(report)")
            #expect(report.operations == ExerciserEnvironment.operations)
        } catch {
            Issue.record("\(error)")
        }
    }

    /// A target that silently drops `truncate` by path: the exerciser must notice and name the seed.
    final class DroppingTruncates: ExerciserTarget {
        let inner: MountExerciserTarget
        init(root: String) { inner = MountExerciserTarget(root: root) {} }
        func open(_ name: String, flags: Int32) throws(HarnessError) -> Int32 { try inner.open(name, flags: flags) }
        func truncate(_ name: String, to size: Int) throws(HarnessError) {}
        func changeMode(_ name: String, _ mode: UInt32) throws(HarnessError) { try inner.changeMode(name, mode) }
        func size(_ name: String) throws(HarnessError) -> Int { try inner.size(name) }
        func remount() throws(HarnessError) {}
    }

    @Test("the exerciser agrees with a plain directory and catches a file system that drops truncates")
    func exerciserSelfTest() throws {
        let directory = try TemporaryDirectory(prefix: "strata-fsx-self")
        defer { try? directory.remove() }
        let settings = DataExerciser.Settings(seed: 11, operations: 1_000)
        let plain = try directory.makeSubdirectory("plain")
        var honest = DataExerciser(settings: settings, initial: try DataExerciser.makeLowerFiles(in: [plain], settings: settings))
        let report = try honest.run(MountExerciserTarget(root: plain) {})
        #expect(report.operations == 1_000)

        let lossy = try directory.makeSubdirectory("lossy")
        var caught = DataExerciser(settings: settings, initial: try DataExerciser.makeLowerFiles(in: [lossy], settings: settings))
        #expect {
            _ = try caught.run(DroppingTruncates(root: lossy))
        } throws: { error in
            "\(error)".contains("seed 11") && "\(error)".contains("truncate f")
        }
    }
}
