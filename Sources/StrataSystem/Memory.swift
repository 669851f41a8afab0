//===----------------------------------------------------------------------===//
// Anonymous memory.
//===----------------------------------------------------------------------===//

import SystemPackage

/// Faults in `bytes` of private anonymous memory, every page written, and gives it back to the
/// kernel at once.
///
/// The pages land on the kernel's free lists as recently used memory. On a virtual machine that
/// hands free memory back to its host (virtio free page reporting), memory freed a few seconds ago
/// has gone back and costs a host fault per page when the kernel next hands it out; a caller about
/// to time work that allocates much page cache calls this just before, so the work reuses pages
/// the guest still holds.
///
/// Errors a caller can see: `ENOMEM`, `EINVAL` (zero or absurd sizes).
///
/// The corresponding C functions are `mmap` with `MAP_POPULATE`, then `munmap`.
public func populateAndReleaseMemory(bytes: Int) throws(Errno) {
  guard bytes > 0 else { throw .invalidArgument }
  try nothingOrErrno(retryOnInterrupt: false) { system_populate_and_release(bytes) }
}
