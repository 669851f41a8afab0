//===----------------------------------------------------------------------===//
// Moving bytes: positional I/O, appends, sizes, clones and copies, holes.
//===----------------------------------------------------------------------===//

import CStrataSystem
import SystemPackage

extension FileDescriptor {
  /// Reads up to `count` bytes starting at byte `offset`, without moving the
  /// file offset. Short reads are retried, so fewer than `count` bytes are
  /// returned only at end of file (an empty array at or past it).
  ///
  /// Errors a caller can see: `EBADF` (not open for reading, or `O_PATH`),
  /// `EISDIR`, `EINVAL` (negative offset or count), `ESPIPE` (a pipe),
  /// `EIO`.
  ///
  /// The corresponding C function is `pread`.
  public func read(count: Int, at offset: Int64) throws(Errno) -> [UInt8] {
    guard count >= 0, offset >= 0 else { throw .invalidArgument }
    if count == 0 { return [] }
    var buffer = [UInt8](repeating: 0, count: count)
    var total = 0
    while total < count {
      let done = total
      let n = try valueOrErrno {
        unsafe buffer.withUnsafeMutableBytes {
          unsafe system_pread(rawValue, $0.baseAddress! + done, count - done, offset + Int64(done))
        }
      }
      if n == 0 { break }
      total += n
    }
    buffer.removeSubrange(total...)
    return buffer
  }

  /// Writes all of `bytes` starting at byte `offset`, without moving the file
  /// offset (on an `O_APPEND` descriptor Linux appends instead). Short writes
  /// are retried; returns the number of bytes written, which is
  /// `bytes.count` unless the kernel stops accepting data without an error.
  ///
  /// Errors a caller can see: `EBADF` (not open for writing), `EINVAL`
  /// (negative offset), `EFBIG`, `ENOSPC`, `EDQUOT`, `ESPIPE`, `EIO`,
  /// `EPERM` (a sealed or immutable file).
  ///
  /// The corresponding C function is `pwrite`.
  @discardableResult
  public func write(_ bytes: [UInt8], at offset: Int64) throws(Errno) -> Int {
    guard offset >= 0 else { throw .invalidArgument }
    var total = 0
    while total < bytes.count {
      let done = total
      let n = try valueOrErrno {
        unsafe bytes.withUnsafeBytes {
          unsafe system_pwrite(rawValue, $0.baseAddress! + done, bytes.count - done, offset + Int64(done))
        }
      }
      if n == 0 { break }
      total += n
    }
    return total
  }

  /// Writes all of `bytes` at the current offset; on an `O_APPEND`
  /// descriptor every chunk lands atomically at the end of the file. Short
  /// writes are retried; returns the number of bytes written.
  ///
  /// Errors a caller can see: `EBADF` (not open for writing), `EFBIG`,
  /// `ENOSPC`, `EDQUOT`, `EPIPE`, `EAGAIN` (non-blocking), `EIO`.
  ///
  /// The corresponding C function is `write`.
  @discardableResult
  public func append(_ bytes: [UInt8]) throws(Errno) -> Int {
    var total = 0
    while total < bytes.count {
      let done = total
      let n = try valueOrErrno {
        unsafe bytes.withUnsafeBytes {
          unsafe system_write(rawValue, $0.baseAddress! + done, bytes.count - done)
        }
      }
      if n == 0 { break }
      total += n
    }
    return total
  }

  /// Sets the file's size to `size` bytes, dropping data past it or adding a
  /// hole of zeros.
  ///
  /// Errors a caller can see: `EINVAL` (negative size, or not a regular
  /// file open for writing), `EBADF`, `EFBIG`, `EPERM`, `EROFS`, `EIO`.
  ///
  /// The corresponding C function is `ftruncate`.
  public func truncate(to size: Int64) throws(Errno) {
    try nothingOrErrno { system_ftruncate(rawValue, size) }
  }

  /// Flushes the file's data and metadata to stable storage.
  ///
  /// Errors a caller can see: `EBADF`, `EIO`, `ENOSPC`, `EDQUOT`, `EROFS`/
  /// `EINVAL` (a file that cannot be synchronized).
  ///
  /// The corresponding C function is `fsync`.
  public func synchronize() throws(Errno) {
    try nothingOrErrno { system_fsync(rawValue) }
  }

  /// Flushes the file's data, and only the metadata needed to read it back,
  /// to stable storage.
  ///
  /// Errors a caller can see: `EBADF`, `EIO`, `ENOSPC`, `EDQUOT`, `EROFS`/
  /// `EINVAL`.
  ///
  /// The corresponding C function is `fdatasync`.
  public func synchronizeData() throws(Errno) {
    try nothingOrErrno { system_fdatasync(rawValue) }
  }

