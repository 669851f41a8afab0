import Glibc
import Strata
import StrataTestSupport
import Testing

/// The API takes modes as given: a process umask does not take bits from what it creates (the
/// kernel would, as it creates the upper objects with the process's mask).
@Suite("creation modes and the process umask")
struct CreationModeTests {
    /// What the union and the upper directory hold after creating each kind of object with wide modes.
    private static func createAll() throws -> [String] {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("d/lower", "l")])]))
        defer { stack.close() }
        let file = try stack.union.open("d/f", .writeOnly, options: [.create, .exclusiveCreate], permissions: 0o666)
        file.close()
        try stack.union.makeDirectory("d/sub", permissions: 0o777)
        try stack.union.makeDirectory("top", permissions: 0o775)
        try stack.union.makeNode("d/pipe", mode: S_IFIFO | 0o662)
        let group = try stack.union.open("d/g", .writeOnly, options: [.create, .exclusiveCreate], permissions: 0o640)
        group.close()
        return try ["d/f", "d/sub", "top", "d/pipe", "d/g"].map { (path) in
            let merged = try stack.union.status(FilePath(path)).permissions
            let upper = stack.upperStatus(path)?.permissions ?? 0
            return "\(path) \(String(merged, radix: 8)) \(String(upper, radix: 8))"
        }
    }

    @Test("a umask of 027 or 002 takes nothing from new files, directories and nodes",
          .timeLimit(.minutes(1)), arguments: [mode_t(0o027), 0o002, 0o777])
    func umaskIgnored(mask: mode_t) throws {
        let modes = try withThreadUmask(mask) { try Self.createAll() }
        #expect(modes == ["d/f 666 666", "d/sub 777 777", "top 775 775", "d/pipe 662 662", "d/g 640 640"])
    }

    @Test("the thread's umask is what the kernel applied (the test can fail)", .timeLimit(.minutes(1)))
    func umaskApplies() throws {
        let mode = try withThreadUmask(0o027) { () throws -> UInt32 in
            let directory = try TemporaryDirectory(prefix: "strata-umask")
            defer { try? directory.remove() }
            let root = try openDirectory(directory.path)
            defer { try? root.close() }
            try root.open(at: "plain", flags: O_WRONLY | O_CREAT, permissions: 0o666).close()
            return try root.status(at: "plain").permissions
        }
        #expect(mode == 0o640)
    }
}
