import Foundation
import Glibc
import Strata
import StrataTestSupport
import Testing

/// POSIX ACLs decide who may read, write and search through the mount as through the kernel's overlay:
/// a named-user entry grants or refuses what the mode bits alone would not, a chmod's new mask and an
/// ACL set through the mount take effect at once, and the uppers end up with the same ACLs.
@Suite("POSIX ACLs through the mount",
       .enabled(if: KernelOverlay.isAvailable && FUSEAvailability.isAvailable
                    && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                "needs root, /dev/fuse, the kernel's overlay and setpriv"))
struct ACLThroughMountTests {
    static let nobody: UInt32 = 65534
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("granted", "granted\n", mode: 0o600), .file("refused", "refused\n", mode: 0o644),
            .directory("searchable", mode: 0o700), .file("searchable/inner", "inner\n", mode: 0o644),
            .file("writable", "writable\n", mode: 0o644), .file("plain", "plain\n", mode: 0o600),
            .file("group-granted", "g\n", mode: 0o600), .file("group-refused", "g\n", mode: 0o644),
        ])
    ])

    /// The bytes of a `system.posix_acl_access` value: `entries` of (tag, permissions, id).
    static func acl(_ entries: [(tag: UInt16, permissions: UInt16, id: UInt32)]) -> [UInt8] {
        func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
            withUnsafeBytes(of: value.littleEndian) { Array($0) }
        }
        return littleEndian(UInt32(2)) + entries.flatMap { littleEndian($0.tag) + littleEndian($0.permissions) + littleEndian($0.id) }
    }

    static let owner: UInt16 = 0x01, user: UInt16 = 0x02, group: UInt16 = 0x04, namedGroup: UInt16 = 0x08
    static let mask: UInt16 = 0x10, other: UInt16 = 0x20
    static let none = UInt32.max
    /// A default ACL giving nobody everything.
    static let everythingForNobody: [(UInt16, UInt16, UInt32)] = [
        (owner, 7, none), (user, 7, nobody), (group, 5, none), (mask, 7, none), (other, 5, none),
    ]

    /// Sets `attribute` (an access or default ACL) of `path` under `root` (`""`: `root` itself).
    static func setACL(_ attribute: String, _ entries: [(UInt16, UInt16, UInt32)], at path: String, under root: String) throws {
        let directory = try openDirectory(root)
        defer { try? directory.close() }
        try directory.setExtendedAttribute(
            attribute, to: acl(entries.map { (tag: $0.0, permissions: $0.1, id: $0.2) }), at: path)
    }

    /// "path mode access-ACL default-ACL" of each of `paths` under `root`, the ACLs as bytes.
    static func aclReport(under root: String, _ paths: [String]) throws -> [String] {
        let directory = try openDirectory(root)
        defer { try? directory.close() }
        return try paths.map { (path) in
            let mode = String(try directory.status(at: path).mode, radix: 8)
            let access = (try? directory.extendedAttribute("system.posix_acl_access", at: path)) ?? []
            let inherited = (try? directory.extendedAttribute("system.posix_acl_default", at: path)) ?? []
            return "\(path) \(mode) \(access) \(inherited)"
        }
    }

    /// Nobody may read `granted` (mode 0600) and search `searchable` (0700) through a named-user entry,
    /// and may not read `refused` (0644) though the other bits allow it; `writable` grants writing.
    static func applyACLs(to lower: String) throws {
        let lists: [(String, [(UInt16, UInt16, UInt32)])] = [
            ("granted", [(owner, 6, none), (user, 4, nobody), (group, 0, none), (mask, 4, none), (other, 0, none)]),
            ("refused", [(owner, 6, none), (user, 0, nobody), (group, 4, none), (mask, 4, none), (other, 4, none)]),
            ("searchable", [(owner, 7, none), (user, 5, nobody), (group, 0, none), (mask, 5, none), (other, 0, none)]),
            ("writable", [(owner, 6, none), (user, 6, nobody), (group, 4, none), (mask, 6, none), (other, 4, none)]),
            // Named groups: nobody's group 65534 granted reading; refused, which then bars the other bits.
            ("group-granted", [(owner, 6, none), (group, 0, none), (namedGroup, 4, nobody), (mask, 4, none), (other, 0, none)]),
            ("group-refused", [(owner, 6, none), (group, 4, none), (namedGroup, 0, nobody), (mask, 4, none), (other, 4, none)]),
        ]
        for (name, entries) in lists { try setACL("system.posix_acl_access", entries, at: name, under: lower) }
    }

    /// What nobody can do in the merged view at `root`: one digit (1 allowed, 0 refused) per attempt.
    static func attempts(_ root: String) throws -> String {
        try runAsNobody("""
            r() { if "$@" >/dev/null 2>&1; then printf 1; else printf 0; fi; }
            r cat '\(root)/granted'; r cat '\(root)/refused'; r ls '\(root)/searchable'
            r cat '\(root)/searchable/inner'; r sh -c "echo more >> '\(root)/writable'"; r cat '\(root)/plain'
            r cat '\(root)/group-granted'; r cat '\(root)/group-refused'
            """)
    }

    /// The attempts, then root's chmod of `granted` (its mask goes with the group bits) and an ACL set on
    /// `plain` through the mount, then the attempts again; and the ACLs the upper ends with.
    static func exercise(_ merged: String, upper: String) throws -> [String] {
        var seen = [try attempts(merged)]
        guard chmod("\(merged)/granted", 0o600) == 0 else { throw HarnessError("chmod granted", errno: errno) }
        try setACL(
            "system.posix_acl_access", [(owner, 6, none), (user, 4, nobody), (group, 0, none), (mask, 4, none), (other, 0, none)],
            at: "plain", under: merged)
        seen.append(try attempts(merged))
        return seen + (try aclReport(under: upper, ["granted", "writable", "plain"]))
    }

    /// The kernel's overlay and a `strata mount` over the fixture with its ACLs applied, open to every
    /// user (the checks run as user 65534).
    static func mountsWithACLs(strataOptions: String) -> KernelAndStrataMounts {
        var mounts = KernelAndStrataMounts(fixture)
        mounts.strataOptions = strataOptions
        mounts.openToEveryone = true
        mounts.prepare = { (layers) in try applyACLs(to: layers.lowers[0]) }
        return mounts
    }

    @Test("named-user entries, a chmod's new mask and an ACL set through the mount: the kernel's answers",
          .timeLimit(.minutes(2)))
    func asTheKernel() throws {
        let directory = try TemporaryDirectory(prefix: "strata-acl-mount")
        defer { try? directory.remove() }
        let mounts = Self.mountsWithACLs(strataOptions: "allow_other,volatile")
        let results = try mounts.run(in: directory) { (merged, layers) in try Self.exercise(merged, upper: layers.upper) }
        #expect(results[1] == results[0])
        // The kernel's answers show the ACLs at work (else the comparison proves nothing).
        #expect(results[0][0] == "10111010")
        #expect(results[0][1] == "00111110")
    }

    /// A lower directory whose default ACL gives nobody everything.
    static let inheritingFixture = LayerFixture(lowers: [
        Layer([.directory("inherits", mode: 0o755), .file("inherits/old", "o"), .file("inherits/olddir/x", "x")])
    ])

    /// Files and directories created under a default ACL with umask 022, in place and over the whiteouts
    /// of removed lower entries (built in the work directory): what each ends with.
    static func createUnderDefaultACL(_ merged: String, upper: String) throws -> [String] {
        try withThreadUmask(0o022) {
            guard close(open("\(merged)/inherits/file", O_WRONLY | O_CREAT | O_EXCL, 0o666)) == 0,
                mkdir("\(merged)/inherits/sub", 0o777) == 0,
                close(open("\(merged)/inherits/sub/deeper", O_WRONLY | O_CREAT | O_EXCL, 0o640)) == 0,
                unlink("\(merged)/inherits/old") == 0, unlink("\(merged)/inherits/olddir/x") == 0,
                rmdir("\(merged)/inherits/olddir") == 0,
                close(open("\(merged)/inherits/old", O_WRONLY | O_CREAT | O_EXCL, 0o666)) == 0,
                mkdir("\(merged)/inherits/olddir", 0o777) == 0
            else { throw HarnessError("creating under \(merged)/inherits", errno: errno) }
        }
        let paths = ["inherits/file", "inherits/sub", "inherits/sub/deeper", "inherits/old", "inherits/olddir"]
        return try aclReport(under: merged, paths) + aclReport(under: upper, paths)
    }

    @Test("a default ACL is inherited and the umask does not apply: the kernel's modes and ACLs",
          .timeLimit(.minutes(2)))
    func inheritedACL() throws {
        let directory = try TemporaryDirectory(prefix: "strata-acl-default")
        defer { try? directory.remove() }
        var mounts = KernelAndStrataMounts(Self.inheritingFixture)
        mounts.prepare = { (layers) in
            try Self.setACL("system.posix_acl_default", Self.everythingForNobody, at: "inherits", under: layers.lowers[0])
        }
        let results = try mounts.run(in: directory) { (merged, layers) in
            try Self.createUnderDefaultACL(merged, upper: layers.upper)
        }
        #expect(results[1] == results[0])
        // The kernel's file kept group write (the ACL's mask), which umask 022 would have taken.
        #expect(results[0].first?.hasPrefix("inherits/file 100664 ") == true, "\(results[0])")
    }

    @Test("a default ACL on the work directory reaches no copy-up and no whiteout, as in the kernel's overlay",
          .timeLimit(.minutes(2)))
    func workDirectoryACL() throws {
        let directory = try TemporaryDirectory(prefix: "strata-acl-work")
        defer { try? directory.remove() }
        var mounts = KernelAndStrataMounts(
            LayerFixture(lowers: [Layer([.file("chmodded", "c"), .file("appended", "a"), .file("removed", "r")])]))
        mounts.openToEveryone = true
        mounts.prepare = { (layers) in
            try Self.setACL("system.posix_acl_default", Self.everythingForNobody, at: "", under: layers.work)
        }
        let results = try mounts.run(in: directory) { (merged, layers) throws -> [String] in
            guard chmod("\(merged)/chmodded", 0o640) == 0, unlink("\(merged)/removed") == 0 else {
                throw HarnessError("changing \(merged)", errno: errno)
            }
            let root = try openDirectory(merged)
            defer { try? root.close() }
            let file = try root.open(at: "appended", flags: O_WRONLY | O_APPEND)
            _ = try file.write(Array("+".utf8), at: 0)
            try file.close()
            var seen = try Self.aclReport(under: layers.upper, ["chmodded", "appended", "removed"])
            seen.append(try runAsNobody("cat '\(merged)/chmodded' >/dev/null 2>&1 && echo read || echo refused"))
            return seen
        }
        #expect(results[1] == results[0])
        #expect(results[0].last == "refused\n")
    }

    /// The same attempts as `attempts`, made through the path API with nobody's credentials.
    static func apiAttempts(layers: BuiltLayers) throws -> String {
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: layers.lowers.map { FilePath($0) }, upper: FilePath(layers.upper), work: FilePath(layers.work),
            durability: .volatile, credentials: Credentials(user: nobody, group: nobody)))
        defer { union.close() }
        func attempt(_ body: () throws -> Void) -> String { (try? body()) == nil ? "0" : "1" }
        func read(_ path: FilePath) throws { let file = try union.open(path, .readOnly); _ = try file.read(count: 64, at: 0); file.close() }
        return attempt { try read("granted") } + attempt { try read("refused") }
            + attempt { _ = try union.contentsOfDirectory("searchable") } + attempt { try read("searchable/inner") }
            + attempt {
                let file = try union.open("writable", .writeOnly, options: [.append])
                defer { file.close() }
                _ = try file.write(Array("more\n".utf8), at: 0)
            }
            + attempt { try read("plain") } + attempt { try read("group-granted") } + attempt { try read("group-refused") }
    }

    @Test("the engine's own checks read ACLs too: the path API as another user, and a mount without default_permissions",
          .timeLimit(.minutes(2)))
    func engineChecks() throws {
        let directory = try TemporaryDirectory(prefix: "strata-acl-engine")
        defer { try? directory.remove() }
        let mounts = Self.mountsWithACLs(strataOptions: "allow_other,no_default_permissions,volatile")
        let throughMounts = try mounts.run(in: directory) { (merged, _) in try Self.attempts(merged) }
        #expect(throughMounts[1] == throughMounts[0])
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("api-layers"))
        try Self.applyACLs(to: layers.lowers[0])
        #expect(try Self.apiAttempts(layers: layers) == throughMounts[0])
        #expect(throughMounts[0] == "10111010")
    }

    @Test("noacl: the mode bits alone decide, as in fuse-overlayfs", .timeLimit(.minutes(2)))
    func withoutACLs() throws {
        let directory = try TemporaryDirectory(prefix: "strata-noacl-mount")
        defer { try? directory.remove() }
        chmod(directory.path, 0o755)
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        chmod("\(directory.path)/layers", 0o755)
        try Self.applyACLs(to: layers.lowers[0])
        let merged = try directory.makeSubdirectory("merged")
        let options = "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work),allow_other,volatile,noacl"
        let server = try StrataMountProcess(options: options, at: merged, log: "\(directory.path)/server")
        defer { server.kill() }
        #expect(try Self.attempts(merged) == "01000001")
        try server.unmount()
    }
}
