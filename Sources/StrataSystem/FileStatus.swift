//===----------------------------------------------------------------------===//
// struct stat.
//===----------------------------------------------------------------------===//

import CStrataSystem

/// The metadata of one file system object, as returned by
/// `FileDescriptor.status(at:)`.
///
/// Every field is copied from the kernel's answer; constructing one by hand
/// never fails.
///
/// The corresponding C type is `struct stat`.
public struct FileStatus: Sendable, Hashable {
  /// The device holding the file.
  ///
  /// The corresponding C field is `st_dev`.
  public var device: UInt64
  /// The inode number, unique within `device`.
  ///
  /// The corresponding C field is `st_ino`.
  public var inode: UInt64
  /// File type bits (`S_IFMT`) and permission bits (`0o7777`).
  ///
  /// The corresponding C field is `st_mode`.
  public var mode: UInt32
  /// The number of hard links.
  ///
  /// The corresponding C field is `st_nlink`.
  public var linkCount: UInt64
  /// The owning user id.
  ///
  /// The corresponding C field is `st_uid`.
  public var user: UInt32
  /// The owning group id.
  ///
  /// The corresponding C field is `st_gid`.
  public var group: UInt32
  /// The device this special file stands for (0 for other kinds); see
  /// `deviceMajor(_:)` and `deviceMinor(_:)`.
  ///
  /// The corresponding C field is `st_rdev`.
  public var specialDevice: UInt64
  /// The size in bytes (the target's length for a symbolic link).
  ///
  /// The corresponding C field is `st_size`.
  public var size: Int64
  /// The preferred I/O block size.
  ///
  /// The corresponding C field is `st_blksize`.
  public var blockSize: Int64
  /// The number of 512-byte blocks allocated.
  ///
  /// The corresponding C field is `st_blocks`.
  public var blocks: Int64
  /// The last access time.
  ///
  /// The corresponding C field is `st_atim`.
  public var accessTime: TimeSpec
  /// The last data modification time.
  ///
  /// The corresponding C field is `st_mtim`.
  public var modificationTime: TimeSpec
  /// The last status change time.
  ///
  /// The corresponding C field is `st_ctim`.
  public var changeTime: TimeSpec

  /// Creates a status from all of its fields.
  ///
  /// The corresponding C type is `struct stat`.
  public init(
    device: UInt64, inode: UInt64, mode: UInt32, linkCount: UInt64, user: UInt32, group: UInt32,
    specialDevice: UInt64, size: Int64, blockSize: Int64, blocks: Int64,
    accessTime: TimeSpec, modificationTime: TimeSpec, changeTime: TimeSpec
  ) {
    self.device = device
    self.inode = inode
    self.mode = mode
    self.linkCount = linkCount
    self.user = user
    self.group = group
    self.specialDevice = specialDevice
    self.size = size
    self.blockSize = blockSize
    self.blocks = blocks
    self.accessTime = accessTime
    self.modificationTime = modificationTime
    self.changeTime = changeTime
  }

  /// The file type from the `S_IFMT` bits of `mode`, or `nil` if unknown.
  ///
  /// The corresponding C macro is `S_IFMT`.
  public var kind: FileKind? { FileKind(mode: mode) }

  /// The permission bits of `mode`, including set-user-id, set-group-id and
  /// sticky (`mode & 0o7777`).
  ///
  /// The corresponding C macro is `ALLPERMS`.
  public var permissions: UInt32 { mode & 0o7777 }

  /// Copies the shim's flattened `struct stat`.
  internal init(_ raw: cstrata_stat) {
    self.init(
      device: raw.device, inode: raw.inode, mode: raw.mode, linkCount: raw.link_count,
      user: raw.user, group: raw.group, specialDevice: raw.special_device,
      size: raw.size, blockSize: raw.block_size, blocks: raw.blocks,
      accessTime: TimeSpec(seconds: raw.access_seconds, nanoseconds: raw.access_nanoseconds),
      modificationTime: TimeSpec(
        seconds: raw.modification_seconds, nanoseconds: raw.modification_nanoseconds),
      changeTime: TimeSpec(seconds: raw.change_seconds, nanoseconds: raw.change_nanoseconds))
  }
}
