import Glibc
import Strata

/// Everything `strata mount` needs: the union's layers and the FUSE mount's behaviour.
///
/// Parsed from the overlayfs / fuse-overlayfs syntax (`-o lowerdir=A:B,upperdir=U,workdir=W,allow_other`)
/// and from readable flags (`--lower A --lower B --upper U --work W`). Unknown options and contradictions are
/// refused with a `StrataError` that names them: fuse-overlayfs silently ignores some, we do not.
public struct MountOptions: Sendable, Hashable {
    /// How long the kernel may trust an entry or attributes Strata returned (`entry_timeout`,
    /// `attr_timeout`). Long, as fuse-overlayfs: lowers cannot change while mounted, and every change
    /// made through the mount is one the kernel saw (it updates or drops what it cached for the objects
    /// the request named; all names of a hard-linked file are one node, so one cache entry).
    public static let defaultTimeout: Double = 86_400

    /// The layers, the whiteout format and the durability of copy-up.
    public var union: UnionConfiguration
    /// Let other users use the mount (`allow_other`); files they create are theirs.
    public var allowOther: Bool
    /// Let root use a mount made by another user (`allow_root`).
    public var allowRoot: Bool
    /// The kernel checks permissions against the attributes Strata reports (`default_permissions`, on by
    /// default; `no_default_permissions` turns it off, and every caller then has the mounting process's rights).
    public var defaultPermissions: Bool
    /// Mount read-only (`ro`); implied when there is no upper layer.
    public var readOnly: Bool
    /// FUSE / VFS mount options given to the kernel as they are (`nosuid`, `nodev`, `noexec`, `noatime`,
    /// `fsname=…`, `subtype=…`).
    public var passThrough: [String]
    /// How long the kernel may keep a name → node answer (positive and negative), in seconds.
    public var entryTimeout: Double
    /// How long the kernel may keep a node's attributes, in seconds.
    public var attributeTimeout: Double
    /// Log every request to standard error (`-d`).
    public var debug: Bool
    /// Let the kernel cache writes and send them later (`writeback_cache`): faster small writes, at the
    /// price of mtimes set by the kernel and data reaching the upper layer only at flush or sync.
    public var writebackCache = false
    /// Have the kernel enforce POSIX ACLs (`system.posix_acl_access`/`_default`) in its permission checks,
    /// as the kernel's overlay does (`acl`, the default with `default_permissions`); `noacl`, as in
    /// fuse-overlayfs, checks the mode bits alone.
    public var posixACL = true
    /// When a lower file comes up for a write (`copyup=`): `.write` (the default) at its first write or
    /// truncation, with opens answered by the kernel alone; `.open` at an open for writing, as overlayfs
    /// does, at the price of an `OPEN` round trip per open.
    public var copyUp = CopyUpPoint.write

    /// When `strata mount` copies a lower file up for writing.
    public enum CopyUpPoint: String, Sendable, Hashable {
        case write, open
    }

    public init(
        union: UnionConfiguration, allowOther: Bool = false, allowRoot: Bool = false,
        defaultPermissions: Bool = true, readOnly: Bool = false, passThrough: [String] = [],
        entryTimeout: Double = MountOptions.defaultTimeout, attributeTimeout: Double = MountOptions.defaultTimeout,
        debug: Bool = false
    ) {
        self.union = union
        self.allowOther = allowOther
        self.allowRoot = allowRoot
        self.defaultPermissions = defaultPermissions
        self.readOnly = readOnly
        self.passThrough = passThrough
        self.entryTimeout = entryTimeout
        self.attributeTimeout = attributeTimeout
        self.debug = debug
    }

    /// The union options, handed to `UnionConfiguration(options:)` unchanged (escapes included).
    static let unionKeys: Set<String> = ["lowerdir", "upperdir", "workdir", "whiteout", "volatile"]
    /// Flag options passed to the kernel unchanged, with the option each contradicts.
    static let passThroughFlags: [String: String] = [
        "nosuid": "suid", "suid": "nosuid", "nodev": "dev", "dev": "nodev", "noexec": "exec", "exec": "noexec",
        "noatime": "atime", "atime": "noatime", "relatime": "noatime", "nodiratime": "",
    ]
    /// Valued options passed to the kernel unchanged.
    static let passThroughKeys: Set<String> = ["fsname", "subtype"]

