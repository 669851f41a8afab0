import Foundation
import Glibc
import Strata
import StrataTestSupport
import Testing

/// Hostile users through `strata mount` (a child process, `allow_other`): neither root nor user 65534
/// (through `setpriv`) can create, remove or read Strata's markers — `.wh.*` names, 0/0 character
/// devices, the overlay xattrs in the trusted and user namespaces, Strata's own — or see the work
/// directory and its index; and a hostile layer's symlinks and redirects never lead outside it.
/// `SecurityTests` covers the same in-process. Every command runs as a child process with a time limit.
@Suite(
    "hostile users through the mount", .serialized,
    .enabled(if: FUSEAvailability.isAvailable && access("/usr/bin/setpriv", X_OK) == 0 && access("/usr/bin/setfattr", X_OK) == 0,
             "needs root, /dev/fuse, setpriv and setfattr"))
struct HostileUserTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("a", "a\n"),
            .file("linked", "linked\n"),
            .hardLink("linked2", to: "linked"),
            .directory("shared", mode: 0o777),
            .file("shared/theirs", "lower, owned by 65534\n", uid: 65534, gid: 65534),
            .directory("gone"),
            .file("gone/x", "x\n"),
        ])
    ])

    /// The private xattrs a caller might try, in every namespace Strata reads.
    static let privateAttributes = [
        "trusted.overlay.opaque", "trusted.overlay.redirect", "trusted.overlay.metacopy", "trusted.overlay.whiteout",
        "trusted.overlay.strata.origin", "trusted.overlay.nlink", "user.overlay.opaque", "user.overlay.redirect",
        "user.overlay.metacopy", "user.overlay.whiteout", "user.overlay.strata.origin", "user.fuseoverlayfs.opaque",
        "trusted.strata.anything", "user.strata.anything",
    ]

    @Test("root and another user can neither create, change, remove nor read markers and private xattrs",
          .timeLimit(.minutes(2)), arguments: ["overlay", "oci"])
    func markers(format: String) throws {
        try withServer(options: "allow_other,whiteout=\(format)") { layers, merged, scratch in
            // Leave marks in the upper: a metadata-only copy-up (metacopy, origin), a copied-up hard link
            // (index, nlink), a whiteout, an opaque directory, a user's own directory.
            try Self.check(scratch, "root", "chmod 600 \(merged)/a && echo more >> \(merged)/linked && rm \(merged)/gone/x "
                + "&& rm -r \(merged)/gone && mkdir \(merged)/gone && rm \(merged)/shared/theirs")
            try Self.check(scratch, "user", "mkdir \(merged)/shared/mine && echo mine > \(merged)/shared/mine/f")
            for user in ["root", "user"] {
                let target = user == "root" ? "\(merged)/a" : "\(merged)/shared/mine"
                for name in Self.privateAttributes {
                    try Self.refused(scratch, user, "setfattr -n \(name) -v y \(target)", "set \(name)")
                    try Self.refused(scratch, user, "getfattr --only-values -n \(name) \(target)", "read \(name)")
                    try Self.refused(scratch, user, "setfattr -x \(name) \(target)", "remove \(name)")
                }
                // Control: the refusal is about the names, not xattrs in general.
                try Self.check(scratch, user, "setfattr -n user.ok -v 1 \(target) && getfattr -n user.ok \(target)")
                let listed = try Self.run(scratch, user, "getfattr -d -m - \(target) \(merged)/gone \(merged)/linked").output
                    .split(separator: "\n").filter { !$0.hasPrefix("# file:") }.joined(separator: "\n")
                #expect(!listed.contains("overlay") && !listed.contains("strata"), "\(user) lists \(listed)")
                // Marker names: refused, and a 0/0 device (a whiteout) cannot be made either.
                let directory = user == "root" ? merged : "\(merged)/shared/mine"
                for name in [".wh.a", ".wh.gone", ".wh..wh..opq", ".wh.new"] {
                    try Self.refused(scratch, user, "touch \(directory)/\(name)", "create \(name)")
                    try Self.refused(scratch, user, "mkdir \(directory)/\(name)", "mkdir \(name)")
                    try Self.refused(scratch, user, "mv \(directory)/f \(directory)/\(name) 2>&1 || mv \(merged)/a \(directory)/\(name)",
                                     "rename to \(name)")
                }
                try Self.refused(scratch, user, "mknod \(directory)/forged c 0 0", "mknod 0/0")
            }
            #expect(try Self.run(scratch, "root", "cat \(merged)/a").output == "a\n")
            // The merged view shows no marker, no temporary, no work or index entry.
            let walked = try Self.check(scratch, "root", "find \(merged) -mindepth 1").output
            for forbidden in [".wh.", "#strata", "strata-index", "/work"] {
                #expect(!walked.contains(forbidden), "the merged tree shows \(forbidden): \(walked)")
            }
            // a, linked, linked2, gone, shared, shared/mine, shared/mine/f
            #expect(walked.split(separator: "\n").count == 7, "\(walked)")
            // The marks are still in the upper, untouched.
            #expect(try Self.check(scratch, "root", "getfattr -d -m - \(layers.upper)/a").output.contains("overlay.metacopy"))
            #expect(!(try Self.check(scratch, "root", "ls -a \(layers.upper)").output.contains(".wh.new")))
        }
    }

    @Test("a hostile layer's symlinks, redirects and `..` never lead a caller outside the layers", .timeLimit(.minutes(3)))
    func noWayOut() throws {
        let outside = try TemporaryDirectory(prefix: "strata-outside")
        defer { try? outside.remove() }
        try RealProgramTests.write("\(outside.path)/secret", "host secret\n")
        chmod("\(outside.path)/secret", 0o644)
        let hostile = LayerFixture(lowers: [
            Layer([
                .directory("s"),
                .file("s/mine", "top\n"),
                // Redirects that try to climb out of the lower layer.
                .directory("r", xattrs: ["trusted.overlay.redirect": "/../../../../..\(outside.path)"]),
                .directory("r2", xattrs: ["trusted.overlay.redirect": "../../../../../..\(outside.path)"]),
            ]),
            Layer([
                .symlink("s", to: outside.path),
                .symlink("abs", to: outside.path),
                .directory("inner"),
                .file("inner/file", "inner\n"),
            ]),
        ])
        try withServer(fixture: hostile, options: "allow_other") { layers, merged, scratch in
            for user in ["root", "user"] {
                #expect(try Self.check(scratch, user, "ls -a \(merged)/s").output == ".\n..\nmine\n", "\(user): s merged with a symlink")
                try Self.refused(scratch, user, "cat \(merged)/s/secret", "s/secret")
                let redirected = try Self.check(scratch, user, "ls -a \(merged)/r \(merged)/r2").output
                #expect(!redirected.contains("secret"), "\(user): a redirect leads outside: \(redirected)")
                try Self.refused(scratch, user, "cat \(merged)/r/secret", "r/secret")
                try Self.refused(scratch, user, "cat \(merged)/inner/../../secret", "inner/../../secret")
            }
            // A symlink in the mount is the caller's own path walk (the kernel's, as on any file system);
            // what matters is that copy-up through it never writes outside: root writes into `s/` and `r/`.
            try Self.check(scratch, "root", "echo new > \(merged)/s/new && echo new > \(merged)/r/new && chmod 600 \(merged)/s/mine")
            #expect(try RealProgramTests.text("\(outside.path)/secret") == "host secret\n")
            #expect(access("\(outside.path)/new", F_OK) != 0, "a write through the union landed outside")
            #expect(try RealProgramTests.text("\(layers.upper)/s/new") == "new\n")
            var info = stat()
            #expect(lstat("\(outside.path)/secret", &info) == 0 && info.st_mode & 0o777 == 0o644)
        }
    }

    // MARK: Helpers

    func withServer(fixture: LayerFixture = Self.fixture, options extra: String,
                    _ body: (BuiltLayers, _ merged: String, _ scratch: String) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "strata-hostile")
        defer { try? directory.remove() }
        let layers = try fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let scratch = try directory.makeSubdirectory("scratch", permissions: 0o777)
        let lowers = layers.lowers.joined(separator: ":")
        let server = try StrataMountProcess(
            options: "lowerdir=\(lowers),upperdir=\(layers.upper),workdir=\(layers.work),\(extra)", at: merged,
            log: "\(scratch)/server")
        defer { server.kill() }
        try body(layers, merged, scratch)
        try server.unmount()
    }

    /// Runs `sh -c script` as root or as user 65534 (setpriv), with a time limit.
    static func run(_ scratch: String, _ user: String, _ script: String) throws -> RealProgramTests.ProgramResult {
        if user == "root" { return try RealProgramTests.run("sh", ["-c", script], timeout: 20, scratch: scratch) }
        return try RealProgramTests.run(
            "setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/bin/sh", "-c", script], timeout: 20,
            scratch: scratch)
    }

    @discardableResult
    static func check(_ scratch: String, _ user: String, _ script: String) throws -> RealProgramTests.ProgramResult {
        try RealProgramTests.check(run(scratch, user, script))
    }

    static func refused(_ scratch: String, _ user: String, _ script: String, _ what: String) throws {
        let result = try run(scratch, user, script)
        #expect(result.status != 0, "\(user) could \(what): \(result)")
    }
}
