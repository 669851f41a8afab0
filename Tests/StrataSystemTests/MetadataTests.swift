import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Status, permissions, owners and times")
struct MetadataTests {
  @Test("fstatat fills every field and never follows a final symlink")
  func statusFields() throws {
    let scratch = try Scratch()
    try scratch.file("f", pattern(10_000), permissions: 0o640)
    try scratch.fd.setPermissions(at: "f", 0o4751)
    try scratch.fd.setTimes(
      at: "f", access: TimeSpec(seconds: 1_000_000_000, nanoseconds: 5),
      modification: TimeSpec(seconds: 1_500_000_000, nanoseconds: 123_456_789))
    try scratch.fd.createSymbolicLink(at: "l", target: "f")

    let s = try scratch.fd.status(at: "f")
    var raw = stat()
    #expect(fstatat(scratch.fd.rawValue, "f", &raw, AT_SYMLINK_NOFOLLOW) == 0)
    #expect(s.device == UInt64(raw.st_dev))
    #expect(s.inode == UInt64(raw.st_ino))
    #expect(s.mode == UInt32(raw.st_mode))
    #expect(s.kind == .regular)
    #expect(s.permissions == 0o4751)
    #expect(s.linkCount == 1)
    #expect(s.user == effectiveUserID && s.user == geteuid())
    #expect(s.group == UInt32(raw.st_gid))
    #expect(s.specialDevice == 0)
    #expect(s.size == 10_000)
    #expect(s.blockSize == Int64(raw.st_blksize) && s.blockSize > 0)
    #expect(s.blocks == Int64(raw.st_blocks) && s.blocks > 0)
    #expect(s.accessTime == TimeSpec(seconds: 1_000_000_000, nanoseconds: 5))
    #expect(s.modificationTime == TimeSpec(seconds: 1_500_000_000, nanoseconds: 123_456_789))
    #expect(s.changeTime.seconds == Int64(raw.st_ctim.tv_sec))
    #expect(s.changeTime.nanoseconds == Int64(raw.st_ctim.tv_nsec))

    let link = try scratch.fd.status(at: "l")
    #expect(link.kind == .symbolicLink)
    #expect(link.size == 1)
    #expect(link.inode != s.inode)

    let itself = try scratch.fd.status()
    #expect(itself.kind == .directory)
    #expect(throws: E(ENOENT)) { try scratch.fd.status(at: "missing") }
    #expect(throws: E(ENOTDIR)) { try scratch.fd.status(at: "f/x") }
  }

  @Test("fchmodat on names and on the descriptor; symlinks are left alone")
  func permissions() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    try scratch.fd.setPermissions(at: "f", 0o600)
    #expect(try scratch.fd.status(at: "f").permissions == 0o600)
    try scratch.with("f", flags: O_RDONLY) { (file) throws in
      try file.setPermissions(0o1755)
    }
    #expect(try scratch.fd.status(at: "f").permissions == 0o1755)

    try scratch.fd.createSymbolicLink(at: "l", target: "f")
    try scratch.fd.setPermissions(at: "l", 0o600)  // no effect, no error
    #expect(try scratch.fd.status(at: "f").permissions == 0o1755)
    #expect(throws: E(ENOENT)) { try scratch.fd.setPermissions(at: "missing", 0o600) }

    let pathOnly = try scratch.fd.open(at: "f", flags: O_PATH_)
    defer { try? pathOnly.close() }
    #expect(throws: E(EBADF)) { try pathOnly.setPermissions(0o600) }
  }

  @Test("fchownat changes owners (we are root), nil leaves an id, links are not followed")
  func owners() throws {
    try #require(effectiveUserID == 0, "needs root")
    let scratch = try Scratch()
    try scratch.file("f")
    try scratch.fd.setOwner(at: "f", user: 1234, group: 5678)
    var s = try scratch.fd.status(at: "f")
    #expect(s.user == 1234 && s.group == 5678)

    try scratch.fd.setOwner(at: "f", user: nil, group: 42)
    s = try scratch.fd.status(at: "f")
    #expect(s.user == 1234 && s.group == 42)
    try scratch.fd.setOwner(at: "f", user: 7, group: nil)
    s = try scratch.fd.status(at: "f")
    #expect(s.user == 7 && s.group == 42)

    try scratch.fd.createSymbolicLink(at: "l", target: "f")
    try scratch.fd.setOwner(at: "l", user: 99, group: 98)
    #expect(try scratch.fd.status(at: "l").user == 99)
    #expect(try scratch.fd.status(at: "f").user == 7)

    let pathOnly = try scratch.fd.open(at: "f", flags: O_PATH_)
    defer { try? pathOnly.close() }
    try pathOnly.setOwner(user: 0, group: 0)
    s = try scratch.fd.status(at: "f")
    #expect(s.user == 0 && s.group == 0)
    #expect(throws: E(ENOENT)) { try scratch.fd.setOwner(at: "missing", user: 1, group: 1) }
  }

  @Test("utimensat honours .omit and .now, on names, descriptors and symlinks")
  func times() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    let a = TimeSpec(seconds: 1_111_111_111, nanoseconds: 111)
    let m = TimeSpec(seconds: 1_222_222_222, nanoseconds: 222)
    try scratch.fd.setTimes(at: "f", access: a, modification: m)
    var s = try scratch.fd.status(at: "f")
    #expect(s.accessTime == a && s.modificationTime == m)

    let m2 = TimeSpec(seconds: 1_333_333_333)
    try scratch.fd.setTimes(at: "f", access: .omit, modification: m2)
    s = try scratch.fd.status(at: "f")
    #expect(s.accessTime == a)
    #expect(s.modificationTime == m2)

    let before = Int64(time(nil))
    try scratch.fd.setTimes(at: "f", access: .now, modification: .omit)
    s = try scratch.fd.status(at: "f")
    #expect(s.accessTime.seconds >= before && s.accessTime.seconds <= before + 5)
    #expect(s.modificationTime == m2)

    // On the descriptor itself, open for reading and O_PATH.
    try scratch.with("f", flags: O_RDONLY) { (file) throws in
      try file.setTimes(access: a, modification: m)
    }
    #expect(try scratch.fd.status(at: "f").modificationTime == m)
    let pathOnly = try scratch.fd.open(at: "f", flags: O_PATH_)
    defer { try? pathOnly.close() }
    try pathOnly.setTimes(access: .omit, modification: m2)
    #expect(try scratch.fd.status(at: "f").modificationTime == m2)

    // A symlink's own times change; the target's do not.
    try scratch.fd.createSymbolicLink(at: "l", target: "f")
    try scratch.fd.setTimes(at: "l", access: a, modification: m)
    #expect(try scratch.fd.status(at: "l").modificationTime == m)
    #expect(try scratch.fd.status(at: "f").modificationTime == m2)

    #expect(throws: E(EINVAL)) {
      try scratch.fd.setTimes(at: "f", access: TimeSpec(seconds: 1, nanoseconds: 2_000_000_000), modification: .omit)
    }
    #expect(throws: E(ENOENT)) { try scratch.fd.setTimes(at: "missing", access: .now, modification: .now) }
  }
}
