//===----------------------------------------------------------------------===//
// Every raw C call StrataSystem makes goes through one of these functions.
//
// Each is a one-line forwarder to the CStrataSystem shim of the same name and
// keeps the C convention: -1 (or a negative count) and `errno` on failure.
// Nothing here retries or throws; see Errno+Result.swift for that.
//===----------------------------------------------------------------------===//

import CStrataSystem

// MARK: - errno

@inline(__always)
internal func system_errno() -> CInt {
  cstrata_errno()
}

@inline(__always)
internal func system_set_errno(_ value: CInt) {
  cstrata_set_errno(value)
}

// MARK: - Opening

@inline(__always)
internal func system_openat2(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ flags: UInt64, _ mode: UInt64, _ resolve: UInt64
) -> CInt {
  unsafe cstrata_openat2(dirfd, path, flags, mode, resolve)
}

@inline(__always)
internal func system_openat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: CUnsignedInt
) -> CInt {
  unsafe cstrata_openat(dirfd, path, flags, mode)
}

@inline(__always)
internal func system_open(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: CUnsignedInt) -> CInt {
  unsafe cstrata_open(path, flags, mode)
}

@inline(__always)
internal func system_close(_ fd: CInt) -> CInt {
  cstrata_close(fd)
}

// MARK: - Metadata

@inline(__always)
internal func system_fstatat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<cstrata_stat>, _ flags: CInt
) -> CInt {
  unsafe cstrata_fstatat(dirfd, path, buffer, flags)
}

@inline(__always)
internal func system_fchmodat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ mode: CUnsignedInt, _ flags: CInt
) -> CInt {
  unsafe cstrata_fchmodat(dirfd, path, mode, flags)
}

@inline(__always)
internal func system_fchmod(_ fd: CInt, _ mode: CUnsignedInt) -> CInt {
  cstrata_fchmod(fd, mode)
}

@inline(__always)
internal func system_fchownat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ user: UInt32, _ group: UInt32, _ flags: CInt
) -> CInt {
  unsafe cstrata_fchownat(dirfd, path, user, group, flags)
}

@inline(__always)
internal func system_utimensat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ access: TimeSpec, _ modification: TimeSpec, _ flags: CInt
) -> CInt {
  unsafe cstrata_utimensat(
    dirfd, path, access.seconds, Int(access.nanoseconds),
    modification.seconds, Int(modification.nanoseconds), flags)
}

@inline(__always)
internal func system_futimens(_ fd: CInt, _ access: TimeSpec, _ modification: TimeSpec) -> CInt {
  cstrata_futimens(
    fd, access.seconds, Int(access.nanoseconds), modification.seconds, Int(modification.nanoseconds))
}

// MARK: - Namespace

@inline(__always)
internal func system_mkdirat(_ dirfd: CInt, _ path: UnsafePointer<CChar>, _ mode: CUnsignedInt) -> CInt {
  unsafe cstrata_mkdirat(dirfd, path, mode)
}

@inline(__always)
internal func system_mknodat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ mode: CUnsignedInt, _ device: UInt64
) -> CInt {
  unsafe cstrata_mknodat(dirfd, path, mode, device)
}

@inline(__always)
internal func system_symlinkat(
  _ target: UnsafePointer<CChar>, _ dirfd: CInt, _ path: UnsafePointer<CChar>
) -> CInt {
  unsafe cstrata_symlinkat(target, dirfd, path)
}

@inline(__always)
internal func system_readlinkat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int
) -> Int {
  unsafe cstrata_readlinkat(dirfd, path, buffer, size)
}

@inline(__always)
internal func system_linkat(
  _ olddirfd: CInt, _ oldpath: UnsafePointer<CChar>,
  _ newdirfd: CInt, _ newpath: UnsafePointer<CChar>, _ flags: CInt
) -> CInt {
  unsafe cstrata_linkat(olddirfd, oldpath, newdirfd, newpath, flags)
}

