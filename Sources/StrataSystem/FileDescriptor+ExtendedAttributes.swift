//===----------------------------------------------------------------------===//
// Extended attributes of an entry inside a directory, never following a
// final symbolic link.
//
// Linux 6.13 added *at forms of the xattr calls (getxattrat, setxattrat,
// listxattrat, removexattrat), used first. Older kernels answer ENOSYS; then,
// for an entry `name` of the
// directory `self`, the l*xattr calls are given "/proc/self/fd/<self>/<name>":
// the kernel jumps through the magic link to exactly the directory `self`
// refers to (no path race), then looks `name` up without following it.
// For the descriptor itself (an empty name) the f*xattr calls are used; they
// fail with EBADF on an O_PATH descriptor. An O_PATH directory is then its own
// entry "." for the *xattrat calls; anything else goes through
// "/proc/self/fd/<self>" with the following variants (the magic link lands on
// the very inode the descriptor refers to, even a symbolic link).
//===----------------------------------------------------------------------===//

import CStrataSystem
import Synchronization
import SystemPackage

/// Set once the kernel answered `ENOSYS` to an *xattrat call (before Linux 6.13): procfs paths then.
private let extendedAttributeCallsAtMissing = Atomic<Bool>(false)

extension FileDescriptor {
  /// The path that reaches `name` inside this directory through procfs.
  private func extendedAttributePath(_ name: String) -> String {
    if rawValue == _AT_FDCWD { return name.isEmpty ? "." : name }
    return name.isEmpty ? "/proc/self/fd/\(rawValue)" : "/proc/self/fd/\(rawValue)/\(name)"
  }

  /// Runs an xattr call on the entry `name` of this directory, or on this descriptor itself for an
  /// empty `name`.
  ///
  /// For an entry, the *xattrat form (`atCall`, given its `AT_*` flags) comes first: it resolves
  /// `name` from the descriptor directly, where a procfs path costs several lookups more (4× the
  /// time of the call). Before Linux 6.13, the path form (`pathCall`, given the procfs path and
  /// whether the final component may be followed) serves. The descriptor itself takes the descriptor
  /// form (`descriptorCall`); on `EBADF` (an `O_PATH` descriptor) the *xattrat form on `"."` serves a
  /// directory, and the path form anything else.
  private func withExtendedAttributeTarget<R>(
    _ name: String,
    atCall: (_ entry: String, _ atFlags: CUnsignedInt) throws(Errno) -> R,
    descriptorCall: () throws(Errno) -> R,
    pathCall: (String, _ follow: Bool) throws(Errno) -> R
  ) throws(Errno) -> R {
    // Not for the descriptor itself: AT_EMPTY_PATH refuses O_PATH descriptors (EBADF).
    if !name.isEmpty && !extendedAttributeCallsAtMissing.load(ordering: .relaxed) {
      do {
        return try atCall(name, CUnsignedInt(_AT_SYMLINK_NOFOLLOW))
      } catch .noFunction {
        extendedAttributeCallsAtMissing.store(true, ordering: .relaxed)
      }
    }
    if name.isEmpty && rawValue != _AT_FDCWD {
      do {
        return try descriptorCall()
      } catch .badFileDescriptor {
        // An O_PATH descriptor. A directory is its own entry "." (one call); anything else, or a
        // kernel without the *at forms, goes through procfs.
        if !extendedAttributeCallsAtMissing.load(ordering: .relaxed) {
          do {
            return try atCall(".", CUnsignedInt(_AT_SYMLINK_NOFOLLOW))
          } catch .notDirectory {
          } catch .noFunction {
            extendedAttributeCallsAtMissing.store(true, ordering: .relaxed)
          }
        }
        do {
          return try pathCall(extendedAttributePath(""), true)
        } catch .noSuchFileOrDirectory {
          // Not an open descriptor at all.
          throw .badFileDescriptor
        }
      }
    }
    return try pathCall(extendedAttributePath(name), false)
  }

