//===----------------------------------------------------------------------===//
// The *at family: every operation names an entry relative to a directory
// descriptor (`self`) and never follows a symbolic link in the last component.
//===----------------------------------------------------------------------===//

import CStrataSystem
import SystemPackage

extension FileDescriptor {
  /// The pseudo-descriptor that makes the `*at` calls resolve relative names
  /// against the current working directory. It must never be closed.
  ///
  /// The corresponding C macro is `AT_FDCWD`.
  public static var currentWorkingDirectory: FileDescriptor {
    FileDescriptor(rawValue: _AT_FDCWD)
  }

  /// Opens `path`, relative to this directory, under the resolution
  /// restrictions `resolve` (by default: stay beneath `self`, follow no
  /// symbolic link at all, no magic links).
  ///
  /// `flags` are raw open(2) flags (`O_RDONLY`, `O_DIRECTORY`, `O_PATH`,
  /// `O_CREAT`, ...); `O_CLOEXEC` is always added. `permissions` is used only
  /// with `O_CREAT` or `O_TMPFILE` (openat2 rejects it otherwise, so it is
  /// dropped). The call is retried on `EINTR`, and on `EAGAIN` (openat2's
  /// report of a concurrent rename during a restricted lookup) up to 64 times.
  ///
  /// Errors a caller can see: `EXDEV` (escaping `self` with `.beneath`:
  /// `..`, an absolute path, or a crossing with `.noXDev`), `ELOOP` (a
  /// symbolic link with `.noSymlinks`, a magic link with `.noMagicLinks`),
  /// `ENOENT`, `ENOTDIR`, `EEXIST` (`O_CREAT|O_EXCL`), `EISDIR`, `EACCES`,
  /// `EINVAL` (unknown flag bits), `ENOSYS` (kernel older than 5.6),
  /// `EMFILE`, `EAGAIN`, `EINVAL` for a path containing NUL.
  ///
  /// The corresponding C function is `openat2`.
  public func open(
    beneath path: String, flags: Int32, permissions: UInt32 = 0,
    resolve: ResolveFlags = [.beneath, .noSymlinks, .noMagicLinks]
  ) throws(Errno) -> FileDescriptor {
    let allFlags = flags | _O_CLOEXEC
    let creates = (allFlags & _O_CREAT) != 0 || (allFlags & _O_TMPFILE) == _O_TMPFILE
    let openFlags = UInt64(UInt32(bitPattern: allFlags))
    let mode = creates ? UInt64(permissions) : 0
    var attempts = 0
    while true {
      do {
        let fd = try valueOrErrno { () throws(Errno) -> CInt in
          try unsafe withCName(path) { unsafe system_openat2(rawValue, $0, openFlags, mode, resolve.rawValue) }
        }
        return FileDescriptor(rawValue: fd)
      } catch .resourceTemporarilyUnavailable where attempts < 64 {
        attempts += 1
      }
    }
  }

  /// Opens the entry `name` of this directory without following a symbolic
  /// link in its last component (`O_NOFOLLOW` and `O_CLOEXEC` are always
  /// added). Earlier components of a relative path are resolved normally.
  ///
  /// Opening a symbolic link fails with `ELOOP` unless `flags` contains
  /// `O_PATH`, which yields a descriptor for the link itself.
  ///
  /// Errors a caller can see: `ENOENT`, `ELOOP`, `ENOTDIR`, `EEXIST`,
  /// `EISDIR`, `EACCES`, `EMFILE`, `ENXIO`, `EINVAL` (also for a name
  /// containing NUL).
  ///
  /// The corresponding C function is `openat`.
  public func open(at name: String, flags: Int32, permissions: UInt32 = 0) throws(Errno) -> FileDescriptor {
    let allFlags = flags | _O_NOFOLLOW | _O_CLOEXEC
    let fd = try valueOrErrno { () throws(Errno) -> CInt in
      try unsafe withCName(name) { unsafe system_openat(rawValue, $0, allFlags, permissions) }
    }
    return FileDescriptor(rawValue: fd)
  }

