extension Engine {
    /// Removes `name` from directory `parent`: `unlink(2)` or, with `directory`, `rmdir(2)`.
    ///
    /// Where a lower layer also holds the name, a whiteout takes its place (an upper object is swapped
    /// with the whiteout in one `renameat2(RENAME_EXCHANGE)`, so the lower object never shows
    /// through); `rmdir` checks that the *merged* directory is empty.
    ///
    /// Throws `ENOENT`, `EISDIR` (unlink of a directory), `ENOTDIR` (rmdir of a non-directory),
    /// `ENOTEMPTY`, `EBUSY` for the root, `EROFS` without an upper layer.
    /// Serves FUSE `UNLINK` and `RMDIR`.
    mutating func remove(_ name: String, in parent: NodeID, directory: Bool) throws(Errno) {
        if name == "." { throw Errno.invalidArgument }
        if name == ".." { throw Errno.directoryNotEmpty }
        guard let entry = try self.entry(name, in: parent), let kind = entry.kind else {
            throw Errno.noSuchFileOrDirectory
        }
        let child = try lookup(name, in: parent)
        try checkRemoval(of: child, from: parent)
        if directory {
            guard kind == .directory else { throw Errno.notDirectory }
            try loadDirectory(child)
            guard nodes[child]?.directory?.isEmpty ?? true else { throw Errno.directoryNotEmpty }
        } else if kind == .directory {
            throw Errno.isDirectory
        }
        _ = try upperLayer()
        try copyUp(parent)
        if !directory { try ensureIndexed(child) }
        let linkCount = mergedLinkCount(child)
        try withUpperDirectory(parent) { (parentDirectory) throws(Errno) in
            try removeObject(name, entry: entry, in: parentDirectory)
        }
        storeLinkCount(child, linkCount.map { $0 - 1 })
        detach(child, from: parent, name: name, leavingWhiteout: entry.lowerPresent)
    }

    /// Takes `name` out of the upper directory, leaving a whiteout if a lower layer holds the name.
    mutating func removeObject(_ name: String, entry: MergedEntry, in parentDirectory: FileDescriptor) throws(Errno) {
        let upper = try upperLayer()
        switch (entry.layer, entry.lowerPresent) {
        case (.upper, false):
            try removeUpperObject(name, in: parentDirectory)
        case (.upper, true) where entry.upperWhiteout == .ociFile:
            // The whiteout is already beside it.
            try removeUpperObject(name, in: parentDirectory)
        case (.upper, true):
            switch layers.format {
            case .overlay:
                let temporary = makeTemporaryName()
                try upper.whiteouts.make(at: temporary, in: upper.temporaries)
                do {
                    try upper.temporaries.rename(temporary, to: parentDirectory, as: name, flags: .exchange)
                } catch {
                    try? upper.temporaries.remove(at: temporary)
                    throw error
                }
                try removeUpperObject(temporary, in: upper.temporaries)
            case .oci:
                try writeWhiteout(name, in: parentDirectory)
                try removeUpperObject(name, in: parentDirectory)
            }
        case (.lower, _):
            try writeWhiteout(name, in: parentDirectory)
        }
    }

    private func removeUpperObject(_ name: String, in directory: FileDescriptor) throws(Errno) {
        let status = try directory.status(at: name)
        try RecursiveRemoval.remove(name, in: directory, status: status)
    }

    /// Writes a whiteout for `name` into the upper directory, in the configured format.
    func writeWhiteout(_ name: String, in directory: FileDescriptor) throws(Errno) {
        switch layers.format {
        case .overlay:
            try upperLayer().whiteouts.make(at: name, in: directory)
        case .oci:
            do {
                let marker = try directory.open(
                    at: PrivateNames.whiteoutPrefix + name, flags: openCreate | openExclusive | openWriteOnly,
                    permissions: 0)
                try? marker.close()
            } catch where error == .fileExists {
            }
        }
    }

    /// Updates the listing and the node table after `name` left `parent`.
    mutating func detach(_ child: NodeID, from parent: NodeID, name: String, leavingWhiteout: Bool) {
        if leavingWhiteout {
            nodes[parent]?.directory?.entries[name]?.kind = nil
            nodes[parent]?.directory?.entries[name]?.layer = .upper
            nodes[parent]?.directory?.entries[name]?.mergeLayers = []
            nodes[parent]?.directory?.entries[name]?.upperWhiteout =
                layers.format == .overlay ? .inPlace : .ociFile
        } else {
            nodes[parent]?.directory?.entries[name] = nil
        }
        nodes[parent]?.children[name] = nil
        detachName(child, from: parent, name: name)
    }

    /// Drops a named node the kernel no longer refers to, with its cached subtree, unless a node below
    /// it is still referred to (its path goes through this one). Everything a record holds is read again
    /// from the layers at the next lookup — the inode number from the object or its origin mark — so the
    /// node table follows the kernel's cache instead of keeping every name ever looked up.
    mutating func releaseNamed(_ id: NodeID) {
        guard id != .root, let record = nodes[id], record.lookups == 0, !hasReferencedDescendant(id) else { return }
        var locations = record.names
        if let parent = record.parent { locations.insert(NameLocation(parent: parent, name: record.name)) }
        for location in locations where nodes[location.parent]?.children[location.name] == id {
            nodes[location.parent]?.children[location.name] = nil
        }
        forgetUnreferenced(id)
    }

    private func hasReferencedDescendant(_ id: NodeID) -> Bool {
        guard let record = nodes[id] else { return false }
        for child in record.children.values where nodes[child]?.parent == id {
            if (nodes[child]?.lookups ?? 0) > 0 || hasReferencedDescendant(child) { return true }
        }
        return false
    }

    /// Drops a node nobody refers to any more, and its cached subtree.
    mutating func forgetUnreferenced(_ id: NodeID) {
        guard id != .root, let record = nodes[id] else { return }
        for child in record.children.values where nodes[child]?.parent == id {
            nodes[child]?.parent = nil
            if nodes[child]?.lookups == 0 { forgetUnreferenced(child) }
        }
        nodes[id] = nil
        if record.isDirectory { layers.upper?.directories.remove(id) }
        if nodesByInode[record.inode] == id { nodesByInode[record.inode] = nil }
    }
}
