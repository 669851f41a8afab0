import Strata
import StrataTestSupport
import Testing

@Suite("mutations and whiteouts")
struct MutationTests {
    static let fixture = LayerFixture(lowers: [
        Layer([.file("d/top", "t"), .file("f", "file")]),
        Layer([.file("d/bottom", "b"), .file("d/sub/deep", "x"), .file("lonely", "l")]),
    ])

    @Test("unlink and rmdir of lower names leave whiteouts in the chosen format", arguments: WhiteoutFormat.allCases)
    func whiteoutsOnRemoval(format: WhiteoutFormat) throws {
        let stack = try Stack(Self.fixture, format: format)
        defer { stack.close() }
        try stack.union.removeFile("f")
        try stack.union.removeFile("d/sub/deep")
        try stack.union.removeDirectory("d/sub")
        #expect(try stack.names("") == ["d", "lonely"])
        #expect(try stack.names("d") == ["bottom", "top"])
        switch format {
        case .overlay:
            #expect(stack.upperStatus("f")?.kind == .characterDevice)
            #expect(stack.upperStatus("f")?.specialDevice == 0)
            #expect(stack.upperStatus("d/sub")?.kind == .characterDevice)
            // As the kernel's: the whiteouts are links to one device in the work directory, so that
            // deleting a lower file does not allocate an inode.
            let inodes = Set(["f", "d/sub"].compactMap { stack.upperStatus($0)?.inode })
            #expect(inodes.count == 1 && stack.upperStatus("f")?.linkCount == 3)
        case .oci:
            #expect(stack.upperStatus(".wh.f")?.kind == .regular)
            #expect(stack.upperStatus("d/.wh.sub")?.kind == .regular)
            #expect(stack.upperStatus("d/sub") == nil)
        }
        // The stack reopened from disk shows the same tree.
        stack.union.close()
        let reopened = try stack.reopen(format: format)
        defer { reopened.close() }
        #expect(try reopened.contentsOfDirectory("").map(\.name).sorted() == ["d", "lonely"])
        #expect(try reopened.contentsOfDirectory("d").map(\.name).sorted() == ["bottom", "top"])
    }

