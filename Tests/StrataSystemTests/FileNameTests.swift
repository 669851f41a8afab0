import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("File names as lossless strings")
struct FileNameTests {
  /// Byte sequences and the `String` form each must get.
  static let cases: [([UInt8], String)] = [
    (Array("plain.txt".utf8), "plain.txt"),
    ([0x63, 0x61, 0x66, 0xC3, 0xA9], "caf\u{E9}"),  // precomposed é
    ([0x63, 0x61, 0x66, 0x65, 0xCC, 0x81], "cafe\u{301}"),  // e + combining acute: other bytes, other name
    ([0x78, 0xFF], "x\u{0}ff"),
    ([0xC3], "\u{0}c3"),  // a lead byte at the end
    ([0xC0, 0x80], "\u{0}c0\u{0}80"),  // an overlong NUL
    ([0xED, 0xA0, 0x80], "\u{0}ed\u{0}a0\u{0}80"),  // a UTF-16 surrogate
    ([0xF4, 0x90, 0x80, 0x80], "\u{0}f4\u{0}90\u{0}80\u{0}80"),  // past U+10FFFF
    ([0xE2, 0x84, 0xAA, 0xFE, 0x4B], "\u{212A}\u{0}feK"),  // Kelvin sign, a stray byte, K
  ]

  @Test("well-formed UTF-8 stays itself, every other byte is escaped, and the bytes come back")
  func roundTrip() {
    for (bytes, expected) in Self.cases {
      let name = FileName.decode(bytes)
      #expect(Array(name.utf8) == Array(expected.utf8), "\(bytes)")
      #expect(FileName.bytes(of: name) == bytes, "\(bytes)")
    }
  }

  @Test("malformed escapes and escapes of well-formed bytes are refused")
  func refusedEscapes() {
    #expect(FileName.bytes(of: "a\u{0}zz") == nil)
    #expect(FileName.bytes(of: "a\u{0}f") == nil)
    #expect(FileName.bytes(of: "\u{0}41") == nil)  // "A" has one form: itself
    #expect(FileName.bytes(of: "\u{0}c3\u{0}a9") == nil)  // a well-formed é, escaped
  }

  @Test("names that are not UTF-8, or differ only in Unicode normalisation, are distinct files")
  func throughTheFileSystem() throws {
    let scratch = try Scratch()
    for (index, (bytes, _)) in Self.cases.enumerated() {
      let name = FileName.decode(bytes)
      let file = try scratch.fd.open(at: name, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
      _ = try file.write(Array("\(index)".utf8), at: 0)
      try file.close()
    }
    let listed = try scratch.fd.readDirectoryRecords().map { Array($0.name.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
    let expected = Self.cases.map { Array($0.1.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
    #expect(listed == expected)
    for (index, (bytes, _)) in Self.cases.enumerated() {
      let file = try scratch.fd.open(at: FileName.decode(bytes), flags: O_RDONLY)
      #expect(try file.read(count: 16, at: 0) == Array("\(index)".utf8))
      try file.close()
    }
    // A symbolic link's target keeps its bytes too.
    try scratch.fd.createSymbolicLink(at: "link", target: FileName.decode([0x74, 0xFF]))
    #expect(Array(try scratch.fd.readSymbolicLink(at: "link").utf8) == Array("t\u{0}ff".utf8))
    #expect(throws: Errno.invalidArgument) { try scratch.fd.status(at: "a\u{0}zz") }
  }
}
