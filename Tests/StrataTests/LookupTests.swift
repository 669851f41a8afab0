import Strata
import StrataTestSupport
import Testing

@Suite("lookup, markers and attributes")
struct LookupTests {
    @Test("the top layer wins and attributes come from the topmost copy")
    func topLayerWins() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.file("f", "top", mode: 0o600, uid: 7)]),
            Layer([.file("f", "bottom", mode: 0o644), .file("only-bottom", "b")]),
        ]))
        defer { stack.close() }
        #expect(try stack.read("f") == "top")
        let status = try stack.union.status("f")
        #expect(status.permissions == 0o600)
        #expect(status.user == 7)
        #expect(try stack.read("only-bottom") == "b")
    }

    @Test("a whiteout hides the name in every layer below, in each format", arguments: [WhiteoutStyle.characterDevice, .oci])
    func whiteoutsHide(style: WhiteoutStyle) throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.whiteout("d/gone", style: style), .whiteout("dir", style: style)]),
            Layer([.file("d/kept", "k")]),
            Layer([.file("d/gone", "old"), .file("dir/inside", "x")]),
        ]))
        defer { stack.close() }
        #expect(try stack.names("d") == ["kept"])
        #expect(failure { _ = try stack.union.status("d/gone") } == .noSuchFileOrDirectory)
        #expect(failure { _ = try stack.union.status("dir") } == .noSuchFileOrDirectory)
        #expect(try stack.names("") == ["d"])
    }

    @Test("an xattr whiteout counts only inside a directory marked overlay.opaque=x")
    func attributeWhiteouts() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([
                .directory("d", xattrs: ["trusted.overlay.opaque": "x"]),
                .file("d/gone", "", xattrs: ["trusted.overlay.whiteout": ""]),
                .file("e/shown", "", xattrs: ["trusted.overlay.whiteout": ""]),
            ]),
            Layer([.file("d/gone", "old"), .file("d/kept", "k")]),
        ]))
        defer { stack.close() }
        #expect(try stack.names("d") == ["kept"])
        #expect(try stack.names("e") == ["shown"])
    }

    @Test("an opaque directory hides everything below it, in each format", arguments: [OpaqueStyle.xattr, .oci])
    func opaqueDirectories(style: OpaqueStyle) throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.directory("d", opaque: style), .file("d/new", "n")]),
            Layer([.file("d/old", "o"), .file("d/sub/deep", "x")]),
        ]))
        defer { stack.close() }
        #expect(try stack.names("d") == ["new"])
        #expect(failure { _ = try stack.union.status("d/sub/deep") } == .noSuchFileOrDirectory)
    }

    @Test("a user.overlay.opaque mark and fuse-overlayfs's mark are read too")
    func otherOpaqueNamespaces() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([
                .directory("a", xattrs: ["user.overlay.opaque": "y"]),
                .directory("b", xattrs: ["user.fuseoverlayfs.opaque": "y"]),
            ]),
            Layer([.file("a/hidden", "h"), .file("b/hidden", "h")]),
        ]))
        defer { stack.close() }
        #expect(try stack.names("a") == [])
        #expect(try stack.names("b") == [])
    }

    @Test("a non-directory above hides a directory below; only directories merge")
    func nonDirectoryHidesDirectory() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.file("x", "file"), .directory("m"), .file("m/top", "t")]),
            Layer([.file("x/inner", "i"), .file("m/bottom", "b")]),
        ]))
        defer { stack.close() }
        #expect(try stack.union.status("x").kind == .regular)
        #expect(failure { _ = try stack.union.status("x/inner") } == .notDirectory)
        #expect(try stack.names("m") == ["bottom", "top"])
        #expect(try stack.union.status("m").linkCount == 1, "a merged directory reports one link, as the kernel does")
    }

    @Test("markers never show and cannot be forged, read or changed")
    func markersArePrivate() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.whiteout("gone", style: .oci), .directory("o", opaque: .oci), .file("f", "x", xattrs: ["user.keep": "1"])]),
            Layer([.file("gone", "g")]),
        ]), format: .oci)
        defer { stack.close() }
        #expect(try stack.names("") == ["f", "o"])
        #expect(try stack.names("o") == [])
        #expect(failure { _ = try stack.union.status(".wh.gone") } == .noSuchFileOrDirectory)
        #expect(failure { _ = try stack.union.status("o/.wh..wh..opq") } == .noSuchFileOrDirectory)
        #expect(failure { _ = try stack.union.open(".wh.f", .writeOnly, options: .create) } == .invalidArgument)
        #expect(failure { try stack.union.makeDirectory(".wh..wh..opq", permissions: 0o755) } == .invalidArgument)
        #expect(failure { try stack.union.rename("f", to: ".wh.other") } == .invalidArgument)
        #expect(failure { try stack.union.setExtendedAttribute("trusted.overlay.opaque", of: "o", to: Array("y".utf8)) }
            == .notSupported)
        #expect(failure { try stack.union.setExtendedAttribute("user.overlay.whiteout", of: "f", to: []) } == .notSupported)
        #expect(failure { _ = try stack.union.extendedAttribute("user.overlay.strata.origin", of: "f") } == .notSupported)
        try stack.union.setPermissions("f", 0o600)
        #expect(stack.upperAttribute("user.overlay.metacopy", of: "f") != nil)
        #expect(try stack.union.extendedAttributeNames(of: "f") == ["user.keep"])
    }

    @Test("inode numbers are stable across copy-up and readdir's d_ino equals st_ino")
    func inodeNumbers() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.file("a", "1"), .directory("d"), .file("d/x", "2")]),
            Layer([.file("b", "3"), .file("d/y", "4")]),
        ]))
        defer { stack.close() }
        let before = try stack.union.status("a").inode
        try stack.write("a", "changed")
        #expect(try stack.union.status("a").inode == before)
        try stack.union.setPermissions("d/y", 0o600)
        try stack.write("new", "n")
        for directory: FilePath in ["", "d"] {
            for entry in try stack.union.contentsOfDirectory(directory) {
                let path = directory.appending(entry.name)
                #expect(entry.inode == (try stack.union.status(path)).inode, "d_ino of \(path)")
            }
        }
        let all = try ["a", "b", "d", "d/x", "d/y", "new"].map { try stack.union.status(FilePath($0)).inode }
        #expect(Set(all).count == all.count, "inode numbers are unique across layers")
    }

    @Test("origin(of:) names the layer, the merged directories and what is hidden")
    func provenance() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.file("f", "top"), .directory("d")]),
            Layer([.file("f", "bottom"), .directory("d")]),
        ]))
        defer { stack.close() }
        let file = try stack.union.origin(of: "f")
        #expect(file.top.layer == .lower(0))
        #expect(file.hidden.map(\.layer) == [.lower(1)])
        let directory = try stack.union.origin(of: "d")
        #expect(directory.merged.map(\.layer) == [.lower(1)])
        try stack.union.setPermissions("f", 0o600)
        let copied = try stack.union.origin(of: "f")
        #expect(copied.top.layer == .upper)
        #expect(copied.dataSource?.layer == .lower(0))
    }
}

@Suite("redirects in lower layers")
struct LowerRedirectTests {
    @Test("a kernel upper reused as a lower layer keeps its renamed directories merged", arguments: ["old", "/deep/old"])
    func lowerRedirects(redirect: String) throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([
                .directory("moved", xattrs: ["trusted.overlay.redirect": redirect]),
                .file("moved/own", "from the renaming layer"),
                .whiteout(redirect.hasPrefix("/") ? "deep/old" : "old"),
            ]),
            Layer([
                .file("old/x", "lower content"), .file("deep/old/x", "lower content"),
            ]),
        ]))
        defer { stack.close() }
        #expect(try stack.names("moved") == ["own", "x"])
        #expect(try stack.read("moved/x") == "lower content")
        #expect(try stack.union.origin(of: "moved").merged.map(\.path) == [redirect.hasPrefix("/") ? "deep/old" : "old"])
    }
}
