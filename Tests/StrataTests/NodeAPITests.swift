import Glibc
import StrataTestSupport
import Testing

@testable import Strata

@Suite("node API, inode numbers across filesystems, untouched lowers")
struct NodeAPITests {
    static let fixture = LayerFixture(lowers: [
        Layer([.file("d/a", "1"), .file("d/b", "2"), .directory("e")]),
        Layer([.file("d/c", "3"), .symlink("l", to: "d/a")]),
    ])

    @Test("lookups are counted and forget releases the node; the root is never released")
    func lookupAndForget() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let union = stack.union
        let directory = try union.lookup("d", in: .root)
        #expect(directory.status.kind == .directory)
        let file = try union.lookup("a", in: directory.node)
        let again = try union.lookup("a", in: directory.node)
        #expect(file.node == again.node)
        #expect(file.status.inode == again.status.inode)
        #expect(failure { _ = try union.lookup("missing", in: directory.node) } == .noSuchFileOrDirectory)
        #expect(failure { _ = try union.lookup("x", in: file.node) } == .notDirectory)
        try union.remove("a", in: directory.node, directory: false)
        // Still referenced by the kernel: the node outlives its name until forgotten.
        #expect(try union.withEngine { (engine) throws(Errno) in engine.nodes[file.node] != nil })
        union.forget(file.node, count: 2)
        #expect(try union.withEngine { (engine) throws(Errno) in engine.nodes[file.node] == nil })
        union.forget(.root, count: 100)
        #expect(try union.attributes(of: .root).kind == .directory)
        #expect(failure { _ = try union.attributes(of: file.node) } == .staleNFSFileHandle)
        #expect(try union.readLink(try union.lookup("l", in: .root).node) == "d/a")
        #expect(try union.fileSystemStatus().blockSize > 0)
        let created = try union.createFile("new", in: directory.node, flags: O_WRONLY, permissions: 0o640)
        #expect(created.status.permissions == 0o640)
        #expect(try created.descriptor.write(Array("hello".utf8), at: 0) == 5)
        try created.descriptor.synchronize()
        try? created.descriptor.close()
        #expect(try stack.read("d/new") == "hello")
    }

    @Test("a node keeps working through its other name when the name it was created by is removed")
    func hardLinkSurvivesRemovalOfFirstName() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let union = stack.union
        let (node, _, descriptor) = try union.createFile("t", in: .root, flags: O_WRONLY, permissions: 0o644)
        _ = try descriptor.write(Array("hello\n".utf8), at: 0)
        try? descriptor.close()
        _ = try union.link(node, to: .root, as: "f")
        try union.remove("t", in: .root, directory: false)
        #expect(try union.attributes(of: node).size == 6)
        #expect(try union.attributes(of: node).linkCount == 1)
        let reopened = try union.openDescriptor(node, flags: O_RDONLY)
        defer { try? reopened.close() }
        #expect(try reopened.read(count: 16, at: 0) == Array("hello\n".utf8))
        try union.remove("f", in: .root, directory: false)
        #expect(failure { _ = try union.attributes(of: node) } != nil)
    }

    @Test("the node API's reads keep the paths the path API remembered; its changes drop them")
    func nodeReadsKeepResolvedPaths() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let union = stack.union
        let remembered = { () throws -> Bool in
            try union.withEngine(reading: true) { (engine) throws(Errno) in
                engine.paths.lookup("d/a", by: union.credentials) != nil
            }
        }
        _ = try union.status("d/a")
        #expect(try remembered())
        let directory = try union.lookup("d", in: .root).node
        let file = try union.lookup("a", in: directory).node
        _ = try union.attributes(of: file)
        try union.openDirectory(directory)
        _ = try union.directorySnapshot(of: directory)
        _ = try union.extendedAttributeNames(of: file)
        _ = try union.readLink(try union.lookup("l", in: .root).node)
        _ = try union.fileSystemStatus()
        #expect(try remembered(), "nothing a path resolves to changed")
        try union.remove("a", in: directory, directory: false)
        #expect(try !remembered())
        #expect(failure { _ = try union.status("d/a") } == .noSuchFileOrDirectory)
    }

    @Test("a removed lower file written through its node gets a readable copy only the node reaches",
          arguments: CopyBuild.allCases)
    func removedLowerFileWrittenThroughNode(build: CopyBuild) throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        let union = stack.union
        // As the FUSE server serves it: a removed file lives on through the kernel's references.
        union.keepsDataOfRemovedFiles = true
        let directory = try union.lookup("d", in: .root).node
        let node = try union.lookup("a", in: directory).node
        try union.remove("a", in: directory, directory: false)
        // What a WRITE through a descriptor the kernel still holds does (FUSE's open-less files).
        let (file, _) = try union.dataFile(of: node, writing: true)
        #expect(file.writable)
        #expect(try file.descriptor.write(Array("xy".utf8), at: 1) == 2)
        #expect(try file.descriptor.read(count: 8, at: 0) == Array("1xy".utf8))
        let status = try union.attributes(of: node)
        #expect(status.size == 3)
        #expect(status.linkCount == 0)
        // Named or not while it was built, the copy has no name left: nothing in the work directory,
        // only the whiteout in the upper one.
        #expect(workLeftovers(stack.layers.work) == [])
        #expect(stack.upperStatus("d/a")?.kind == .characterDevice)
        #expect(failure { _ = try union.lookup("a", in: directory) } == .noSuchFileOrDirectory)
    }

    @Test("a removed file's inode number no longer resolves to its node, so a reused number gets a new one")
    func removedNodeLeavesInodeIndex() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let union = stack.union
        let (node, status, descriptor) = try union.createFile("gone", in: .root, flags: O_WRONLY, permissions: 0o644)
        try? descriptor.close()
        #expect(try union.withEngine { (engine) throws(Errno) in engine.nodesByInode[status.inode] } == node)
        try union.remove("gone", in: .root, directory: false)
        // The kernel still holds the node (one lookup), but the filesystem may hand its inode number to a
        // new object: that object must not be taken for this node.
        #expect(try union.withEngine { (engine) throws(Errno) in engine.nodes[node] != nil })
        #expect(try union.withEngine { (engine) throws(Errno) in engine.nodesByInode[status.inode] } == nil)
    }

    @Test("layers on different filesystems get distinct inode-number namespaces (xino)")
    func inodeNamespaces() throws {
        let shm = "/dev/shm/strata-xino-\(getpid())"
        mkdir(shm, 0o755)
        defer { try? TemporaryDirectory.removeTree(shm) }
        let tmpfsLayers = try LayerFixture(lowers: [Layer([.file("t", "on tmpfs")])]).build(in: shm)
        let stack = try Stack(Self.fixture)
        stack.union.close()
        defer { stack.close() }
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(tmpfsLayers.lowers[0])] + stack.layers.lowers.map { FilePath($0) },
            upper: FilePath(stack.layers.upper), work: FilePath(stack.layers.work)))
        defer { union.close() }
        let onTmpfs = try union.status("t")
        let onExt4 = try union.status("d/a")
        #expect(onTmpfs.inode >> 56 == 1, "the tmpfs lower is the second filesystem: namespace 1")
        #expect(onExt4.inode >> 56 == 0, "lowers on the upper's filesystem keep namespace 0")
        #expect(onTmpfs.device == onExt4.device, "one st_dev for the whole union")
        let entry = try #require(try union.contentsOfDirectory("").first { $0.name == "t" })
        #expect(entry.inode == onTmpfs.inode)
    }

    @Test("no operation ever writes to a lower layer")
    func lowersUntouched() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let before = try stack.layers.lowers.map { try TreeSnapshot.directory($0, xattrs: .upperLayer) }
        let union = stack.union
        try stack.write("d/a", "changed")
        try union.setPermissions("d/b", 0o600)
        try union.setOwner("d/c", user: 5, group: 5)
        try union.setExtendedAttribute("user.x", of: "e", to: [1])
        try union.removeFile("d/c")
        try union.rename("d", to: "moved")
        try union.makeHardLink("moved/h", to: "moved/a")
        try union.removeFile("l")
        try union.removeDirectory("e")
        try union.truncate("moved/b", to: 0)
        let after = try stack.layers.lowers.map { try TreeSnapshot.directory($0, xattrs: .upperLayer) }
        #expect(before == after)
    }
}
