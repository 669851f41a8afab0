import Glibc
import Strata
import StrataTestSupport
import Testing

/// The differential scenarios run through the mount: the kernel's overlayfs (the oracle) and `strata`
/// over FUSE side by side on identical fixtures, the same plain syscalls on both, compared step by step,
/// then the merged trees and the upper directories.
@Suite(
    "kernel overlayfs vs strata FUSE", .serialized,
    .enabled(if: FUSEAvailability.isAvailable && KernelOverlay.isAvailable, "needs root, /dev/fuse and overlayfs"))
struct ThroughTheMountTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("a", "A\n", mode: 0o640, uid: 1000, xattrs: ["user.a": "a"]),
            .file("b", "B\n"),
            .directory("ld", mode: 0o750, uid: 1234, gid: 1234, xattrs: ["user.d": "ld"]),
            .file("ld/f", "f in ld\n"),
            .file("ld/sub/g", "g in ld/sub\n"),
            .file("other/o", "o\n"),
            .symlink("s", to: "a"),
        ]),
        Layer([
            .file("c", "C\n"),
            .file("ld/h", "h from the layer below\n"),
            .file("e/y", "y\n"),
        ]),
    ])

    static func check(_ fixture: LayerFixture, _ operations: [StrataTestSupport.Operation],
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let runner = DifferentialRunner(fixture: fixture, reference: KernelBackend.factory(), candidate: KernelBackend.strataFUSE())
        let report = try runner.run(operations)
        #expect(report.isClean, "\(report)", sourceLocation: sourceLocation)
    }

    @Test("files: create, write, append, truncate, read", .timeLimit(.minutes(3)))
    func files() throws {
        try Self.check(Self.fixture, [
            .create("n", [], mode: 0o600), .write("n", at: 0, "new"), .append("n", " more"), .read("n"),
            .append("a", "appended\n"), .read("a"), .truncate("b", to: 1), .read("b"), .write("c", at: 4, "x"),
            .create("a", [.exclusive], mode: 0o644), .create("ld/sub/t", [.truncate], mode: 0o644),
        ])
    }

    @Test("metadata: chmod, chown, utimens, xattrs", .timeLimit(.minutes(3)))
    func metadata() throws {
        try Self.check(Self.fixture, [
            .chmod("a", 0o600), .chown("b", uid: 42, gid: 43), .utimens("c", access: .seconds(1000, nanoseconds: 5), modification: .now),
            .setxattr("ld/f", name: "user.x", value: "1", .create), .setxattr("ld/f", name: "user.x", value: "2", .create),
            .removexattr("a", name: "user.a"), .removexattr("a", name: "user.missing"), .chmod("ld", 0o700),
        ])
    }

    @Test("namespace: unlink, rmdir, mkdir, symlink, link, mkfifo", .timeLimit(.minutes(3)))
    func namespace() throws {
        try Self.check(Self.fixture, [
            .unlink("b"), .unlink("b"), .rmdir("ld"), .unlink("ld/sub/g"), .rmdir("ld/sub"), .mkdir("ld/sub", mode: 0o700),
            .symlink("t", target: "ld/f"), .link("c", as: "c2"), .link("ld", as: "ld2"), .mkfifo("p", mode: 0o644),
            .rmdir("e"), .unlink("e/y"), .rmdir("e"), .mkdir("e", mode: 0o755), .list("e"),
        ])
    }

    @Test("rename: files, lower directories, noreplace, exchange", .timeLimit(.minutes(3)))
    func renames() throws {
        try Self.check(Self.fixture, [
            .rename("a", to: "b", .plain), .rename("ld", to: "moved", .plain), .list("moved"), .read("moved/sub/g"),
            .rename("c", to: "other/o", .noReplace), .rename("c", to: "other/o", .exchange), .read("c"),
            .rename("moved", to: "moved/sub/x", .plain), .rename("e", to: "ld", .plain), .list("ld"),
        ])
    }

    /// Whether `differences` name the fixture's lower hard links (`hl1`, `a/hl2`), or a name `operations`
    /// gave one of them by `link` or `rename` (the same FUSE node): such a name as a whole path, quoted in
    /// a step or leading a line of a tree comparison.
    static func touchesLowerHardLinks(_ differences: String, _ operations: [Operation]) -> Bool {
        if differences.contains("hl1") || differences.contains("hl2") { return true }
        var names: Set<String> = ["hl1", "a/hl2"]
        for operation in operations {
            switch operation {
            case .link(let source, let name) where names.contains(source): names.insert(name)
            case .rename(let source, let name, _) where names.contains(source): names.insert(name)
            default: break
            }
        }
        let lines = differences.split(separator: "\n").map { $0.drop { $0 == " " } }
        return names.contains { (name) in
            differences.contains("\"\(name)\"") || lines.contains { $0.hasPrefix(name + ":") }
        }
    }

    /// Known difference: every name of a hard-linked file is one FUSE node, so an open for writing or a
    /// setattr through the mount does not say which *name* was used, and the engine links up a name of its
    /// choosing where the kernel links up the name in the path (the merged view agrees; the upper directory
    /// and `overlay.nlink` differ, and a probe's mtime can too). Differences on the fixture's lower hard
    /// links (`hl1`, `hl2`, and names a sequence links or renames them to) are therefore recorded as a
    /// known issue until the node API can be told the name (see the report of issue 3); every other seed
    /// must match exactly.
    ///
    /// These run with `copyup=open`, the kernel's moment of copy-up; `randomCopyUpAtWrite` runs the same
    /// sequences with the default.
    @Test("random operation sequences give the kernel's results", .timeLimit(.minutes(5)), arguments: 0..<4)
    func random(batch: Int) throws {
        let fixture = StandardFixtures.layered
        let runner = DifferentialRunner(
            fixture: fixture, reference: KernelBackend.factory(), candidate: KernelBackend.strataFUSE(copyUp: .open))
        for seed in (0..<5).map({ UInt64(batch * 5 + $0) }) {
            var generator = RandomSequenceGenerator(fixture: fixture, seed: seed)
            let report = try runner.run(generator.generate(count: 100))
            if report.isClean { continue }
            let differences = (report.stepDifferences.map(\.description) + report.mergedDifferences + report.upperDifferences)
                .joined(separator: "\n")
            if Self.touchesLowerHardLinks(differences, report.operations) {
                withKnownIssue("hard-link names share one FUSE node (seed \(seed))") {
                    Issue.record("seed \(seed): \(report)")
                }
            } else if report.signature?.hasSuffix(":mtime") == true,
                report.stepDifferences.contains(where: { $0.description.contains("\"\"):") })
            {
                // The kernel's FUSE client never sends a zero-length write, so it cannot touch the mtime
                // (docs/semantics.md, "Where the mount differs").
                withKnownIssue("a zero-length write keeps the mtime through FUSE (seed \(seed))") {
                    Issue.record("seed \(seed): \(report)")
                }
            } else {
                Issue.record("seed \(seed): \(report)")
            }
        }
    }

    /// The default mount copies a lower file up at its first write or truncation, not at an open for
    /// writing (docs/semantics.md): an open for writing that writes nothing leaves no upper copy, and the
    /// kernel's open of a metadata-only copy gives it a new mtime where Strata's does not until it writes.
    /// Every result, every listing, every byte, mode, owner and extended attribute must still be the
    /// kernel's; only mtimes may differ, and the upper directory (checked exactly by `random`).
    @Test("random operation sequences with copy-up at the first write: the kernel's view", .timeLimit(.minutes(5)),
          arguments: 0..<4)
    func randomCopyUpAtWrite(batch: Int) throws {
        let fixture = StandardFixtures.layered
        let runner = DifferentialRunner(fixture: fixture, reference: KernelBackend.factory(), candidate: KernelBackend.strataFUSE())
        for seed in (0..<5).map({ UInt64(batch * 5 + $0) }) {
            var generator = RandomSequenceGenerator(fixture: fixture, seed: seed)
            let report = try runner.run(generator.generate(count: 100))
            let steps = report.stepDifferences.filter { $0.reference.differenceKind(from: $0.candidate) != "mtime" }
            let merged = report.mergedDifferences.filter { DifferentialReport.field(of: $0) != "mtime" }
            let differences = (steps.map(\.description) + merged).joined(separator: "\n")
            if differences.isEmpty { continue }
            if Self.touchesLowerHardLinks(differences, report.operations) {
                withKnownIssue("hard-link names share one FUSE node (seed \(seed))") {
                    Issue.record("seed \(seed): \(report)")
                }
            } else {
                Issue.record("seed \(seed): \(differences)\n\(report)")
            }
        }
    }
}
