extension Engine {
    /// Renames `name` in `oldParent` to `newName` in `newParent`, as `renameat2(2)` with
    /// `RENAME_NOREPLACE` or `RENAME_EXCHANGE`.
    ///
    /// Directories that exist in lower layers are renamed, never refused with `EXDEV`: the directory
    /// is copied up alone (not its children) and given an `overlay.redirect` naming its lower path, as
    /// the kernel does with `redirect_dir=on`; the cost is one `mkdir` and a few xattrs, whatever the
    /// size of the tree. A lower regular file comes up as metadata only with a redirect to its data
    /// (kernel `metacopy=on`). The old name gets a whiteout when a lower layer holds it.
    ///
    /// Throws `ENOENT`, `EEXIST` (no-replace), `ENOTDIR`, `EISDIR`, `ENOTEMPTY`, `EINVAL` (a directory
    /// into itself, bad flags, a marker name), `EBUSY` (`.`, `..`, the root), `EROFS`.
    /// Serves FUSE `RENAME`/`RENAME2`.
    mutating func rename(
        _ name: String, in oldParent: NodeID, to newName: String, in newParent: NodeID, flags: RenameFlags
    ) throws(Errno) {
        let exchange = flags.contains(.exchange)
        guard flags.subtracting([.exchange, .noReplace]).isEmpty, !(exchange && flags.contains(.noReplace)) else {
            throw Errno.invalidArgument
        }
        if name == "." || name == ".." || newName == "." || newName == ".." { throw Errno.resourceBusy }
        guard let source = try entry(name, in: oldParent), let sourceKind = source.kind else {
            throw Errno.noSuchFileOrDirectory
        }
        try Self.validateNewName(newName)
        let sourceNode = try lookup(name, in: oldParent)
        let target = try entry(newName, in: newParent)
        let targetVisible = target?.kind != nil
        if exchange && !targetVisible { throw Errno.noSuchFileOrDirectory }
        if flags.contains(.noReplace) && targetVisible { throw Errno.fileExists }
        var targetNode: NodeID?
        if targetVisible {
            let node = try lookup(newName, in: newParent)
            if node == sourceNode { return }
            targetNode = node
        }
        if sourceKind == .directory && isAncestor(sourceNode, of: newParent) { throw Errno.invalidArgument }
        if let targetNode, target?.kind == .directory, isAncestor(targetNode, of: oldParent) {
            throw Errno.directoryNotEmpty
        }
        try checkRemoval(of: sourceNode, from: oldParent)
        if let targetNode { try checkRemoval(of: targetNode, from: newParent) } else { try checkDirectoryChange(newParent) }
        if sourceKind == .directory && oldParent != newParent { try checkAccess(of: sourceNode, .write) }
        if exchange, target?.kind == .directory, let targetNode, isAncestor(targetNode, of: oldParent) {
            throw Errno.invalidArgument
        }
        // An upper-only target directory is found non-empty by the real rename, after the kernel has
        // already copied the source up and given it its redirect: that order is kept (the rename below
        // fails with ENOTEMPTY), so the upper directory matches the kernel's even when it fails.
        var targetNotEmpty = false
        if targetVisible && !exchange, let targetKind = target?.kind, let targetNode {
            if sourceKind == .directory {
                guard targetKind == .directory else { throw Errno.notDirectory }
                try loadDirectory(targetNode)
                if !(nodes[targetNode]?.directory?.isEmpty ?? true) {
                    guard target?.layer == .upper && nodes[targetNode]?.lowerStack.isEmpty == true else {
                        throw Errno.directoryNotEmpty
                    }
                    targetNotEmpty = true
                }
            } else if targetKind == .directory {
                throw Errno.isDirectory
            }
        }
        let upper = try upperLayer()
        try copyUp(oldParent)
        try copyUp(newParent)
        let replacesTarget = targetVisible && !exchange
        if replacesTarget, let targetNode, target?.kind != .directory { try ensureIndexed(targetNode) }
        let targetLinkCount = targetNode.flatMap { mergedLinkCount($0) }
        try prepareForMove(sourceNode, from: oldParent, name: name, to: newParent, newName: newName, target: target)
        if exchange, let targetNode {
            try prepareForMove(targetNode, from: newParent, name: newName, to: oldParent, newName: name, target: source)
        }

        let oldDirectory = try openUpperDirectory(oldParent)
        defer { try? oldDirectory.close() }
        let newDirectory = try openUpperDirectory(newParent)
        defer { try? newDirectory.close() }

        if exchange {
            try oldDirectory.rename(name, to: newDirectory, as: newName, flags: .exchange)
        } else {
            // A non-empty upper-only target is left to the real rename, which answers ENOTEMPTY with the
            // upper filesystem's side effects, as under the kernel.
            if targetVisible, target?.kind == .directory, target?.layer == .upper, !targetNotEmpty {
                try emptyUpperDirectory(newName, in: newDirectory, upper: upper)
            }
            let overWhiteout = !targetVisible && target?.upperWhiteout == .inPlace
            let leaveWhiteout = source.lowerPresent && source.upperWhiteout != .ociFile
            if overWhiteout {
                // Swap with the whiteout: it lands on the old name, where it is either wanted or removed.
                try oldDirectory.rename(name, to: newDirectory, as: newName, flags: .exchange)
                if !leaveWhiteout { try oldDirectory.remove(at: name) }
                if layers.format == .oci && leaveWhiteout {
                    try writeWhiteout(name, in: oldDirectory)
                    try oldDirectory.remove(at: name)
                }
            } else if leaveWhiteout {
                switch layers.format {
                case .overlay:
                    let renameFlags: RenameFlags = targetVisible && target?.layer == .upper ? .whiteout : [.whiteout, .noReplace]
                    try oldDirectory.rename(name, to: newDirectory, as: newName, flags: renameFlags)
                case .oci:
                    try writeWhiteout(name, in: oldDirectory)
                    try oldDirectory.rename(name, to: newDirectory, as: newName)
                }
            } else {
                try oldDirectory.rename(name, to: newDirectory, as: newName)
            }
            if target?.upperWhiteout == .ociFile {
                try? newDirectory.remove(at: PrivateNames.whiteoutPrefix + newName)
            }
        }
        if replacesTarget, let targetNode { storeLinkCount(targetNode, targetLinkCount.map { $0 - 1 }) }
        updateAfterRename(
            sourceNode, source: source, name: name, in: oldParent, targetNode: targetNode, target: target,
            newName: newName, in: newParent, exchange: exchange)
    }

