import SystemPackage

/// A layer stream that could not be read or written: what failed, and libarchive's or the system's reason.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in words a user can act on ("truncated gzip stream", "unsupported entry type").
    public var message: String
    /// The system error behind it, when there is one.
    public var errno: Errno?

    public init(_ message: String, errno: Errno? = nil) {
        self.message = message
        self.errno = errno
    }

    public var description: String {
        if let errno { return "\(message): \(errno)" }
        return message
    }
}
