import SystemPackage
import Testing

@testable import StrataSystem

#if canImport(Glibc)
  import Glibc
#endif

/// This kernel has the *xattrat calls; the procfs path that serves older kernels is taken here on
/// purpose. (While this runs, other tests may take it too: both paths give the same answers.)
@Suite("Extended attributes through procfs (kernels before 6.13)")
struct ExtendedAttributeFallbackTests {
  @Test("set, get, list and remove on an entry, and a final symlink is not followed")
  func procfsPath() throws {
    forceProcfsExtendedAttributes(true)
    defer { forceProcfsExtendedAttributes(false) }
    let scratch = try Scratch()
    try scratch.file("f")
    try scratch.fd.setExtendedAttribute("user.a", to: [1, 2, 3], at: "f")
    #expect(try scratch.fd.extendedAttribute("user.a", at: "f") == [1, 2, 3])
    #expect(try scratch.fd.extendedAttributeNames(at: "f").contains("user.a"))
    #expect(throws: E(EEXIST)) { try scratch.fd.setExtendedAttribute("user.a", to: [9], at: "f", flags: .create) }
    try scratch.fd.removeExtendedAttribute("user.a", at: "f")
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("user.a", at: "f") }
    #expect(throws: E(ENOENT)) { try scratch.fd.extendedAttribute("user.a", at: "missing") }
    try scratch.fd.createSymbolicLink(at: "link", target: "f")
    try scratch.fd.setExtendedAttribute("trusted.t", to: [7], at: "link")
    #expect(try scratch.fd.extendedAttribute("trusted.t", at: "link") == [7])
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("trusted.t", at: "f") }
  }
}
