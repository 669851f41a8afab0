import Glibc

/// A failure of the test harness itself (a fixture that could not be built, a mount that failed, a walk
/// that hit an unreadable entry): never a difference between the oracle and Strata.
public struct HarnessError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var errno: Int32?

    public init(_ message: String, errno: Int32? = nil) {
        self.message = message
        self.errno = errno
    }

    /// Captures the calling thread's `errno` right after a failed system call.
    static func system(_ message: String) -> HarnessError {
        HarnessError(message, errno: Glibc.errno)
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(ErrnoName.of(errno))"
    }
}

/// Symbolic names for the errnos the harness prints, so a report reads `ENOTEMPTY`, not `39`.
public enum ErrnoName {
    static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EIO: "EIO", ENXIO: "ENXIO", E2BIG: "E2BIG", EBADF: "EBADF",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
        EEXIST: "EEXIST", EXDEV: "EXDEV", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ETXTBSY: "ETXTBSY", EFBIG: "EFBIG",
        ENOSPC: "ENOSPC", ESPIPE: "ESPIPE", EROFS: "EROFS", EMLINK: "EMLINK", ERANGE: "ERANGE",
        ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP",
        ENODATA: "ENODATA", EOPNOTSUPP: "EOPNOTSUPP", ESTALE: "ESTALE", EOVERFLOW: "EOVERFLOW",
        ETIMEDOUT: "ETIMEDOUT", EDQUOT: "EDQUOT", EUCLEAN: "EUCLEAN", ECANCELED: "ECANCELED",
    ]

    /// `ENOENT`, or `errno 1234` for one the table does not know.
    public static func of(_ code: Int32) -> String {
        names[code] ?? "errno \(code)"
    }
}