    /// Parses `-o` option strings (each may hold several comma-separated options) and the readable
    /// layer flags. `\,` `\:` and `\\` escape inside values, as for overlayfs.
    ///
    /// Mounted by root (`privileged`), the mount behaves as `mount -t overlay` would: every user may use
    /// it (`allow_other`, unless `allow_root` is given) and set-user-ID files and device nodes work
    /// (`suid` and `dev`, unless `nosuid` or `nodev` is given), where libfuse's own defaults are `nosuid`,
    /// `nodev` and the mounting user alone; other users get those defaults.
    ///
    /// - Throws: `StrataError.Code.invalidOption` naming the unknown, repeated or contradictory option.
    public init(
        options: [String], lowers: [String] = [], upper: String? = nil, work: String? = nil, debug: Bool = false,
        privileged: Bool = geteuid() == 0
    ) throws(StrataError) {
        var unionParts: [String] = []
        var seen: [String: String] = [:]
        var flags: Set<String> = []
        var passThrough: [String] = []
        var entryTimeout = Self.defaultTimeout
        var attributeTimeout = Self.defaultTimeout
        var copyUp = CopyUpPoint.write
        for text in options {
            for option in try OverlayOptionSyntax.split(text, separator: ",") where !option.isEmpty {
                let (key, value) = OverlayOptionSyntax.keyValue(option)
                if let earlier = seen[key] {
                    throw StrataError(.invalidOption, "option '\(key)' is given twice ('\(earlier)' and '\(option)')")
                }
                seen[key] = option
                if Self.unionKeys.contains(key) {
                    unionParts.append(option)
                    continue
                }
                switch key {
                case "allow_other", "allow_root", "default_permissions", "no_default_permissions", "ro", "rw",
                    "writeback_cache", "acl", "noacl":
                    guard value == nil else { throw StrataError(.invalidOption, "option '\(key)' takes no value") }
                    flags.insert(key)
                case "copyup":
                    guard let value, let point = CopyUpPoint(rawValue: value) else {
                        throw StrataError(.invalidOption, "option 'copyup' is 'write' or 'open', not '\(value ?? "")'")
                    }
                    copyUp = point
                case "entry_timeout", "attr_timeout", "timeout":
                    guard let value, let seconds = Double(value), seconds >= 0, seconds.isFinite else {
                        throw StrataError(.invalidOption, "option '\(key)' needs a number of seconds, not '\(value ?? "")'")
                    }
                    if key != "attr_timeout" { entryTimeout = seconds }
                    if key != "entry_timeout" { attributeTimeout = seconds }
                case _ where Self.passThroughFlags[key] != nil:
                    guard value == nil else { throw StrataError(.invalidOption, "option '\(key)' takes no value") }
                    passThrough.append(key)
                case _ where Self.passThroughKeys.contains(key):
                    guard let value, !value.isEmpty else { throw StrataError(.invalidOption, "option '\(key)' needs a value") }
                    passThrough.append(option)
                default:
                    throw StrataError(.invalidOption, "unknown mount option '\(option)'")
                }
            }
        }
        for (key, opposite) in Self.passThroughFlags where !opposite.isEmpty && seen[key] != nil && seen[opposite] != nil {
            throw StrataError(.invalidOption, "options '\(key)' and '\(opposite)' contradict each other")
        }
        for (a, b) in [
            ("ro", "rw"), ("allow_other", "allow_root"), ("default_permissions", "no_default_permissions"), ("acl", "noacl"),
            ("acl", "no_default_permissions"),
        ]
        where flags.contains(a) && flags.contains(b) {
            throw StrataError(.invalidOption, "options '\(a)' and '\(b)' contradict each other")
        }
        if seen["timeout"] != nil, let other = seen["entry_timeout"] ?? seen["attr_timeout"] {
            throw StrataError(.invalidOption, "options 'timeout' and '\(other)' contradict each other")
        }

        // The readable flags are another spelling of lowerdir/upperdir/workdir: one or the other.
        for (flag, key, given) in [("--lower", "lowerdir", !lowers.isEmpty), ("--upper", "upperdir", upper != nil), ("--work", "workdir", work != nil)]
        where given && seen[key] != nil {
            throw StrataError(.invalidOption, "'\(flag)' and '-o \(key)=' both name the \(key); give one")
        }
        if !lowers.isEmpty { unionParts.append("lowerdir=" + lowers.map(OverlayOptionSyntax.escape).joined(separator: ":")) }
        if let upper { unionParts.append("upperdir=" + OverlayOptionSyntax.escape(upper)) }
        if let work { unionParts.append("workdir=" + OverlayOptionSyntax.escape(work)) }

        let union = try UnionConfiguration(options: unionParts.joined(separator: ","))
        if (union.upper == nil) != (union.work == nil) {
            throw StrataError(.invalidOption, union.upper == nil ? "workdir is given without upperdir" : "upperdir needs a workdir")
        }
        if union.upper == nil {
            for key in ["whiteout", "volatile"] where seen[key] != nil {
                throw StrataError(.invalidOption, "option '\(key)' needs an upperdir (without one the union is read-only)")
            }
            if flags.contains("rw") {
                throw StrataError(.invalidOption, "option 'rw' needs an upperdir (without one the union is read-only)")
            }
        }
        if privileged {
            for (flag, opposite) in [("suid", "nosuid"), ("dev", "nodev")] where seen[flag] == nil && seen[opposite] == nil {
                passThrough.append(flag)
            }
        }
        self.init(
            union: union, allowOther: flags.contains("allow_other") || (privileged && !flags.contains("allow_root")),
            allowRoot: flags.contains("allow_root"),
            defaultPermissions: !flags.contains("no_default_permissions"),
            readOnly: flags.contains("ro") || union.upper == nil, passThrough: passThrough,
            entryTimeout: entryTimeout, attributeTimeout: attributeTimeout, debug: debug)
        self.writebackCache = flags.contains("writeback_cache")
        // The kernel enforces ACLs only in its own permission checks.
        self.posixACL = defaultPermissions && !flags.contains("noacl")
        self.copyUp = copyUp
        if writebackCache && readOnly {
            throw StrataError(.invalidOption, "option 'writeback_cache' needs a writable union (an upperdir, not 'ro')")
        }
    }

    /// The mount options given to the kernel through `fuse_session_new` (`-o …`).
    public var kernelOptions: [String] {
        var options = passThrough
        if !options.contains(where: { $0.hasPrefix("subtype=") }) { options.append("subtype=strata") }
        if !options.contains(where: { $0.hasPrefix("fsname=") }) {
            // The kernel splits options at commas, so the source shown in /proc/mounts cannot hold one.
            options.append("fsname=" + (union.upper ?? union.lowers[0]).string.replacing(",", with: "_"))
        }
        if allowOther { options.append("allow_other") }
        if allowRoot { options.append("allow_root") }
        if defaultPermissions { options.append("default_permissions") }
        if readOnly { options.append("ro") }
        return options
    }
}
