//===----------------------------------------------------------------------===//
// The type of a file, as encoded in st_mode and d_type.
//===----------------------------------------------------------------------===//

/// The type of a file system object.
///
/// A `FileKind` is decoded either from the `S_IFMT` bits of a `st_mode`
/// or from the `d_type` byte of a directory entry; it never throws and has no
/// errno.
///
/// The corresponding C macros are `S_IFMT` and `DT_*`.
public enum FileKind: Sendable, Hashable {
  /// A regular file (`S_IFREG`, `DT_REG`).
  ///
  /// The corresponding C macro is `S_IFREG`.
  case regular
  /// A directory (`S_IFDIR`, `DT_DIR`).
  ///
  /// The corresponding C macro is `S_IFDIR`.
  case directory
  /// A symbolic link (`S_IFLNK`, `DT_LNK`).
  ///
  /// The corresponding C macro is `S_IFLNK`.
  case symbolicLink
  /// A character device; overlay whiteouts are 0/0 character devices (`S_IFCHR`, `DT_CHR`).
  ///
  /// The corresponding C macro is `S_IFCHR`.
  case characterDevice
  /// A block device (`S_IFBLK`, `DT_BLK`).
  ///
  /// The corresponding C macro is `S_IFBLK`.
  case blockDevice
  /// A named pipe (`S_IFIFO`, `DT_FIFO`).
  ///
  /// The corresponding C macro is `S_IFIFO`.
  case fifo
  /// A Unix domain socket (`S_IFSOCK`, `DT_SOCK`).
  ///
  /// The corresponding C macro is `S_IFSOCK`.
  case socket

  /// Decodes the file type from the `S_IFMT` bits of `mode`; the other bits
  /// are ignored. Returns `nil` when those bits name no known type.
  ///
  /// The corresponding C macro is `S_IFMT`.
  public init?(mode: UInt32) {
    switch mode & _S_IFMT {
    case _S_IFREG: self = .regular
    case _S_IFDIR: self = .directory
    case _S_IFLNK: self = .symbolicLink
    case _S_IFCHR: self = .characterDevice
    case _S_IFBLK: self = .blockDevice
    case _S_IFIFO: self = .fifo
    case _S_IFSOCK: self = .socket
    default: return nil
    }
  }

  /// Decodes the `d_type` byte of a directory entry. Returns `nil` for
  /// `DT_UNKNOWN` (the file system did not say; call `status(at:)`) and for
  /// any value this type does not know.
  ///
  /// The corresponding C macros are `DT_REG`, `DT_DIR`, `DT_LNK`, `DT_CHR`,
  /// `DT_BLK`, `DT_FIFO`, `DT_SOCK` and `DT_UNKNOWN`.
  public init?(directoryType: UInt8) {
    switch directoryType {
    case _DT_REG: self = .regular
    case _DT_DIR: self = .directory
    case _DT_LNK: self = .symbolicLink
    case _DT_CHR: self = .characterDevice
    case _DT_BLK: self = .blockDevice
    case _DT_FIFO: self = .fifo
    case _DT_SOCK: self = .socket
    default: return nil
    }
  }

  /// The `S_IFMT` bits of this type (`S_IFREG`, `S_IFDIR`, ...), ready to be
  /// or-ed with permission bits for `createNode(at:mode:device:)`.
  ///
  /// The corresponding C macros are `S_IFREG`, `S_IFDIR`, `S_IFLNK`,
  /// `S_IFCHR`, `S_IFBLK`, `S_IFIFO` and `S_IFSOCK`.
  public var modeBits: UInt32 {
    switch self {
    case .regular: _S_IFREG
    case .directory: _S_IFDIR
    case .symbolicLink: _S_IFLNK
    case .characterDevice: _S_IFCHR
    case .blockDevice: _S_IFBLK
    case .fifo: _S_IFIFO
    case .socket: _S_IFSOCK
    }
  }
}
