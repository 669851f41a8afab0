import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("File system status, locks, duplication, paths")
struct FileSystemTests {
  @Test("fstatvfs matches statvfs")
  func fileSystemStatus() throws {
    let scratch = try Scratch()
    let status = try scratch.fd.fileSystemStatus()
    var raw = statvfs()
    #expect(statvfs(scratch.path, &raw) == 0)
    #expect(status.blockSize == UInt64(raw.f_bsize) && status.blockSize > 0)
    #expect(status.fragmentSize == UInt64(raw.f_frsize))
    #expect(status.blocks == UInt64(raw.f_blocks) && status.blocks > 0)
    #expect(status.files == UInt64(raw.f_files))
    #expect(status.fileSystemID == UInt64(raw.f_fsid))
    #expect(status.flags == UInt64(raw.f_flag))
    #expect(status.maximumNameLength == UInt64(raw.f_namemax) && status.maximumNameLength >= 255)
    #expect(status.availableBlocks <= status.freeBlocks && status.freeBlocks <= status.blocks)
    // O_PATH descriptors work too.
    let pathOnly = try openDirectory(scratch.path)
    defer { try? pathOnly.close() }
    #expect(try pathOnly.fileSystemStatus().fileSystemID == status.fileSystemID)
  }

  @Test("flock: a second open file description gets EWOULDBLOCK without wait")
  func locks() throws {
    let scratch = try Scratch()
    try scratch.file("lock")
    let first = try scratch.fd.open(at: "lock", flags: O_RDONLY)
    let second = try scratch.fd.open(at: "lock", flags: O_RDONLY)
    defer { try? second.close() }
    try first.lock(exclusive: true, wait: false)
    #expect(throws: E(EWOULDBLOCK)) { try second.lock(exclusive: false, wait: false) }
    // A duplicate shares the lock.
    let shared = try first.duplicate()
    try shared.lock(exclusive: true, wait: false)
    try first.close()
    #expect(throws: E(EWOULDBLOCK)) { try second.lock(exclusive: true, wait: false) }
    try shared.close()
    try second.lock(exclusive: true, wait: true)

    let third = try scratch.fd.open(at: "lock", flags: O_RDONLY)
    defer { try? third.close() }
    #expect(throws: E(EWOULDBLOCK)) { try third.lock(exclusive: false, wait: false) }
    try second.lock(exclusive: false, wait: true)  // downgrade
    try third.lock(exclusive: false, wait: false)
  }

  @Test("duplicate shares the file offset and sets close-on-exec")
  func duplicates() throws {
    let scratch = try Scratch()
    try scratch.file("f", [1, 2, 3])
    let file = try scratch.fd.open(at: "f", flags: O_RDONLY)
    defer { try? file.close() }
    let copy = try file.duplicate()
    defer { try? copy.close() }
    #expect(copy.rawValue != file.rawValue)
    _ = try file.seek(offset: 2, from: .start)
    #expect(try copy.seek(offset: 0, from: .current) == 2)
    #expect(fcntl(copy.rawValue, F_GETFD) & FD_CLOEXEC != 0)
    #expect(throws: E(EBADF)) { try FileDescriptor(rawValue: 1_000_000).duplicate() }
  }

  @Test("currentPath follows renames and marks deletion")
  func currentPaths() throws {
    let scratch = try Scratch()
    try scratch.file("f")
    let file = try scratch.fd.open(at: "f", flags: O_RDONLY)
    defer { try? file.close() }
    let real = try #require(realpath(scratch.path, nil))
    let base = String(cString: real)
    free(real)
    #expect(try scratch.fd.currentPath() == base)
    #expect(try file.currentPath() == "\(base)/f")
    try scratch.fd.rename("f", to: scratch.fd, as: "g")
    #expect(try file.currentPath() == "\(base)/g")
    try scratch.fd.remove(at: "g")
    #expect(try file.currentPath() == "\(base)/g (deleted)")
    #expect(throws: E(EBADF)) { try FileDescriptor(rawValue: 1_000_000).currentPath() }
  }

  @Test("effective ids match the process")
  func identity() {
    #expect(effectiveUserID == geteuid())
    #expect(effectiveGroupID == getegid())
  }
}