@inline(__always)
internal func system_renameat2(
  _ olddirfd: CInt, _ oldpath: UnsafePointer<CChar>,
  _ newdirfd: CInt, _ newpath: UnsafePointer<CChar>, _ flags: CUnsignedInt
) -> CInt {
  unsafe cstrata_renameat2(olddirfd, oldpath, newdirfd, newpath, flags)
}

@inline(__always)
internal func system_unlinkat(_ dirfd: CInt, _ path: UnsafePointer<CChar>, _ flags: CInt) -> CInt {
  unsafe cstrata_unlinkat(dirfd, path, flags)
}

// MARK: - Data

@inline(__always)
internal func system_pread(
  _ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ offset: Int64
) -> Int {
  unsafe cstrata_pread(fd, buffer, count, offset)
}

@inline(__always)
internal func system_pwrite(
  _ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ offset: Int64
) -> Int {
  unsafe cstrata_pwrite(fd, buffer, count, offset)
}

@inline(__always)
internal func system_write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
  unsafe cstrata_write(fd, buffer, count)
}

@inline(__always)
internal func system_ftruncate(_ fd: CInt, _ size: Int64) -> CInt {
  cstrata_ftruncate(fd, size)
}

@inline(__always)
internal func system_fsync(_ fd: CInt) -> CInt {
  cstrata_fsync(fd)
}

@inline(__always)
internal func system_syncfs(_ fd: CInt) -> CInt {
  cstrata_syncfs(fd)
}

@inline(__always)
internal func system_fdatasync(_ fd: CInt) -> CInt {
  cstrata_fdatasync(fd)
}

@inline(__always)
internal func system_ficlone(_ destination: CInt, _ source: CInt) -> CInt {
  cstrata_ficlone(destination, source)
}

@inline(__always)
internal func system_copy_file_range(
  _ source: CInt, _ sourceOffset: UnsafeMutablePointer<Int64>,
  _ destination: CInt, _ destinationOffset: UnsafeMutablePointer<Int64>,
  _ count: Int, _ flags: CUnsignedInt
) -> Int {
  unsafe cstrata_copy_file_range(source, sourceOffset, destination, destinationOffset, count, flags)
}

@inline(__always)
internal func system_lseek(_ fd: CInt, _ offset: Int64, _ whence: CInt) -> Int64 {
  cstrata_lseek(fd, offset, whence)
}

// MARK: - Directories

@inline(__always)
internal func system_getdents64(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ size: Int) -> Int {
  unsafe cstrata_getdents64(fd, buffer, size)
}

@inline(__always)
internal func system_dirent_at(
  _ buffer: UnsafeRawPointer, _ offset: Int, _ record: UnsafeMutablePointer<cstrata_dirent>
) {
  unsafe cstrata_dirent_at(buffer, offset, record)
}

// MARK: - Extended attributes

@inline(__always)
internal func system_getxattrat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ atFlags: CUnsignedInt, _ name: UnsafePointer<CChar>,
  _ value: UnsafeMutableRawPointer?, _ size: Int
) -> Int {
  unsafe cstrata_getxattrat(dirfd, path, atFlags, name, value, size)
}

@inline(__always)
internal func system_setxattrat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ atFlags: CUnsignedInt, _ name: UnsafePointer<CChar>,
  _ value: UnsafeRawPointer?, _ size: Int, _ flags: CInt
) -> CInt {
  unsafe cstrata_setxattrat(dirfd, path, atFlags, name, value, size, flags)
}

@inline(__always)
internal func system_listxattrat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ atFlags: CUnsignedInt, _ list: UnsafeMutablePointer<CChar>?,
  _ size: Int
) -> Int {
  unsafe cstrata_listxattrat(dirfd, path, atFlags, list, size)
}

@inline(__always)
internal func system_removexattrat(
  _ dirfd: CInt, _ path: UnsafePointer<CChar>, _ atFlags: CUnsignedInt, _ name: UnsafePointer<CChar>
) -> CInt {
  unsafe cstrata_removexattrat(dirfd, path, atFlags, name)
}

@inline(__always)
internal func system_getxattr(
  _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int
) -> Int {
  unsafe cstrata_getxattr(path, name, value, size)
}

