import Foundation
import StrataTestSupport
import Testing

/// `mount -t fuse.strata` goes through mount.fuse3, which runs `strata SOURCE MOUNTPOINT -o OPTIONS`;
/// `umount` ends it. mount(8) resets PATH for its helpers, so the test calls mount.fuse3 itself with the
/// built binary on PATH (an installed `strata` works through plain `mount -t fuse.strata`).
@Suite("mount helper", .serialized, .enabled(if: FUSEAvailability.isAvailable && FileManager.default.isExecutableFile(atPath: "/sbin/mount.fuse3"), "needs root, /dev/fuse and mount.fuse3"))
struct MountHelperTests {
    static var binaryDirectory: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["PATH=\(binaryDirectory):/usr/sbin:/usr/bin:/sbin:/bin"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("mount -t fuse.strata mounts the union and umount ends it")
    func mountHelper() throws {
        let directory = try TemporaryDirectory(prefix: "strata-helper")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("etc/motd", "hello\n")]), Layer([.file("bin/tool", "t")])])
            .build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let options = "lowerdir=\(layers.lowers[0]):\(layers.lowers[1]),upperdir=\(layers.upper),workdir=\(layers.work)"
        let (status, output) = try Self.run(["/sbin/mount.fuse3", "overlay", merged, "-t", "fuse.strata", "-o", options])
        defer {
            if FUSEMount.isMounted(merged) { _ = umount2(merged, Int32(MNT_DETACH)) }
        }
        #expect(status == 0, "\(output)")
        #expect(FUSEMount.isMounted(merged))
        #expect(try String(contentsOfFile: "\(merged)/etc/motd", encoding: .utf8) == "hello\n")
        #expect(FileManager.default.fileExists(atPath: "\(merged)/bin/tool"))
        let (unmounted, unmountOutput) = try Self.run(["umount", merged])
        #expect(unmounted == 0, "\(unmountOutput)")
        #expect(!FUSEMount.isMounted(merged))
    }
}
