//===----------------------------------------------------------------------===//
// File system statistics, advisory locks, descriptor duplication, the
// kernel's name for a descriptor, and opening user-given directories.
//===----------------------------------------------------------------------===//

import CStrataSystem
import SystemPackage

extension FileDescriptor {
  /// Statistics of the file system holding this descriptor's file (works on
  /// `O_PATH` descriptors).
  ///
  /// Errors a caller can see: `EBADF`, `EIO`, `ENOSYS`, `EOVERFLOW`.
  ///
  /// The corresponding C function is `fstatvfs`.
  public func fileSystemStatus() throws(Errno) -> FileSystemStatus {
    var raw = cstrata_statvfs()
    try nothingOrErrno { unsafe system_fstatvfs(rawValue, &raw) }
    return FileSystemStatus(raw)
  }

  /// Takes an advisory whole-file lock: exclusive or shared. With `wait`
  /// the call blocks until the lock is granted; without it, it fails at once
  /// with `EWOULDBLOCK` (`EAGAIN`) when another open file description holds
  /// a conflicting lock. Re-locking converts an existing lock. The lock is
  /// released when every descriptor sharing this open file description is
  /// closed.
  ///
  /// Errors a caller can see: `EWOULDBLOCK`, `EBADF`, `EINVAL`, `ENOLCK`.
  ///
  /// The corresponding C function is `flock`.
  public func lock(exclusive: Bool, wait: Bool) throws(Errno) {
    let operation = (exclusive ? _LOCK_EX : _LOCK_SH) | (wait ? 0 : _LOCK_NB)
    try nothingOrErrno { system_flock(rawValue, operation) }
  }

  /// A new descriptor, with close-on-exec set, sharing this descriptor's
  /// open file description (offset, status flags and `flock` locks).
  ///
  /// Errors a caller can see: `EBADF`, `EMFILE`.
  ///
  /// The corresponding C function is `fcntl` with `F_DUPFD_CLOEXEC`.
  public func duplicate() throws(Errno) -> FileDescriptor {
    FileDescriptor(rawValue: try valueOrErrno { system_dupfd_cloexec(rawValue) })
  }

  /// Sets the file status flags of the open file description that Linux
  /// lets change after the open (`O_APPEND`, `O_NONBLOCK`, `O_ASYNC`,
  /// `O_DIRECT`, `O_NOATIME`) to those in `flags`: a flag left out is
  /// cleared; the access mode and creation flags in `flags` are ignored.
  ///
  /// Errors a caller can see: `EBADF`, `EINVAL` (`O_DIRECT` where the file
  /// system has none), `EPERM` (`O_NOATIME` on another user's file,
  /// clearing `O_APPEND` of an append-only file).
  ///
  /// The corresponding C function is `fcntl` with `F_SETFL`.
  public func setStatusFlags(_ flags: Int32) throws(Errno) {
    try nothingOrErrno { system_set_status_flags(rawValue, flags) }
  }

  /// The path the kernel shows for this descriptor: the target of the magic
  /// link `/proc/self/fd/N`. It reflects renames, gets a `" (deleted)"`
  /// suffix once the file is unlinked, and is only as trustworthy as a path
  /// can be; use it for messages and diagnostics.
  ///
  /// Errors a caller can see: `ENOENT`/`EBADF` (not an open descriptor),
  /// `EACCES` (procfs not mounted or hidden).
  ///
  /// The corresponding C function is `readlink`.
  public func currentPath() throws(Errno) -> String {
    do {
      return try FileDescriptor.currentWorkingDirectory.readSymbolicLink(at: "/proc/self/fd/\(rawValue)")
    } catch .noSuchFileOrDirectory {
      throw .badFileDescriptor
    }
  }
}

/// Opens the directory at `absolutePath`, following symbolic links anywhere
/// in it (meant for layer roots given by a user). With `pathOnly` (the
/// default) the descriptor is `O_PATH`: good as the base of the `*at` calls,
/// not for `readDirectoryRecords()`. Close-on-exec is always set.
///
/// Errors a caller can see: `ENOENT`, `ENOTDIR`, `EACCES`, `ELOOP`,
/// `ENAMETOOLONG`, `EMFILE`, `EINVAL` for a path containing NUL.
///
/// The corresponding C function is `open`.
public func openDirectory(_ absolutePath: String, pathOnly: Bool = true) throws(Errno) -> FileDescriptor {
  let flags = _O_DIRECTORY | _O_CLOEXEC | (pathOnly ? _O_PATH : _O_RDONLY)
  let fd = try valueOrErrno { () throws(Errno) -> CInt in
    try unsafe withCName(absolutePath) { unsafe system_open($0, flags, 0) }
  }
  return FileDescriptor(rawValue: fd)
}

/// The effective user id of this process. Never fails.
///
/// The corresponding C function is `geteuid`.
public var effectiveUserID: UInt32 { system_geteuid() }

/// The effective group id of this process. Never fails.
///
/// The corresponding C function is `getegid`.
public var effectiveGroupID: UInt32 { system_getegid() }

/// The supplementary group IDs of the calling process (empty if they cannot be read).
///
/// The corresponding C function is `getgroups`.
public var supplementaryGroupIDs: [UInt32] {
  let count = system_getgroups(0, nil)
  guard count > 0 else { return [] }
  var groups = [UInt32](repeating: 0, count: Int(count))
  let filled = unsafe groups.withUnsafeMutableBufferPointer { buffer in
    unsafe system_getgroups(count, buffer.baseAddress)
  }
  return filled > 0 ? Array(groups.prefix(Int(filled))) : []
}
