//===----------------------------------------------------------------------===//
// The file-mode creation mask (umask).
//===----------------------------------------------------------------------===//

import SystemPackage

/// The permission bits the kernel clears from the mode of every file, directory and node the
/// calling thread creates (its umask), read without changing it.
///
/// `umask(2)` can only read the mask by replacing it, which races with every other thread of the
/// process; the kernel also shows it in `/proc/thread-self/status` (Linux 4.7 and later), which is
/// what this reads. Returns nil where that line cannot be read.
public func currentFileCreationMask() -> UInt32? {
  guard let status = try? FileDescriptor.currentWorkingDirectory.open(
    at: "/proc/thread-self/status", flags: _O_RDONLY)
  else { return nil }
  defer { try? status.close() }
  guard let bytes = try? status.read(count: 8192, at: 0) else { return nil }
  let text = String(decoding: bytes, as: UTF8.self)
  for line in text.split(separator: "\n") where line.hasPrefix("Umask:") {
    return UInt32(line.dropFirst("Umask:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 8)
  }
  return nil
}
