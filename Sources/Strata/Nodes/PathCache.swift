/// Paths the path API resolved (without following a final symlink) since the union last changed.
///
/// A warm lookup of a path then costs one hash probe of the whole path instead of one per component,
/// and a missing path one probe too (the kernel keeps negative dentries for the same reason). Every
/// `UnionFileSystem` call that may change the union empties it afterwards (`invalidate`), so an entry
/// never outlives the tree it was resolved in. Results depend on whose permissions the walk checked:
/// the cache holds one caller's results at a time.
struct PathCache {
    /// A resolved node, or nil for a path that does not exist (`ENOENT`).
    private var resolved: [NameKey: NodeID?] = [:]
    private var owner: Credentials?

    /// Bounds the memory of a long run of distinct paths; reaching it starts over.
    static let capacity = 1 << 17

    /// The cached result for `path` looked up by `caller`: `.some(nil)` for a missing path, nil when
    /// not cached.
    func lookup(_ path: String, by caller: Credentials) -> NodeID?? {
        guard !resolved.isEmpty, owner == caller else { return nil }
        return resolved[path]
    }

    mutating func remember(_ path: String, _ node: NodeID?, by caller: Credentials) {
        if owner != caller || resolved.count >= Self.capacity {
            resolved.removeAll(keepingCapacity: owner == caller)
            owner = caller
        }
        resolved[path] = node
    }

    mutating func invalidate() {
        if !resolved.isEmpty { resolved.removeAll(keepingCapacity: true) }
    }
}
