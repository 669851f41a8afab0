import Glibc

/// How a whiteout is written into a layer directory.
public enum WhiteoutStyle: Sendable, Hashable {
    /// A character device 0/0 with mode 000: the only form the kernel's overlayfs reads.
    case characterDevice
    /// An empty regular file `.wh.NAME` next to the hidden name (OCI image layers; Strata-only tests).
    case oci
}

/// How a directory is marked opaque.
public enum OpaqueStyle: Sendable, Hashable {
    /// `trusted.overlay.opaque=y`: the only form the kernel's overlayfs reads.
    case xattr
    /// An empty regular file `.wh..wh..opq` inside the directory (OCI image layers; Strata-only tests).
    case oci
}

/// One object in one layer of a fixture.
///
/// Build entries with the static functions: `.file("a/f", "text", mode: 0o640, uid: 1000)`,
/// `.directory("d", opaque: .xattr)`, `.symlink("s", to: "a/f")`, `.hardLink("h", to: "a/f")`,
/// `.fifo("p")`, `.whiteout("gone")`. Missing parent directories are created implicitly (0755, root).
/// Every object gets a fixed modification time in 2001 (explicit with `mtime:`), so a preserved time
/// can be told apart from "now".
public struct FixtureEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file(content: [UInt8])
        case directory(opaque: OpaqueStyle?)
        case symlink(target: String)
        case hardLink(existing: String)
        case fifo
        case whiteout(WhiteoutStyle)
    }

    public var path: String
    public var kind: Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Sorted by name when the layer is built.
    public var xattrs: [String: [UInt8]]
    /// Seconds since the epoch; nil picks a fixed time in 2001 derived from the entry's position.
    public var mtime: Int64?

    public static func file(_ path: String, _ content: String = "", mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
                            xattrs: [String: String] = [:], mtime: Int64? = nil) -> FixtureEntry {
        FixtureEntry(path: path, kind: .file(content: Array(content.utf8)), mode: mode, uid: uid, gid: gid,
                     xattrs: xattrs.mapValues { Array($0.utf8) }, mtime: mtime)
    }

    public static func file(_ path: String, bytes: [UInt8], mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
                            xattrs: [String: String] = [:], mtime: Int64? = nil) -> FixtureEntry {
        FixtureEntry(path: path, kind: .file(content: bytes), mode: mode, uid: uid, gid: gid,
                     xattrs: xattrs.mapValues { Array($0.utf8) }, mtime: mtime)
    }

    public static func directory(_ path: String, mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0,
                                 opaque: OpaqueStyle? = nil, xattrs: [String: String] = [:], mtime: Int64? = nil) -> FixtureEntry {
        FixtureEntry(path: path, kind: .directory(opaque: opaque), mode: mode, uid: uid, gid: gid,
                     xattrs: xattrs.mapValues { Array($0.utf8) }, mtime: mtime)
    }

    public static func symlink(_ path: String, to target: String, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64? = nil) -> FixtureEntry {
        FixtureEntry(path: path, kind: .symlink(target: target), mode: 0o777, uid: uid, gid: gid, xattrs: [:], mtime: mtime)
    }

    /// A second name for the file `existing` of the same layer (which must come earlier in the layer).
    public static func hardLink(_ path: String, to existing: String) -> FixtureEntry {
        FixtureEntry(path: path, kind: .hardLink(existing: existing), mode: 0, uid: 0, gid: 0, xattrs: [:], mtime: nil)
    }

    public static func fifo(_ path: String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64? = nil) -> FixtureEntry {
        FixtureEntry(path: path, kind: .fifo, mode: mode, uid: uid, gid: gid, xattrs: [:], mtime: mtime)
    }

    public static func whiteout(_ path: String, style: WhiteoutStyle = .characterDevice) -> FixtureEntry {
        FixtureEntry(path: path, kind: .whiteout(style), mode: 0, uid: 0, gid: 0, xattrs: [:], mtime: nil)
    }

    var isDirectory: Bool {
        if case .directory = kind { return true }
        return false
    }
}

@resultBuilder
public enum LayerBuilder {
    public static func buildExpression(_ entry: FixtureEntry) -> [FixtureEntry] { [entry] }
    public static func buildExpression(_ entries: [FixtureEntry]) -> [FixtureEntry] { entries }
    public static func buildBlock(_ parts: [FixtureEntry]...) -> [FixtureEntry] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [FixtureEntry]?) -> [FixtureEntry] { part ?? [] }
    public static func buildEither(first part: [FixtureEntry]) -> [FixtureEntry] { part }
    public static func buildEither(second part: [FixtureEntry]) -> [FixtureEntry] { part }
    public static func buildArray(_ parts: [[FixtureEntry]]) -> [FixtureEntry] { parts.flatMap { $0 } }
}

/// The contents of one layer directory.
public struct Layer: Sendable, Hashable {
    public var entries: [FixtureEntry]
    /// Mode of the layer's root directory.
    public var rootMode: UInt32

    public init(_ entries: [FixtureEntry] = [], rootMode: UInt32 = 0o755) {
        self.entries = entries
        self.rootMode = rootMode
    }

