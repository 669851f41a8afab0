/// What the union knows about one merged object.
///
/// Guarded by the engine lock. A directory keeps the lower directories that merge under it (its
/// "stack", like the kernel's `ovl_entry`); a non-directory keeps the lower copy it came from, which
/// is also where a metadata-only copy-up reads its data.
struct NodeRecord {
    let id: NodeID
    /// The directory holding the name this node was last reached by; `nil` for the root and for
    /// objects that have lost every name.
    var parent: NodeID?
    var name: String
    /// Non-directories reached by several names (a hard-linked file): every name the union knows the
    /// object by, so that removing the current one moves the node to another instead of orphaning
    /// it. Empty while `parent` and `name` are its only name, which is most objects: a set per node
    /// was an eighth of the memory a walked tree holds.
    var names: Set<NameLocation> = []
    let kind: FileKind
    /// The inode number callers see: stable for the life of the union and across copy-up.
    var inode: UInt64
    /// An upper object exists (possibly metadata only).
    var inUpper: Bool
    /// The upper object holds metadata only; data still comes from `lowerObject`.
    var metacopy = false
    /// Directories: lower directories merged under this one, top first.
    var lowerStack: [LowerDirectory] = []
    /// Non-directories: the topmost lower copy.
    var lowerObject: LowerObject?
    /// Attributes of the lower copy, read once: lowers never change while the union is open.
    var lowerStatus: FileStatus?
    /// Directories: the merged listing, once loaded.
    var directory: MergedDirectory?
    /// Names already resolved to nodes in this directory.
    var children: [String: NodeID] = [:]
    /// Outstanding kernel lookups (FUSE `forget` decrements).
    var lookups: UInt64 = 0
    /// The redirect this upper object carries (directories, and metadata-only files renamed away
    /// from their data).
    var redirect: String?
    /// Lower hard-link groups that have come up: the name of their entry in the work directory's
    /// index, which holds the upper inode all their names share and the group's link count.
    var indexKey: String?

    var isDirectory: Bool { kind == .directory }

    /// A merged directory reports one link, as the kernel does (counting subdirectories of every
    /// layer is not worth it, and `find` accepts 1).
    var isMergedDirectory: Bool {
        isDirectory && ((inUpper && !lowerStack.isEmpty) || lowerStack.count > 1)
    }
}

/// One name of an object: the directory holding it and the name in it.
struct NameLocation: Hashable {
    var parent: NodeID
    var name: String
}
