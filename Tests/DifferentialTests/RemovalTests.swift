import Glibc
import StrataTestSupport
import Testing

@Suite("removal: whiteouts, merged emptiness, opaque re-creation",
       .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct RemovalTests {
    @Test("unlink and rmdir of lower names leave whiteouts")
    func whiteoutsOnRemoval() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.file("f", "f\n"), .directory("e"), .file("d/x", "x\n"), .symlink("s", to: "f")]),
            Layer([.file("g", "g\n"), .directory("e"), .fifo("p")]),
        ])
        let report = try Differential.check(fixture, [
            .unlink("f"), .rmdir("e"), .unlink("g"), .unlink("d/x"), .rmdir("d"), .unlink("s"), .unlink("p"),
            .list(""), .stat("f"), .stat("e"), .stat("d"),
            .create("new", [], mode: 0o644), .unlink("new"),  // an upper-only name leaves nothing
        ])
        #expect(report.kernel(7).names == [])
        for path in ["f", "e", "g", "d", "s", "p"] {
            #expect(report.kernelUpper(path)?.kind == .characterDevice, "kernel upper \(path)")
        }
        #expect(report.kernelUpper("new") == nil)
    }

    @Test("rmdir sees emptiness of the merged directory: ENOTEMPTY while a lower child is visible")
    func rmdirMergedNotEmpty() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.directory("d"), .directory("w"), .file("w/gone", "g\n")]),
            Layer([.file("d/child", "c\n"), .file("d/sub/deep", "deep\n")]),
        ], upper: Layer([.whiteout("w/gone"), .directory("u"), .file("u/x", "x\n")]))
        let report = try Differential.check(fixture, [
            .rmdir("d"), .unlink("d/child"), .rmdir("d"), .rmdir("d/sub"), .unlink("d/sub/deep"), .rmdir("d/sub"),
            .rmdir("d"), .stat("d"), .rmdir("w"), .rmdir("u"), .unlink("u/x"), .rmdir("u"), .list(""),
        ])
        #expect(report.kernel(0) == .failure(errno: ENOTEMPTY))
        #expect(report.kernel(2) == .failure(errno: ENOTEMPTY))
        #expect(report.kernel(6) == .success)
        #expect(report.kernel(8) == .success)
    }

    @Test("mkdir over a whiteout makes an opaque directory, so old lower children never come back")
    func mkdirOverWhiteout() throws {
        let fixture = LayerFixture(lowers: [
            Layer([.file("d/a", "a\n"), .file("d/b/c", "c\n"), .file("w/old", "old\n")]),
            Layer([.file("d/lowest", "l\n")]),
        ], upper: Layer([.whiteout("w")]))
        let report = try Differential.check(fixture, [
            .mkdir("w", mode: 0o755), .list("w"), .stat("w/old"),
            .unlink("d/a"), .unlink("d/b/c"), .rmdir("d/b"), .unlink("d/lowest"), .rmdir("d"),
            .mkdir("d", mode: 0o700), .list("d"), .create("d/new", [], mode: 0o644), .list("d"), .stat("d"),
        ])
        #expect(report.kernel(1).names == [])
        #expect(report.kernel(9).names == [])
        #expect(report.kernelUpper("w")?.xattrs["trusted.overlay.opaque"] == Array("y".utf8))
        #expect(report.kernelUpper("d")?.xattrs["trusted.overlay.opaque"] == Array("y".utf8))
    }
}
