import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Creating, linking, renaming and removing entries")
struct NamespaceTests {
  @Test("mkdirat creates a directory and reports EEXIST")
  func makeDirectory() throws {
    let scratch = try Scratch()
    try scratch.fd.createDirectory(at: "d", permissions: 0o700)
    let status = try scratch.fd.status(at: "d")
    #expect(status.kind == .directory)
    #expect(status.permissions == 0o700)
    #expect(throws: E(EEXIST)) { try scratch.fd.createDirectory(at: "d", permissions: 0o700) }
    #expect(throws: E(ENOENT)) { try scratch.fd.createDirectory(at: "x/y", permissions: 0o700) }
  }

  @Test("mknodat makes a 0/0 character device (a whiteout), devices and a fifo")
  func makeNodes() throws {
    let scratch = try Scratch()
    try scratch.fd.createNode(at: "wh", mode: FileKind.characterDevice.modeBits | 0o600, device: 0)
    let wh = try scratch.fd.status(at: "wh")
    #expect(wh.kind == .characterDevice)
    #expect(wh.specialDevice == 0)
    #expect(wh.permissions == 0o600)

    try scratch.fd.createNode(at: "null", mode: FileKind.characterDevice.modeBits | 0o600, device: makeDevice(major: 1, minor: 3))
    let null = try scratch.fd.status(at: "null")
    #expect(deviceMajor(null.specialDevice) == 1)
    #expect(deviceMinor(null.specialDevice) == 3)

    try scratch.fd.createNode(at: "blk", mode: FileKind.blockDevice.modeBits | 0o600, device: makeDevice(major: 7, minor: 300))
    let blk = try scratch.fd.status(at: "blk")
    #expect(blk.kind == .blockDevice)
    #expect(deviceMajor(blk.specialDevice) == 7 && deviceMinor(blk.specialDevice) == 300)

    try scratch.fd.createNode(at: "fifo", mode: FileKind.fifo.modeBits | 0o644)
    #expect(try scratch.fd.status(at: "fifo").kind == .fifo)
    try scratch.fd.createNode(at: "reg", mode: FileKind.regular.modeBits | 0o644)
    #expect(try scratch.fd.status(at: "reg").size == 0)

    #expect(throws: E(EEXIST)) { try scratch.fd.createNode(at: "wh", mode: FileKind.characterDevice.modeBits) }
    let records = try scratch.fd.readDirectoryRecords()
    #expect(records.first { $0.name == "wh" }.flatMap { FileKind(directoryType: $0.type) } == .characterDevice)
  }

  @Test("symlinkat stores the target verbatim; readlinkat reads targets of any length")
  func symbolicLinks() throws {
    let scratch = try Scratch()
    try scratch.fd.createSymbolicLink(at: "dangling", target: "../../nowhere/ü")
    #expect(try scratch.fd.readSymbolicLink(at: "dangling") == "../../nowhere/ü")
    #expect(try scratch.fd.status(at: "dangling").kind == .symbolicLink)

    let long = String(repeating: "abcdefghij/", count: 370)  // 4070 bytes, past any first buffer
    try scratch.fd.createSymbolicLink(at: "long", target: long)
    #expect(try scratch.fd.readSymbolicLink(at: "long") == long)
    #expect(try scratch.fd.status(at: "long").size == Int64(long.utf8.count))

    try scratch.file("plain")
    #expect(throws: E(EINVAL)) { try scratch.fd.readSymbolicLink(at: "plain") }
    #expect(throws: E(ENOENT)) { try scratch.fd.readSymbolicLink(at: "missing") }
    #expect(throws: E(EEXIST)) { try scratch.fd.createSymbolicLink(at: "dangling", target: "x") }
  }

