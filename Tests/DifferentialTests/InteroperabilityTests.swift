import Glibc
import Strata
import StrataTestSupport
import Testing

/// The upper directory Strata writes in the overlay format is a valid kernel overlayfs upper: mounted
/// afterwards by the kernel over the same lowers, it shows exactly the merged tree Strata showed.
@Suite("kernel interoperability", .enabled(if: KernelOverlay.isAvailable, "\(KernelOverlay.unavailableReason ?? "")"))
struct InteroperabilityTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("etc/conf", "top\n", mode: 0o640, xattrs: ["user.tag": "t"]),
            .directory("srv/app", mode: 0o750),
            .file("srv/app/main", "main"),
            .whiteout("etc/removed-below"),
        ]),
        Layer([
            .file("etc/motd", "hello\n"),
            .file("etc/removed-below", "gone"),
            .file("srv/app/lib/util", "util"),
            .file("srv/data/big", String(repeating: "x", count: 100_000)),
            .directory("old", mode: 0o755),
            .file("old/a", "a"),
            .file("old/sub/b", "b"),
            .symlink("link", to: "etc/motd"),
        ]),
    ])

    @Test("the kernel mounts Strata's upper (redirect_dir=on,metacopy=on) and shows Strata's merged tree")
    func kernelMountsStrataUpper() throws {
        let directory = try TemporaryDirectory(prefix: "strata-interop")
        defer { try? directory.remove() }
        let layers = try Self.fixture.build(in: directory.path)
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: layers.lowers.map { FilePath($0) }, upper: FilePath(layers.upper), work: FilePath(layers.work),
            whiteoutFormat: .overlay))
        // Every feature the upper can carry: data and metadata-only copy-ups, whiteouts of files and
        // directories, an opaque directory over a whiteout, directory and file redirects, links, xattrs.
        let file = try union.open("etc/motd", .writeOnly, options: .append)
        try file.write(Array("more\n".utf8), at: 0)
        file.close()
        try union.setPermissions("etc/conf", 0o600)
        try union.setOwner("srv/data/big", user: 7, group: 8)
        try union.setExtendedAttribute("user.added", of: "srv/app/main", to: Array("v".utf8))
        try union.removeFile("old/sub/b")
        try union.removeDirectory("old/sub")
        try union.makeDirectory("old/sub", permissions: 0o700)
        try union.makeSymbolicLink("old/sub/new-link", target: "../a")
        try union.rename("old", to: "renamed")
        try union.makeDirectory("nested", permissions: 0o755)
        try union.rename("srv/app/lib", to: "nested/lib")
        try union.rename("srv/data/big", to: "srv/big-moved")
        try union.removeFile("link")
        let created = try union.open("srv/new", .writeOnly, options: .create, permissions: 0o644)
        try created.write(Array("new".utf8), at: 0)
        created.close()
        try union.makeHardLink("srv/new-alias", to: "srv/new")
        let strataView = try TreeSnapshot.union(union)
        union.close()

        let mountPoint = try directory.makeSubdirectory("mnt")
        let kernel = try KernelOverlay(
            lowers: layers.lowers, upper: layers.upper, work: layers.work, mountPoint: mountPoint,
            extraOptions: "redirect_dir=on,metacopy=on")
        defer { try? kernel.unmount() }
        let kernelView = try TreeSnapshot.directory(mountPoint, xattrs: .mergedView)
        let differences = kernelView.differences(from: strataView, labels: ("kernel", "strata"))
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        #expect(kernelView.entries["renamed/sub/new-link"] != nil)
        #expect(kernelView.entries["nested/lib/util"] != nil)
        #expect(kernelView.entries["srv/big-moved"]?.uid == 7)
    }
}
