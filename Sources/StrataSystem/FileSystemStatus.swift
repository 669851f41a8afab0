//===----------------------------------------------------------------------===//
// struct statvfs.
//===----------------------------------------------------------------------===//

import CStrataSystem

/// Statistics of the file system holding a file, as returned by
/// `FileDescriptor.fileSystemStatus()`.
///
/// Constructing one never fails.
///
/// The corresponding C type is `struct statvfs`.
public struct FileSystemStatus: Sendable, Hashable {
  /// The file system block size.
  ///
  /// The corresponding C field is `f_bsize`.
  public var blockSize: UInt64
  /// The fragment size, the unit of the block counts.
  ///
  /// The corresponding C field is `f_frsize`.
  public var fragmentSize: UInt64
  /// The size of the file system in `fragmentSize` units.
  ///
  /// The corresponding C field is `f_blocks`.
  public var blocks: UInt64
  /// Free blocks.
  ///
  /// The corresponding C field is `f_bfree`.
  public var freeBlocks: UInt64
  /// Free blocks available to an unprivileged user.
  ///
  /// The corresponding C field is `f_bavail`.
  public var availableBlocks: UInt64
  /// The number of inodes.
  ///
  /// The corresponding C field is `f_files`.
  public var files: UInt64
  /// Free inodes.
  ///
  /// The corresponding C field is `f_ffree`.
  public var freeFiles: UInt64
  /// Free inodes available to an unprivileged user.
  ///
  /// The corresponding C field is `f_favail`.
  public var availableFiles: UInt64
  /// The file system id.
  ///
  /// The corresponding C field is `f_fsid`.
  public var fileSystemID: UInt64
  /// Mount flags (`ST_RDONLY`, `ST_NOSUID`, ...).
  ///
  /// The corresponding C field is `f_flag`.
  public var flags: UInt64
  /// The longest file name allowed.
  ///
  /// The corresponding C field is `f_namemax`.
  public var maximumNameLength: UInt64

  /// Creates a status from all of its fields.
  ///
  /// The corresponding C type is `struct statvfs`.
  public init(
    blockSize: UInt64, fragmentSize: UInt64, blocks: UInt64, freeBlocks: UInt64,
    availableBlocks: UInt64, files: UInt64, freeFiles: UInt64, availableFiles: UInt64,
    fileSystemID: UInt64, flags: UInt64, maximumNameLength: UInt64
  ) {
    self.blockSize = blockSize
    self.fragmentSize = fragmentSize
    self.blocks = blocks
    self.freeBlocks = freeBlocks
    self.availableBlocks = availableBlocks
    self.files = files
    self.freeFiles = freeFiles
    self.availableFiles = availableFiles
    self.fileSystemID = fileSystemID
    self.flags = flags
    self.maximumNameLength = maximumNameLength
  }

  /// Copies the shim's flattened `struct statvfs`.
  internal init(_ raw: cstrata_statvfs) {
    self.init(
      blockSize: raw.block_size, fragmentSize: raw.fragment_size, blocks: raw.blocks,
      freeBlocks: raw.free_blocks, availableBlocks: raw.available_blocks, files: raw.files,
      freeFiles: raw.free_files, availableFiles: raw.available_files,
      fileSystemID: raw.file_system_id, flags: raw.flags,
      maximumNameLength: raw.maximum_name_length)
  }
}