  /// The metadata of the entry `name` of this directory, or of the
  /// descriptor itself when `name` is empty (`AT_EMPTY_PATH`, which also
  /// works on `O_PATH` descriptors). Never follows a final symbolic link.
  ///
  /// Errors a caller can see: `ENOENT`, `ENOTDIR`, `EACCES`, `EBADF`,
  /// `ELOOP`, `ENAMETOOLONG`, `EINVAL` for a name containing NUL.
  ///
  /// The corresponding C function is `fstatat`.
  public func status(at name: String = "") throws(Errno) -> FileStatus {
    var raw = cstrata_stat()
    let flags = _AT_SYMLINK_NOFOLLOW | Self.emptyPathFlag(name)
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCName(name) { unsafe system_fstatat(rawValue, $0, &raw, flags) }
    }
    return FileStatus(raw)
  }

  /// Creates the directory `name` in this directory with `permissions`
  /// (masked by the umask; default ACLs and set-group-id directories apply).
  ///
  /// Errors a caller can see: `EEXIST` (also for a dangling symbolic link),
  /// `ENOENT`, `ENOTDIR`, `EACCES`, `ENOSPC`, `EDQUOT`, `EMLINK`, `EROFS`,
  /// `EINVAL` for a name containing NUL.
  ///
  /// The corresponding C function is `mkdirat`.
  public func createDirectory(at name: String, permissions: UInt32) throws(Errno) {
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCName(name) { unsafe system_mkdirat(rawValue, $0, permissions) }
    }
  }

  /// Creates a special file (or an empty regular file) `name` in this
  /// directory; `mode` includes the type bits (`S_IFCHR`, `S_IFBLK`,
  /// `S_IFIFO`, `S_IFSOCK`, `S_IFREG`, see `FileKind.modeBits`) and the
  /// permission bits (masked by the umask). `device` is used only for
  /// character and block devices; an overlay whiteout is a character device
  /// with `device` 0.
  ///
  /// Errors a caller can see: `EEXIST`, `EPERM` (devices need `CAP_MKNOD`),
  /// `EINVAL` (a directory or unknown type, or a name containing NUL),
  /// `ENOENT`, `ENOTDIR`, `EACCES`, `ENOSPC`, `EROFS`.
  ///
  /// The corresponding C function is `mknodat`.
  public func createNode(at name: String, mode: UInt32, device: UInt64 = 0) throws(Errno) {
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCName(name) { unsafe system_mknodat(rawValue, $0, mode, device) }
    }
  }

  /// Creates the symbolic link `name` in this directory pointing at `target`
  /// (stored verbatim, never resolved).
  ///
  /// Errors a caller can see: `EEXIST`, `ENOENT` (also for an empty target),
  /// `ENOTDIR`, `EACCES`, `ENAMETOOLONG`, `ENOSPC`, `EROFS`, `EINVAL` for a
  /// name or target containing NUL.
  ///
  /// The corresponding C function is `symlinkat`.
  public func createSymbolicLink(at name: String, target: String) throws(Errno) {
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCNames(target, name) { unsafe system_symlinkat($0, rawValue, $1) }
    }
  }

  /// The target of the symbolic link `name` in this directory, of any length;
  /// with an empty `name`, of the link this `O_PATH|O_NOFOLLOW` descriptor
  /// refers to, in the lossless form of `FileName` (bytes that are not UTF-8
  /// escaped).
  ///
  /// Errors a caller can see: `EINVAL` (not a symbolic link, or a name
  /// containing NUL), `ENOENT`, `ENOTDIR`, `EACCES`, `ELOOP`.
  ///
  /// The corresponding C function is `readlinkat`.
  public func readSymbolicLink(at name: String = "") throws(Errno) -> String {
    var capacity = 256
    while true {
      var buffer = [CChar](repeating: 0, count: capacity)
      let count = try valueOrErrno { () throws(Errno) -> Int in
        try unsafe withCName(name) { path in
          unsafe buffer.withUnsafeMutableBufferPointer { unsafe system_readlinkat(rawValue, path, $0.baseAddress!, capacity) }
        }
      }
      if count < capacity {
        return FileName.decode(buffer[..<count].lazy.map { UInt8(bitPattern: $0) })
      }
      // readlink(2) truncates silently: a full buffer may mean a longer target.
      if capacity >= 1 << 24 { throw .fileNameTooLong }
      capacity *= 4
    }
  }

  /// Creates `newName` in `directory` as another hard link to the entry
  /// `name` of this directory (a final symbolic link is linked, not followed).
  /// With an empty `name`, links the file this descriptor refers to, also an
  /// unnamed `O_TMPFILE` file (`AT_EMPTY_PATH`; where the kernel refuses it
  /// to a caller without `CAP_DAC_READ_SEARCH` — before Linux 6.10 — through
  /// the descriptor's `/proc/self/fd` link, which `linkat` may follow).
  ///
  /// Errors a caller can see: `EEXIST`, `ENOENT`, `EXDEV` (different mounts),
  /// `EPERM` (a directory), `EMLINK`, `EACCES`, `ENOSPC`, `EROFS`, `EINVAL`
  /// for a name containing NUL.
  ///
  /// The corresponding C function is `linkat`.
  public func createHardLink(from name: String, to directory: FileDescriptor, as newName: String) throws(Errno) {
    let flags = Self.emptyPathFlag(name)
    do {
      try nothingOrErrno { () throws(Errno) -> CInt in
        try unsafe withCNames(name, newName) {
          unsafe system_linkat(rawValue, $0, directory.rawValue, $1, flags)
        }
      }
    } catch .noSuchFileOrDirectory where name.isEmpty {
      try nothingOrErrno { () throws(Errno) -> CInt in
        try unsafe withCNames("/proc/self/fd/\(rawValue)", newName) {
          unsafe system_linkat(_AT_FDCWD, $0, directory.rawValue, $1, _AT_SYMLINK_FOLLOW)
        }
      }
    }
  }

  /// Opens a new regular file without a name in this directory's file system
  /// (`O_TMPFILE`), for writing, with `permissions`; it vanishes when closed
  /// unless `createHardLink(from: "", …)` gives it a name first.
  ///
  /// Errors a caller can see: `EOPNOTSUPP` or `EISDIR` (a file system or
  /// kernel without `O_TMPFILE`), `ENOENT`, `EACCES`, `ENOSPC`, `EDQUOT`,
  /// `EROFS`.
  ///
  /// The corresponding C function is `openat` with `O_TMPFILE`.
  /// It is open for writing only, or with `readable` for reading too.
  public func openUnnamedFile(permissions: UInt32, readable: Bool = false) throws(Errno) -> FileDescriptor {
    try open(at: ".", flags: _O_TMPFILE | (readable ? _O_RDWR : _O_WRONLY), permissions: permissions)
  }

  /// Renames the entry `name` of this directory to `newName` in `directory`,
  /// atomically; `flags` can forbid replacing (`.noReplace`), swap the two
  /// entries (`.exchange`) or leave a whiteout behind (`.whiteout`).
  ///
  /// Errors a caller can see: `EEXIST` (`.noReplace` and the destination
  /// exists), `ENOENT`, `ENOTEMPTY`/`EEXIST` (replacing a non-empty
  /// directory), `EISDIR`, `ENOTDIR`, `EXDEV` (different mounts), `EINVAL`
  /// (unsupported flags, moving a directory into itself, a name containing
  /// NUL), `EBUSY`, `EACCES`, `EPERM`, `EROFS`.
  ///
  /// The corresponding C function is `renameat2`.
  public func rename(
    _ name: String, to directory: FileDescriptor, as newName: String, flags: RenameFlags = []
  ) throws(Errno) {
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCNames(name, newName) {
        unsafe system_renameat2(rawValue, $0, directory.rawValue, $1, flags.rawValue)
      }
    }
  }

  /// Removes the entry `name` of this directory: a non-directory by default,
  /// an empty directory when `directory` is true (`AT_REMOVEDIR`).
  ///
  /// Errors a caller can see: `ENOENT`, `EISDIR` (a directory without
  /// `directory`), `ENOTDIR` (a non-directory with `directory`), `ENOTEMPTY`
  /// (or `EEXIST`), `EBUSY`, `EACCES`, `EPERM`, `EROFS`, `EINVAL` (also for
  /// a name containing NUL).
  ///
  /// The corresponding C function is `unlinkat`.
  public func remove(at name: String, directory: Bool = false) throws(Errno) {
    let flags = directory ? _AT_REMOVEDIR : 0
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCName(name) { unsafe system_unlinkat(rawValue, $0, flags) }
    }
  }

  /// Sets the permission bits (`mode & 0o7777`) of the entry `name` of this
  /// directory without following a final symbolic link, or of this
  /// descriptor itself when `name` is empty (then `self` must not be an
  /// `O_PATH` descriptor: `EBADF`).
  ///
  /// Symbolic links have no permissions of their own on Linux: when the
  /// kernel refuses the change (`EOPNOTSUPP`) and the entry is a symbolic
  /// link, the call succeeds without effect.
  ///
  /// Errors a caller can see: `ENOENT`, `EPERM` (not the owner), `EBADF`,
  /// `EACCES`, `EROFS`, `EOPNOTSUPP` (not a symbolic link, but refused),
  /// `EINVAL` for a name containing NUL.
  ///
  /// The corresponding C function is `fchmodat`.
  public func setPermissions(at name: String = "", _ mode: UInt32) throws(Errno) {
    if name.isEmpty {
      try nothingOrErrno { system_fchmod(rawValue, mode) }
      return
    }
    do {
      try nothingOrErrno { () throws(Errno) -> CInt in
        try unsafe withCName(name) { unsafe system_fchmodat(rawValue, $0, mode, _AT_SYMLINK_NOFOLLOW) }
      }
    } catch .notSupported {
      if try status(at: name).kind == .symbolicLink { return }
      throw .notSupported
    }
  }

  /// Sets the owner and/or group of the entry `name` of this directory
  /// without following a final symbolic link, or of this descriptor itself
  /// when `name` is empty (`AT_EMPTY_PATH`, which also works on `O_PATH`
  /// descriptors). `nil` leaves that id unchanged. Changing the owner of a
  /// non-directory clears its set-user-id and set-group-id bits.
  ///
  /// Errors a caller can see: `EPERM` (no `CAP_CHOWN`), `ENOENT`, `EACCES`,
  /// `EBADF`, `EROFS`, `EINVAL` (an id the user namespace cannot map, or a
  /// name containing NUL).
  ///
  /// The corresponding C function is `fchownat`.
  public func setOwner(at name: String = "", user: UInt32?, group: UInt32?) throws(Errno) {
    let flags = _AT_SYMLINK_NOFOLLOW | Self.emptyPathFlag(name)
    let uid = user ?? UInt32.max
    let gid = group ?? UInt32.max
    try nothingOrErrno { () throws(Errno) -> CInt in
      try unsafe withCName(name) { unsafe system_fchownat(rawValue, $0, uid, gid, flags) }
    }
  }

  /// Sets the access and modification times of the entry `name` of this
  /// directory without following a final symbolic link, or of this
  /// descriptor itself when `name` is empty (utimensat with `AT_EMPTY_PATH`,
  /// which also works on `O_PATH` descriptors; futimens before Linux 5.8).
  /// Pass `.now` for the
  /// current time or `.omit` to leave a time unchanged; the change time
  /// always becomes the current time unless both are `.omit`.
  ///
  /// Errors a caller can see: `ENOENT`, `EPERM`/`EACCES` (not the owner),
  /// `EINVAL` (nanoseconds out of range, or a name containing NUL), `EBADF`,
  /// `EROFS`.
  ///
  /// The corresponding C function is `utimensat`.
  public func setTimes(at name: String = "", access: TimeSpec, modification: TimeSpec) throws(Errno) {
    let flags = _AT_SYMLINK_NOFOLLOW | Self.emptyPathFlag(name)
    do {
      try nothingOrErrno { () throws(Errno) -> CInt in
        try unsafe withCName(name) { unsafe system_utimensat(rawValue, $0, access, modification, flags) }
      }
    } catch .invalidArgument where name.isEmpty {
      // A kernel without AT_EMPTY_PATH for utimensat (before 5.8): the descriptor form.
      try nothingOrErrno { system_futimens(rawValue, access, modification) }
    }
  }
}
