import Glibc

/// The type of a file system object, as the snapshots and outcomes compare it.
public enum EntryKind: String, Sendable, Hashable, CustomStringConvertible {
    case regular, directory, symlink, fifo, characterDevice, blockDevice, socket, unknown

    init(mode: UInt32) {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): self = .regular
        case UInt32(S_IFDIR): self = .directory
        case UInt32(S_IFLNK): self = .symlink
        case UInt32(S_IFIFO): self = .fifo
        case UInt32(S_IFCHR): self = .characterDevice
        case UInt32(S_IFBLK): self = .blockDevice
        case UInt32(S_IFSOCK): self = .socket
        default: self = .unknown
        }
    }

    init?(directoryType: UInt8) {
        switch Int(directoryType) {
        case Int(DT_REG): self = .regular
        case Int(DT_DIR): self = .directory
        case Int(DT_LNK): self = .symlink
        case Int(DT_FIFO): self = .fifo
        case Int(DT_CHR): self = .characterDevice
        case Int(DT_BLK): self = .blockDevice
        case Int(DT_SOCK): self = .socket
        default: return nil
        }
    }

    public var description: String { rawValue }
}

/// A modification time as compared: exact for the fixed fixture times (before 2020), otherwise only
/// "recent", because "now" differs between the two runs.
public enum NormalizedTime: Sendable, Hashable, CustomStringConvertible {
    case exact(seconds: Int64, nanoseconds: Int64)
    case recent

    /// 2020-01-01T00:00:00Z
    public static let recentThreshold: Int64 = 1_577_836_800

    public init(seconds: Int64, nanoseconds: Int64) {
        self = seconds >= Self.recentThreshold ? .recent : .exact(seconds: seconds, nanoseconds: nanoseconds)
    }

    public var description: String {
        switch self {
        case .recent: return "recent"
        case .exact(let seconds, let nanoseconds): return "\(seconds).\(String(nanoseconds + 1_000_000_000).dropFirst())"
        }
    }
}

/// File contents as compared: length and a 64-bit FNV-1a digest, plus a short preview for reports.
public struct ContentDigest: Sendable, Hashable, CustomStringConvertible {
    public var size: Int
    public var hash: UInt64
    public var preview: String

    public init(_ bytes: [UInt8]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        self.size = bytes.count
        self.hash = hash
        self.preview = ContentDigest.render(bytes.prefix(40)) + (bytes.count > 40 ? "…" : "")
    }

    static func render<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var text = ""
        for byte in bytes {
            switch byte {
            case 0: text += "\\0"
            case 0x0a: text += "\\n"
            case 0x22: text += "\\\""
            case 0x5c: text += "\\\\"
            case 0x20..<0x7f: text.append(Character(Unicode.Scalar(byte)))
            default: text += "\\u{\(String(byte, radix: 16))}"
            }
        }
        return text
    }

    public static func == (lhs: ContentDigest, rhs: ContentDigest) -> Bool {
        lhs.size == rhs.size && lhs.hash == rhs.hash
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(size)
        hasher.combine(hash)
    }

    public var description: String { "\(size) bytes \"\(preview)\"" }
}

/// Which extended attributes a snapshot keeps.
public struct XattrPolicy: Sendable, Hashable {
    /// Names dropped exactly.
    public var dropped: Set<String>

    public init(dropped: Set<String>) {
        self.dropped = dropped
    }

    /// Everything a client can see through the merged view.
    public static let mergedView = XattrPolicy(dropped: [])
    /// For upper directories: everything, including `trusted.overlay.*`, except
    /// - the values that are file handles or random (the kernel's `origin`, `upper`, `uuid`) and Strata's
    ///   counterpart of origin (`trusted.overlay.strata.origin`, an inode number): they can never match between
    ///   two file systems;
    /// - `trusted.overlay.impure`, the kernel's marker "some child carries an origin or a redirect",
    ///   which it sets as a side effect of recording origin file handles, even on a plain lookup of a
    ///   merged directory (with index=on): without origin it has no meaning of its own.
    /// Every other overlay xattr (opaque, redirect, metacopy, nlink…) is compared.
    public static let upperLayer = XattrPolicy(dropped: [
        "trusted.overlay.origin", "trusted.overlay.upper", "trusted.overlay.uuid", "trusted.overlay.impure",
        "trusted.overlay.strata.origin",
    ])

    /// `upperLayer`, but comparing `trusted.overlay.impure` too.
    public static let upperLayerWithImpure = XattrPolicy(dropped: upperLayer.dropped.subtracting(["trusted.overlay.impure"]))

    func keeps(_ name: String) -> Bool {
        !dropped.contains(name)
    }
}

