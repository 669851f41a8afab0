import Foundation
import StrataTestSupport
import Testing

@testable import Strata

@Suite("hard links across copy-up")
struct HardLinkTests {
    static let fixture = LayerFixture(lowers: [
        Layer([.file("d/f", "shared data"), .hardLink("d/g", to: "d/f"), .hardLink("e/h", to: "d/f"), .file("other", "o")])
    ])

    @Test("a write through one name of a lower hard-link group shows through every name",
          arguments: CopyBuild.allCases)
    func staysLinked(build: CopyBuild) throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        #expect(try stack.union.status("d/f").linkCount == 3)
        try stack.write("d/f", "rewritten")
        #expect(try stack.read("d/g") == "rewritten")
        #expect(try stack.read("e/h") == "rewritten")
        let inode = try stack.union.status("d/f").inode
        #expect(try stack.union.status("d/g").inode == inode)
        #expect(try stack.union.status("e/h").inode == inode)
        #expect(try stack.union.status("e/h").linkCount == 3)
        try stack.union.setPermissions("e/h", 0o600)
        #expect(try stack.union.status("d/g").permissions == 0o600)
        #expect(workLeftovers(stack.layers.work) == [])
    }

    @Test("link counts follow unlink and link, and survive reopening the stack")
    func linkCounts() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        try stack.union.removeFile("d/g")
        #expect(try stack.union.status("d/f").linkCount == 2)
        try stack.union.makeHardLink("new", to: "e/h")
        #expect(try stack.union.status("d/f").linkCount == 3)
        try stack.union.rename("other", to: "d/f")
        #expect(try stack.union.status("e/h").linkCount == 2)
        try stack.write("new", "via new")
        #expect(try stack.read("e/h") == "via new")
        stack.union.close()
        let reopened = try stack.reopen()
        defer { reopened.close() }
        #expect(try reopened.status("e/h").linkCount == 2)
        #expect(try reopened.status("e/h").inode == (try reopened.status("new")).inode)
        let file = try reopened.open("e/h", .readOnly)
        defer { file.close() }
        #expect(try file.read(count: 64, at: 0) == Array("via new".utf8))
    }

    @Test("a hard-linked node whose current name is removed goes on under its lowest remaining name")
    func currentNameAfterRemoval() throws {
        // Twelve names: were the successor the first of the set in hash order, as it once was, it would
        // be the lowest only about one time in eleven, and differ between processes.
        let names = (0..<12).map { "n" + ($0 < 10 ? "0" : "") + String($0) }
        let fixture = LayerFixture(lowers: [
            Layer([.file("d/n00", "shared")] + names.dropFirst().map { .hardLink("d/\($0)", to: "d/n00") })
        ])
        let stack = try Stack(fixture)
        defer { stack.close() }
        let directory = try stack.union.lookup("d", in: .root).node
        for name in names.shuffled() where name != "n07" { _ = try stack.union.lookup(name, in: directory) }
        // Looked up last, n07 is the node's current name; its removal hands the node to another.
        let node = try stack.union.lookup("n07", in: directory).node
        try stack.union.remove("n07", in: directory, directory: false)
        // A mode change gives the current name its upper link (the group itself lives in the index).
        _ = try stack.union.setAttributes(of: node, AttributeChanges(mode: 0o600))
        let upper = try FileManager.default.contentsOfDirectory(atPath: "\(stack.layers.upper)/d").sorted()
        #expect(upper == ["n00", "n07"], "the upper holds the link of the lowest remaining name and n07's whiteout")
        #expect(stack.upperStatus("d/n00")?.permissions == 0o600)
        #expect(stack.upperStatus("d/n07")?.kind == .characterDevice)
        #expect(try stack.union.status("d/n11").permissions == 0o600)
    }
}
