import Glibc
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// The mount itself: what a program sees through it, and what lands in the upper layer.
/// Whether this process can mount FUSE file systems as root.
enum FUSEAvailability {
    static var isAvailable: Bool { geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 }
}

@Suite("strata mount", .serialized, .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct MountTests {

    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("a", "A from the top\n", mode: 0o640, uid: 1000, xattrs: ["user.a": "a"]),
            .directory("ld", mode: 0o750, uid: 1234, gid: 1234),
            .file("ld/f", "f in ld\n"),
            .file("ld/sub/g", "g in ld/sub\n"),
            .symlink("link", to: "a"),
        ]),
        Layer([
            .file("a", "hidden\n"),
            .file("b", "B\n"),
            .file("ld/h", "h from below\n"),
        ]),
    ])

    /// Builds the fixture in a fresh directory, mounts it, runs `body`, and always unmounts.
    func withMount(_ body: (_ merged: String, _ layers: BuiltLayers, _ mount: FUSEMount) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "strata-fuse")
        defer { try? directory.remove() }
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let mount = try FUSEMount(layers: layers, at: merged)
        do {
            try body(merged, layers, mount)
        } catch {
            try? mount.unmount()
            throw error
        }
        try mount.unmount()
        #expect(!FUSEMount.isMounted(merged))
    }

    @Test("stat, readdir and read through the mount give the in-process view", .timeLimit(.minutes(3)))
    func matchesInProcess() throws {
        let runner = DifferentialRunner(
            fixture: StandardFixtures.layered, reference: StrataBackend.factory(), candidate: KernelBackend.strataFUSE())
        let report = try runner.run([
            .list(""), .list("a"), .list("a/b"), .list("n/n2"), .read("a/f1"), .read("h"), .read("k/link"),
            .stat(""), .stat("a"), .stat("h"), .stat("k/link"), .stat("x"), .read("missing"),
        ])
        #expect(report.isClean, "\(report)")
    }

    @Test("a write copies the file up", .timeLimit(.minutes(3)))
    func writeCopiesUp() throws {
        try withMount { merged, layers, mount throws in
            let fd = open("\(merged)/a", O_WRONLY | O_APPEND)
            #expect(fd >= 0)
            let text = Array("appended\n".utf8)
            #expect(write(fd, text, text.count) == text.count)
            close(fd)
            #expect(try contents("\(merged)/a") == "A from the top\nappended\n")
            try mount.unmount()
            #expect(try contents("\(layers.upper)/a") == "A from the top\nappended\n")
            #expect(try contents("\(layers.lowers[0])/a") == "A from the top\n")
        }
    }

    @Test("unlink of a lower file leaves a whiteout in the upper", .timeLimit(.minutes(3)))
    func unlinkLeavesWhiteout() throws {
        try withMount { merged, layers, mount throws in
            #expect(unlink("\(merged)/b") == 0)
            var info = stat()
            #expect(lstat("\(merged)/b", &info) == -1 && errno == ENOENT)
            try mount.unmount()
            #expect(lstat("\(layers.upper)/b", &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFCHR && info.st_rdev == 0)
        }
    }

    @Test("rename of a lower directory keeps its merged contents", .timeLimit(.minutes(3)))
    func renameLowerDirectory() throws {
        try withMount { merged, _, _ throws in
            #expect(rename("\(merged)/ld", "\(merged)/moved") == 0)
            var info = stat()
            #expect(lstat("\(merged)/ld", &info) == -1 && errno == ENOENT)
            #expect(try names("\(merged)/moved") == [".", "..", "f", "h", "sub"])
            #expect(try contents("\(merged)/moved/sub/g") == "g in ld/sub\n")
            #expect(try contents("\(merged)/moved/h") == "h from below\n")
        }
    }

    @Test("st_ino and d_ino through the mount are the union's inode numbers", .timeLimit(.minutes(3)))
    func inodeNumbers() throws {
        try withMount { merged, layers, _ throws in
            var lower = stat()
            var through = stat()
            #expect(lstat("\(layers.lowers[1])/b", &lower) == 0)
            #expect(lstat("\(merged)/b", &through) == 0)
            #expect(through.st_ino == lower.st_ino)
            let listed = try entries(merged).first { $0.name == "b" }
            #expect(listed?.inode == UInt64(through.st_ino))
        }
    }

    @Test("mount and unmount 20 times leave no mount behind", .timeLimit(.minutes(2)))
    func mountLoop() throws {
        let directory = try TemporaryDirectory(prefix: "strata-fuse-loop")
        defer { try? directory.remove() }
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        for round in 0..<20 {
            let mount = try FUSEMount(layers: layers, at: merged)
            var info = stat()
            #expect(lstat("\(merged)/ld/f", &info) == 0, "round \(round)")
            try mount.unmount()
            #expect(!FUSEMount.isMounted(merged), "round \(round)")
        }
    }

    // MARK: Helpers

    func contents(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw HarnessError("open \(path)", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = read(fd, &chunk, chunk.count)
            guard got >= 0 else { throw HarnessError("read \(path)", errno: errno) }
            if got == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += chunk.prefix(got)
        }
    }

    func entries(_ path: String) throws -> [(name: String, inode: UInt64)] {
        guard let directory = opendir(path) else { throw HarnessError("opendir \(path)", errno: errno) }
        defer { closedir(directory) }
        var result: [(name: String, inode: UInt64)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            result.append((name, UInt64(entry.pointee.d_ino)))
        }
        return result
    }

    func names(_ path: String) throws -> [String] {
        try entries(path).map(\.name).sorted()
    }
}
