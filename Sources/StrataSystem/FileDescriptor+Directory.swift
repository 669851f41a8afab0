//===----------------------------------------------------------------------===//
// Listing a directory with getdents64.
//===----------------------------------------------------------------------===//

import CStrataSystem
import SystemPackage

extension FileDescriptor {
  /// All entries of this directory except `.` and `..`, in the order the
  /// file system returns them.
  ///
  /// `self` must be a directory opened for reading (`O_RDONLY|O_DIRECTORY`,
  /// not `O_PATH`). The directory offset is reset to the start first (unless
  /// `rewinding` is false: a descriptor just opened is there already) and is
  /// left at the end, so the call can be repeated; concurrent calls on the
  /// same descriptor from different threads are not safe. Entries added or
  /// removed during the listing may or may not appear.
  ///
  /// Errors a caller can see: `EBADF` (not open for reading, e.g. `O_PATH`),
  /// `ENOTDIR`, `ENOENT` (the directory was removed), `EIO`.
  ///
  /// The corresponding C function is `getdents64`.
  public func readDirectoryRecords(rewinding: Bool = true) throws(Errno) -> [DirectoryRecord] {
    if rewinding { _ = try valueOrErrno { system_lseek(rawValue, 0, _SEEK_SET) } }
    let capacity = 64 * 1024
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    defer { unsafe buffer.deallocate() }
    var records: [DirectoryRecord] = []
    while true {
      let filled = try valueOrErrno { unsafe system_getdents64(rawValue, buffer, capacity) }
      if filled == 0 { break }
      var position = 0
      while position < filled {
        var header = cstrata_dirent()
        unsafe system_dirent_at(buffer, position, &header)
        let nameStart = unsafe buffer + position + Int(header.name_offset)
        let nameLimit = Int(header.record_length) - Int(header.name_offset)
        let nameBytes = unsafe UnsafeRawBufferPointer(start: nameStart, count: nameLimit)
        let nameLength = unsafe nameBytes.firstIndex(of: 0) ?? nameLimit
        let nameBuffer = unsafe UnsafeRawBufferPointer(rebasing: nameBytes[..<nameLength])
        let isDot = unsafe isDotOrDotDot(nameBuffer)
        if !isDot {
          let name = unsafe FileName.decode(nameBuffer)
          records.append(DirectoryRecord(name: name, inode: header.inode, type: header.type))
        }
        if header.record_length == 0 { break }
        position += Int(header.record_length)
      }
    }
    return records
  }
}

/// Whether `name` is "." or "..".
private func isDotOrDotDot(_ name: UnsafeRawBufferPointer) -> Bool {
  switch name.count {
  case 1: return unsafe name[0] == 0x2E
  case 2: return unsafe name[0] == 0x2E && name[1] == 0x2E
  default: return false
  }
}
