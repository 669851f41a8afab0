import Glibc

/// A step at which the two backends disagreed.
public struct StepDifference: Sendable, Hashable, CustomStringConvertible {
    /// Index of the operation in the sequence.
    public var index: Int
    public var operation: Operation
    /// nil when the operation itself differed; otherwise the read-only probe run after it that did.
    public var probe: Operation?
    public var reference: Outcome
    public var candidate: Outcome

    public var description: String {
        let what = probe.map { "after #\(index) \(operation): probe \($0)" } ?? "#\(index) \(operation)"
        return "\(what)\n      reference: \(reference)\n      candidate: \(candidate)\n      diff: \(reference.explainDifference(from: candidate))"
    }
}

/// Everything one differential run found.
public struct DifferentialReport: Sendable, CustomStringConvertible {
    public var referenceName: String
    public var candidateName: String
    public var operations: [Operation]
    /// The outcome of every operation on each side, in order.
    public var referenceOutcomes: [Outcome]
    public var candidateOutcomes: [Outcome]
    public var stepDifferences: [StepDifference]
    /// Differences between the merged trees at the end.
    public var mergedDifferences: [String]
    /// Differences between the upper directories at the end (after unmount / close).
    public var upperDifferences: [String]
    /// The final trees, for scenarios that assert on the oracle's result itself.
    public var referenceMerged: TreeSnapshot?
    public var candidateMerged: TreeSnapshot?
    public var referenceUpper: TreeSnapshot?
    public var candidateUpper: TreeSnapshot?

    public var isClean: Bool {
        stepDifferences.isEmpty && mergedDifferences.isEmpty && upperDifferences.isEmpty
    }

    /// What kind of failure this is, used to keep a shrunk sequence failing for the same reason and to
    /// group failing seeds: where the first difference shows (`step:<operation>`, `merged`, `upper`) and
    /// what differs (`ELOOP≠EINVAL`, `nlink`, `only in kernel`…), e.g. `step:stat:nlink`.
    public var signature: String? {
        if let first = stepDifferences.first {
            return "step:\((first.probe ?? first.operation).name):\(first.reference.differenceKind(from: first.candidate))"
        }
        if let line = mergedDifferences.first { return "merged:\(Self.field(of: line))" }
        if let line = upperDifferences.first { return "upper:\(Self.field(of: line))" }
        return nil
    }

    /// "a/b: nlink: 2 ≠ 1 […]" → "nlink"; "a/b: only in kernel (…)" → "only in kernel".
    public static func field(of line: String) -> String {
        let afterPath = line.split(separator: ": ", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
        if afterPath.hasPrefix("only in") { return String(afterPath.prefix { $0 != "(" }).trimmingSpaces }
        return String(afterPath.prefix { $0 != ":" })
    }

    public var description: String {
        if isClean { return "no differences between \(referenceName) and \(candidateName) over \(operations.count) operations" }
        var text = "differences between \(referenceName) (reference) and \(candidateName) (candidate):\n"
        if !stepDifferences.isEmpty {
            text += "  steps (\(stepDifferences.count)):\n"
            for difference in stepDifferences.prefix(12) { text += "    \(difference)\n" }
            if stepDifferences.count > 12 { text += "    … \(stepDifferences.count - 12) more\n" }
        }
        for (title, lines) in [("merged tree", mergedDifferences), ("upper directory", upperDifferences)] where !lines.isEmpty {
            text += "  \(title) (\(lines.count)) [\(referenceName) ≠ \(candidateName)]:\n"
            for line in lines.prefix(30) { text += "    \(line)\n" }
            if lines.count > 30 { text += "    … \(lines.count - 30) more\n" }
        }
        text += "  sequence:\n" + Operation.render(operations)
        return text
    }
}

/// Runs one operation sequence through two backends over identical private copies of a fixture, compares
/// every step (and read-only probes of the touched paths after each mutation), then the merged trees, then
/// the upper directories.
public struct DifferentialRunner: Sendable {
    public var fixture: LayerFixture
    /// The oracle: the kernel's overlayfs.
    public var reference: BackendFactory
    /// The implementation under test.
    public var candidate: BackendFactory
    /// After each mutation, stat every touched path and list their parents on both sides.
    public var probeAfterEachStep: Bool
    public var compareMergedTrees: Bool
    public var compareUpperDirectories: Bool
    /// xattrs kept in the upper-directory comparison.
    public var upperXattrs: XattrPolicy
    /// When false, directory modification times are not compared (for triage: it hides every copy-up
    /// that changes a parent's mtime, so that other differences surface). Default true.
    public var compareDirectoryTimes: Bool = true

    public init(fixture: LayerFixture, reference: BackendFactory, candidate: BackendFactory,
                probeAfterEachStep: Bool = true, compareMergedTrees: Bool = true, compareUpperDirectories: Bool = true,
                upperXattrs: XattrPolicy = .upperLayer) {
        self.fixture = fixture
        self.reference = reference
        self.candidate = candidate
        self.probeAfterEachStep = probeAfterEachStep
        self.compareMergedTrees = compareMergedTrees
        self.compareUpperDirectories = compareUpperDirectories
        self.upperXattrs = upperXattrs
    }