/// The comparable attributes of one object. Inode numbers, st_dev, ctime, atime, directory sizes,
/// directory link counts and whiteout link counts are left out: they cannot match between two file
/// systems.
public struct SnapshotEntry: Sendable, Hashable, CustomStringConvertible {
    public var kind: EntryKind
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// nil for directories.
    public var size: Int64?
    /// Regular files only (nil in `stat` outcomes).
    public var content: ContentDigest?
    public var symlinkTarget: String?
    /// Character and block devices only.
    public var rdev: UInt64?
    public var xattrs: [String: [UInt8]]
    /// nil for directories.
    public var linkCount: UInt64?
    public var mtime: NormalizedTime
    /// Set when the walk listed this name but could not read it (e.g. `status: ENOENT`): the entry is
    /// then only a placeholder, and the failure itself is compared.
    public var failure: String?

    /// A listed name that could not be read.
    public static func unreadable(_ failure: String) -> SnapshotEntry {
        var entry = SnapshotEntry(kind: .unknown, permissions: 0, uid: 0, gid: 0, size: nil, rdev: nil, xattrs: [:],
                                  linkCount: nil, mtime: .recent)
        entry.failure = failure
        return entry
    }

    public init(kind: EntryKind, permissions: UInt32, uid: UInt32, gid: UInt32, size: Int64?, content: ContentDigest? = nil,
                symlinkTarget: String? = nil, rdev: UInt64?, xattrs: [String: [UInt8]], linkCount: UInt64?, mtime: NormalizedTime) {
        self.kind = kind
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.size = size
        self.content = content
        self.symlinkTarget = symlinkTarget
        self.rdev = rdev
        self.xattrs = xattrs
        self.linkCount = linkCount
        self.mtime = mtime
    }

    /// From raw stat fields, applying the normalisations.
    public init(mode: UInt32, uid: UInt32, gid: UInt32, size: Int64, rdev: UInt64, linkCount: UInt64,
                mtimeSeconds: Int64, mtimeNanoseconds: Int64, xattrs: [String: [UInt8]]) {
        let kind = EntryKind(mode: mode)
        // The kernel links all whiteouts of an upper layer to one shared inode (work/work/whiteout), so
        // a whiteout's link count says nothing about the layer.
        let isWhiteout = kind == .characterDevice && rdev == 0
        self.init(kind: kind, permissions: mode & 0o7777, uid: uid, gid: gid,
                  size: kind == .directory ? nil : size, rdev: (kind == .characterDevice || kind == .blockDevice) ? rdev : nil,
                  xattrs: xattrs, linkCount: kind == .directory || isWhiteout ? nil : linkCount,
                  mtime: NormalizedTime(seconds: mtimeSeconds, nanoseconds: mtimeNanoseconds))
    }

    /// Field-by-field differences, `field: left ≠ right`.
    public func differences(from other: SnapshotEntry) -> [String] {
        var lines: [String] = []
        func check<T: Equatable>(_ name: String, _ left: T, _ right: T, _ render: (T) -> String) {
            if left != right { lines.append("\(name): \(render(left)) ≠ \(render(right))") }
        }
        if failure != nil || other.failure != nil {
            return self == other ? [] : ["\(self) ≠ \(other)"]
        }
        check("type", kind, other.kind) { $0.rawValue }
        check("mode", permissions, other.permissions) { "0" + String($0, radix: 8) }
        check("uid", uid, other.uid) { "\($0)" }
        check("gid", gid, other.gid) { "\($0)" }
        check("size", size, other.size) { $0.map { "\($0)" } ?? "-" }
        check("content", content, other.content) { $0.map { $0.description } ?? "-" }
        check("symlink", symlinkTarget, other.symlinkTarget) { $0.map { "\"\($0)\"" } ?? "-" }
        check("rdev", rdev, other.rdev) { $0.map { "\($0)" } ?? "-" }
        check("nlink", linkCount, other.linkCount) { $0.map { "\($0)" } ?? "-" }
        check("mtime", mtime, other.mtime) { $0.description }
        for name in Set(xattrs.keys).union(other.xattrs.keys).sorted() where xattrs[name] != other.xattrs[name] {
            let render: ([UInt8]?) -> String = { $0.map { "\"\(ContentDigest.render($0))\"" } ?? "absent" }
            lines.append("xattr \(name): \(render(xattrs[name])) ≠ \(render(other.xattrs[name]))")
        }
        return lines
    }

    public var description: String {
        if let failure { return "unreadable (\(failure))" }
        var text = "\(kind) 0\(String(permissions, radix: 8)) \(uid):\(gid)"
        if let size { text += " size=\(size)" }
        if let linkCount { text += " nlink=\(linkCount)" }
        if let rdev { text += " rdev=\(rdev)" }
        if let symlinkTarget { text += " -> \"\(symlinkTarget)\"" }
        if let content { text += " content=\(content)" }
        text += " mtime=\(mtime)"
        for name in xattrs.keys.sorted() { text += " \(name)=\"\(ContentDigest.render(xattrs[name]!))\"" }
        return text
    }
}

/// Every object below a root, by relative path ("" is the root itself), in one model whether it was
/// read from a directory (the kernel mount, an upper directory) or through Strata's API.
public struct TreeSnapshot: Sendable, Hashable {
    public var entries: [String: SnapshotEntry]

