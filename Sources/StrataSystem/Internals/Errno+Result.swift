//===----------------------------------------------------------------------===//
// Turning the C "-1 and errno" convention into typed throws.
//===----------------------------------------------------------------------===//

import SystemPackage

/// Runs `body` until it returns something other than -1, or fails with an
/// error other than `EINTR` (when `retryOnInterrupt` is true).
///
/// A -1 result is turned into `Errno(rawValue: errno)`. `body` may itself
/// throw an `Errno` (e.g. for an argument rejected before any call), which is
/// passed through unchanged.
@inline(__always)
internal func valueOrErrno<I: FixedWidthInteger>(
  retryOnInterrupt: Bool = true,
  _ body: () throws(Errno) -> I
) throws(Errno) -> I {
  while true {
    let value = try body()
    if value != -1 { return value }
    let code = Errno(rawValue: system_errno())
    if retryOnInterrupt && code == .interrupted { continue }
    throw code
  }
}

/// Like `valueOrErrno`, for calls whose only useful result is success.
@inline(__always)
internal func nothingOrErrno<I: FixedWidthInteger>(
  retryOnInterrupt: Bool = true,
  _ body: () throws(Errno) -> I
) throws(Errno) {
  _ = try valueOrErrno(retryOnInterrupt: retryOnInterrupt, body)
}

/// Calls `body` with the NUL-terminated bytes `string` stands for (see `FileName`: escaped bytes
/// become themselves again).
///
/// Throws `EINVAL` when `string` holds a NUL that is not a well-formed escape, which C would
/// silently truncate at.
@inline(__always)
internal func withCName<R>(
  _ string: String,
  _ body: (UnsafePointer<CChar>) -> R
) throws(Errno) -> R {
  guard let result = unsafe FileName.withCString(string, body) else { throw .invalidArgument }
  return result
}

/// Calls `body` with the NUL-terminated bytes of two strings (see `withCName`).
@inline(__always)
internal func withCNames<R>(
  _ first: String, _ second: String,
  _ body: (UnsafePointer<CChar>, UnsafePointer<CChar>) -> R
) throws(Errno) -> R {
  if first.utf8.contains(0) || second.utf8.contains(0) {
    guard var a = FileName.bytes(of: first), var b = FileName.bytes(of: second) else { throw .invalidArgument }
    a.append(0)
    b.append(0)
    return unsafe a.withUnsafeBufferPointer { (bufferA) in
      unsafe b.withUnsafeBufferPointer { (bufferB) in
        unsafe bufferA.withMemoryRebound(to: CChar.self) { (cA) in
          unsafe bufferB.withMemoryRebound(to: CChar.self) { (cB) in unsafe body(cA.baseAddress!, cB.baseAddress!) }
        }
      }
    }
  }
  return unsafe first.withCString { a in
    unsafe second.withCString { b in unsafe body(a, b) }
  }
}

extension FileDescriptor {
  /// The `AT_*` flags that make an empty name mean the descriptor itself.
  @inline(__always)
  internal static func emptyPathFlag(_ name: String) -> CInt {
    name.isEmpty ? _AT_EMPTY_PATH : 0
  }
}