    @Test("kept upper-directory descriptors follow renames and are let go with their directories")
    func keptDirectoryDescriptors() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        try stack.union.makeDirectory("a", permissions: 0o755)
        try stack.union.open("a/first", .writeOnly, options: [.create]).close()
        try stack.union.rename("a", to: "b")
        // The descriptor kept for the directory names its inode, not the path "a".
        try stack.union.open("b/second", .writeOnly, options: [.create]).close()
        #expect(stack.upperStatus("b/second")?.kind == .regular && stack.upperStatus("a") == nil)
        for round in 0..<3 {
            try stack.union.makeDirectory(FilePath("gone\(round)"), permissions: 0o755)
            try stack.union.open(FilePath("gone\(round)/f"), .writeOnly, options: [.create]).close()
            try stack.union.removeFile(FilePath("gone\(round)/f"))
            try stack.union.removeDirectory(FilePath("gone\(round)"))
        }
        // A directory made again under an old name is a new directory, not the removed one.
        try stack.union.makeDirectory("gone0", permissions: 0o755)
        try stack.union.open("gone0/again", .writeOnly, options: [.create]).close()
        #expect(stack.upperStatus("gone0/again")?.kind == .regular)
        let descriptors = try openDirectory("/proc/self/fd", pathOnly: false)
        defer { try? descriptors.close() }
        let held = try descriptors.readDirectoryRecords().compactMap { try? descriptors.readSymbolicLink(at: $0.name) }
        #expect(!held.contains { $0.contains("/gone") && $0.hasSuffix("(deleted)") }, "\(held.filter { $0.contains("gone") })")
    }

    @Test("rmdir checks the merged emptiness")
    func rmdirMergedEmptiness() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        #expect(failure { try stack.union.removeDirectory("d/sub") } == .directoryNotEmpty)
        #expect(failure { try stack.union.removeDirectory("f") } == .notDirectory)
        #expect(failure { try stack.union.removeFile("d") } == .isDirectory)
        #expect(failure { try stack.union.removeDirectory("") } == .resourceBusy)
    }

    @Test("mkdir over a whiteout makes an opaque directory: old lower children never reappear",
        arguments: WhiteoutFormat.allCases)
    func mkdirOverWhiteout(format: WhiteoutFormat) throws {
        let stack = try Stack(Self.fixture, format: format)
        defer { stack.close() }
        try stack.union.removeFile("d/sub/deep")
        try stack.union.removeDirectory("d/sub")
        try stack.union.makeDirectory("d/sub", permissions: 0o700)
        #expect(try stack.names("d/sub") == [])
        #expect(try stack.union.status("d/sub").permissions == 0o700)
        #expect(failure { _ = try stack.union.status("d/sub/deep") } == .noSuchFileOrDirectory)
        try stack.write("d/sub/fresh", "f")
        stack.union.close()
        let reopened = try stack.reopen(format: format)
        defer { reopened.close() }
        #expect(try reopened.contentsOfDirectory("d/sub").map(\.name) == ["fresh"])
    }

    @Test("renaming a directory that exists in lower layers works (redirect), in both formats",
        arguments: WhiteoutFormat.allCases)
    func renameLowerDirectory(format: WhiteoutFormat) throws {
        let stack = try Stack(Self.fixture, format: format)
        defer { stack.close() }
        try stack.union.rename("d", to: "moved")
        #expect(try stack.names("") == ["f", "lonely", "moved"])
        #expect(try stack.names("moved") == ["bottom", "sub", "top"])
        #expect(try stack.read("moved/sub/deep") == "x")
        try stack.union.makeDirectory("other", permissions: 0o755)
        try stack.union.rename("moved/sub", to: "other/sub2")
        #expect(try stack.read("other/sub2/deep") == "x")
        #expect(try stack.names("moved") == ["bottom", "top"])
        let namespace = format == .overlay ? "trusted." : "user."
        #expect(stack.upperAttribute(namespace + "overlay.redirect", of: "moved") == "d")
        #expect(stack.upperAttribute(namespace + "overlay.redirect", of: "other/sub2") == "/d/sub")
        stack.union.close()
        let reopened = try stack.reopen(format: format)
        defer { reopened.close() }
        #expect(try reopened.contentsOfDirectory("moved").map(\.name).sorted() == ["bottom", "top"])
        #expect(try reopened.contentsOfDirectory("other/sub2").map(\.name) == ["deep"])
        #expect(failure { _ = try reopened.status("d") } == .noSuchFileOrDirectory)
    }

    @Test("RENAME_NOREPLACE refuses an existing target; RENAME_EXCHANGE swaps")
    func renameFlags() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        #expect(failure { try stack.union.rename("f", to: "lonely", flags: .noReplace) } == .fileExists)
        try stack.union.rename("f", to: "lonely", flags: .exchange)
        #expect(try stack.read("f") == "l")
        #expect(try stack.read("lonely") == "file")
        #expect(failure { try stack.union.rename("f", to: "absent", flags: .exchange) } == .noSuchFileOrDirectory)
        #expect(failure { try stack.union.rename("d", to: "d/sub/inside") } == .invalidArgument)
        try stack.union.rename("f", to: "lonely")
        #expect(try stack.names("") == ["d", "lonely"])
        #expect(try stack.read("lonely") == "l")
    }

    @Test("hard links share data and count links")
    func hardLinks() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        try stack.union.makeHardLink("d/alias", to: "f")
        #expect(try stack.union.status("f").linkCount == 2)
        #expect(try stack.union.status("d/alias").inode == (try stack.union.status("f")).inode)
        try stack.write("d/alias", "through the alias")
        #expect(try stack.read("f") == "through the alias")
        try stack.union.removeFile("f")
        #expect(try stack.union.status("d/alias").linkCount == 1)
        #expect(failure { try stack.union.makeHardLink("x", to: "d") } == .notPermitted)
    }

    @Test("create honours O_EXCL, O_TRUNC and O_APPEND; symlinks and fifos are created in the upper")
    func createFlags() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        #expect(failure { _ = try stack.union.open("f", .writeOnly, options: [.create, .exclusiveCreate]) } == .fileExists)
        try stack.write("f", "+more", options: [.append])
        #expect(try stack.read("f") == "file+more")
        try stack.write("f", "new", options: [.truncate])
        #expect(try stack.read("f") == "new")
        try stack.union.makeSymbolicLink("s", target: "f")
        try stack.union.makeNode("p", mode: 0o010644)
        #expect(try stack.union.status("p").kind == .fifo)
        #expect(try stack.union.readLink("s") == "f")
        #expect(failure { _ = try stack.union.open("s", .readOnly) } == .tooManySymbolicLinkLevels)
    }
}
