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

    /// A caller who could create a 0/0 character device would write a whiteout: the file would vanish at
    /// the next lookup, and in a merged directory hide what the layers below hold under that name.
    @Test("a character device 0/0 (a whiteout) cannot be created through the union: EPERM, nothing in the upper",
          arguments: [WhiteoutFormat.overlay, .oci])
    func noForgedWhiteoutDevice(format: WhiteoutFormat) throws {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("d/lower", "lower\n")])]), format: format)
        defer { stack.close() }
        #expect(failure { try stack.union.makeNode("forged", mode: UInt32(S_IFCHR) | 0o644, device: 0) } == .notPermitted)
        #expect(failure { try stack.union.makeNode("d/forged", mode: UInt32(S_IFCHR) | 0o644, device: 0) } == .notPermitted)
        #expect(stack.upperStatus("forged") == nil && stack.upperStatus("d/forged") == nil)
        // Other devices are fine (the caller is root here).
        try stack.union.makeNode("null", mode: UInt32(S_IFCHR) | 0o666, device: makeDevice(major: 1, minor: 3))
        #expect(try stack.union.status("null").kind == .characterDevice)
    }
}
