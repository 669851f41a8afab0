import Glibc
import StrataTestSupport
import Testing

@Suite("copy-up", .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct CopyUpTests {
    /// A lower file two directories deep, with parents that have their own modes, owners, xattrs and
    /// times, so that the upper directory shows whether copy-up carried them over.
    static let fixture = LayerFixture(lowers: [
        Layer([
            .directory("p", mode: 0o750, uid: 1000, gid: 1234, xattrs: ["user.dir": "p"]),
            .directory("p/q", mode: 0o711, uid: 1234, gid: 1000),
            .file("p/q/f", "lower data\n", mode: 0o640, uid: 1000, gid: 1234, xattrs: ["user.a": "1", "user.b": "2"]),
            .file("big", bytes: (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }, mode: 0o600, uid: 1000),
            .file("suid", "set-uid\n", mode: 0o4755, uid: 1000, gid: 1000),
            .file("empty", "", mode: 0o604, uid: 1234, gid: 1234, xattrs: ["user.a": "e"]),
        ]),
        Layer([.file("p/q/f", "older, hidden\n"), .file("p/other", "o\n")]),
    ])

    @Test("copy-up keeps data, mode, owner, times and xattrs", arguments: [
        Operation.write("p/q/f", at: 2, "XY"),
        .write("p/q/f", at: 30, "past the end"),
        .append("p/q/f", "more\n"),
        .truncate("p/q/f", to: 4),
        .chmod("p/q/f", 0o600),
        .chown("p/q/f", uid: 65534, gid: nil),
        .chown("p/q/f", uid: nil, gid: 0),
        .utimens("p/q/f", access: .seconds(1_200_000_000, nanoseconds: 5), modification: .seconds(1_100_000_000, nanoseconds: 123)),
        .utimens("p/q/f", access: .omit, modification: .now),
        .setxattr("p/q/f", name: "user.c", value: "3", .create),
        .setxattr("p/q/f", name: "user.a", value: "changed", .replace),
        .removexattr("p/q/f", name: "user.a"),
        .create("p/q/f", [], mode: 0o600),
        .create("p/q/f", [.truncate], mode: 0o600),
        .write("big", at: 150_000, "XYZ"),
        .chmod("big", 0o644),
        .chown("suid", uid: 1000, gid: 1000),
        .chmod("empty", 0o600),
        .write("empty", at: 0, "now with data"),
    ])
    func keepsAttributes(operation: Operation) throws {
        let path = operation.paths[0]
        let report = try Differential.check(Self.fixture, [
            operation, .stat(path), .read(path), .stat("p/q"), .stat("p"), .list("p"), .list("p/q"),
        ])
        #expect(report.kernel(0) == .success)
    }

    @Test("copy-up of a symlink, a fifo and a directory keeps their attributes", arguments: [
        Operation.chown("s", uid: 1000, gid: 1000),
        .chmod("fifo", 0o600),
        .utimens("fifo", access: .omit, modification: .seconds(1_100_000_000, nanoseconds: 0)),
        .chmod("dir", 0o700),
        .setxattr("dir", name: "user.new", value: "v", .either),
        .create("dir/child", [.exclusive], mode: 0o644),
        .utimens("s", access: .omit, modification: .seconds(1_100_000_000, nanoseconds: 1)),
    ])
    func otherKinds(operation: Operation) throws {
        let fixture = LayerFixture(lowers: [Layer([
            .symlink("s", to: "dir/target", uid: 1234, gid: 1234),
            .fifo("fifo", mode: 0o640, uid: 1000, gid: 1000),
            .directory("dir", mode: 0o755, uid: 1234, gid: 1000, xattrs: ["user.d": "1"]),
            .file("dir/target", "t\n"),
        ])])
        let path = operation.paths[0]
        let report = try Differential.check(fixture, [operation, .stat(path), .list(""), .list("dir")])
        #expect(report.kernel(0) == .success)
    }
}
