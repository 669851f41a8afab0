// The value types of the syscall layer (FileStatus, FileKind, TimeSpec, flags) and swift-system's
// FilePath, FileDescriptor and Errno are part of Strata's API, so a client needs only `import Strata`.
@_exported import StrataSystem
@_exported import SystemPackage