    public init(entries: [String: SnapshotEntry] = [:]) {
        self.entries = entries
    }

    /// Walks `root` with lstat/readdir/l*xattr, never following a symlink.
    public static func directory(_ root: String, xattrs policy: XattrPolicy) throws(HarnessError) -> TreeSnapshot {
        var snapshot = TreeSnapshot()
        try walk(root: root, relative: "", policy: policy, into: &snapshot)
        return snapshot
    }

    private static func walk(root: String, relative: String, policy: XattrPolicy, into snapshot: inout TreeSnapshot) throws(HarnessError) {
        let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
        let entry: SnapshotEntry
        do {
            entry = try entryForPath(absolute, policy: policy, withContent: true)
        } catch {
            if relative.isEmpty { throw error }
            snapshot.entries[relative] = .unreadable(error.errno.map(ErrnoName.of) ?? error.message)
            return
        }
        snapshot.entries[relative] = entry
        guard entry.kind == .directory else { return }
        switch LinuxCalls.directoryEntries(absolute) {
        case .success(let children):
            for child in children.map(\.name).sorted() {
                try walk(root: root, relative: relative.isEmpty ? child : "\(relative)/\(child)", policy: policy, into: &snapshot)
            }
        case .failure(let failure):
            snapshot.entries[relative]?.failure = "readdir: \(ErrnoName.of(failure.code))"
        }
    }

    /// The snapshot entry of one path (lstat + xattrs, and the content of a regular file if asked).
    static func entryForPath(_ absolute: String, policy: XattrPolicy, withContent: Bool) throws(HarnessError) -> SnapshotEntry {
        let info: stat
        switch LinuxCalls.lstatus(absolute) {
        case .success(let value): info = value
        case .failure(let failure): throw HarnessError("lstat \(absolute)", errno: failure.code)
        }
        var entry = SnapshotEntry(mode: UInt32(info.st_mode), uid: info.st_uid, gid: info.st_gid, size: Int64(info.st_size),
                                  rdev: UInt64(info.st_rdev), linkCount: UInt64(info.st_nlink),
                                  mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: Int64(info.st_mtim.tv_nsec),
                                  xattrs: [:])
        entry.xattrs = try xattrs(of: absolute, policy: policy)
        switch entry.kind {
        case .regular where withContent:
            switch LinuxCalls.readWholeFile(absolute) {
            case .success(let bytes): entry.content = ContentDigest(bytes)
            case .failure(let failure): throw HarnessError("read \(absolute)", errno: failure.code)
            }
        case .symlink:
            entry.symlinkTarget = try readLinkTarget(absolute)
        default:
            break
        }
        return entry
    }

    static func xattrs(of absolute: String, policy: XattrPolicy) throws(HarnessError) -> [String: [UInt8]] {
        let names: [String]
        switch LinuxCalls.listXattrs(absolute) {
        case .success(let list): names = list
        case .failure(let failure):
            if failure.code == EOPNOTSUPP { return [:] }
            throw HarnessError("llistxattr \(absolute)", errno: failure.code)
        }
        var values: [String: [UInt8]] = [:]
        for name in names where policy.keeps(name) {
            switch LinuxCalls.getXattr(absolute, name) {
            case .success(let value): values[name] = value
            case .failure(let failure) where failure.code == ENODATA: continue
            case .failure(let failure): throw HarnessError("lgetxattr \(name) \(absolute)", errno: failure.code)
            }
        }
        return values
    }

    static func readLinkTarget(_ absolute: String) throws(HarnessError) -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let length = buffer.withUnsafeMutableBufferPointer { readlink(absolute, $0.baseAddress!, $0.count - 1) }
        guard length >= 0 else { throw .system("readlink \(absolute)") }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Readable differences, one line each: `a/b: only in kernel`, `a/b: mode: 0644 ≠ 0600`.
    /// Empty when the snapshots match.
    public func differences(from other: TreeSnapshot, labels: (String, String) = ("left", "right")) -> [String] {
        var lines: [String] = []
        for path in Set(entries.keys).union(other.entries.keys).sorted() {
            let shown = path.isEmpty ? "/" : path
            switch (entries[path], other.entries[path]) {
            case (let left?, nil): lines.append("\(shown): only in \(labels.0) (\(left))")
            case (nil, let right?): lines.append("\(shown): only in \(labels.1) (\(right))")
            case (let left?, let right?):
                for difference in left.differences(from: right) {
                    lines.append("\(shown): \(difference)  [\(labels.0) ≠ \(labels.1)]")
                }
            case (nil, nil): break
            }
        }
        return lines
    }

    /// One line per entry, sorted: for debugging a scenario.
    public var listing: String {
        entries.keys.sorted().map { "\($0.isEmpty ? "/" : $0): \(entries[$0]!)" }.joined(separator: "\n")
    }
}