  /// Flushes every file of the filesystem that holds this descriptor to stable storage: one call
  /// instead of an fsync per file, for a tree written as a whole (an unpacked layer).
  ///
  /// Errors a caller can see: `EBADF`, `EIO`, `ENOSPC`, `EDQUOT`.
  ///
  /// The corresponding C function is `syncfs`.
  public func synchronizeFileSystem() throws(Errno) {
    try nothingOrErrno { system_syncfs(rawValue) }
  }

  /// Makes this file share all of `source`'s data blocks (a reflink), as a
  /// copy-on-write clone; this descriptor must be open for writing and
  /// `source` for reading.
  ///
  /// Errors a caller can see: `EOPNOTSUPP`/`ENOTTY` (the file system cannot
  /// clone, e.g. ext4), `EXDEV` (different file systems), `EINVAL` (not
  /// regular files, or unaligned), `EBADF`, `EISDIR`, `EPERM`, `ETXTBSY`.
  ///
  /// The corresponding C function is `ioctl` with `FICLONE`.
  public func cloneContents(of source: FileDescriptor) throws(Errno) {
    try nothingOrErrno { system_ficlone(rawValue, source.rawValue) }
  }

  /// Copies `count` bytes from `source` at `sourceOffset` to this file at
  /// `offset` inside the kernel (possibly sharing blocks), without moving
  /// either descriptor's file offset. Loops until `count` bytes are copied
  /// or the source ends; returns the number of bytes copied.
  ///
  /// Errors a caller can see: `EXDEV` (some file systems and kernels refuse
  /// a copy across file systems), `EINVAL` (overlapping ranges in one file,
  /// negative values, not regular files), `EBADF`, `EISDIR`, `EFBIG`,
  /// `ENOSPC`, `EOPNOTSUPP`, `EIO`.
  ///
  /// The corresponding C function is `copy_file_range`.
  public func copyRange(
    from source: FileDescriptor, sourceOffset: Int64, offset: Int64, count: Int64
  ) throws(Errno) -> Int64 {
    guard count >= 0, sourceOffset >= 0, offset >= 0 else { throw .invalidArgument }
    var sourcePosition = sourceOffset
    var destinationPosition = offset
    var total: Int64 = 0
    while total < count {
      let chunk = Int(min(count - total, 1 << 30))
      let n = try valueOrErrno {
        unsafe system_copy_file_range(
          source.rawValue, &sourcePosition, rawValue, &destinationPosition, chunk, 0)
      }
      if n == 0 { break }
      total += Int64(n)
      // The kernel advances both offsets itself; keep them exact anyway.
      sourcePosition = sourceOffset + total
      destinationPosition = offset + total
    }
    return total
  }

  /// Allocates, punches or zeroes the range `offset..<offset+length` as `mode` (the `FALLOC_FL_*`
  /// bits; 0 allocates and may extend the file).
  ///
  /// Errors a caller can see: `EOPNOTSUPP` (a mode this file system lacks), `EINVAL`, `ENOSPC`,
  /// `EBADF` (not open for writing), `EFBIG`.
  ///
  /// The corresponding C function is `fallocate`.
  public func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno) {
    _ = try valueOrErrno { system_fallocate(rawValue, mode, offset, length) }
  }

  /// The offset of the first byte of data at or after `offset`, or `nil` if
  /// there is no data from `offset` to the end of the file. File systems
  /// without hole tracking report all of the file as data.
  ///
  /// Errors a caller can see: `EINVAL` (negative offset), `EBADF`, `ESPIPE`,
  /// `EOVERFLOW`.
  ///
  /// The corresponding C function is `lseek` with `SEEK_DATA`.
  public func nextData(from offset: Int64) throws(Errno) -> Int64? {
    do {
      return try valueOrErrno { system_lseek(rawValue, offset, _SEEK_DATA) }
    } catch .noSuchAddressOrDevice {
      return nil
    }
  }

  /// The offset of the first hole at or after `offset`; the end of the file
  /// counts as a hole, so this is the file size when there is none.
  ///
  /// Errors a caller can see: `ENXIO` (`offset` at or past the end of the
  /// file), `EINVAL`, `EBADF`, `ESPIPE`, `EOVERFLOW`.
  ///
  /// The corresponding C function is `lseek` with `SEEK_HOLE`.
  public func nextHole(from offset: Int64) throws(Errno) -> Int64 {
    try valueOrErrno { system_lseek(rawValue, offset, _SEEK_HOLE) }
  }
}
