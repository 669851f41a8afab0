//===----------------------------------------------------------------------===//
// dev_t encoding.
//===----------------------------------------------------------------------===//

/// Encodes a device number from its major and minor parts, for
/// `FileDescriptor.createNode(at:mode:device:)`. Never fails.
///
/// The corresponding C function is `makedev`.
public func makeDevice(major: UInt32, minor: UInt32) -> UInt64 {
  system_makedev(major, minor)
}

/// The major part of a device number such as `FileStatus.specialDevice`.
/// Never fails.
///
/// The corresponding C function is `major`.
public func deviceMajor(_ d: UInt64) -> UInt32 {
  system_major(d)
}

/// The minor part of a device number such as `FileStatus.specialDevice`.
/// Never fails.
///
/// The corresponding C function is `minor`.
public func deviceMinor(_ d: UInt64) -> UInt32 {
  system_minor(d)
}
