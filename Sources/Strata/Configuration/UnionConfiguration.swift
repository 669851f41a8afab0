/// How whiteouts and opaque markers are written into the upper layer.
///
/// Both formats are always *read*, in every layer. The written format decides who else can use the
/// upper directory afterwards.
public enum WhiteoutFormat: String, Sendable, Hashable, CaseIterable {
    /// Kernel overlayfs: a whiteout is a character device 0/0, an opaque directory carries
    /// `trusted.overlay.opaque=y`, private metadata lives in `trusted.overlay.*`. The kernel can mount
    /// the upper afterwards. Needs `CAP_MKNOD` and `CAP_SYS_ADMIN` (root).
    case overlay
    /// OCI image layers: a whiteout is an empty file `.wh.NAME`, an opaque directory holds
    /// `.wh..wh..opq`, private metadata lives in `user.overlay.*`. Works without privileges.
    case oci

    /// `overlay` for root, `oci` otherwise.
    public static var `default`: WhiteoutFormat { effectiveUserID == 0 ? .overlay : .oci }
}

/// Whether copy-up waits for its data to reach the disk.
public enum Durability: String, Sendable, Hashable {
    /// Copy-up calls `fsync` on the new file before it becomes visible, as the kernel does.
    case synchronous
    /// No `fsync` at copy-up (the kernel's `volatile` mount option); a crash may lose copied-up data.
    case volatile
}

/// The layers of a union and how to write to them.
public struct UnionConfiguration: Sendable, Hashable {
    /// Read-only lower layer directories, top first (`lowerdir=top:…:bottom`).
    public var lowers: [FilePath]
    /// The writable upper directory; `nil` makes a read-only union.
    public var upper: FilePath?
    /// The work directory: same filesystem as `upper`, not inside it. Required with `upper`.
    public var work: FilePath?
    /// The format in which whiteouts and opaque markers are written.
    public var whiteoutFormat: WhiteoutFormat
    /// Whether copy-up syncs.
    public var durability: Durability
    /// Whose rights the path API checks; `nil` means this process's effective credentials.
    public var credentials: Credentials?

    public init(
        lowers: [FilePath], upper: FilePath? = nil, work: FilePath? = nil,
        whiteoutFormat: WhiteoutFormat = .default, durability: Durability = .synchronous,
        credentials: Credentials? = nil
    ) {
        self.lowers = lowers
        self.upper = upper
        self.work = work
        self.whiteoutFormat = whiteoutFormat
        self.durability = durability
        self.credentials = credentials
    }

    /// Parses overlayfs / fuse-overlayfs mount options:
    /// `lowerdir=A:B:C,upperdir=U,workdir=W[,whiteout=overlay|oci][,volatile]`.
    ///
    /// `\:` and `\,` escape a colon or comma inside a path, `\\` a backslash. Unknown options and
    /// contradictions are refused (fuse-overlayfs ignores some; we do not).
    public init(options: String) throws(StrataError) {
        var lowers: [FilePath] = []
        var upper: FilePath?
        var work: FilePath?
        var format = WhiteoutFormat.default
        var durability = Durability.synchronous
        for option in try OverlayOptionSyntax.split(options, separator: ",") where !option.isEmpty {
            let (key, value) = OverlayOptionSyntax.keyValue(option)
            switch key {
            case "lowerdir":
                guard let value, !value.isEmpty else { throw Self.missing(key) }
                let parts = try OverlayOptionSyntax.split(value, separator: ":")
                guard !parts.contains(where: \.isEmpty) else {
                    throw StrataError(.invalidOption, "lowerdir '\(value)' has an empty layer (data-only '::' layers are not supported)")
                }
                lowers = parts.map { FilePath(OverlayOptionSyntax.unescape($0)) }
            case "upperdir":
                guard let value, !value.isEmpty else { throw Self.missing(key) }
                upper = FilePath(OverlayOptionSyntax.unescape(value))
            case "workdir":
                guard let value, !value.isEmpty else { throw Self.missing(key) }
                work = FilePath(OverlayOptionSyntax.unescape(value))
            case "whiteout":
                guard let value, let parsed = WhiteoutFormat(rawValue: value) else {
                    throw StrataError(.invalidOption, "whiteout must be 'overlay' or 'oci', not '\(value ?? "")'")
                }
                format = parsed
            case "volatile":
                guard value == nil else { throw StrataError(.invalidOption, "volatile takes no value") }
                durability = .volatile
            default:
                throw StrataError(.invalidOption, "unknown option '\(option)'")
            }
        }
        guard !lowers.isEmpty else { throw StrataError(.invalidOption, "lowerdir is required") }
        self.init(lowers: lowers, upper: upper, work: work, whiteoutFormat: format, durability: durability)
    }

    private static func missing(_ key: String) -> StrataError {
        StrataError(.invalidOption, "option '\(key)' needs a value")
    }
}