    public func run(_ operations: [Operation]) throws(HarnessError) -> DifferentialReport {
        let scratch = try TemporaryDirectory(prefix: "strata-differential")
        defer { try? scratch.remove() }
        let referenceRoot = try scratch.makeSubdirectory("reference")
        let candidateRoot = try scratch.makeSubdirectory("candidate")
        let referenceLayers = try fixture.build(in: referenceRoot)
        let candidateLayers = try fixture.build(in: candidateRoot)

        let left = try reference.make(referenceLayers, referenceRoot)
        var leftFinished = false
        defer { if !leftFinished { try? left.finish() } }
        let right = try candidate.make(candidateLayers, candidateRoot)
        var rightFinished = false
        defer { if !rightFinished { try? right.finish() } }

        var report = DifferentialReport(referenceName: left.name, candidateName: right.name, operations: operations,
                                        referenceOutcomes: [], candidateOutcomes: [], stepDifferences: [],
                                        mergedDifferences: [], upperDifferences: [])
        for (index, operation) in operations.enumerated() {
            let a = normalize(left.perform(operation))
            let b = normalize(right.perform(operation))
            report.referenceOutcomes.append(a)
            report.candidateOutcomes.append(b)
            if a != b {
                report.stepDifferences.append(StepDifference(index: index, operation: operation, probe: nil, reference: a, candidate: b))
            }
            guard probeAfterEachStep, operation.isMutation else { continue }
            for probe in Self.probes(after: operation) {
                let pa = normalize(left.perform(probe))
                let pb = normalize(right.perform(probe))
                if pa != pb {
                    report.stepDifferences.append(StepDifference(index: index, operation: operation, probe: probe, reference: pa, candidate: pb))
                }
            }
        }

        if compareMergedTrees {
            let leftTree = normalize(try left.mergedSnapshot())
            let rightTree = normalize(try right.mergedSnapshot())
            report.mergedDifferences = leftTree.differences(from: rightTree, labels: (left.name, right.name))
            report.referenceMerged = leftTree
            report.candidateMerged = rightTree
        }
        leftFinished = true
        try left.finish()
        rightFinished = true
        try right.finish()
        if compareUpperDirectories {
            let leftUpper = normalize(try TreeSnapshot.directory(left.upperDirectory, xattrs: upperXattrs))
            let rightUpper = normalize(try TreeSnapshot.directory(right.upperDirectory, xattrs: upperXattrs))
            report.upperDifferences = leftUpper.differences(from: rightUpper, labels: (left.name, right.name))
            report.referenceUpper = leftUpper
            report.candidateUpper = rightUpper
        }
        return report
    }

    private func normalize(_ outcome: Outcome) -> Outcome {
        guard !compareDirectoryTimes, case .status(var entry) = outcome, entry.kind == .directory else { return outcome }
        entry.mtime = .recent
        return .status(entry)
    }

    private func normalize(_ snapshot: TreeSnapshot) -> TreeSnapshot {
        guard !compareDirectoryTimes else { return snapshot }
        var result = snapshot
        for (path, entry) in snapshot.entries where entry.kind == .directory {
            result.entries[path]?.mtime = .recent
        }
        return result
    }

    /// stat of every touched path, and a listing of each distinct parent directory.
    static func probes(after operation: Operation) -> [Operation] {
        var probes: [Operation] = []
        var parents: [String] = []
        for path in operation.paths {
            probes.append(.stat(path))
            var components = path.split(separator: "/")
            if !components.isEmpty { components.removeLast() }
            let parent = components.joined(separator: "/")
            if !parents.contains(parent) { parents.append(parent) }
        }
        return probes + parents.map { .list($0) }
    }

    /// Runs `operations`; on a difference, shrinks the sequence (keeping the same failure signature) and
    /// returns the report of the shortest failing sequence together with the original one.
    public func runShrinking(_ operations: [Operation], maxAttempts: Int = 300) throws(HarnessError) -> ShrinkResult? {
        let original = try run(operations)
        guard let signature = original.signature else { return nil }
        var harnessFailure: HarnessError?
        let shortest = Shrinker.shrink(operations, maxAttempts: maxAttempts) { candidate in
            do throws(HarnessError) {
                return try run(candidate).signature == signature
            } catch {
                harnessFailure = harnessFailure ?? error
                return false
            }
        }
        if let harnessFailure { throw harnessFailure }
        let shrunk = try run(shortest)
        return ShrinkResult(original: original, shrunk: shrunk)
    }
}

/// A failing run and its shrunk reproduction.
public struct ShrinkResult: Sendable {
    public var original: DifferentialReport
    public var shrunk: DifferentialReport
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
