import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Reading directories with getdents64")
struct DirectoryTests {
  @Test("lists more than 5000 entries with names, inodes and types, and can repeat")
  func manyEntries() throws {
    let scratch = try Scratch()
    let count = 5_200
    var expected: Set<String> = []
    for i in 0..<count {
      let name = "entry-\(i)-" + String(repeating: "x", count: i % 40)
      try scratch.fd.createNode(at: name, mode: FileKind.regular.modeBits | 0o644)
      expected.insert(name)
    }
    try scratch.fd.createDirectory(at: "sub", permissions: 0o755)
    try scratch.fd.createSymbolicLink(at: "link", target: "sub")

    let records = try scratch.fd.readDirectoryRecords()
    #expect(records.count == count + 2)
    #expect(!records.contains { $0.name == "." || $0.name == ".." })
    let files = records.filter { $0.name.hasPrefix("entry-") }
    #expect(Set(files.map(\.name)) == expected)
    #expect(files.allSatisfy { FileKind(directoryType: $0.type) == .regular })
    #expect(records.first { $0.name == "sub" }.flatMap { FileKind(directoryType: $0.type) } == .directory)
    #expect(records.first { $0.name == "link" }.flatMap { FileKind(directoryType: $0.type) } == .symbolicLink)
    let sample = try #require(files.first)
    #expect(sample.inode == (try scratch.fd.status(at: sample.name).inode))

    // Calling again starts from the beginning.
    #expect(try scratch.fd.readDirectoryRecords().count == count + 2)
  }

  @Test("an empty directory has no records; non-directories and O_PATH fail")
  func edgeCases() throws {
    let scratch = try Scratch()
    #expect(try scratch.fd.readDirectoryRecords() == [])
    try scratch.file("f")
    try scratch.with("f", flags: O_RDONLY) { (file) throws in
      #expect(throws: E(ENOTDIR)) { try file.readDirectoryRecords() }
    }
    let pathOnly = try scratch.fd.open(at: ".", flags: O_PATH_ | O_DIRECTORY)
    defer { try? pathOnly.close() }
    #expect(throws: E(EBADF)) { try pathOnly.readDirectoryRecords() }
  }

  @Test("names with unusual bytes survive")
  func unusualNames() throws {
    let scratch = try Scratch()
    let names = ["with space", "ünïcödé", "tab\there", "new\nline", "-dash", "..."]
    for name in names { try scratch.file(name) }
    #expect(Set(try scratch.fd.readDirectoryRecords().map(\.name)) == Set(names))
  }
}
