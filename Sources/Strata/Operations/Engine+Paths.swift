extension Engine {
    /// The most symlinks one path resolution follows, as Linux (`ELOOP` beyond).
    static let maximumSymlinkHops = 40

    /// Resolves a path relative to the union root to a node.
    ///
    /// Intermediate symlinks are followed *inside* the union (an absolute target starts again at the
    /// union root, `..` stops at it: `openat2` `RESOLVE_IN_ROOT` semantics); the final component is
    /// followed only with `followFinal`. Throws `ENOENT`, `ENOTDIR`, `ELOOP`, `ENAMETOOLONG`.
    mutating func resolve(_ path: FilePath, followFinal: Bool = false) throws(Errno) -> NodeID {
        try walk(Self.components(of: path), followFinal: followFinal)
    }

    /// Resolves all but the last component of `path` to a directory node and returns it with the last
    /// component. The root itself yields `(.root, ".")`.
    mutating func resolveParent(_ path: FilePath) throws(Errno) -> (NodeID, String) {
        var components = Self.components(of: path)
        guard let last = components.popLast() else { return (.root, ".") }
        let parent = try walk(components, followFinal: true)
        guard try record(parent).isDirectory else { throw Errno.notDirectory }
        return (parent, last)
    }

    static func components(of path: FilePath) -> [String] {
        path.string.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private mutating func walk(_ components: [String], followFinal: Bool) throws(Errno) -> NodeID {
        var stack: [NodeID] = [.root]
        var pending = Array(components.reversed())
        var hops = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            let current = stack[stack.count - 1]
            guard try record(current).isDirectory else { throw Errno.notDirectory }
            if !caller.isPrivileged { try checkAccess(of: current, .execute) }
            let child = try lookup(component, in: current)
            let childRecord = try record(child)
            if childRecord.kind == .symbolicLink && (!pending.isEmpty || followFinal) {
                hops += 1
                guard hops <= Self.maximumSymlinkHops else { throw Errno.tooManySymbolicLinkLevels }
                let target = try readLink(child)
                if target.hasPrefix("/") { stack = [.root] }
                pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                continue
            }
            if !pending.isEmpty && childRecord.kind != .directory { throw Errno.notDirectory }
            stack.append(child)
        }
        return stack[stack.count - 1]
    }
}
