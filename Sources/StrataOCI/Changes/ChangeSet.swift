import Strata
import StrataSystem
import SystemPackage

/// What a container's upper changed against its image, like `docker diff`.
public struct Change: Sendable, Hashable, Codable, Comparable {
    public enum Kind: String, Sendable, Codable {
        case added = "A", changed = "C", deleted = "D"
    }
    public var kind: Kind
    /// Absolute path in the container (`/etc/hosts`).
    public var path: String

    public init(kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    /// Paths are compared as bytes, as the layer orders its entries: two look-alike paths (equal as
    /// Swift strings) are two changes.
    public static func == (a: Change, b: Change) -> Bool { a.kind == b.kind && FileName.sameBytes(a.path, b.path) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(NameKey(path))
    }

    public static func < (a: Change, b: Change) -> Bool {
        if FileName.sameBytes(a.path, b.path) { return a.kind.rawValue < b.kind.rawValue }
        return (FileName.bytes(of: a.path) ?? Array(a.path.utf8)).lexicographicallyPrecedes(
            FileName.bytes(of: b.path) ?? Array(b.path.utf8))
    }
}

/// Compares a container's merged view with its image's view, visiting only what the upper touched.
///
/// A directory that is in the upper and merges exactly the lower directories the image has at that
/// path is *transparent*: only its upper children can differ. An opaque or renamed (redirected)
/// directory is *replaced*: all of its children are compared.
public struct ChangeSet: Sendable {
    public private(set) var changes: [Change] = []
    /// Directories that are replaced rather than merged (a commit writes them with an opaque marker).
    public private(set) var replacedDirectories: Set<NameKey> = []

    public init(merged: UnionFileSystem, base: UnionFileSystem) throws(Errno) {
        try visit("", merged: merged, base: base, replaced: !Self.isTransparent("", merged: merged, base: base))
        changes.sort()
    }

    private mutating func visit(_ directory: String, merged: UnionFileSystem, base: UnionFileSystem, replaced: Bool) throws(Errno) {
        if replaced { replacedDirectories.insert(directory) }
        let now = try merged.contentsOfDirectory(Self.path(directory))
        let before = (try? base.contentsOfDirectory(Self.path(directory))) ?? []
        // Names as bytes (`NameKey`): a look-alike of a name is another name.
        let beforeNames = Set(before.map { NameKey($0.name) })
        let nowNames = Set(now.map { NameKey($0.name) })
        for name in beforeNames.subtracting(nowNames) {
            changes.append(Change(kind: .deleted, path: "/" + Self.join(directory, name.string)))
        }
        for entry in now.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            let path = Self.join(directory, entry.name)
            let origin = try merged.origin(of: Self.path(path))
            guard beforeNames.contains(entry.name) else {
                try addAll(path, kind: entry.kind, merged: merged)
                continue
            }
            let inUpper = origin.top.layer == .upper
            if !inUpper {
                // Same lower object as the image shows, unless a redirect brought another one here.
                let baseOrigin = try base.origin(of: Self.path(path))
                if baseOrigin.top == origin.top && baseOrigin.merged == origin.merged { continue }
            }
            let baseKind = try base.status(Self.path(path)).kind
            if entry.kind == .directory && baseKind == .directory {
                let transparent = Self.isTransparent(path, merged: merged, base: base)
                if inUpper || !transparent {
                    changes.append(Change(kind: .changed, path: "/" + path))
                    try visit(path, merged: merged, base: base, replaced: !transparent)
                }
            } else if entry.kind == .directory {
                changes.append(Change(kind: .changed, path: "/" + path))
                try addAll(path, kind: .directory, merged: merged, includingSelf: false)
            } else {
                changes.append(Change(kind: .changed, path: "/" + path))
            }
        }
    }

    private mutating func addAll(_ path: String, kind: FileKind, merged: UnionFileSystem, includingSelf: Bool = true) throws(Errno) {
        if includingSelf { changes.append(Change(kind: .added, path: "/" + path)) }
        guard kind == .directory else { return }
        for entry in try merged.contentsOfDirectory(Self.path(path)) {
            try addAll(Self.join(path, entry.name), kind: entry.kind, merged: merged)
        }
    }

    /// Whether the merged directory shows the same lower directories as the image's at `path`.
    static func isTransparent(_ path: String, merged: UnionFileSystem, base: UnionFileSystem) -> Bool {
        guard let now = try? merged.origin(of: Self.path(path)), let before = try? base.origin(of: Self.path(path)) else { return false }
        let nowLowers = (now.top.layer == .upper ? [] : [now.top]) + now.merged
        let beforeLowers = [before.top] + before.merged
        return nowLowers == beforeLowers
    }

    static func join(_ directory: String, _ name: String) -> String { directory.isEmpty ? name : directory + "/" + name }
    /// The union path of a relative one, byte for byte (see `FileName`).
    static func path(_ relative: String) throws(Errno) -> FilePath { try FileName.path("/" + relative) }
}
