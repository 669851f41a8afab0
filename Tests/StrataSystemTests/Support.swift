import CStrataSystem
import Foundation
import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `O_PATH` and `O_TMPFILE` need `_GNU_SOURCE`, which Swift's Glibc module
/// is built without; the shim exports them.
let O_PATH_: Int32 = cstrata_O_PATH
let O_TMPFILE_: Int32 = cstrata_O_TMPFILE

/// Shorthand for an `Errno` from its C name.
func E(_ code: Int32) -> Errno { Errno(rawValue: code) }

/// A fresh directory under the system temporary directory, opened
/// `O_RDONLY|O_DIRECTORY`, removed with everything in it afterwards.
final class Scratch {
  let path: String
  let fd: FileDescriptor

  init() throws {
    let base = FileManager.default.temporaryDirectory.path
    path = "\(base)/strata-system-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    fd = try openDirectory(path, pathOnly: false)
  }

  deinit {
    try? fd.close()
    try? FileManager.default.removeItem(atPath: path)
  }

  /// Creates the regular file `name` holding `contents`.
  @discardableResult
  func file(_ name: String, _ contents: [UInt8] = [], permissions: UInt32 = 0o644) throws -> String {
    let file = try fd.open(at: name, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: permissions)
    defer { try? file.close() }
    _ = try file.write(contents, at: 0)
    return "\(path)/\(name)"
  }

  /// The whole contents of the regular file `name`.
  func contents(_ name: String) throws -> [UInt8] {
    let file = try fd.open(at: name, flags: O_RDONLY)
    defer { try? file.close() }
    return try file.read(count: 1 << 24, at: 0)
  }

  /// Opens `name` and closes it after `body`.
  @discardableResult
  func with<R>(_ name: String, flags: Int32, _ body: (FileDescriptor) throws -> R) throws -> R {
    let file = try fd.open(at: name, flags: flags)
    defer { try? file.close() }
    return try body(file)
  }
}

/// Deterministic pseudo-random bytes.
func pattern(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
  var state = seed
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return UInt8(truncatingIfNeeded: state >> 33)
  }
}