  /// The value of the extended attribute `attribute` (e.g. `"user.x"`,
  /// `"trusted.overlay.opaque"`) of the entry `name` of this directory, never
  /// following a final symbolic link, or of this descriptor itself when
  /// `name` is empty (also for `O_PATH` descriptors). Values of any size are
  /// read completely.
  ///
  /// Errors a caller can see: `ENODATA` (no such attribute), `ENOENT`,
  /// `ENOTDIR`, `EOPNOTSUPP` (the file system or namespace has no xattrs),
  /// `EACCES`/`EPERM` (e.g. `trusted.*` without `CAP_SYS_ADMIN`), `E2BIG`,
  /// `EINVAL` for names containing NUL.
  ///
  /// The corresponding C function is `getxattrat` (Linux 6.13; before it, `lgetxattr`
  /// through procfs, `fgetxattr` for the descriptor itself).
  public func extendedAttribute(_ attribute: String, at name: String = "") throws(Errno) -> [UInt8] {
    try withExtendedAttributeTarget(
      name,
      atCall: { (entry, atFlags) throws(Errno) -> [UInt8] in
        try unsafe readSizedAttributeData { (buffer, size) throws(Errno) -> Int in
          try unsafe withCNames(entry, attribute) {
            unsafe system_getxattrat(rawValue, $0, atFlags, $1, buffer, size)
          }
        }
      },
      descriptorCall: { () throws(Errno) -> [UInt8] in
        try unsafe readSizedAttributeData { (buffer, size) throws(Errno) -> Int in
          try unsafe withCName(attribute) { unsafe system_fgetxattr(rawValue, $0, buffer, size) }
        }
      },
      pathCall: { (path, follow) throws(Errno) -> [UInt8] in
        try unsafe readSizedAttributeData { (buffer, size) throws(Errno) -> Int in
          try unsafe withCNames(path, attribute) {
            follow
              ? unsafe system_getxattr($0, $1, buffer, size)
              : unsafe system_lgetxattr($0, $1, buffer, size)
          }
        }
      })
  }

  /// Sets the extended attribute `attribute` of the entry `name` of this
  /// directory (never following a final symbolic link), or of this
  /// descriptor itself when `name` is empty, to `value` (which may be empty).
  /// `.create` fails if it exists, `.replace` if it does not.
  ///
  /// Errors a caller can see: `EEXIST` (`.create`), `ENODATA` (`.replace`),
  /// `ENOENT`, `EOPNOTSUPP`, `EPERM` (e.g. `user.*` on a symbolic link, or
  /// `trusted.*` without `CAP_SYS_ADMIN`), `EACCES`, `ENOSPC`, `EDQUOT`,
  /// `E2BIG`/`ERANGE` (too large or a bad name), `EROFS`, `EINVAL`.
  ///
  /// The corresponding C function is `setxattrat` (Linux 6.13; before it, `lsetxattr`
  /// through procfs, `fsetxattr` for the descriptor itself).
  public func setExtendedAttribute(
    _ attribute: String, to value: [UInt8], at name: String = "", flags: XAttrFlags = []
  ) throws(Errno) {
    try withExtendedAttributeTarget(
      name,
      atCall: { (entry, atFlags) throws(Errno) in
        try nothingOrErrno { () throws(Errno) -> CInt in
          try unsafe withCNames(entry, attribute) { pathName, attributeName in
            unsafe value.withUnsafeBytes {
              unsafe system_setxattrat(rawValue, pathName, atFlags, attributeName, $0.baseAddress, $0.count, flags.rawValue)
            }
          }
        }
      },
      descriptorCall: { () throws(Errno) in
        try nothingOrErrno { () throws(Errno) -> CInt in
          try unsafe withCName(attribute) { attributeName in
            unsafe value.withUnsafeBytes {
              unsafe system_fsetxattr(rawValue, attributeName, $0.baseAddress, $0.count, flags.rawValue)
            }
          }
        }
      },
      pathCall: { (path, follow) throws(Errno) in
        try nothingOrErrno { () throws(Errno) -> CInt in
          try unsafe withCNames(path, attribute) { pathName, attributeName in
            unsafe value.withUnsafeBytes {
              follow
                ? unsafe system_setxattr(pathName, attributeName, $0.baseAddress, $0.count, flags.rawValue)
                : unsafe system_lsetxattr(pathName, attributeName, $0.baseAddress, $0.count, flags.rawValue)
            }
          }
        }
      })
  }

