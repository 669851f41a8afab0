//===----------------------------------------------------------------------===//
// One entry of getdents64.
//===----------------------------------------------------------------------===//

/// One entry of a directory, as returned by
/// `FileDescriptor.readDirectoryRecords()` (never `.` or `..`).
///
/// Constructing one never fails.
///
/// The corresponding C type is `struct linux_dirent64`.
public struct DirectoryRecord: Sendable, Hashable {
  /// The entry's name: one path component, without `/`, in the lossless form
  /// of `FileName` (bytes that are not UTF-8 escaped).
  ///
  /// The corresponding C field is `d_name`.
  public var name: String
  /// The inode number the entry points at (not necessarily `st_ino` across
  /// mount points or on overlay file systems).
  ///
  /// The corresponding C field is `d_ino`.
  public var inode: UInt64
  /// The raw `d_type` byte (`DT_REG`, `DT_DIR`, ..., or `DT_UNKNOWN` = 0);
  /// decode with `FileKind(directoryType:)`.
  ///
  /// The corresponding C field is `d_type`.
  public var type: UInt8

  /// Creates a record from its fields.
  ///
  /// The corresponding C type is `struct linux_dirent64`.
  public init(name: String, inode: UInt64, type: UInt8) {
    self.name = name
    self.inode = inode
    self.type = type
  }
}
