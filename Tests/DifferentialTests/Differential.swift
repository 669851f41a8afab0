import Glibc
import Strata
import StrataTestSupport
import Testing

/// Runs scenarios through the kernel's overlayfs (the oracle) and through Strata, and fails the calling
/// test on any difference.
enum Differential {
    /// Runs `operations` over `fixture` on a kernel mount with `options` and on Strata; records an
    /// issue with the full report when anything differs, and returns the report so the scenario can
    /// also check that the oracle did what the rule says.
    @discardableResult
    static func check(_ fixture: LayerFixture, options: String = KernelOverlay.featureOptions, _ operations: [Operation],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> DifferentialReport {
        let runner = DifferentialRunner(fixture: fixture, reference: KernelBackend.factory(options: options),
                                        candidate: StrataBackend.factory())
        let report = try runner.run(operations)
        #expect(report.isClean, "\(report)", sourceLocation: sourceLocation)
        return report
    }
}

extension DifferentialReport {
    /// The oracle's outcome of operation `index`.
    func kernel(_ index: Int) -> Outcome {
        referenceOutcomes[index]
    }

    /// The oracle's final upper directory entry at `path`.
    func kernelUpper(_ path: String) -> SnapshotEntry? {
        referenceUpper?.entries[path]
    }
}

extension Outcome {
    static let enoent = Outcome.failure(errno: ENOENT)

    var bytesText: String? {
        if case .bytes(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var names: [String]? {
        if case .listing(let entries) = self { return entries.map(\.name) }
        return nil
    }

    var entry: SnapshotEntry? {
        if case .status(let entry) = self { return entry }
        return nil
    }
}
