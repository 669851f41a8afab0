import Glibc
import Strata
import StrataTestSupport
import Testing

@Suite("hostile layers")
struct SecurityTests {
    @Test("symlinks pointing out of a layer never let a call touch a file outside it")
    func symlinksStayInside() throws {
        let outside = try TemporaryDirectory(prefix: "strata-outside")
        defer { try? outside.remove() }
        let secret = "\(outside.path)/secret"
        let descriptor = open(secret, O_CREAT | O_WRONLY, 0o600)
        _ = write(descriptor, "host", 4)
        close(descriptor)
        let stack = try Stack(LayerFixture(lowers: [
            Layer([
                .symlink("etc", to: "/etc"),
                .symlink("escape", to: "../../../../../../\(outside.path)"),
                .symlink("abs", to: outside.path),
                .symlink("loop", to: "loop"),
            ]),
            Layer([.file("abs/secret", "layer"), .file("escape/x", "y")]),
        ]))
        defer { stack.close() }
        for path: FilePath in ["escape/secret", "abs/secret", "etc/passwd", "loop/x"] {
            #expect(failure { _ = try stack.union.status(path) } != nil, "\(path) must not resolve outside")
            #expect(failure { _ = try stack.union.open(path, .writeOnly, options: .create) } != nil)
            #expect(failure { try stack.union.setPermissions(path, 0o777) } != nil)
            #expect(failure { try stack.union.removeFile(path) } != nil)
        }
        #expect(failure { try stack.union.rename("escape/secret", to: "stolen") } != nil)
        #expect(failure { try stack.union.makeHardLink("stolen", to: "abs/secret") } != nil)
        var status = stat()
        #expect(lstat(secret, &status) == 0 && status.st_mode & 0o777 == 0o600 && status.st_size == 4)
        // ".." never leaves the union root.
        #expect(try stack.union.contentsOfDirectory("../../..").map(\.name).sorted() == ["abs", "escape", "etc", "loop"])
        #expect(failure { _ = try stack.union.status("../../etc/passwd") } != nil)
    }

    @Test("a layer whose directory is a symlink in a higher layer never leads the copy-up outside")
    func copyUpNeverFollows() throws {
        let outside = try TemporaryDirectory(prefix: "strata-outside")
        defer { try? outside.remove() }
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.symlink("d", to: outside.path)]),
            Layer([.file("d/f", "lower")]),
        ]))
        defer { stack.close() }
        #expect(try stack.union.status("d").kind == .symbolicLink)
        try stack.union.setOwner("d", user: 1, group: 1)
        #expect(stack.upperStatus("d")?.kind == .symbolicLink)
        var status = stat()
        #expect(lstat(outside.path, &status) == 0 && status.st_uid == 0, "the symlink's target was not chowned")
    }
}
