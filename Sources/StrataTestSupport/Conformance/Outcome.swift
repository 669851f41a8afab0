/// One directory entry as `list` reports it.
public struct ListingEntry: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    /// nil when the file system reported DT_UNKNOWN.
    public var kind: EntryKind?

    public init(name: String, kind: EntryKind?) {
        self.name = name
        self.kind = kind
    }

    public var description: String { "\(name)(\(kind?.rawValue ?? "?"))" }
}

/// What one operation produced, normalised so that two backends can be compared with `==`: either the
/// errno, or a value with everything that cannot match (inode numbers, st_dev, ctime, atime, directory
/// sizes, "now" mtimes) already removed.
public enum Outcome: Sendable, Hashable, CustomStringConvertible {
    case success
    case failure(errno: Int32)
    /// `read`: the whole contents.
    case bytes([UInt8])
    /// `stat`: attributes and all visible xattrs (no content).
    case status(SnapshotEntry)
    /// `list`: sorted by name.
    case listing([ListingEntry])
    /// The operation was not run, identically on every backend (opening a fifo would block).
    case skipped(String)

    public var description: String {
        switch self {
        case .success: return "ok"
        case .failure(let code): return ErrnoName.of(code)
        case .bytes(let bytes): return "\(bytes.count) bytes \"\(ContentDigest.render(bytes.prefix(60)))\(bytes.count > 60 ? "…" : "")\""
        case .status(let entry): return "{\(entry)}"
        case .listing(let entries): return "[" + entries.map(\.description).joined(separator: ", ") + "]"
        case .skipped(let reason): return "skipped (\(reason))"
        }
    }

    /// A short name for how two outcomes differ: `ENOENT≠ok`, `nlink,mtime`, `listing`, `bytes`.
    public func differenceKind(from other: Outcome) -> String {
        switch (self, other) {
        case (.status(let left), .status(let right)):
            return left.differences(from: right).map { String($0.prefix { $0 != ":" }) }.joined(separator: ",")
        case (.listing, .listing): return "listing"
        case (.bytes, .bytes): return "bytes"
        default: return "\(Self.shortName(self))≠\(Self.shortName(other))"
        }
    }

    private static func shortName(_ outcome: Outcome) -> String {
        switch outcome {
        case .success: return "ok"
        case .failure(let code): return ErrnoName.of(code)
        case .bytes: return "bytes"
        case .status: return "status"
        case .listing: return "listing"
        case .skipped: return "skipped"
        }
    }

    /// Explains how `self` (the reference) and `other` (the candidate) differ, field by field for stats.
    public func explainDifference(from other: Outcome) -> String {
        if case .status(let left) = self, case .status(let right) = other {
            return left.differences(from: right).joined(separator: "; ")
        }
        if case .listing(let left) = self, case .listing(let right) = other {
            let leftSet = Set(left), rightSet = Set(right)
            var parts: [String] = []
            let onlyLeft = left.filter { !rightSet.contains($0) }, onlyRight = right.filter { !leftSet.contains($0) }
            if !onlyLeft.isEmpty { parts.append("only in reference: " + onlyLeft.map(\.description).joined(separator: ", ")) }
            if !onlyRight.isEmpty { parts.append("only in candidate: " + onlyRight.map(\.description).joined(separator: ", ")) }
            return parts.joined(separator: "; ")
        }
        return "\(self) ≠ \(other)"
    }
}
