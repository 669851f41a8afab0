extension Engine {
    // MARK: Loading a merged directory

    /// Builds the merged listing of directory `id` if it is not built yet.
    ///
    /// Reads the upper directory, then each lower directory of the node's stack top-down, stopping
    /// after an opaque one. A whiteout hides the name in the layers below it; a non-directory hides
    /// everything below; only directories merge.
    mutating func loadDirectory(_ id: NodeID) throws(Errno) {
        guard let kind = nodes.kind(of: id) else { throw Errno.staleNFSFileHandle }
        guard kind == .directory else { throw Errno.notDirectory }
        if nodes.isLoaded(id) { return }
        var record = try record(id)

        var upperDirectory: LayerDirectory?
        if record.inUpper {
            let upper = try upperLayer()
            guard let path = upperPath(of: id) else { throw Errno.noSuchFileOrDirectory }
            upperDirectory = try LayerDirectory.read(path, in: upper.root) { upper.directories.adopt($0, as: id) }
        }

        var merged = MergedDirectory()
        var effectiveStack: [LowerDirectory] = []
        if !(upperDirectory?.isOpaque ?? false) {
            // The stack is finished here, where each layer's directory is read anyway: it ends after an
            // opaque directory, and below a redirected one (a kernel upper reused as a lower layer) the
            // layers merge the redirected path instead of the name.
            var pending = record.lowerStack[...]
            let parentSite = ParentSite(
                id: record.parent ?? .root, lowerStack: record.parent.flatMap { nodes[$0]?.lowerStack } ?? [])
            var layerDirectories: [(lower: LowerDirectory, directory: LayerDirectory)] = []
            while let lower = pending.popFirst() {
                let layerDirectory: LayerDirectory
                do {
                    layerDirectory = try LayerDirectory.read(lower.path, in: layers.lowers[lower.layer].root) {
                        layers.lowerDirectories.adopt($0, as: lower)
                    }
                } catch where error == .noSuchFileOrDirectory || error == .notDirectory {
                    continue
                }
                effectiveStack.append(lower)
                layerDirectories.append((lower, layerDirectory))
                if layerDirectory.isOpaque { break }
                if let redirect = layerDirectory.redirect, lower.layer < layers.lowers.count - 1 {
                    pending = resolveRedirect(redirect, parent: parentSite, below: lower.layer)[...]
                }
            }
            // Straight into the merged table, one hash of each name per layer; sized once for the
            // largest possible merge (growing rehashes every name at each step).
            merged.entries.reserveCapacity(
                layerDirectories.reduce(upperDirectory?.entries.count ?? 0) { $0 + $1.directory.entries.count })
            var merge = LowerMerge()
            for (lower, layerDirectory) in layerDirectories {
                let rank = LayerID.lower(lower.layer).rank
                for (name, entry) in layerDirectory.entries {
                    merge.add(
                        entry, named: name, layer: lower.layer, rank: rank, to: &merged.entries[name, default: .unseen])
                }
            }
            // A name whose top lower copy is a whiteout does not show (nor merge).
            for name in merge.hidden { merged.entries[name] = nil }
        }
        record.lowerStack = effectiveStack

        if let upperDirectory {
            for (name, entry) in upperDirectory.entries {
                let lower = merged.entries[name]
                let merges = entry.kind == .directory && entry.whiteout == nil && lower?.kind == .directory
                merged.entries[name] = MergedEntry(
                    kind: entry.kind, layer: .upper, inode: entry.inode,
                    lowerLayer: lower?.lowerLayer, lowerKind: lower?.kind, upperWhiteout: entry.whiteout,
                    mergeLayers: merges ? lower?.mergeLayers ?? [] : [],
                    order: MergedDirectory.order(rank: 0, position: entry.position))
                merged.nextUpperOrder = max(merged.nextUpperOrder, Int64(entry.position) + 1)
            }
        }
        // Names repeated across layers (directories present in several) leave the table sized for more
        // than it holds, for as long as the node lives: a compact copy costs one pass over few names.
        if merged.entries.capacity > 4 * merged.entries.count + 16 {
            var compact = [NameKey: MergedEntry](minimumCapacity: merged.entries.count)
            for (name, entry) in merged.entries { compact[name] = entry }
            merged.entries = compact
        }
        record.directory = merged
        nodes[id] = record
    }

    /// The merged entry `name` of directory `id`, loading the directory first.
    mutating func entry(_ name: String, in id: NodeID) throws(Errno) -> MergedEntry? {
        try loadDirectory(id)
        return nodes[id]?.directory?.entries[name]
    }

    // MARK: Lookup

    /// Resolves `name` in directory `parent` to a node, creating its record on first sight.
    ///
    /// Throws `ENOENT` for names that are absent or whited out (and for marker names, which never
    /// show), `ENOTDIR` when `parent` is not a directory.
    mutating func lookup(_ name: String, in parent: NodeID) throws(Errno) -> NodeID {
        try lookupNode(name, in: parent).node
    }

    /// `lookup`, also returning the node's type (the path walk needs it, and has it here for free).
    mutating func lookupNode(_ name: String, in parent: NodeID) throws(Errno) -> (node: NodeID, kind: FileKind) {
        if name == "." || name == ".." {
            let node = name == "." ? parent : try record(parent).parent ?? .root
            guard let kind = nodes.kind(of: node) else { throw Errno.staleNFSFileHandle }
            return (node, kind)
        }
        guard LayerDirectory.isValidName(name), !PrivateNames.isReserved(name) else {
            throw Errno.noSuchFileOrDirectory
        }
        guard name.utf8.count <= 255 else { throw Errno.fileNameTooLong }
        // One read of the parent's slot answers the common cases; a live copy of the parent's record
        // would make the insertion below copy its whole child table (copy-on-write).
        var probe = nodes.probe(name, in: parent)
        if case .notLoaded = probe {
            try loadDirectory(parent)
            probe = nodes.probe(name, in: parent)
        }
        let entry: MergedEntry?
        switch probe {
        case .staleNode: throw Errno.staleNFSFileHandle
        case .notDirectory: throw Errno.notDirectory
        case .notLoaded: throw Errno.ioError
        case .child(let existing):
            if let kind = nodes.kind(of: existing) {
                // Name-based operations (rename, link, copy-up of the name) act on the name reached last.
                if kind != .directory && (nodes.parent(of: existing) != parent || nodes.name(of: existing)?.isSameName(as: name) != true) {
                    attach(existing, to: parent, as: name)
                }
                return (existing, kind)
            }
            entry = nodes.entry(name, of: parent)
        case .entry(let found):
            entry = found
        }
        guard let entry, let kind = entry.kind else {
            throw Errno.noSuchFileOrDirectory
        }
        let site = ParentSite(id: parent, lowerStack: nodes[parent]?.lowerStack ?? [])
        let id: NodeID
        switch entry.layer {
        case .lower(let layer):
            id = try makeLowerNode(name, kind: kind, layer: layer, entry: entry, parent: site)
        case .upper:
            id = try makeUpperNode(name, kind: kind, entry: entry, parent: site)
        }
        nodes[parent]?.children[name] = id
        return (id, kind)
    }

    /// The parent directory of a node being created: its id and its lower stack.
    struct ParentSite {
        var id: NodeID
        var lowerStack: [LowerDirectory]
    }

    private func lowerDirectory(of parent: ParentSite, layer: Int) throws(Errno) -> LowerDirectory {
        guard let directory = parent.lowerStack.first(where: { $0.layer == layer }) else { throw Errno.ioError }
        return directory
    }

    private mutating func makeLowerNode(
        _ name: String, kind: FileKind, layer: Int, entry: MergedEntry, parent: ParentSite
    ) throws(Errno) -> NodeID {
        let directory = try lowerDirectory(of: parent, layer: layer)
        let status = try withLowerDirectory(directory) { (descriptor) throws(Errno) in try descriptor.status(at: name) }
        let inode = layers.unionInode(device: layers.lowerDevice(layer), inode: status.inode)
        if kind != .directory, status.linkCount > 1, let existing = nodesByInode[inode], nodes[existing]?.kind == kind {
            attach(existing, to: parent.id, as: name)
            return existing
        }
        let id = allocateNodeID()
        var record = NodeRecord(id: id, parent: parent.id, name: name, kind: kind, inode: inode, inUpper: false)
        record.lowerStatus = status
        if kind == .directory {
            var stack: [LowerDirectory] = []
            for mergeLayer in entry.mergeLayers {
                stack.append(try lowerDirectory(of: parent, layer: mergeLayer).appending(name))
            }
            record.lowerStack = stack
        } else {
            record.lowerObject = LowerObject(directory: directory, name: name)
            if status.linkCount > 1 {
                nodesByInode[inode] = id
                // Another name of this group came up earlier: every name now shows the index inode.
                let key = String(inode)
                if let index = layers.upper?.index, (try? index.status(at: key)) != nil {
                    record.inUpper = true
                    record.indexKey = key
                    record.metacopy = readPrivate(\.metacopy, at: key, in: index) != nil
                }
            }
        }
        nodes[id] = record
        attach(id, to: parent.id, as: name)
        return id
    }

    private mutating func makeUpperNode(
        _ name: String, kind: FileKind, entry: MergedEntry, parent: ParentSite
    ) throws(Errno) -> NodeID {
        let upper = try upperLayer()
        let parentDirectory = try openUpperDirectory(parent.id)
        defer { try? parentDirectory.close() }
        let status = try parentDirectory.status(at: name)
        let marks = PrivateMarks.read(at: name, in: parentDirectory)
        let inode = marks.origin ?? layers.unionInode(device: upper.device, inode: status.inode)
        if kind != .directory, let existing = nodesByInode[inode], nodes[existing]?.kind == kind {
            attach(existing, to: parent.id, as: name)
            return existing
        }
        let id = allocateNodeID()
        var record = NodeRecord(id: id, parent: parent.id, name: name, kind: kind, inode: inode, inUpper: true)
        let redirect = marks.redirect
        if kind == .directory {
            let opaque = entry.upperWhiteout != nil || marks.isOpaque
                || Self.holdsOpaqueMarker(name, in: parentDirectory)
            if opaque {
                record.lowerStack = []
            } else if let redirect {
                record.redirect = redirect
                record.lowerStack = resolveRedirect(redirect, parent: parent)
            } else {
                var stack: [LowerDirectory] = []
                for mergeLayer in entry.mergeLayers {
                    stack.append(try lowerDirectory(of: parent, layer: mergeLayer).appending(name))
                }
                record.lowerStack = stack
            }
        } else {
            if kind == .regular, marks.metacopy {
                record.metacopy = true
                record.redirect = redirect
                guard let source = try metacopySource(name, redirect: redirect, entry: entry, parent: parent) else {
                    // The kernel refuses a metacopy file whose data cannot be found: so do we.
                    throw Errno.ioError
                }
                record.lowerObject = source
                record.lowerStatus = try withLowerDirectory(source.directory) { (descriptor) throws(Errno) in
                    try descriptor.status(at: source.name)
                }
            }
            let key = String(inode)
            if status.linkCount > 1, let indexStatus = try? upper.index.status(at: key), indexStatus.inode == status.inode {
                record.indexKey = key
            }
            nodesByInode[inode] = id
        }
        nodes[id] = record
        attach(id, to: parent.id, as: name)
        return id
    }

    /// Where a metadata-only upper file finds its data: the lower object its redirect names, else
    /// the same name in the lower layers below.
    private func metacopySource(
        _ name: String, redirect: String?, entry: MergedEntry, parent: ParentSite
    ) throws(Errno) -> LowerObject? {
        if let redirect, redirect.hasNamePrefix("/") {
            let components = Self.components(of: redirect)
            guard let last = components.last else { return nil }
            let directoryPath = components.dropLast().joined(separator: "/")
            for layer in layers.lowers {
                let directory = LowerDirectory(layer: layer.index, path: directoryPath)
                if let status = try? withLowerDirectory(directory, { (d) throws(Errno) in try d.status(at: last) }),
                    status.kind == .regular
                {
                    return LowerObject(directory: directory, name: last)
                }
            }
            return nil
        }
        let sourceName = redirect ?? name
        if redirect == nil, let layer = entry.lowerLayer, entry.lowerKind == .regular {
            return LowerObject(directory: try lowerDirectory(of: parent, layer: layer), name: name)
        }
        for directory in parent.lowerStack {
            if let status = try? withLowerDirectory(directory, { (d) throws(Errno) in try d.status(at: sourceName) }),
                status.kind == .regular
            {
                return LowerObject(directory: directory, name: sourceName)
            }
        }
        return nil
    }

    /// The lower directories a redirected directory merges with, in the layers below `layer` (all
    /// lowers for a redirect read in the upper layer).
    ///
    /// An absolute redirect (`/a/b`) is looked up from the root of each of those layers; a relative one
    /// names a sibling in the parent's lower directories (kernel `redirect_dir`). A non-directory or a
    /// symlink in the way ends the merge, as a non-directory would.
    func resolveRedirect(_ redirect: String, parent: ParentSite, below layer: Int = -1) -> [LowerDirectory] {
        var candidates: [LowerDirectory] = []
        if redirect.hasNamePrefix("/") {
            let path = Self.components(of: redirect).joined(separator: "/")
            for lower in layers.lowers where lower.index > layer {
                candidates.append(LowerDirectory(layer: lower.index, path: path))
            }
        } else {
            candidates = parent.lowerStack.filter { $0.layer > layer }.map { $0.appending(redirect) }
        }
        var stack: [LowerDirectory] = []
        for candidate in candidates {
            let kind: FileKind?
            do {
                kind = try layers.lowers[candidate.layer].root.open(
                    beneath: candidate.path, flags: openPathDirectory
                ).closeAfterStatus()
            } catch where error == .noSuchFileOrDirectory {
                continue
            } catch {
                break
            }
            guard kind == .directory else { break }
            stack.append(candidate)
        }
        return stack
    }

    /// Whether the upper directory `name` inside `parent` is opaque.
    func isOpaqueDirectory(_ name: String, in parent: FileDescriptor) -> Bool {
        if PrivateMarks.read(at: name, in: parent).isOpaque { return true }
        return Self.holdsOpaqueMarker(name, in: parent)
    }

    /// Whether the directory `name` in `parent` holds an OCI opaque marker; the directory is opened
    /// without following a symlink, like every other step into a layer.
    static func holdsOpaqueMarker(_ name: String, in parent: FileDescriptor) -> Bool {
        guard let directory = try? parent.open(beneath: name, flags: openPathDirectory) else { return false }
        defer { try? directory.close() }
        return (try? directory.status(at: PrivateNames.opaqueMarker)) != nil
    }

    /// A private attribute of `name` in `directory`, read in both namespaces.
    func readPrivate(_ key: KeyPath<MetadataAttributes, String>, at name: String, in directory: FileDescriptor)
        -> String?
    {
        LayerDirectory.attribute(key, of: directory, at: name)
    }
}

extension FileDescriptor {
    /// Reads the type of what this descriptor refers to, then closes it.
    func closeAfterStatus() throws(Errno) -> FileKind? {
        defer { try? close() }
        return try status().kind
    }
}