  /// The names of all extended attributes of the entry `name` of this
  /// directory (never following a final symbolic link), or of this
  /// descriptor itself when `name` is empty, that the caller may see
  /// (`trusted.*` only with `CAP_SYS_ADMIN`). Lists of any size are read
  /// completely.
  ///
  /// Errors a caller can see: `ENOENT`, `ENOTDIR`, `EOPNOTSUPP`, `EACCES`,
  /// `E2BIG`, `EINVAL` for a name containing NUL.
  ///
  /// The corresponding C function is `listxattrat` (Linux 6.13; before it, `llistxattr`
  /// through procfs, `flistxattr` for the descriptor itself).
  public func extendedAttributeNames(at name: String = "") throws(Errno) -> [String] {
    let list = try withExtendedAttributeTarget(
      name,
      atCall: { (entry, atFlags) throws(Errno) -> [UInt8] in
        try unsafe readSizedAttributeData { (buffer, size) throws(Errno) -> Int in
          try unsafe withCName(entry) {
            unsafe system_listxattrat(rawValue, $0, atFlags, buffer?.assumingMemoryBound(to: CChar.self), size)
          }
        }
      },
      descriptorCall: { () throws(Errno) -> [UInt8] in
        try unsafe readSizedAttributeData { (buffer, size) throws(Errno) -> Int in
          unsafe system_flistxattr(rawValue, buffer?.assumingMemoryBound(to: CChar.self), size)
        }
      },
      pathCall: { (path, follow) throws(Errno) -> [UInt8] in
        try unsafe readSizedAttributeData { (buffer, size) throws(Errno) -> Int in
          try unsafe withCName(path) {
            let list = unsafe buffer?.assumingMemoryBound(to: CChar.self)
            return follow
              ? unsafe system_listxattr($0, list, size)
              : unsafe system_llistxattr($0, list, size)
          }
        }
      })
    return list.split(separator: 0).map { FileName.decode($0) }
  }

  /// Removes the extended attribute `attribute` of the entry `name` of this
  /// directory (never following a final symbolic link), or of this
  /// descriptor itself when `name` is empty.
  ///
  /// Errors a caller can see: `ENODATA` (no such attribute), `ENOENT`,
  /// `EOPNOTSUPP`, `EPERM`, `EACCES`, `EROFS`, `EINVAL` for names containing
  /// NUL.
  ///
  /// The corresponding C function is `removexattrat` (Linux 6.13; before it, `lremovexattr`
  /// through procfs, `fremovexattr` for the descriptor itself).
  public func removeExtendedAttribute(_ attribute: String, at name: String = "") throws(Errno) {
    try withExtendedAttributeTarget(
      name,
      atCall: { (entry, atFlags) throws(Errno) in
        try nothingOrErrno { () throws(Errno) -> CInt in
          try unsafe withCNames(entry, attribute) { unsafe system_removexattrat(rawValue, $0, atFlags, $1) }
        }
      },
      descriptorCall: { () throws(Errno) in
        try nothingOrErrno { () throws(Errno) -> CInt in
          try unsafe withCName(attribute) { unsafe system_fremovexattr(rawValue, $0) }
        }
      },
      pathCall: { (path, follow) throws(Errno) in
        try nothingOrErrno { () throws(Errno) -> CInt in
          try unsafe withCNames(path, attribute) {
            follow ? unsafe system_removexattr($0, $1) : unsafe system_lremovexattr($0, $1)
          }
        }
      })
  }
}

/// Reads a variable-sized result (an xattr value or name list): first into a
/// small buffer, and on `ERANGE` asks the size (`call(nil, 0)`) and retries
/// with a buffer that large, until the data fits.
private func readSizedAttributeData(
  _ call: (UnsafeMutableRawPointer?, Int) throws(Errno) -> Int
) throws(Errno) -> [UInt8] {
  var capacity = 256
  while true {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
    defer { unsafe buffer.deallocate() }
    let size = capacity
    do {
      let count = try valueOrErrno { () throws(Errno) -> Int in try unsafe call(buffer, size) }
      return unsafe Array(UnsafeRawBufferPointer(start: buffer, count: count))
    } catch .outOfRange {
      let needed = try valueOrErrno { () throws(Errno) -> Int in try call(nil, 0) }
      capacity = max(needed, capacity * 2)
    }
  }
}

/// For tests: sends every entry call through procfs, as on kernels before 6.13 (`false` restores).
internal func forceProcfsExtendedAttributes(_ force: Bool) {
  extendedAttributeCallsAtMissing.store(force, ordering: .relaxed)
}
