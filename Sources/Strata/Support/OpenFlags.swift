import Glibc

// Glibc's Swift module hides the _GNU_SOURCE flags; O_PATH has the same value on every Linux
// architecture Swift supports (x86_64, aarch64), so it is spelled out here.
let openPathFlag: Int32 = 0o10000000

/// An `O_PATH` directory descriptor: enough for every `*at` call, holds no read access.
let openPathDirectory: Int32 = openPathFlag | O_DIRECTORY
/// A directory opened for `getdents64`.
let openReadOnlyDirectory: Int32 = O_RDONLY | O_DIRECTORY
/// Any object, without following it if it is a symlink (for `fstat` on the result).
let openPathObject: Int32 = openPathFlag | O_NOFOLLOW

let openWriteOnly: Int32 = O_WRONLY
let openReadWrite: Int32 = O_RDWR
let openReadOnly: Int32 = O_RDONLY
let openCreate: Int32 = O_CREAT
let openExclusive: Int32 = O_EXCL
let openTruncate: Int32 = O_TRUNC
let openAppend: Int32 = O_APPEND
let openNoFollow: Int32 = O_NOFOLLOW
let openNonBlocking: Int32 = O_NONBLOCK
let openCloseOnExec: Int32 = O_CLOEXEC
let openNoControllingTerminal: Int32 = O_NOCTTY
let openAccessMask: Int32 = O_ACCMODE

let modeTypeMask: UInt32 = 0o170000
let modeDirectory: UInt32 = 0o040000
let modeRegular: UInt32 = 0o100000
let modeCharacterDevice: UInt32 = 0o020000
