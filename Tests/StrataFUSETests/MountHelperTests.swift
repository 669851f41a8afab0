import Foundation
import StrataTestSupport
import Testing

/// `mount -t fuse.strata` goes through mount.fuse3, which runs `strata SOURCE MOUNTPOINT -o OPTIONS`;
/// `umount` ends it. mount(8) resets PATH for its helpers, so the test calls mount.fuse3 itself with the
/// built binary on PATH (an installed `strata` works through plain `mount -t fuse.strata`).
@Suite("mount helper", .serialized, .enabled(if: FUSEAvailability.isAvailable && FileManager.default.isExecutableFile(atPath: "/sbin/mount.fuse3"), "needs root, /dev/fuse and mount.fuse3"))
struct MountHelperTests {
    /// The built `strata` first, then the system's tools.
    static var searchPath: String { "\(binaryDirectory):/usr/sbin:/usr/bin:/sbin:/bin" }

    static var binaryDirectory: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    @Test("mount -t fuse.strata mounts the union and umount ends it")
    func mountHelper() throws {
        let directory = try TemporaryDirectory(prefix: "strata-helper")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("etc/motd", "hello\n")]), Layer([.file("bin/tool", "t")])])
            .build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let options = "lowerdir=\(layers.lowers[0]):\(layers.lowers[1]),upperdir=\(layers.upper),workdir=\(layers.work)"
        let (status, output) = try runShortProgram(
            ["/sbin/mount.fuse3", "overlay", merged, "-t", "fuse.strata", "-o", options], path: Self.searchPath)
        defer {
            if FUSEMount.isMounted(merged) { _ = umount2(merged, Int32(MNT_DETACH)) }
        }
        #expect(status == 0, "\(output)")
        #expect(FUSEMount.isMounted(merged))
        #expect(try String(contentsOfFile: "\(merged)/etc/motd", encoding: .utf8) == "hello\n")
        #expect(FileManager.default.fileExists(atPath: "\(merged)/bin/tool"))
        let (unmounted, unmountOutput) = try runShortProgram(["umount", merged], path: Self.searchPath)
        #expect(unmounted == 0, "\(unmountOutput)")
        #expect(!FUSEMount.isMounted(merged))
    }
}