    public init(rootMode: UInt32 = 0o755, @LayerBuilder _ entries: () -> [FixtureEntry]) {
        self.init(entries(), rootMode: rootMode)
    }
}

/// A layer stack that can be materialised any number of times, identically (same bytes, modes, owners,
/// xattrs and nanosecond mtimes), so the kernel and Strata each get a private copy.
public struct LayerFixture: Sendable, Hashable {
    /// Top first, as in `lowerdir=`.
    public var lowers: [Layer]
    /// What the upper directory holds before the test starts.
    public var upper: Layer

    /// The fixed time base: 2001-09-09T01:46:40Z.
    public static let timeBase: Int64 = 1_000_000_000

    public init(lowers: [Layer], upper: Layer = Layer()) {
        self.lowers = lowers
        self.upper = upper
    }

    /// True when some layer uses an OCI-format whiteout or opaque marker, which the kernel ignores:
    /// such a fixture must not be used against the kernel.
    public var usesOCIFormat: Bool {
        (lowers + [upper]).contains { layer in
            layer.entries.contains { entry in
                switch entry.kind {
                case .whiteout(.oci), .directory(opaque: .oci): return true
                default: return false
                }
            }
        }
    }

    /// Every relative path named in any layer, with its implicit parents, including whiteouts (as the
    /// name they hide). Used by the random generator to aim at names that exist somewhere below.
    public var allPaths: [String] {
        var paths = Set<String>()
        for layer in lowers + [upper] {
            for entry in layer.entries {
                var components = entry.path.split(separator: "/").map(String.init)
                while !components.isEmpty {
                    paths.insert(components.joined(separator: "/"))
                    components.removeLast()
                }
            }
        }
        return paths.sorted()
    }

    /// Directories named in any layer (explicitly or as parents).
    public var allDirectories: [String] {
        var directories = Set<String>()
        for layer in lowers + [upper] {
            for entry in layer.entries {
                var components = entry.path.split(separator: "/").map(String.init)
                if !entry.isDirectory { components = components.dropLast() }
                while !components.isEmpty {
                    directories.insert(components.joined(separator: "/"))
                    components.removeLast()
                }
            }
        }
        return directories.sorted()
    }

    /// The paths visible in the merged view before any operation (an approximate overlay model: topmost
    /// wins, whiteouts hide, opaque directories and non-directories hide everything below them), with
    /// whether each is a directory. Used only to aim the random generator.
    public var mergedPaths: [String: Bool] {
        enum State { case directory(opaque: Bool), other, whiteout }
        var merged: [String: (state: State, layer: Int)] = [:]
        for (layerIndex, layer) in ([upper] + lowers).enumerated() {
            var own: [String: State] = [:]
            for entry in layer.entries {
                let components = entry.path.split(separator: "/").map(String.init)
                for depth in 1..<max(components.count, 1) where own[components.prefix(depth).joined(separator: "/")] == nil {
                    own[components.prefix(depth).joined(separator: "/")] = .directory(opaque: false)
                }
                switch entry.kind {
                case .directory(let opaque): own[entry.path] = .directory(opaque: opaque != nil)
                case .whiteout: own[entry.path] = .whiteout
                default: own[entry.path] = .other
                }
            }
            for path in own.keys.sorted() {
                let components = path.split(separator: "/").map(String.init)
                var hidden = false
                for depth in 1..<max(components.count, 1) {
                    if let above = merged[components.prefix(depth).joined(separator: "/")], above.layer < layerIndex {
                        switch above.state {
                        case .directory(opaque: false): continue
                        default: hidden = true
                        }
                    }
                    if hidden { break }
                }
                if hidden { continue }
                // Whatever a higher layer has at this path wins (a merged directory keeps the higher one's state).
                if merged[path] != nil { continue }
                merged[path] = (own[path]!, layerIndex)
            }
        }
        var visible: [String: Bool] = [:]
        for (path, value) in merged {
            switch value.state {
            case .whiteout: continue
            case .directory: visible[path] = true
            case .other: visible[path] = false
            }
        }
        return visible
    }

    /// Creates `directory/lower0…`, `directory/upper` and an empty `directory/work`.
    public func build(in directory: String) throws(HarnessError) -> BuiltLayers {
        var lowerPaths: [String] = []
        for (index, layer) in lowers.enumerated() {
            let path = "\(directory)/lower\(index)"
            try Self.materialise(layer, at: path, ordinal: index + 1)
            lowerPaths.append(path)
        }
        let upperPath = "\(directory)/upper"
        try Self.materialise(upper, at: upperPath, ordinal: 0)
        let workPath = "\(directory)/work"
        guard mkdir(workPath, 0o755) == 0 else { throw .system("mkdir \(workPath)") }
        return BuiltLayers(root: directory, lowers: lowerPaths, upper: upperPath, work: workPath)
    }

    private struct Pending {
        var path: String
        var mtime: Int64
        var nanoseconds: Int64
    }