    /// Whether `ancestor` is `node` or one of its parents.
    func isAncestor(_ ancestor: NodeID, of node: NodeID) -> Bool {
        var current: NodeID? = node
        while let id = current {
            if id == ancestor { return true }
            current = nodes[id]?.parent
        }
        return false
    }

    /// Copies up what is about to move and records how it keeps (or loses) its lower contents under
    /// the new name, as the kernel's `ovl_rename`: a redirect for a directory that merges with lower
    /// ones or a metadata-only file whose data is below; an opaque mark for an upper-only directory
    /// landing in a merged directory (so no lower directory of the new name merges in).
    private mutating func prepareForMove(
        _ node: NodeID, from oldParent: NodeID, name: String, to newParent: NodeID, newName: String,
        target: MergedEntry?
    ) throws(Errno) {
        try copyUpName(node)
        let record = try self.record(node)
        let upperDirectory = try openUpperDirectory(oldParent)
        defer { try? upperDirectory.close() }
        let samedir = oldParent == newParent
        let mergesBelow = record.isDirectory ? !record.lowerStack.isEmpty : record.metacopy
        if mergesBelow {
            // Absolute when moving to another directory, and always for a lower hard link (its other
            // names may live anywhere); relative (the old name) otherwise. A redirect already good
            // enough stays.
            let absolute = !samedir || (!record.isDirectory && (record.lowerStatus?.linkCount ?? 1) > 1)
            if let existing = record.redirect, !absolute || existing.hasNamePrefix("/") { return }
            let redirect = absolute ? "/" + joinPath(lowerPath(of: oldParent), record.redirect ?? name) : name
            try upperDirectory.setExtendedAttribute(attributes.redirect, to: Array(redirect.utf8), at: name)
            nodes[node]?.redirect = redirect
        } else if record.isDirectory, !isOpaqueDirectory(name, in: upperDirectory) {
            let landsOnLowerName = target?.lowerPresent ?? false
            let newParentMerges = !(nodes[newParent]?.lowerStack.isEmpty ?? true)
            if landsOnLowerName || (newParentMerges && layers.format == .overlay) {
                try markOpaque(name, in: upperDirectory)
            }
        }
    }

