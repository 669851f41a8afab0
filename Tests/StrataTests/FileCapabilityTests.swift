import Glibc
import Strata
import StrataTestSupport
import Testing

/// A new file answers `security.capability` without asking its layer (the kernel asks before every
/// first write), and answers what is set on it afterwards.
@Suite("file capabilities of new files", .enabled(if: geteuid() == 0, "setting security.capability needs root"))
struct FileCapabilityTests {
    /// A `vfs_cap_data` (revision 2, effective): `cap_net_raw` permitted.
    static let capabilities: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)

    @Test("none on a new file; the value once set, also after another attribute was set first")
    func newFiles() throws {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("lower", "l")])]))
        defer { stack.close() }
        for path in ["plain", "labelled"] {
            let file = try stack.union.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate])
            file.close()
            #expect(throws: Errno.noData) { try stack.union.extendedAttribute("security.capability", of: FilePath(path)) }
        }
        try stack.union.setExtendedAttribute("user.label", of: "labelled", to: Array("x".utf8))
        #expect(throws: Errno.noData) { try stack.union.extendedAttribute("security.capability", of: "labelled") }
        for path in ["plain", "labelled"] {
            try stack.union.setExtendedAttribute("security.capability", of: FilePath(path), to: Self.capabilities)
            #expect(try stack.union.extendedAttribute("security.capability", of: FilePath(path)) == Self.capabilities)
        }
    }
}
