import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Extended attributes")
struct ExtendedAttributeTests {
  @Test("set, get, list and remove user.* attributes of an entry")
  func userAttributes() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    try scratch.fd.setExtendedAttribute("user.a", to: [1, 2, 3], at: "f")
    try scratch.fd.setExtendedAttribute("user.empty", to: [], at: "f")
    #expect(try scratch.fd.extendedAttribute("user.a", at: "f") == [1, 2, 3])
    #expect(try scratch.fd.extendedAttribute("user.empty", at: "f") == [])
    #expect(Set(try scratch.fd.extendedAttributeNames(at: "f")).isSuperset(of: ["user.a", "user.empty"]))

    #expect(throws: E(EEXIST)) { try scratch.fd.setExtendedAttribute("user.a", to: [9], at: "f", flags: .create) }
    #expect(throws: E(ENODATA)) { try scratch.fd.setExtendedAttribute("user.b", to: [9], at: "f", flags: .replace) }
    try scratch.fd.setExtendedAttribute("user.a", to: [4], at: "f", flags: .replace)
    #expect(try scratch.fd.extendedAttribute("user.a", at: "f") == [4])

    try scratch.fd.removeExtendedAttribute("user.a", at: "f")
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("user.a", at: "f") }
    #expect(throws: E(ENODATA)) { try scratch.fd.removeExtendedAttribute("user.a", at: "f") }
    #expect(!(try scratch.fd.extendedAttributeNames(at: "f")).contains("user.a"))
    #expect(throws: E(ENOENT)) { try scratch.fd.extendedAttribute("user.a", at: "missing") }
  }

  @Test("trusted.* attributes work as root, also on a symlink itself")
  func trustedAttributes() throws {
    try #require(effectiveUserID == 0, "needs root")
    let scratch = try Scratch()
    try scratch.fd.createDirectory(at: "d", permissions: 0o755)
    try scratch.fd.setExtendedAttribute("trusted.overlay.opaque", to: Array("y".utf8), at: "d")
    #expect(try scratch.fd.extendedAttribute("trusted.overlay.opaque", at: "d") == Array("y".utf8))
    #expect(try scratch.fd.extendedAttributeNames(at: "d").contains("trusted.overlay.opaque"))

    try scratch.file("target")
    try scratch.fd.createSymbolicLink(at: "l", target: "target")
    try scratch.fd.setExtendedAttribute("trusted.overlay.redirect", to: Array("/x".utf8), at: "l")
    #expect(try scratch.fd.extendedAttribute("trusted.overlay.redirect", at: "l") == Array("/x".utf8))
    // The target was not touched.
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("trusted.overlay.redirect", at: "target") }
    #expect(!(try scratch.fd.extendedAttributeNames(at: "target")).contains("trusted.overlay.redirect"))
    // user.* is not allowed on symlinks: EPERM, proving l* semantics.
    #expect(throws: E(EPERM)) { try scratch.fd.setExtendedAttribute("user.x", to: [1], at: "l") }

    // Nested relative names work.
    try scratch.file("d/inner")
    try scratch.fd.setExtendedAttribute("trusted.t", to: [5], at: "d/inner")
    #expect(try scratch.fd.extendedAttribute("trusted.t", at: "d/inner") == [5])
    try scratch.fd.removeExtendedAttribute("trusted.t", at: "d/inner")
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("trusted.t", at: "d/inner") }
  }

  @Test("values and name lists of any size are read completely")
  func largeValues() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    let big = pattern(3000)
    try scratch.fd.setExtendedAttribute("user.big", to: big, at: "f")
    #expect(try scratch.fd.extendedAttribute("user.big", at: "f") == big)

    // ext4 keeps all xattrs of a file in one block: use a second file.
    try scratch.file("g")
    let names = (0..<30).map { "user.a-fairly-long-attribute-name-number-\($0)" }
    for name in names { try scratch.fd.setExtendedAttribute(name, to: [1], at: "g") }
    let listed = try scratch.fd.extendedAttributeNames(at: "g")
    #expect(Set(listed).isSuperset(of: names))
    #expect(listed.reduce(0) { $0 + $1.utf8.count + 1 } > 256)
  }

  @Test("an empty name means the descriptor itself, also when it is O_PATH")
  func descriptorItself() throws {
    try #require(effectiveUserID == 0, "needs root")
    let scratch = try Scratch()
    try scratch.file("f")
    try scratch.with("f", flags: O_RDONLY) { (file) throws in
      try file.setExtendedAttribute("user.own", to: [1])
      #expect(try file.extendedAttribute("user.own") == [1])
      #expect(try file.extendedAttributeNames().contains("user.own"))
    }
    #expect(try scratch.fd.extendedAttribute("user.own", at: "f") == [1])

    let pathOnly = try scratch.fd.open(at: "f", flags: O_PATH_)
    defer { try? pathOnly.close() }
    #expect(try pathOnly.extendedAttribute("user.own") == [1])
    try pathOnly.setExtendedAttribute("trusted.p", to: [2])
    #expect(try scratch.fd.extendedAttribute("trusted.p", at: "f") == [2])
    #expect(Set(try pathOnly.extendedAttributeNames()).isSuperset(of: ["user.own", "trusted.p"]))
    try pathOnly.removeExtendedAttribute("user.own")
    #expect(throws: E(ENODATA)) { try pathOnly.extendedAttribute("user.own") }

    // An O_PATH descriptor of a symlink reaches the symlink, not its target.
    try scratch.fd.createSymbolicLink(at: "l", target: "f")
    let link = try scratch.fd.open(at: "l", flags: O_PATH_)
    defer { try? link.close() }
    try link.setExtendedAttribute("trusted.onlink", to: [3])
    #expect(try scratch.fd.extendedAttribute("trusted.onlink", at: "l") == [3])
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("trusted.onlink", at: "f") }

    // The directory descriptor itself.
    try scratch.fd.setExtendedAttribute("user.dir", to: [4])
    #expect(try scratch.fd.extendedAttribute("user.dir") == [4])

    // An O_PATH directory descriptor (its own entry "."), with an attribute of its own only.
    try scratch.fd.createDirectory(at: "d", permissions: 0o755)
    try scratch.fd.setExtendedAttribute("user.inner", to: [6], at: "d/.")
    let directory = try scratch.fd.open(at: "d", flags: O_PATH_ | O_DIRECTORY)
    defer { try? directory.close() }
    try directory.setExtendedAttribute("trusted.d", to: [5])
    #expect(try scratch.fd.extendedAttribute("trusted.d", at: "d") == [5])
    #expect(Set(try directory.extendedAttributeNames()) == ["user.inner", "trusted.d"])
    #expect(try directory.extendedAttribute("user.inner") == [6])
    try directory.removeExtendedAttribute("user.inner")
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("user.inner", at: "d") }
    #expect(throws: E(ENODATA)) { try scratch.fd.extendedAttribute("trusted.d") }
  }

  @Test("xattrs relative to the current working directory")
  func relativeToCwd() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    let cwd = FileDescriptor.currentWorkingDirectory
    try cwd.setExtendedAttribute("user.c", to: [6], at: "\(scratch.path)/f")
    #expect(try scratch.fd.extendedAttribute("user.c", at: "f") == [6])
  }
}