    /// The path a directory of the union has in the lower layers: its ancestors' names, or their
    /// redirects where they were renamed (what the kernel's `ovl_get_redirect` composes).
    func lowerPath(of id: NodeID) -> String {
        guard id != .root, let record = nodes[id], let parent = record.parent else { return "" }
        if let redirect = record.redirect {
            if redirect.hasNamePrefix("/") { return String(decoding: redirect.utf8.drop { $0 == UInt8(ascii: "/") }, as: UTF8.self) }
            return joinPath(lowerPath(of: parent), redirect)
        }
        return joinPath(lowerPath(of: parent), record.name)
    }

    /// Replaces a merged-empty upper directory that still holds markers with an empty opaque one, so
    /// `rename(2)` can replace it: swapped in whole, so its lower children never show.
    private mutating func emptyUpperDirectory(_ name: String, in directory: FileDescriptor, upper: UpperLayer)
        throws(Errno)
    {
        let inner = try directory.open(beneath: name, flags: openReadOnlyDirectory)
        let isEmpty = try inner.readDirectoryRecords().isEmpty
        try? inner.close()
        guard !isEmpty else { return }
        let temporary = makeTemporaryName()
        try upper.temporaries.createDirectory(at: temporary, permissions: 0o700)
        try markOpaque(temporary, in: upper.temporaries)
        try upper.temporaries.rename(temporary, to: directory, as: name, flags: .exchange)
        let status = try upper.temporaries.status(at: temporary)
        try RecursiveRemoval.remove(temporary, in: upper.temporaries, status: status)
    }

    private mutating func updateAfterRename(
        _ sourceNode: NodeID, source: MergedEntry, name: String, in oldParent: NodeID, targetNode: NodeID?,
        target: MergedEntry?, newName: String, in newParent: NodeID, exchange: Bool
    ) {
        var moved = source
        moved.layer = .upper
        moved.lowerLayer = target?.lowerLayer
        moved.lowerKind = target?.lowerKind
        moved.upperWhiteout = nil
        moved.mergeLayers = []
        if let order = target?.order {
            moved.order = order
        } else if let next = nodes[newParent]?.directory?.nextUpperOrder {
            moved.order = MergedDirectory.order(rank: 0, position: Int(next))
            nodes[newParent]?.directory?.nextUpperOrder = next + 1
        }
        if let targetNode, !exchange {
            detachName(targetNode, from: newParent, name: newName)
        }
        if exchange, let target, let targetNode {
            var swapped = target
            swapped.layer = .upper
            swapped.lowerLayer = source.lowerLayer
            swapped.lowerKind = source.lowerKind
            swapped.upperWhiteout = nil
            swapped.mergeLayers = []
            swapped.order = source.order
            nodes[oldParent]?.directory?.entries[name] = swapped
            nodes[oldParent]?.children[name] = targetNode
            move(targetNode, from: NameLocation(parent: newParent, name: newName), to: oldParent, as: name)
        } else if source.lowerPresent {
            nodes[oldParent]?.directory?.entries[name] = MergedEntry(
                kind: nil, layer: .upper, inode: 0, lowerLayer: source.lowerLayer, lowerKind: source.lowerKind,
                upperWhiteout: source.upperWhiteout ?? (layers.format == .overlay ? .inPlace : .ociFile), mergeLayers: [],
                order: source.order)
            nodes[oldParent]?.children[name] = nil
        } else {
            nodes[oldParent]?.directory?.entries[name] = nil
            nodes[oldParent]?.children[name] = nil
        }
        nodes[newParent]?.directory?.entries[newName] = moved
        nodes[newParent]?.children[newName] = sourceNode
        move(sourceNode, from: NameLocation(parent: oldParent, name: name), to: newParent, as: newName)
    }
}
