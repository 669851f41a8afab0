/// An error above the filesystem path: configuration, setup, recovery.
///
/// Filesystem operations throw the bare `Errno` the kernel would return; everything that a user
/// configured or that Strata found on disk while opening a stack throws a `StrataError` that says
/// what was wrong, where, and which rule it broke.
public struct StrataError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String { case invalidOption, invalidLayer, unsafePath, busy, io, unsupported }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }
        /// A mount option or configuration value is malformed, unknown or contradictory.
        public static let invalidOption = Code(.invalidOption)
        /// A layer directory is missing, not a directory, or unusable as configured.
        public static let invalidLayer = Code(.invalidLayer)
        /// A path would leave the root it must stay under.
        public static let unsafePath = Code(.unsafePath)
        /// The upper or work directory is in use by another union.
        public static let busy = Code(.busy)
        /// A system call failed while setting up or recovering the stack.
        public static let io = Code(.io)
        /// The request needs something this system does not offer.
        public static let unsupported = Code(.unsupported)
        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String
    public var path: FilePath?
    public var errno: Errno?

    public init(_ code: Code, _ message: String, path: FilePath? = nil, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    /// Runs `body` and turns the `Errno` it throws into an `.io` error that says what was being done:
    /// the step between the filesystem path (bare errnos) and the setup, image and command-line code above it.
    public static func io<T>(_ message: @autoclosure () -> String, path: FilePath? = nil,
                             _ body: () throws(Errno) -> T) throws(StrataError) -> T {
        do {
            return try body()
        } catch {
            throw StrataError(.io, message(), path: path, errno: error)
        }
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " (\(path))" }
        if let errno { text += ": \(errno)" }
        return text
    }
}
