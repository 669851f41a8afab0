import Glibc
import StrataTestSupport
import Testing

@Suite("hard links, symlinks, fifos, truncate, append",
       .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct NodeTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("f", "lower f\n", mode: 0o644, uid: 1000, gid: 1000, xattrs: ["user.a": "f"]),
            .file("hl1", "shared\n", uid: 1234, gid: 1234),
            .hardLink("dir/hl2", to: "hl1"),
            .symlink("s", to: "f"),
            .fifo("p", mode: 0o640),
            .file("long", "0123456789abcdef\n", mode: 0o600),
        ]),
        Layer([.file("below", "from the layer below\n"), .whiteout("gone")]),
        Layer([.file("gone", "whited out\n")]),
    ])

    @Test("a hard link to a lower file copies it up and keeps one inode (index=on)")
    func hardLinks() throws {
        let report = try Differential.check(Self.fixture, [
            .link("f", as: "g"), .stat("f"), .stat("g"), .write("g", at: 0, "LINK"), .read("f"), .stat("f"),
            .write("hl1", at: 0, "SHARED"), .read("dir/hl2"), .stat("dir/hl2"), .link("dir/hl2", as: "hl3"), .stat("hl1"),
            .unlink("hl1"), .stat("dir/hl2"), .read("hl3"),
            .link("below", as: "dir/b2"), .unlink("below"), .read("dir/b2"), .stat("dir/b2"),
            .link("s", as: "s2"), .stat("s2"), .link("dir", as: "dir2"), .link("missing", as: "m"), .link("f", as: "hl3"),
        ])
        #expect(report.kernel(0) == .success)
        #expect(report.kernel(1).entry?.linkCount == 2)
        #expect(report.kernel(4).bytesText == "LINKr f\n")
        #expect(report.kernel(7).bytesText == "SHARED\n")
        #expect(report.kernel(20) == .failure(errno: EPERM))
    }

    @Test("symlinks are created in the upper layer, never followed, and copied up intact")
    func symlinks() throws {
        let report = try Differential.check(Self.fixture, [
            .symlink("t", target: "f"), .stat("t"), .list(""), .symlink("t", target: "x"), .symlink("gone", target: "../somewhere"),
            .stat("gone"), .read("s"), .chown("s", uid: 1000, gid: nil), .stat("s"), .unlink("s"), .stat("s"),
            .symlink("s", target: "dangling"), .stat("s"), .setxattr("t", name: "user.x", value: "1", .either),
            .symlink("long/x", target: "y"),
        ])
        #expect(report.kernel(3) == .failure(errno: EEXIST))
        #expect(report.kernel(6) == .failure(errno: ELOOP))
        #expect(report.kernel(13) == .failure(errno: EPERM))
    }

    @Test("fifos: mknod in the upper layer, copy-up of a lower fifo")
    func fifos() throws {
        let report = try Differential.check(Self.fixture, [
            .mkfifo("q", mode: 0o600), .stat("q"), .list(""), .chmod("p", 0o600), .stat("p"), .chown("p", uid: 1000, gid: 1000),
            .mkfifo("p", mode: 0o644), .mkfifo("gone", mode: 0o644), .stat("gone"), .unlink("p"), .stat("p"),
            .rename("q", to: "f", .plain), .stat("f"),
        ])
        #expect(report.kernel(0) == .success)
        #expect(report.kernel(6) == .failure(errno: EEXIST))
    }

    @Test("truncate shortens, extends with a hole, and copies up")
    func truncate() throws {
        let report = try Differential.check(Self.fixture, [
            .truncate("long", to: 3), .read("long"), .truncate("long", to: 100), .read("long"), .stat("long"),
            .truncate("below", to: 0), .read("below"), .truncate("dir", to: 0), .truncate("missing", to: 0),
            .truncate("gone", to: 1), .truncate("s", to: 1), .truncate("f", to: 8), .read("f"),
        ])
        #expect(report.kernel(1).bytesText == "012")
        #expect(report.kernel(7) == .failure(errno: EISDIR))
        #expect(report.kernel(8) == .enoent)
    }

    @Test("append adds to the end of a lower file after copy-up")
    func append() throws {
        let report = try Differential.check(Self.fixture, [
            .append("f", "appended\n"), .read("f"), .stat("f"), .append("below", "+"), .read("below"),
            .create("new", [.append], mode: 0o600), .append("new", "one"), .write("new", at: 0, "X"), .append("new", "two"),
            .read("new"), .append("missing", "x"), .append("dir", "x"),
        ])
        #expect(report.kernel(1).bytesText == "lower f\nappended\n")
        #expect(report.kernel(9).bytesText == "Xnetwo")
        #expect(report.kernel(10) == .enoent)
    }
}
