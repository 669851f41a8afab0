import Glibc
import Strata
import StrataTestSupport
import Testing

/// `RecursiveRemoval`: what it removes, what it must not touch, and the kinds it meets in an upper or
/// work directory (whiteouts, fifos, symlinks, directories it may not enter).
@Suite struct RecursiveRemovalTests {
    /// A tree of every kind under `tree/`, and a file outside it that a symlink inside points at.
    private func makeTree(in root: FileDescriptor) throws {
        try root.createDirectory(at: "tree", permissions: 0o755)
        let outside = try root.open(at: "outside", flags: O_CREAT | O_WRONLY, permissions: 0o644)
        try outside.close()
        let tree = try root.open(beneath: "tree", flags: O_RDONLY | O_DIRECTORY)
        defer { try? tree.close() }
        for name in ["a", "b"] {
            let file = try tree.open(at: name, flags: O_CREAT | O_WRONLY, permissions: 0o400)
            try file.close()
        }
        try tree.createSymbolicLink(at: "link", target: "../outside")
        try tree.createSymbolicLink(at: "dirlink", target: "..")
        try tree.createNode(at: "fifo", mode: S_IFIFO | 0o600)
        try tree.createNode(at: "whiteout", mode: S_IFCHR, device: 0)
        try tree.createDirectory(at: "sub", permissions: 0o755)
        let file = try tree.open(at: "sub/c", flags: O_CREAT | O_WRONLY, permissions: 0o644)
        try file.close()
        try tree.createDirectory(at: "sub/deeper", permissions: 0o755)
        try tree.createNode(at: "sub/deeper/whiteout", mode: S_IFCHR, device: 0)
        // Directories it may neither list nor change: made accessible first.
        try tree.setPermissions(at: "sub/deeper", 0o000)
        try tree.setPermissions(at: "sub", 0o500)
    }

    @Test func removesEveryKindAndFollowsNoSymlink() throws {
        let scratch = try TemporaryDirectory(prefix: "strata-removal")
        let root = try openDirectory(scratch.path, pathOnly: false)
        defer { try? root.close() }
        try makeTree(in: root)

        try RecursiveRemoval.removeContents(of: "tree", in: root)
        let tree = try root.open(beneath: "tree", flags: O_RDONLY | O_DIRECTORY)
        let left = try tree.readDirectoryRecords().map(\.name)
        try tree.close()
        #expect(left.isEmpty)
        // The symlinks went, not what they point at.
        #expect(try root.status(at: "outside").kind == .regular)

        try RecursiveRemoval.remove("tree", in: root, status: try root.status(at: "tree"))
        #expect(throws: Errno.noSuchFileOrDirectory) { try root.status(at: "tree") }
        try RecursiveRemoval.removeIfPresent("tree", in: root)
        #expect(try root.status(at: "outside").kind == .regular)
    }

    @Test func removesAWholeTreeByName() throws {
        let scratch = try TemporaryDirectory(prefix: "strata-removal")
        let root = try openDirectory(scratch.path, pathOnly: false)
        defer { try? root.close() }
        try makeTree(in: root)
        try RecursiveRemoval.removeIfPresent("tree", in: root)
        #expect(throws: Errno.noSuchFileOrDirectory) { try root.status(at: "tree") }
        #expect(try root.status(at: "outside").kind == .regular)
    }
}
