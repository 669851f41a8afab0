extension Engine {
    /// The most symlinks one path resolution follows, as Linux (`ELOOP` beyond).
    static let maximumSymlinkHops = 40

    /// Resolves a path relative to the union root to a node.
    ///
    /// Intermediate symlinks are followed *inside* the union (an absolute target starts again at the
    /// union root, `..` stops at it: `openat2` `RESOLVE_IN_ROOT` semantics); the final component is
    /// followed only with `followFinal`. Throws `ENOENT`, `ENOTDIR`, `ELOOP`, `ENAMETOOLONG`.
    mutating func resolve(_ path: FilePath, followFinal: Bool = false) throws(Errno) -> NodeID {
        let string = FileName.decode(path)
        guard !followFinal else { return try walk(Self.components(of: string), followFinal: true) }
        if let cached = paths.lookup(string, by: caller) {
            guard let node = cached else { throw Errno.noSuchFileOrDirectory }
            // A node the kernel made the union forget meanwhile is walked to again.
            if nodes.kind(of: node) != nil { return node }
        }
        do {
            let node = try walk(Self.components(of: string), followFinal: false)
            paths.remember(string, node, by: caller)
            return node
        } catch .noSuchFileOrDirectory {
            paths.remember(string, nil, by: caller)
            throw .noSuchFileOrDirectory
        }
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
        components(of: FileName.decode(path))
    }

    /// The non-empty `/`-separated components of `path`, split as bytes (`FileName.components`).
    static func components(of path: String) -> [String] {
        FileName.components(of: path)
    }

    private mutating func walk(_ components: [String], followFinal: Bool) throws(Errno) -> NodeID {
        var stack: [NodeID] = [.root]
        var remaining = components[...]
        // The components of followed symlinks, last first; they come before `remaining`.
        var followed: [String] = []
        var hops = 0
        while true {
            let component: String
            if let next = followed.popLast() {
                component = next
            } else if let next = remaining.popFirst() {
                component = next
            } else {
                break
            }
            if component == "." { continue }
            if component == ".." {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            let more = !followed.isEmpty || !remaining.isEmpty
            let current = stack[stack.count - 1]
            if !caller.isPrivileged {
                guard let currentKind = nodes.kind(of: current) else { throw Errno.staleNFSFileHandle }
                guard currentKind == .directory else { throw Errno.notDirectory }
                try checkAccess(of: current, .execute)
            }
            // The lookup checks that `current` is a directory.
            let (child, childKind) = try lookupNode(component, in: current)
            if childKind == .symbolicLink && (more || followFinal) {
                hops += 1
                guard hops <= Self.maximumSymlinkHops else { throw Errno.tooManySymbolicLinkLevels }
                let target = try readLink(child)
                if target.hasNamePrefix("/") { stack = [.root] }
                followed.append(contentsOf: Self.components(of: target).reversed())
                continue
            }
            if more && childKind != .directory { throw Errno.notDirectory }
            stack.append(child)
        }
        return stack[stack.count - 1]
    }
}
