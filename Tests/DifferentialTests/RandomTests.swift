import Glibc
import Strata
import StrataTestSupport
import Testing

/// Seeded random operation sequences over `StandardFixtures.layered`, kernel against Strata.
///
/// Each run covers `batches × seedsPerBatch × operationsPerSeed` = 10 × 10 × 100 = 10,000 operations.
/// A failing seed is shrunk (delta debugging) and reported with its seed and the shortest sequence that
/// still fails the same way, ready to paste into a scenario. To replay one seed:
/// `STRATA_DIFFERENTIAL_SEED=42 swift test --filter RandomTests` (optionally `STRATA_DIFFERENTIAL_OPS=500`).
@Suite("random sequences", .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct RandomTests {
    static let batches = 10
    static let seedsPerBatch = 10
    static let operationsPerSeed = 100
    /// Shrinking costs a few hundred runs; only the first failures of a batch are shrunk.
    static let shrinksPerBatch = 2

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    static var seedOverride: UInt64? {
        environment("STRATA_DIFFERENTIAL_SEED").flatMap { text in
            text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        }
    }

    static var operationCount: Int {
        environment("STRATA_DIFFERENTIAL_OPS").flatMap { Int($0) } ?? operationsPerSeed
    }

    @Test("random operation sequences give the kernel's results", .timeLimit(.minutes(10)), arguments: 0..<batches)
    func randomSequences(batch: Int) throws {
        let seeds: [UInt64]
        if let seed = Self.seedOverride {
            guard batch == 0 else { return }
            seeds = [seed]
        } else {
            seeds = (0..<Self.seedsPerBatch).map { UInt64(batch * Self.seedsPerBatch + $0) }
        }
        let fixture = StandardFixtures.layered
        let runner = DifferentialRunner(fixture: fixture, reference: KernelBackend.factory(), candidate: StrataBackend.factory())
        var shrunk = 0
        var failing: [UInt64] = []
        for seed in seeds {
            var generator = RandomSequenceGenerator(fixture: fixture, seed: seed)
            let operations = generator.generate(count: Self.operationCount)
            let report = try runner.run(operations)
            guard !report.isClean else { continue }
            failing.append(seed)
            if shrunk < Self.shrinksPerBatch, let result = try runner.runShrinking(operations) {
                shrunk += 1
                Issue.record("""
                    seed \(seed) (\(operations.count) operations) differs from the kernel; \
                    shrunk to \(result.shrunk.operations.count) operations [\(result.original.signature ?? "")]:
                    \(result.shrunk)
                    """)
            } else {
                Issue.record("seed \(seed) differs from the kernel [\(report.signature ?? "")] (not shrunk; replay with STRATA_DIFFERENTIAL_SEED=\(seed)):\n\(report)")
            }
        }
        if !failing.isEmpty {
            print("random batch \(batch): failing seeds \(failing)")
        }
    }
}
