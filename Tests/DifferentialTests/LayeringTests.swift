import Glibc
import StrataTestSupport
import Testing

@Suite("layering: lookup, whiteouts, opaque directories, readdir",
       .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct LayeringTests {
    @Test("lookup: the topmost layer wins, attributes come from the topmost object")
    func topmostWins() throws {
        let fixture = LayerFixture(lowers: [
            Layer([
                .file("f", "top\n", mode: 0o600, uid: 1000, gid: 1000, xattrs: ["user.layer": "0"]),
                .directory("d", mode: 0o750, uid: 1234, gid: 1234, xattrs: ["user.layer": "0"]),
                .file("d/top", "from the top\n"),
            ]),
            Layer([
                .file("f", "middle\n", mode: 0o644, xattrs: ["user.layer": "1"]),
                .directory("d", mode: 0o755, xattrs: ["user.layer": "1"]),
                .file("d/middle", "m\n"),
                .file("only1", "only in the middle layer\n"),
            ]),
            Layer([
                .file("f", "bottom\n"),
                .directory("d", mode: 0o700),
                .file("d/bottom", "b\n"),
                .file("d/top", "shadowed\n"),
            ]),
        ])
        let report = try Differential.check(fixture, [
            .read("f"), .stat("f"), .stat("d"), .list("d"), .read("d/top"), .read("only1"), .list(""),
        ])
        #expect(report.kernel(0).bytesText == "top\n")
        #expect(report.kernel(2).entry?.xattrs["user.layer"] == Array("0".utf8))
        #expect(report.kernel(3).names == ["bottom", "middle", "top"])
        #expect(report.kernel(4).bytesText == "from the top\n")
    }

    @Test("a whiteout hides the name in every lower layer and is itself invisible")
    func whiteoutHidesAll() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.whiteout("x"), .whiteout("dir"), .file("keep", "k\n")]),
            Layer([.file("x", "middle x\n"), .directory("dir"), .file("dir/c", "c\n")]),
            Layer([.directory("x"), .file("x/child", "bottom child\n"), .file("dir", "bottom file\n")]),
        ], upper: Layer([.whiteout("keep2"), .file("up", "u\n")]))
        let report = try Differential.check(fixture, [
            .stat("x"), .read("x"), .stat("x/child"), .list(""), .stat("dir"), .list("dir"), .stat("dir/c"),
            .create("x", [], mode: 0o644), .read("x"), .stat("x"),
            .mkdir("dir", mode: 0o755), .list("dir"), .list(""),
        ])
        #expect(report.kernel(0) == .enoent)
        #expect(report.kernel(3).names == ["keep", "up"])
        #expect(report.kernel(8).bytesText == "")
        #expect(report.kernel(11).names == [])
    }

    @Test("an opaque directory hides every lower directory of the same name")
    func opaqueDirectory() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.directory("d", mode: 0o750, opaque: .xattr), .file("d/a", "a\n")]),
            Layer([.directory("d"), .file("d/b", "b\n"), .file("d/sub/c", "c\n"), .file("u/lower", "hidden by upper opaque u\n")]),
            Layer([.file("d/e", "e\n"), .file("u/lower2", "also hidden\n")]),
        ], upper: Layer([.directory("u", opaque: .xattr), .file("u/mine", "mine\n")]))
        let report = try Differential.check(fixture, [
            .list("d"), .stat("d/b"), .stat("d/sub/c"), .stat("d/e"), .stat("d"), .list("u"), .stat("u/lower"),
            .create("d/b", [.exclusive], mode: 0o600), .list("d"), .rmdir("u"), .unlink("u/mine"), .rmdir("u"), .stat("u"),
        ])
        #expect(report.kernel(0).names == ["a"])
        #expect(report.kernel(1) == .enoent)
        #expect(report.kernel(4).entry?.xattrs.keys.contains("trusted.overlay.opaque") == false)
        #expect(report.kernel(5).names == ["mine"])
        #expect(report.kernel(11) == .success)
    }

    @Test("a non-directory hides a directory below it")
    func nonDirectoryHidesDirectory() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.file("e", "a file\n"), .symlink("l", to: "e")]),
            Layer([.directory("e"), .file("e/inner", "hidden\n"), .directory("l"), .file("l/x", "hidden too\n")]),
        ])
        let report = try Differential.check(fixture, [
            .stat("e"), .list("e"), .stat("e/inner"), .rmdir("e"), .stat("l"), .list("l"), .stat("l/x"),
            .unlink("e"), .stat("e"), .list(""), .mkdir("e", mode: 0o700), .list("e"),
        ])
        #expect(report.kernel(0).entry?.kind == .regular)
        #expect(report.kernel(1) == .failure(errno: ENOTDIR))
        #expect(report.kernel(8) == .enoent)
        #expect(report.kernel(11).names == [])
    }

    @Test("readdir merges the names of all layers; whiteouts and markers are not listed")
    func readdirUnion() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.file("m/a", "a\n"), .whiteout("m/b"), .file("m/sub/x", "x\n")]),
            Layer([.file("m/b", "b\n"), .file("m/c", "c\n"), .whiteout("m/d"), .file("m/sub/y", "y\n")]),
            Layer([.file("m/d", "d\n"), .file("m/e", "e\n"), .directory("m/sub/z"), .directory("m/g", opaque: .xattr)]),
        ], upper: Layer([.file("m/u", "u\n"), .whiteout("m/e")]))
        let report = try Differential.check(fixture, [
            .list("m"), .list("m/sub"), .list(""), .stat("m"), .stat("m/g"), .create("m/b", [], mode: 0o644), .list("m"),
            .unlink("m/c"), .list("m"),
        ])
        #expect(report.kernel(0).names == ["a", "c", "g", "sub", "u"])
        #expect(report.kernel(1).names == ["x", "y", "z"])
        #expect(report.kernel(8).names == ["a", "b", "g", "sub", "u"])
    }
}
