/// The names and extended attributes through which layers carry union metadata.
///
/// They are read in every layer and in every format, never shown through the merged view, and a
/// caller can neither read, create, change nor remove them: a user who could forge a whiteout could
/// hide any file of a lower layer.
public enum PrivateNames {
    /// The prefix of an OCI whiteout file (`.wh.NAME` hides `NAME`).
    public static let whiteoutPrefix = ".wh."
    /// The OCI opaque marker: its directory hides every lower directory of the same name.
    public static let opaqueMarker = ".wh..wh..opq"

    /// The xattr namespaces that hold overlay metadata: kernel (`trusted.overlay.`), unprivileged
    /// kernel mounts with `userxattr` (`user.overlay.`), fuse-overlayfs, and Strata's own.
    static let attributePrefixes = [
        "trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.", "trusted.strata.", "user.strata.",
    ]

    /// Whether `name` is an xattr through which a layer carries union metadata.
    public static func isPrivateAttribute(_ name: String) -> Bool {
        attributePrefixes.contains { name.hasNamePrefix($0) }
    }

    /// Whether a name may be created through the union. `.wh.` names would be read back as whiteouts.
    static func isReserved(_ name: String) -> Bool {
        name.utf8.starts(with: whiteoutPrefix.utf8)
    }
}

/// The private extended attributes in one namespace: `trusted.` for the overlay format, `user.` for
/// the unprivileged OCI format.
struct MetadataAttributes: Sendable {
    let opaque: String
    let redirect: String
    let metacopy: String
    let whiteout: String
    /// Strata's record of the union inode number an object had before copy-up. Strata's own marks live
    /// inside the `overlay.` namespace so that a kernel mounting the upper hides them too.
    let origin: String
    /// The merged link count of a copied-up lower hard-link group, kept on its upper inode in the
    /// kernel's format: `U+N` (upper link count plus N) or `L+N` (lower link count plus N).
    let linkCount: String

    init(namespace: String) {
        opaque = namespace + "overlay.opaque"
        redirect = namespace + "overlay.redirect"
        metacopy = namespace + "overlay.metacopy"
        whiteout = namespace + "overlay.whiteout"
        origin = namespace + "overlay.strata.origin"
        linkCount = namespace + "overlay.nlink"
    }

    static let trusted = MetadataAttributes(namespace: "trusted.")
    static let user = MetadataAttributes(namespace: "user.")
    /// Readers try both namespaces, kernel's first.
    static let all = [trusted, user]

    static func forWriting(_ format: WhiteoutFormat) -> MetadataAttributes {
        format == .overlay ? trusted : user
    }
}
