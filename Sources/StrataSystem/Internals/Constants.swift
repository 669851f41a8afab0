//===----------------------------------------------------------------------===//
// C constants, read once from the shim so the Swift code never spells a
// numeric value itself.
//===----------------------------------------------------------------------===//

import CStrataSystem

internal let _AT_FDCWD: CInt = cstrata_AT_FDCWD
internal let _AT_SYMLINK_NOFOLLOW: CInt = cstrata_AT_SYMLINK_NOFOLLOW
internal let _AT_REMOVEDIR: CInt = cstrata_AT_REMOVEDIR
internal let _AT_EMPTY_PATH: CInt = cstrata_AT_EMPTY_PATH
internal let _AT_SYMLINK_FOLLOW: CInt = cstrata_AT_SYMLINK_FOLLOW

internal let _O_RDONLY: CInt = cstrata_O_RDONLY
internal let _O_WRONLY: CInt = cstrata_O_WRONLY
internal let _O_RDWR: CInt = cstrata_O_RDWR
internal let _O_CREAT: CInt = cstrata_O_CREAT
internal let _O_TMPFILE: CInt = cstrata_O_TMPFILE
internal let _O_PATH: CInt = cstrata_O_PATH
internal let _O_NOFOLLOW: CInt = cstrata_O_NOFOLLOW
internal let _O_DIRECTORY: CInt = cstrata_O_DIRECTORY
internal let _O_CLOEXEC: CInt = cstrata_O_CLOEXEC

internal let _UTIME_NOW: Int = cstrata_UTIME_NOW
internal let _UTIME_OMIT: Int = cstrata_UTIME_OMIT

internal let _SEEK_SET: CInt = cstrata_SEEK_SET
internal let _SEEK_DATA: CInt = cstrata_SEEK_DATA
internal let _SEEK_HOLE: CInt = cstrata_SEEK_HOLE

internal let _LOCK_SH: CInt = cstrata_LOCK_SH
internal let _LOCK_EX: CInt = cstrata_LOCK_EX
internal let _LOCK_NB: CInt = cstrata_LOCK_NB

internal let _S_IFMT: UInt32 = cstrata_S_IFMT
internal let _S_IFREG: UInt32 = cstrata_S_IFREG
internal let _S_IFDIR: UInt32 = cstrata_S_IFDIR
internal let _S_IFLNK: UInt32 = cstrata_S_IFLNK
internal let _S_IFCHR: UInt32 = cstrata_S_IFCHR
internal let _S_IFBLK: UInt32 = cstrata_S_IFBLK
internal let _S_IFIFO: UInt32 = cstrata_S_IFIFO
internal let _S_IFSOCK: UInt32 = cstrata_S_IFSOCK

internal let _DT_UNKNOWN: UInt8 = cstrata_DT_UNKNOWN
internal let _DT_REG: UInt8 = cstrata_DT_REG
internal let _DT_DIR: UInt8 = cstrata_DT_DIR
internal let _DT_LNK: UInt8 = cstrata_DT_LNK
internal let _DT_CHR: UInt8 = cstrata_DT_CHR
internal let _DT_BLK: UInt8 = cstrata_DT_BLK
internal let _DT_FIFO: UInt8 = cstrata_DT_FIFO
internal let _DT_SOCK: UInt8 = cstrata_DT_SOCK
