import Foundation
import StrataTestSupport
import Testing

/// The `strata` binary end to end, as a user runs it.
@Suite("strata command line")
struct CommandLineTests {
    /// The `strata` executable built next to this test bundle.
    static var binary: URL { URL(fileURLWithPath: builtExecutable("strata")) }

    static func run(_ arguments: [String], as user: UInt32? = nil) throws -> (status: Int32, output: String) {
        let asUser = user.map { ["/usr/bin/setpriv", "--reuid", "\($0)", "--regid", "\($0)", "--clear-groups"] } ?? []
        return try runShortProgram(asUser + [binary.path] + arguments)
    }

    @Test("the demo runs unprivileged with OCI whiteouts", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && getuid() == 0))
    func rootlessDemo() throws {
        let directory = try TemporaryDirectory(prefix: "strata-cli")
        defer { try? directory.remove() }
        chmod(directory.path, 0o777)
        let (status, output) = try Self.run(["demo", "--directory", directory.path + "/example", "--whiteout", "oci"], as: 65534)
        #expect(status == 0, "\(output)")
        #expect(output.contains("bin/.wh.old-tool  (OCI whiteout)"))
        #expect(output.contains("etc/config  9 bytes  xattrs: user.overlay.metacopy"))
        #expect(FileManager.default.fileExists(atPath: directory.path + "/example/upper/bin/.wh.old-tool"))
    }

    @Test("a bad option is refused with a message naming it")
    func badOption() throws {
        let (status, output) = try Self.run(["tree", "-o", "lowerdir=/tmp,metacopy=on"])
        #expect(status != 0)
        #expect(output.contains("unknown option 'metacopy=on'"))
    }

    @Test("origin explains where a path comes from")
    func origin() throws {
        let directory = try TemporaryDirectory(prefix: "strata-cli")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("f", "top")]), Layer([.file("f", "bottom")])])
            .build(in: directory.path)
        let (status, output) = try Self.run(["origin", "-o", "lowerdir=\(layers.lowers[0]):\(layers.lowers[1])", "f"])
        #expect(status == 0)
        #expect(output.contains("f: from lower 0 at 'f'"))
        #expect(output.contains("hides lower 1 'f'"))
    }
}