  @Test("linkat adds a hard link, also from an O_TMPFILE descriptor via AT_EMPTY_PATH")
  func hardLinks() throws {
    let scratch = try Scratch()
    try scratch.fd.createDirectory(at: "other", permissions: 0o755)
    let other = try scratch.fd.open(at: "other", flags: O_PATH_ | O_DIRECTORY)
    defer { try? other.close() }
    try scratch.file("a", [42])
    try scratch.fd.createHardLink(from: "a", to: other, as: "b")
    #expect(try scratch.fd.status(at: "a").linkCount == 2)
    #expect(try scratch.fd.status(at: "a").inode == other.status(at: "b").inode)
    #expect(throws: E(EEXIST)) { try scratch.fd.createHardLink(from: "a", to: other, as: "b") }
    #expect(throws: E(ENOENT)) { try scratch.fd.createHardLink(from: "zz", to: other, as: "c") }

    // A hard link to a symlink links the symlink itself.
    try scratch.fd.createSymbolicLink(at: "sl", target: "a")
    try scratch.fd.createHardLink(from: "sl", to: scratch.fd, as: "sl2")
    #expect(try scratch.fd.status(at: "sl2").kind == .symbolicLink)

    let temporary = try scratch.fd.open(beneath: ".", flags: O_TMPFILE_ | O_RDWR, permissions: 0o600)
    defer { try? temporary.close() }
    #expect(try temporary.write([1, 2, 3], at: 0) == 3)
    try temporary.createHardLink(from: "", to: scratch.fd, as: "materialized")
    #expect(try scratch.contents("materialized") == [1, 2, 3])
  }

  @Test("renameat2: plain replace, noReplace gives EEXIST, exchange swaps, whiteout leaves 0/0")
  func renames() throws {
    let scratch = try Scratch()
    try scratch.file("a", [1])
    try scratch.file("b", [2])
    #expect(throws: E(EEXIST)) { try scratch.fd.rename("a", to: scratch.fd, as: "b", flags: .noReplace) }
    #expect(try scratch.contents("a") == [1])

    try scratch.fd.rename("a", to: scratch.fd, as: "b", flags: .exchange)
    #expect(try scratch.contents("a") == [2])
    #expect(try scratch.contents("b") == [1])
    #expect(throws: E(ENOENT)) { try scratch.fd.rename("a", to: scratch.fd, as: "none", flags: .exchange) }

    try scratch.fd.createDirectory(at: "dir", permissions: 0o755)
    try scratch.fd.rename("a", to: scratch.fd, as: "dir", flags: .exchange)  // a file and a directory swap too
    #expect(try scratch.fd.status(at: "a").kind == .directory)
    #expect(try scratch.fd.status(at: "dir").kind == .regular)

    try scratch.fd.rename("b", to: scratch.fd, as: "dir")
    #expect(try scratch.contents("dir") == [1])
    #expect(throws: E(ENOENT)) { try scratch.fd.status(at: "b") }

    try scratch.fd.rename("dir", to: scratch.fd, as: "moved", flags: .whiteout)
    let whiteout = try scratch.fd.status(at: "dir")
    #expect(whiteout.kind == .characterDevice)
    #expect(whiteout.specialDevice == 0)
    #expect(try scratch.contents("moved") == [1])

    #expect(throws: E(EINVAL)) {
      try scratch.fd.rename("moved", to: scratch.fd, as: "x", flags: [.exchange, .noReplace])
    }
  }

  @Test("unlinkat removes files and empty directories with the right errnos")
  func removals() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    try scratch.fd.createDirectory(at: "d", permissions: 0o755)
    try scratch.file("d/inner")
    #expect(throws: E(EISDIR)) { try scratch.fd.remove(at: "d") }
    #expect(throws: E(ENOTEMPTY)) { try scratch.fd.remove(at: "d", directory: true) }
    #expect(throws: E(ENOTDIR)) { try scratch.fd.remove(at: "f", directory: true) }
    try scratch.fd.remove(at: "d/inner")
    try scratch.fd.remove(at: "d", directory: true)
    try scratch.fd.remove(at: "f")
    #expect(throws: E(ENOENT)) { try scratch.fd.remove(at: "f") }
    #expect(try scratch.fd.readDirectoryRecords().isEmpty)
  }
}