    private static func materialise(_ layer: Layer, at root: String, ordinal: Int) throws(HarnessError) {
        guard mkdir(root, mode_t(layer.rootMode)) == 0 else { throw .system("mkdir \(root)") }
        // Times are applied last, deepest first, because creating a child changes its parent's mtime.
        var times: [Pending] = []
        var created = Set<String>()
        let layerBase = timeBase + Int64(ordinal) * 100_000

        func ensureParents(of relative: String) throws(HarnessError) {
            var prefix: [Substring] = []
            for component in relative.split(separator: "/").dropLast() {
                prefix.append(component)
                let path = prefix.joined(separator: "/")
                if created.contains(path) { continue }
                let absolute = "\(root)/\(path)"
                guard mkdir(absolute, 0o755) == 0 || errno == EEXIST else { throw .system("mkdir \(absolute)") }
                created.insert(path)
                times.append(Pending(path: absolute, mtime: layerBase + 99_000 + Int64(times.count), nanoseconds: 0))
            }
        }

        for (index, entry) in layer.entries.enumerated() {
            try ensureParents(of: entry.path)
            let absolute = "\(root)/\(entry.path)"
            let mtime = entry.mtime ?? (layerBase + Int64(index) * 1000)
            let nanoseconds = Int64(index) * 1_000_003 % 1_000_000_000 + 7
            switch entry.kind {
            case .file(let content):
                let fd = open(absolute, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw .system("create \(absolute)") }
                let written = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                guard written == content.count else { throw .system("write \(absolute)") }
            case .directory(let opaque):
                if !created.contains(entry.path) {
                    guard mkdir(absolute, 0o755) == 0 else { throw .system("mkdir \(absolute)") }
                }
                switch opaque {
                case .xattr?:
                    let code = LinuxCalls.setXattr(absolute, "trusted.overlay.opaque", Array("y".utf8), flags: 0)
                    guard code == 0 else { throw HarnessError("set trusted.overlay.opaque on \(absolute)", errno: code) }
                case .oci?:
                    let marker = "\(absolute)/.wh..wh..opq"
                    let fd = open(marker, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
                    guard fd >= 0 else { throw .system("create \(marker)") }
                    close(fd)
                    times.append(Pending(path: marker, mtime: mtime, nanoseconds: 0))
                case nil:
                    break
                }
            case .symlink(let target):
                guard Glibc.symlink(target, absolute) == 0 else { throw .system("symlink \(absolute)") }
            case .hardLink(let existing):
                guard link("\(root)/\(existing)", absolute) == 0 else { throw .system("link \(absolute) -> \(existing)") }
                created.insert(entry.path)
                continue  // shares the inode, owner, mode and times of `existing`
            case .fifo:
                guard mknod(absolute, S_IFIFO | 0o600, 0) == 0 else { throw .system("mkfifo \(absolute)") }
            case .whiteout(.characterDevice):
                guard mknod(absolute, S_IFCHR, 0) == 0 else { throw .system("mknod whiteout \(absolute)") }
            case .whiteout(.oci):
                let components = entry.path.split(separator: "/")
                let marker = (components.dropLast() + [".wh." + components.last!]).joined(separator: "/")
                let markerPath = "\(root)/\(marker)"
                let fd = open(markerPath, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw .system("create \(markerPath)") }
                close(fd)
                created.insert(marker)
                times.append(Pending(path: markerPath, mtime: mtime, nanoseconds: nanoseconds))
                continue
            }
            created.insert(entry.path)
            guard lchown(absolute, entry.uid, entry.gid) == 0 else { throw .system("lchown \(absolute)") }
            if case .symlink = entry.kind {} else {
                // After chown, which clears set-id bits.
                guard chmod(absolute, mode_t(entry.mode)) == 0 else { throw .system("chmod \(absolute)") }
            }
            for name in entry.xattrs.keys.sorted() {
                let code = LinuxCalls.setXattr(absolute, name, entry.xattrs[name]!, flags: 0)
                guard code == 0 else { throw HarnessError("setxattr \(name) on \(absolute)", errno: code) }
            }
            times.removeAll { $0.path == absolute }  // an explicit directory replaces its implicit twin
            times.append(Pending(path: absolute, mtime: mtime, nanoseconds: nanoseconds))
        }
        times.append(Pending(path: root, mtime: layerBase + 99_999, nanoseconds: 0))
        let ordered = times.sorted { $0.path.split(separator: "/").count > $1.path.split(separator: "/").count }
        for pending in ordered {
            var spec = [
                timespec(tv_sec: Int(pending.mtime), tv_nsec: Int(pending.nanoseconds)),
                timespec(tv_sec: Int(pending.mtime), tv_nsec: Int(pending.nanoseconds)),
            ]
            guard utimensat(AT_FDCWD, pending.path, &spec, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .system("utimensat \(pending.path)")
            }
        }
    }
}

/// Where one materialised copy of a fixture lives.
public struct BuiltLayers: Sendable, Hashable {
    public var root: String
    /// Top first.
    public var lowers: [String]
    public var upper: String
    public var work: String

    public init(root: String, lowers: [String], upper: String, work: String) {
        self.root = root
        self.lowers = lowers
        self.upper = upper
        self.work = work
    }
}
