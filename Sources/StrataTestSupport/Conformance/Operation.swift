/// Flags of `Operation.create` (open(2) with O_CREAT|O_WRONLY plus these).
public struct CreateFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// O_EXCL
    public static let exclusive = CreateFlags(rawValue: 1)
    /// O_TRUNC
    public static let truncate = CreateFlags(rawValue: 2)
    /// O_APPEND
    public static let append = CreateFlags(rawValue: 4)

    public var description: String {
        var names: [String] = []
        if contains(.exclusive) { names.append(".exclusive") }
        if contains(.truncate) { names.append(".truncate") }
        if contains(.append) { names.append(".append") }
        return "[" + names.joined(separator: ", ") + "]"
    }
}

/// renameat2(2) flags.
public enum RenameMode: Sendable, Hashable, CustomStringConvertible {
    case plain
    /// RENAME_NOREPLACE
    case noReplace
    /// RENAME_EXCHANGE
    case exchange

    public var description: String {
        switch self {
        case .plain: return ".plain"
        case .noReplace: return ".noReplace"
        case .exchange: return ".exchange"
        }
    }
}

/// setxattr(2) flags.
public enum XattrMode: Sendable, Hashable, CustomStringConvertible {
    /// 0: create or replace
    case either
    /// XATTR_CREATE
    case create
    /// XATTR_REPLACE
    case replace

    public var description: String {
        switch self {
        case .either: return ".either"
        case .create: return ".create"
        case .replace: return ".replace"
        }
    }
}

/// A time given to utimensat(2).
public enum TimeValue: Sendable, Hashable, CustomStringConvertible {
    case seconds(Int64, nanoseconds: Int64)
    /// UTIME_NOW
    case now
    /// UTIME_OMIT
    case omit

    public var description: String {
        switch self {
        case .seconds(let seconds, let nanoseconds): return ".seconds(\(seconds), nanoseconds: \(nanoseconds))"
        case .now: return ".now"
        case .omit: return ".omit"
        }
    }
}

/// One file system operation, run identically through every backend. Paths are relative to the merged
/// root ("" is the root). A final symlink is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, l*xattr),
/// matching Strata's path API.
///
/// `description` is Swift source: a failing sequence prints as an array literal that can be pasted
/// into a test.
public enum Operation: Sendable, Hashable, CustomStringConvertible {
    /// open(path, O_CREAT|O_WRONLY|flags, mode), then close
    case create(String, CreateFlags, mode: UInt32)
    /// open(path, O_WRONLY), pwrite(data, offset), close
    case write(String, at: Int64, String)
    /// open(path, O_WRONLY|O_APPEND), write(data), close
    case append(String, String)
    /// open(path, O_WRONLY) + ftruncate on the kernel; `truncate(path:to:)` on Strata
    case truncate(String, to: Int64)
    /// fchmodat(AT_SYMLINK_NOFOLLOW)
    case chmod(String, UInt32)
    /// lchown; nil leaves the id unchanged
    case chown(String, uid: UInt32?, gid: UInt32?)
    /// utimensat(AT_SYMLINK_NOFOLLOW)
    case utimens(String, access: TimeValue, modification: TimeValue)
    /// lsetxattr
    case setxattr(String, name: String, value: String, XattrMode)
    /// lremovexattr
    case removexattr(String, name: String)
    case unlink(String)
    case mkdir(String, mode: UInt32)
    case rmdir(String)
    /// renameat2
    case rename(String, to: String, RenameMode)
    /// link(existing, new): `.link("existing", as: "new")`
    case link(String, as: String)
    /// symlink(target, path)
    case symlink(String, target: String)
    /// mknod(S_IFIFO|mode)
    case mkfifo(String, mode: UInt32)
    /// the whole contents of a regular file
    case read(String)
    /// lstat + all extended attributes
    case stat(String)
    /// readdir: sorted names with types
    case list(String)

