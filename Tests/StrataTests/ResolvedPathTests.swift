import Strata
import StrataTestSupport
import Testing

/// The path API keeps the paths it resolved until the union changes (`PathCache`): these check that
/// no change and no other caller ever sees a stale or someone else's result.
@Suite("resolved paths are remembered only while nothing changes")
struct ResolvedPathTests {
    static let user = Credentials(user: 1000, group: 1000)
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("d/a", "a"), .file("d/b", "b"), .directory("locked", mode: 0o700), .file("locked/inside", "i"),
            .directory("open", mode: 0o755), .file("open/f", "f"), .symlink("via", to: "d"),
        ])
    ])

    @Test("every change of the tree is seen by the next lookup, present or missing")
    func changesAreSeen() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let union = stack.union
        #expect(try union.status("d/a").size == 1)
        #expect(failure { _ = try union.status("d/new") } == .noSuchFileOrDirectory)
        try union.removeFile("d/a")
        #expect(failure { _ = try union.status("d/a") } == .noSuchFileOrDirectory)
        try stack.write("d/new", "created")
        #expect(try union.status("d/new").size == 7)
        try union.rename("d/new", to: "d/moved")
        #expect(failure { _ = try union.status("d/new") } == .noSuchFileOrDirectory)
        #expect(try union.status("d/moved").size == 7)
        #expect(try union.status("via").kind == .symbolicLink)
        #expect(try union.status("via/b").size == 1)
        try union.rename("d", to: "e")
        #expect(failure { _ = try union.status("d/b") } == .noSuchFileOrDirectory)
        #expect(failure { _ = try union.status("via/b") } == .noSuchFileOrDirectory, "the symlink now leads nowhere")
        #expect(try union.status("e/b").size == 1)
        try union.makeDirectory("d", permissions: 0o755)
        #expect(try union.contentsOfDirectory("d").isEmpty)
        try union.makeSymbolicLink("d/link", target: "x")
        #expect(try union.readLink("d/link") == "x")
        try union.removeFile("d/link")
        try union.makeSymbolicLink("d/link", target: "y")
        #expect(try union.readLink("d/link") == "y")
    }

    @Test("one caller's results never answer another's lookup")
    func callersAreKeptApart() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        let union = stack.union
        #expect(try union.status("locked/inside").size == 1, "the union's own credentials are root's")
        RequestContext.$caller.withValue(Self.user) {
            #expect(failure { _ = try union.status("locked/inside") } == .permissionDenied)
            #expect(failure { _ = try union.status("locked/missing") } == .permissionDenied)
            #expect(throws: Never.self) { _ = try union.status("open/f") }
        }
        #expect(failure { _ = try union.status("locked/missing") } == .noSuchFileOrDirectory)
        #expect(try union.status("locked/inside").size == 1)
        try union.setPermissions("open", 0o700)
        RequestContext.$caller.withValue(Self.user) {
            #expect(failure { _ = try union.status("open/f") } == .permissionDenied, "a chmod is a change too")
        }
    }
}
