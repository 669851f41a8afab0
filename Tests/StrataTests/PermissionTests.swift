import Strata
import StrataTestSupport
import Testing

@Suite("permissions of an unprivileged caller")
struct PermissionTests {
    static let user = Credentials(user: 1000, group: 1000)
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("root-only", "secret", mode: 0o600),
            .file("readable", "r", mode: 0o644),
            .file("mine", "m", mode: 0o644, uid: 1000, gid: 1000),
            .directory("locked", mode: 0o700),
            .file("locked/inside", "i"),
            .directory("shared", mode: 0o777),
            .directory("sticky", mode: 0o1777),
            .file("sticky/theirs", "t", uid: 2000),
            .file("sticky/own", "o", uid: 1000),
        ])
    ])

    func stack() throws -> Stack {
        let stack = try Stack(Self.fixture)
        stack.union.close()
        return stack
    }

    func union(_ stack: Stack) throws -> UnionFileSystem {
        try UnionFileSystem(UnionConfiguration(
            lowers: stack.layers.lowers.map { FilePath($0) }, upper: FilePath(stack.layers.upper),
            work: FilePath(stack.layers.work), credentials: Self.user))
    }

    @Test("a caller without the right gets EACCES or EPERM and nothing is copied up")
    func deniedBeforeCopyUp() throws {
        let stack = try stack()
        defer { stack.close() }
        let union = try union(stack)
        defer { union.close() }
        #expect(failure { _ = try union.open("root-only", .readOnly) } == .permissionDenied)
        #expect(failure { _ = try union.open("readable", .writeOnly) } == .permissionDenied)
        #expect(failure { try union.truncate("readable", to: 0) } == .permissionDenied)
        #expect(failure { try union.setPermissions("readable", 0o777) } == .notPermitted)
        #expect(failure { try union.setOwner("mine", user: 0, group: nil) } == .notPermitted)
        #expect(failure { try union.setTimes("readable", access: .omit, modification: TimeSpec(seconds: 5)) }
            == .notPermitted)
        #expect(failure { try union.removeFile("readable") } == .permissionDenied)
        #expect(failure { _ = try union.status("locked/inside") } == .permissionDenied)
        #expect(failure { _ = try union.contentsOfDirectory("locked") } == .permissionDenied)
        #expect(failure { try union.makeDirectory("new", permissions: 0o755) } == .permissionDenied)
        #expect(failure { try union.removeFile("sticky/theirs") } == .notPermitted)
        #expect(failure { try union.setExtendedAttribute("trusted.x", of: "mine", to: []) } == .notPermitted)
        #expect(stack.upperStatus("readable") == nil)
        #expect(stack.upperStatus("sticky/theirs") == nil)
    }

    @Test("what the caller owns or may write goes through")
    func allowed() throws {
        let stack = try stack()
        defer { stack.close() }
        let union = try union(stack)
        defer { union.close() }
        try union.setPermissions("mine", 0o600)
        try union.setTimes("mine", access: .omit, modification: TimeSpec(seconds: 5))
        try union.makeDirectory("shared/sub", permissions: 0o755)
        try union.removeFile("sticky/own")
        try union.setExtendedAttribute("user.note", of: "mine", to: Array("n".utf8))
        let file = try union.open("mine", .writeOnly)
        try file.write(Array("M".utf8), at: 0)
        file.close()
        #expect(try union.status("mine").permissions == 0o600)
        #expect(try union.contentsOfDirectory("sticky").map(\.name) == ["theirs"])
    }
}