@inline(__always)
internal func system_lgetxattr(
  _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int
) -> Int {
  unsafe cstrata_lgetxattr(path, name, value, size)
}

@inline(__always)
internal func system_fgetxattr(
  _ fd: CInt, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int
) -> Int {
  unsafe cstrata_fgetxattr(fd, name, value, size)
}

@inline(__always)
internal func system_setxattr(
  _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>,
  _ value: UnsafeRawPointer?, _ size: Int, _ flags: CInt
) -> CInt {
  unsafe cstrata_setxattr(path, name, value, size, flags)
}

@inline(__always)
internal func system_lsetxattr(
  _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>,
  _ value: UnsafeRawPointer?, _ size: Int, _ flags: CInt
) -> CInt {
  unsafe cstrata_lsetxattr(path, name, value, size, flags)
}

@inline(__always)
internal func system_fsetxattr(
  _ fd: CInt, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?, _ size: Int, _ flags: CInt
) -> CInt {
  unsafe cstrata_fsetxattr(fd, name, value, size, flags)
}

@inline(__always)
internal func system_listxattr(
  _ path: UnsafePointer<CChar>, _ list: UnsafeMutablePointer<CChar>?, _ size: Int
) -> Int {
  unsafe cstrata_listxattr(path, list, size)
}

@inline(__always)
internal func system_llistxattr(
  _ path: UnsafePointer<CChar>, _ list: UnsafeMutablePointer<CChar>?, _ size: Int
) -> Int {
  unsafe cstrata_llistxattr(path, list, size)
}

@inline(__always)
internal func system_flistxattr(_ fd: CInt, _ list: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
  unsafe cstrata_flistxattr(fd, list, size)
}

@inline(__always)
internal func system_removexattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>) -> CInt {
  unsafe cstrata_removexattr(path, name)
}

@inline(__always)
internal func system_lremovexattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>) -> CInt {
  unsafe cstrata_lremovexattr(path, name)
}

@inline(__always)
internal func system_fremovexattr(_ fd: CInt, _ name: UnsafePointer<CChar>) -> CInt {
  unsafe cstrata_fremovexattr(fd, name)
}

// MARK: - File system, locks, descriptors, identity

@inline(__always)
internal func system_fstatvfs(_ fd: CInt, _ buffer: UnsafeMutablePointer<cstrata_statvfs>) -> CInt {
  unsafe cstrata_fstatvfs(fd, buffer)
}

@inline(__always)
internal func system_flock(_ fd: CInt, _ operation: CInt) -> CInt {
  cstrata_flock(fd, operation)
}

@inline(__always)
internal func system_dupfd_cloexec(_ fd: CInt) -> CInt {
  cstrata_dupfd_cloexec(fd)
}

@inline(__always)
internal func system_set_status_flags(_ fd: CInt, _ flags: CInt) -> CInt {
  cstrata_set_status_flags(fd, flags)
}

@inline(__always)
internal func system_fallocate(_ fd: CInt, _ mode: CInt, _ offset: Int64, _ length: Int64) -> CInt {
  cstrata_fallocate(fd, mode, offset, length)
}

@inline(__always)
internal func system_geteuid() -> UInt32 {
  cstrata_geteuid()
}

@inline(__always)
internal func system_getegid() -> UInt32 {
  cstrata_getegid()
}

@inline(__always)
internal func system_getgroups(_ size: CInt, _ list: UnsafeMutablePointer<UInt32>?) -> CInt {
  unsafe cstrata_getgroups(size, list)
}

// MARK: - Devices

@inline(__always)
internal func system_makedev(_ major: UInt32, _ minor: UInt32) -> UInt64 {
  cstrata_makedev(major, minor)
}

@inline(__always)
internal func system_major(_ device: UInt64) -> UInt32 {
  cstrata_major(device)
}

@inline(__always)
internal func system_minor(_ device: UInt64) -> UInt32 {
  cstrata_minor(device)
}

// MARK: - Memory

@inline(__always)
internal func system_populate_and_release(_ bytes: Int) -> CInt {
  cstrata_populate_and_release(bytes)
}
