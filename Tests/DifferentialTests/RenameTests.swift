import Glibc
import StrataTestSupport
import Testing

@Suite("rename", .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct RenameTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("a", "A\n", mode: 0o640, uid: 1000, xattrs: ["user.a": "a"]),
            .file("b", "B\n"),
            .directory("ld", mode: 0o750, uid: 1234, gid: 1234, xattrs: ["user.d": "ld"]),
            .file("ld/f", "f in ld\n"),
            .file("ld/sub/g", "g in ld/sub\n"),
            .file("other/o", "o\n"),
        ]),
        Layer([
            .file("c", "C\n"),
            .file("ld/h", "h from the layer below\n"),
            .file("e/y", "y\n"),
        ]),
    ])

    @Test("rename a file over a file")
    func fileOverFile() throws {
        let report = try Differential.check(Self.fixture, [
            .rename("a", to: "b", .plain), .read("b"), .stat("b"), .stat("a"),
            .rename("c", to: "n", .plain), .read("n"), .stat("c"),
            .create("u", [], mode: 0o600), .write("u", at: 0, "upper"), .rename("u", to: "n", .plain), .read("n"),
            .rename("n", to: "ld/f", .plain), .read("ld/f"), .list(""), .list("ld"),
            .rename("b", to: "b", .plain), .rename("b", to: "ld", .plain), .rename("ld", to: "b", .plain),
        ])
        #expect(report.kernel(1).bytesText == "A\n")
        #expect(report.kernel(3) == .enoent)
        #expect(report.kernel(16) == .failure(errno: EISDIR))
        #expect(report.kernel(17) == .failure(errno: ENOTDIR))
    }

    @Test("rename a directory that exists only in the upper layer")
    func upperDirectory() throws {
        let report = try Differential.check(Self.fixture, [
            .mkdir("x", mode: 0o755), .create("x/f", [], mode: 0o644), .mkdir("x/y", mode: 0o700), .write("x/f", at: 0, "data"),
            .rename("x", to: "z", .plain), .list("z"), .read("z/f"), .stat("x"),
            .rename("z", to: "ld/z", .plain), .list("ld/z"), .rename("ld/z", to: "z2", .plain), .list(""),
            .mkdir("empty", mode: 0o755), .rename("z2", to: "empty", .plain), .list("empty"),
        ])
        #expect(report.kernel(4) == .success)
        #expect(report.kernel(5).names == ["f", "y"])
    }

    @Test("rename a lower directory (redirect_dir=on): contents follow, the old name is gone")
    func lowerDirectory() throws {
        let report = try Differential.check(Self.fixture, [
            .rename("ld", to: "moved", .plain), .list("moved"), .read("moved/f"), .read("moved/h"), .list("moved/sub"),
            .stat("ld"), .stat("moved"), .mkdir("ld", mode: 0o755), .list("ld"),
            .rename("moved/sub", to: "sub2", .plain), .read("sub2/g"), .list("moved"),
            .rename("moved", to: "other/deeper", .plain), .list("other/deeper"), .read("other/deeper/h"),
            .create("other/deeper/new", [], mode: 0o644), .rename("other", to: "o2", .plain), .list("o2/deeper"),
            .rename("e", to: "ld/e", .plain), .read("ld/e/y"),
        ])
        #expect(report.kernel(0) == .success)
        #expect(report.kernel(1).names == ["f", "h", "sub"])
        #expect(report.kernel(5) == .enoent)
        #expect(report.kernel(8).names == [])
    }

    @Test("rename of a lower directory without redirect_dir fails with EXDEV")
    func lowerDirectoryWithoutRedirect() throws {
        // Strata always follows redirect_dir=on; this only documents the oracle's other mode.
        let scratch = try TemporaryDirectory(prefix: "strata-exdev")
        let layers = try Self.fixture.build(in: scratch.path)
        let backend = try KernelBackend(layers: layers, mountPoint: try scratch.makeSubdirectory("merged"),
                                        options: KernelOverlay.plainOptions)
        defer { try? backend.finish() }
        #expect(backend.perform(.rename("ld", to: "moved", .plain)) == .failure(errno: EXDEV))
    }

    @Test("RENAME_NOREPLACE and RENAME_EXCHANGE")
    func flags() throws {
        let report = try Differential.check(Self.fixture, [
            .rename("a", to: "b", .noReplace), .rename("a", to: "fresh", .noReplace), .read("fresh"),
            .rename("fresh", to: "b", .exchange), .read("b"), .read("fresh"),
            .rename("ld", to: "e", .exchange), .list("ld"), .list("e"),
            .rename("b", to: "missing", .exchange), .rename("b", to: "other", .exchange), .list("b"), .read("other"),
            .rename("c", to: "ld", .noReplace), .rename("c", to: "c", .exchange), .list(""),
        ])
        #expect(report.kernel(0) == .failure(errno: EEXIST))
        #expect(report.kernel(4).bytesText == "A\n")
        #expect(report.kernel(5).bytesText == "B\n")
        #expect(report.kernel(7).names == ["y"])
        #expect(report.kernel(9) == .enoent)
    }
}