    /// The case name, used as a failure signature while shrinking.
    public var name: String {
        switch self {
        case .create: return "create"
        case .write: return "write"
        case .append: return "append"
        case .truncate: return "truncate"
        case .chmod: return "chmod"
        case .chown: return "chown"
        case .utimens: return "utimens"
        case .setxattr: return "setxattr"
        case .removexattr: return "removexattr"
        case .unlink: return "unlink"
        case .mkdir: return "mkdir"
        case .rmdir: return "rmdir"
        case .rename: return "rename"
        case .link: return "link"
        case .symlink: return "symlink"
        case .mkfifo: return "mkfifo"
        case .read: return "read"
        case .stat: return "stat"
        case .list: return "list"
        }
    }

    /// The paths the operation names.
    public var paths: [String] {
        switch self {
        case .create(let path, _, _), .write(let path, _, _), .append(let path, _), .truncate(let path, _),
             .chmod(let path, _), .chown(let path, _, _), .utimens(let path, _, _), .setxattr(let path, _, _, _),
             .removexattr(let path, _), .unlink(let path), .mkdir(let path, _), .rmdir(let path),
             .symlink(let path, _), .mkfifo(let path, _), .read(let path), .stat(let path), .list(let path):
            return [path]
        case .rename(let source, let destination, _):
            return [source, destination]
        case .link(let existing, let new):
            return [existing, new]
        }
    }

    /// False for read, stat and list.
    public var isMutation: Bool {
        switch self {
        case .read, .stat, .list: return false
        default: return true
        }
    }

    public var description: String {
        let q = swiftLiteral
        switch self {
        case .create(let path, let flags, let mode): return ".create(\(q(path)), \(flags), mode: \(octal(mode)))"
        case .write(let path, let offset, let data): return ".write(\(q(path)), at: \(offset), \(q(data)))"
        case .append(let path, let data): return ".append(\(q(path)), \(q(data)))"
        case .truncate(let path, let size): return ".truncate(\(q(path)), to: \(size))"
        case .chmod(let path, let mode): return ".chmod(\(q(path)), \(octal(mode)))"
        case .chown(let path, let uid, let gid):
            return ".chown(\(q(path)), uid: \(uid.map { "\($0)" } ?? "nil"), gid: \(gid.map { "\($0)" } ?? "nil"))"
        case .utimens(let path, let access, let modification):
            return ".utimens(\(q(path)), access: \(access), modification: \(modification))"
        case .setxattr(let path, let name, let value, let mode):
            return ".setxattr(\(q(path)), name: \(q(name)), value: \(q(value)), \(mode))"
        case .removexattr(let path, let name): return ".removexattr(\(q(path)), name: \(q(name)))"
        case .unlink(let path): return ".unlink(\(q(path)))"
        case .mkdir(let path, let mode): return ".mkdir(\(q(path)), mode: \(octal(mode)))"
        case .rmdir(let path): return ".rmdir(\(q(path)))"
        case .rename(let source, let destination, let mode): return ".rename(\(q(source)), to: \(q(destination)), \(mode))"
        case .link(let existing, let new): return ".link(\(q(existing)), as: \(q(new)))"
        case .symlink(let path, let target): return ".symlink(\(q(path)), target: \(q(target)))"
        case .mkfifo(let path, let mode): return ".mkfifo(\(q(path)), mode: \(octal(mode)))"
        case .read(let path): return ".read(\(q(path)))"
        case .stat(let path): return ".stat(\(q(path)))"
        case .list(let path): return ".list(\(q(path)))"
        }
    }

    /// A sequence as a Swift array literal, one operation per line.
    public static func render(_ operations: [Operation]) -> String {
        "[\n" + operations.map { "    \($0)," }.joined(separator: "\n") + "\n]"
    }
}

func octal(_ mode: UInt32) -> String {
    "0o" + String(mode, radix: 8)
}

/// A Swift string literal for `text`.
func swiftLiteral(_ text: String) -> String {
    var literal = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": literal += "\\\""
        case "\\": literal += "\\\\"
        case "\n": literal += "\\n"
        case "\t": literal += "\\t"
        case "\0": literal += "\\0"
        case " "..."~": literal.unicodeScalars.append(scalar)
        default: literal += "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
    return literal + "\""
}
