import Foundation
import Glibc
import StrataTestSupport
import Testing

/// A mount made by root serves every user and honours set-user-ID files, as `mount -t overlay` does
/// (a container's processes run as many users, and images hold programs such as `su`).
@Suite("a mount made by root, used by other users",
       .enabled(if: KernelOverlay.isAvailable && FUSEAvailability.isAvailable
                    && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
                    && FileManager.default.isExecutableFile(atPath: "/usr/bin/id"),
                "needs root, /dev/fuse, the kernel's overlay, setpriv and id"))
struct RootMountTests {
    /// What user 65534 sees: a file read, a directory listed, and the effective user of a
    /// set-user-ID root copy of `id`.
    static func seen(_ merged: String) throws -> String {
        try runAsNobody("cat '\(merged)/note'; ls '\(merged)/dir'; '\(merged)/suid-id' -u")
    }

    @Test("no options: other users read and list, and a set-user-ID program runs as its owner", .timeLimit(.minutes(2)))
    func asMountOverlay() throws {
        let directory = try TemporaryDirectory(prefix: "strata-root-mount")
        defer { try? directory.remove() }
        let program = try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/id"))
        var mounts = KernelAndStrataMounts(LayerFixture(lowers: [Layer([.file("note", "for everyone\n"), .file("dir/entry", "e")])]))
        mounts.openToEveryone = true
        mounts.prepare = { (layers) in
            let suid = "\(layers.lowers[0])/suid-id"
            try program.write(to: URL(fileURLWithPath: suid))
            chmod(suid, 0o4755)
        }
        let results = try mounts.run(in: directory) { (merged, _) in try Self.seen(merged) }
        #expect(results[1] == results[0])
        #expect(results[0] == "for everyone\nentry\n0\n")
    }
}
