import Foundation
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// With `allow_other`, other users work in the mount with their own rights: files they create are
/// theirs, and without `default_permissions` the engine itself checks each request's caller.
@Suite("permissions through the mount", .serialized, .enabled(if: FUSEAvailability.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root, /dev/fuse and setpriv"))
struct PermissionThroughMountTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("secret", "root only\n", mode: 0o600),
            .file("public", "anyone reads\n", mode: 0o644),
            .directory("shared", mode: 0o777),
        ])
    ])

    /// Runs `sh -c script` as user 65534 and returns its exit status.
    static func asNobody(_ script: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/bin/sh", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test("the engine enforces each caller's rights", arguments: [true, false])
    func callerRights(kernelChecks: Bool) throws {
        let directory = try TemporaryDirectory(prefix: "strata-fuse-perm")
        defer { try? directory.remove() }
        chmod(directory.path, 0o755)
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        var options = try MountOptions(options: [
            "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work),allow_other"
                + (kernelChecks ? "" : ",no_default_permissions")
        ])
        options.entryTimeout = 0
        options.attributeTimeout = 0
        let mount = try FUSEMount(options, at: merged)
        defer { try? mount.unmount() }
        #expect(try Self.asNobody("cat \(merged)/secret") != 0)
        #expect(try Self.asNobody("echo x >> \(merged)/public") != 0)
        #expect(try Self.asNobody("cat \(merged)/public > /dev/null") == 0)
        #expect(try Self.asNobody("echo mine > \(merged)/shared/note") == 0)
        var status = stat()
        #expect(lstat("\(layers.upper)/shared/note", &status) == 0 && status.st_uid == 65534)
        #expect(lstat("\(layers.upper)/public", &status) != 0, "a refused write copies nothing up")
    }
}
