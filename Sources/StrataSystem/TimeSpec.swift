//===----------------------------------------------------------------------===//
// struct timespec, including the UTIME_NOW / UTIME_OMIT markers.
//===----------------------------------------------------------------------===//

/// A point in time as seconds and nanoseconds since the Unix epoch.
///
/// Values read from `status(at:)` always have `0 <= nanoseconds < 1e9`.
/// The two markers `now` and `omit` are only meaningful as arguments to
/// `setTimes(at:access:modification:)`. Constructing one never fails.
///
/// The corresponding C type is `struct timespec`.
public struct TimeSpec: Sendable, Hashable {
  /// Whole seconds since 1970-01-01T00:00:00Z (may be negative).
  ///
  /// The corresponding C field is `tv_sec`.
  public var seconds: Int64
  /// Nanoseconds past `seconds`, or one of the `UTIME_*` markers.
  ///
  /// The corresponding C field is `tv_nsec`.
  public var nanoseconds: Int64

  /// Creates a time from its two parts; nothing is validated here (the
  /// kernel rejects a bad `nanoseconds` with `EINVAL` when it is used).
  ///
  /// The corresponding C type is `struct timespec`.
  public init(seconds: Int64, nanoseconds: Int64 = 0) {
    self.seconds = seconds
    self.nanoseconds = nanoseconds
  }

  /// "Set this time to the current time", for `setTimes`.
  ///
  /// The corresponding C macro is `UTIME_NOW`.
  public static let now = TimeSpec(seconds: 0, nanoseconds: Int64(_UTIME_NOW))

  /// "Leave this time unchanged", for `setTimes`.
  ///
  /// The corresponding C macro is `UTIME_OMIT`.
  public static let omit = TimeSpec(seconds: 0, nanoseconds: Int64(_UTIME_OMIT))
}
