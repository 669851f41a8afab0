import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Reading, writing, copying and holes")
struct DataTests {
  @Test("pread/pwrite at offsets; short reads only at EOF; the offset does not move")
  func positional() throws {
    let scratch = try Scratch()
    let file = try scratch.fd.open(at: "f", flags: O_RDWR | O_CREAT, permissions: 0o644)
    defer { try? file.close() }
    let data = pattern(300_000)
    #expect(try file.write(data, at: 0) == data.count)
    #expect(try file.write([9, 9], at: 10) == 2)
    #expect(try file.read(count: 4, at: 9) == [data[9], 9, 9, data[12]])
    #expect(try file.read(count: 1_000_000, at: 0).count == data.count)
    #expect(try file.read(count: 10, at: Int64(data.count) - 3).count == 3)
    #expect(try file.read(count: 10, at: 10_000_000) == [])
    #expect(try file.read(count: 0, at: 0) == [])
    #expect(try file.seek(offset: 0, from: .current) == 0)
    // Writing past the end leaves a zero-filled gap.
    #expect(try file.write([1], at: Int64(data.count) + 5) == 1)
    #expect(try file.read(count: 10, at: Int64(data.count)) == [0, 0, 0, 0, 0, 1])
    #expect(throws: E(EINVAL)) { try file.read(count: 1, at: -1) }
  }

  @Test("errors: EBADF for wrong access mode, EISDIR for directories")
  func dataErrors() throws {
    let scratch = try Scratch()
    try scratch.file("f", [1])
    try scratch.with("f", flags: O_RDONLY) { (file) throws in
      #expect(throws: E(EBADF)) { try file.write([1], at: 0) }
      #expect(throws: E(EINVAL)) { try file.truncate(to: 0) }
    }
    try scratch.with("f", flags: O_WRONLY) { (file) throws in
      #expect(throws: E(EBADF)) { try file.read(count: 1, at: 0) }
    }
    #expect(throws: E(EISDIR)) { try scratch.fd.read(count: 1, at: 0) }
  }

  @Test("append writes at the end of an O_APPEND descriptor")
  func appends() throws {
    let scratch = try Scratch()
    try scratch.file("log", [1, 2])
    try scratch.with("log", flags: O_WRONLY | O_APPEND) { (file) throws in
      #expect(try file.append([3, 4]) == 2)
      #expect(try file.append(pattern(100_000)) == 100_000)
      #expect(try file.append([]) == 0)
    }
    let contents = try scratch.contents("log")
    #expect(contents.count == 100_004)
    #expect(Array(contents.prefix(4)) == [1, 2, 3, 4])
  }

  @Test("ftruncate shrinks and grows; fsync and fdatasync succeed")
  func truncateAndSync() throws {
    let scratch = try Scratch()
    try scratch.file("f", pattern(100))
    try scratch.with("f", flags: O_RDWR) { (file) throws in
      try file.truncate(to: 10)
      #expect(try file.status().size == 10)
      try file.truncate(to: 20)
      #expect(try file.read(count: 100, at: 0) == Array(pattern(10)) + [UInt8](repeating: 0, count: 10))
      try file.synchronize()
      try file.synchronizeData()
      #expect(throws: E(EINVAL)) { try file.truncate(to: -1) }
    }
  }

  @Test("copy_file_range copies ranges and stops at the source's end")
  func copyRanges() throws {
    let scratch = try Scratch()
    let data = pattern(1 << 20)
    try scratch.file("src", data)
    let source = try scratch.fd.open(at: "src", flags: O_RDONLY)
    defer { try? source.close() }
    let destination = try scratch.fd.open(at: "dst", flags: O_RDWR | O_CREAT, permissions: 0o644)
    defer { try? destination.close() }

    #expect(try destination.copyRange(from: source, sourceOffset: 0, offset: 0, count: Int64(data.count)) == Int64(data.count))
    #expect(try destination.read(count: data.count, at: 0) == data)

    // A middle range into an offset.
    #expect(try destination.copyRange(from: source, sourceOffset: 1000, offset: 5, count: 100) == 100)
    #expect(try destination.read(count: 100, at: 5) == Array(data[1000..<1100]))

    // Asking for more than remains copies what remains.
    let tail = try destination.copyRange(from: source, sourceOffset: Int64(data.count) - 10, offset: 0, count: 1000)
    #expect(tail == 10)
    #expect(try destination.copyRange(from: source, sourceOffset: Int64(data.count) + 10, offset: 0, count: 5) == 0)
    // Offsets of the descriptors are untouched.
    #expect(try source.seek(offset: 0, from: .current) == 0)
    #expect(throws: E(EBADF)) { try source.copyRange(from: destination, sourceOffset: 0, offset: 0, count: 1) }
  }

  @Test("FICLONE either clones or throws an Errno")
  func clone() throws {
    let scratch = try Scratch()
    let data = pattern(64 * 1024)
    try scratch.file("src", data)
    let source = try scratch.fd.open(at: "src", flags: O_RDONLY)
    defer { try? source.close() }
    let destination = try scratch.fd.open(at: "dst", flags: O_RDWR | O_CREAT, permissions: 0o644)
    defer { try? destination.close() }
    do {
      try destination.cloneContents(of: source)
      #expect(try destination.read(count: data.count + 1, at: 0) == data)
    } catch {
      #expect([E(EOPNOTSUPP), E(EXDEV), E(EINVAL), E(ENOTTY)].contains(error))
    }
    // A directory is never a clone source on any file system.
    #expect(throws: Errno.self) { try destination.cloneContents(of: scratch.fd) }
  }

  @Test("SEEK_DATA and SEEK_HOLE find the data in a sparse file")
  func holes() throws {
    let scratch = try Scratch()
    let file = try scratch.fd.open(at: "sparse", flags: O_RDWR | O_CREAT, permissions: 0o644)
    defer { try? file.close() }
    let mib: Int64 = 1 << 20
    try file.truncate(to: 8 * mib)
    #expect(try file.write(pattern(4096), at: 2 * mib) == 4096)
    try file.synchronize()

    #expect(try file.nextData(from: 0) == 2 * mib)
    #expect(try file.nextHole(from: 0) == 0)
    #expect(try file.nextHole(from: 2 * mib) == 2 * mib + 4096)
    #expect(try file.nextData(from: 2 * mib + 4096) == nil)  // only a hole until EOF
    #expect(try file.nextHole(from: 3 * mib) == 3 * mib)
    #expect(throws: E(ENXIO)) { try file.nextHole(from: 8 * mib) }
    #expect(try file.nextData(from: 9 * mib) == nil)
  }
}
