//===----------------------------------------------------------------------===//
// Option sets for renameat2, openat2 and setxattr.
//===----------------------------------------------------------------------===//

import CStrataSystem

/// Options for `FileDescriptor.rename(_:to:as:flags:)`.
///
/// The corresponding C macros are `RENAME_NOREPLACE`, `RENAME_EXCHANGE` and
/// `RENAME_WHITEOUT`.
public struct RenameFlags: OptionSet, Sendable {
  /// The raw `RENAME_*` bits passed to renameat2(2).
  ///
  /// The corresponding C parameter is renameat2's `flags`.
  public let rawValue: UInt32

  /// Creates flags from raw `RENAME_*` bits (unknown bits make the call fail
  /// with `EINVAL`).
  ///
  /// The corresponding C parameter is renameat2's `flags`.
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// Fail with `EEXIST` instead of replacing an existing destination.
  ///
  /// The corresponding C macro is `RENAME_NOREPLACE`.
  public static let noReplace = RenameFlags(rawValue: cstrata_RENAME_NOREPLACE)

  /// Atomically swap source and destination, which must both exist
  /// (`ENOENT` otherwise); cannot be combined with the other flags (`EINVAL`).
  ///
  /// The corresponding C macro is `RENAME_EXCHANGE`.
  public static let exchange = RenameFlags(rawValue: cstrata_RENAME_EXCHANGE)

  /// Leave an overlay whiteout (a 0/0 character device) at the source; needs
  /// `CAP_MKNOD` (`EPERM`) and file system support (`EINVAL`).
  ///
  /// The corresponding C macro is `RENAME_WHITEOUT`.
  public static let whiteout = RenameFlags(rawValue: cstrata_RENAME_WHITEOUT)
}

/// Path resolution restrictions for `FileDescriptor.open(beneath:flags:permissions:resolve:)`.
///
/// The corresponding C macros are the `RESOLVE_*` flags of `struct open_how`.
public struct ResolveFlags: OptionSet, Sendable {
  /// The raw `RESOLVE_*` bits placed in `open_how.resolve`.
  ///
  /// The corresponding C field is `open_how.resolve`.
  public let rawValue: UInt64

  /// Creates flags from raw `RESOLVE_*` bits (unknown bits make the call fail
  /// with `EINVAL`).
  ///
  /// The corresponding C field is `open_how.resolve`.
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// Refuse to leave the starting directory: absolute paths, `..` above it
  /// and symbolic links pointing outside it fail with `EXDEV`.
  ///
  /// The corresponding C macro is `RESOLVE_BENEATH`.
  public static let beneath = ResolveFlags(rawValue: cstrata_RESOLVE_BENEATH)

  /// Refuse every symbolic link in the path, the last component included
  /// (`ELOOP`).
  ///
  /// The corresponding C macro is `RESOLVE_NO_SYMLINKS`.
  public static let noSymlinks = ResolveFlags(rawValue: cstrata_RESOLVE_NO_SYMLINKS)

  /// Refuse "magic" links such as `/proc/self/fd/N` (`ELOOP`).
  ///
  /// The corresponding C macro is `RESOLVE_NO_MAGICLINKS`.
  public static let noMagicLinks = ResolveFlags(rawValue: cstrata_RESOLVE_NO_MAGICLINKS)

  /// Refuse to cross a mount point (`EXDEV`).
  ///
  /// The corresponding C macro is `RESOLVE_NO_XDEV`.
  public static let noXDev = ResolveFlags(rawValue: cstrata_RESOLVE_NO_XDEV)

  /// Treat the starting directory as the root (`/` and `..` stay inside it).
  ///
  /// The corresponding C macro is `RESOLVE_IN_ROOT`.
  public static let inRoot = ResolveFlags(rawValue: cstrata_RESOLVE_IN_ROOT)
}

/// Options for `FileDescriptor.setExtendedAttribute(_:to:at:flags:)`.
///
/// The corresponding C macros are `XATTR_CREATE` and `XATTR_REPLACE`.
public struct XAttrFlags: OptionSet, Sendable {
  /// The raw `XATTR_*` bits passed to setxattr(2).
  ///
  /// The corresponding C parameter is setxattr's `flags`.
  public let rawValue: Int32

  /// Creates flags from raw `XATTR_*` bits.
  ///
  /// The corresponding C parameter is setxattr's `flags`.
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// Fail with `EEXIST` if the attribute already exists.
  ///
  /// The corresponding C macro is `XATTR_CREATE`.
  public static let create = XAttrFlags(rawValue: cstrata_XATTR_CREATE)

  /// Fail with `ENODATA` if the attribute does not exist yet.
  ///
  /// The corresponding C macro is `XATTR_REPLACE`.
  public static let replace = XAttrFlags(rawValue: cstrata_XATTR_REPLACE)
}
