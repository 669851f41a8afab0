extension Engine {
    /// Makes sure node `id` has an upper copy, copying its parents first.
    ///
    /// A directory comes up empty, with its own metadata (its lower children stay merged). A
    /// non-directory is built in the work directory — data (reflink, else `copy_file_range` over the
    /// data segments so holes stay holes), owner, extended attributes except private ones, mode, times —
    /// and renamed into place, so no reader ever sees a half-copied file. Without `withData`, a
    /// regular file comes up as metadata only: a sparse file of the right size marked
    /// `overlay.metacopy`, whose data still comes from the lower copy; a later call with `withData`
    /// fills it in place and drops the mark only once the data is on disk.
    ///
    /// Throws `EROFS` without an upper layer, `ENOENT` for a node that lost its name.
    mutating func copyUp(_ id: NodeID, withData: Bool = false, prebuilt: String? = nil) throws(Errno) {
        let record = try record(id)
        if record.inUpper {
            if withData && record.metacopy { try completeMetacopy(record) }
            return
        }
        let upper = try upperLayer()
        guard let parent = record.parent else { throw Errno.noSuchFileOrDirectory }
        try copyUp(parent)
        let group = isLowerHardLinkGroup(record)
        let temporary = try buildCopy(of: record, withData: withData, prebuilt: prebuilt)
        let parentDirectory = try openUpperDirectory(parent)
        defer { try? parentDirectory.close() }
        do throws(Errno) {
            if group {
                // The index entry is the group's upper inode: later copy-ups of its other names link it.
                try upper.temporaries.createHardLink(from: temporary, to: upper.index, as: indexKey(of: record))
            }
            // A copy-up is not a change of the parent: its times stay as they were (the kernel does the same).
            let parentStatus = try parentDirectory.status()
            try upper.temporaries.rename(temporary, to: parentDirectory, as: record.name, flags: .noReplace)
            try? parentDirectory.setTimes(
                access: parentStatus.accessTime, modification: parentStatus.modificationTime)
        } catch {
            removeTemporary(temporary)
            if group { try? upper.index.remove(at: indexKey(of: record)) }
            throw error
        }
        nodes[id]?.inUpper = true
        nodes[id]?.metacopy = !withData && record.kind == .regular
        if group {
            let key = indexKey(of: record)
            nodes[id]?.indexKey = key
            storeLinkCount(id, record.lowerStatus?.linkCount)
        }
        if !record.isDirectory { nodesByInode[record.inode] = id }
        nodes[parent]?.directory?.entries[record.name]?.layer = .upper
    }

    /// Builds the upper copy of a lower object in the work directory and returns its temporary name.
    private mutating func buildCopy(of record: NodeRecord, withData: Bool, prebuilt: String? = nil) throws(Errno)
        -> String
    {
        let upper = try upperLayer()
        let temporary = prebuilt ?? makeTemporaryName()
        let metadataOnly = !withData && record.kind == .regular
        do throws(Errno) {
            if record.isDirectory {
                guard let source = record.lowerStack.first, let status = record.lowerStatus else { throw Errno.ioError }
                try upper.temporaries.createDirectory(at: temporary, permissions: 0o700)
                try withLowerDirectory(source) { (directory) throws(Errno) in
                    try copyMetadata(from: directory, "", to: upper.temporaries, temporary, status: status, record: record)
                }
            } else {
                guard let source = record.lowerObject, let status = record.lowerStatus else { throw Errno.ioError }
                try withLowerDirectory(source.directory) { (directory) throws(Errno) in
                    // A prebuilt temporary already holds the data, copied outside the engine lock.
                    if prebuilt == nil {
                        try createCopy(
                            of: source.name, in: directory, status: status, kind: record.kind,
                            metadataOnly: metadataOnly, at: temporary, in: upper.temporaries)
                    }
                    try copyMetadata(
                        from: directory, source.name, to: upper.temporaries, temporary, status: status, record: record,
                        metacopy: metadataOnly)
                }
            }
        } catch {
            removeTemporary(temporary)
            throw error
        }
        return temporary
    }

    private func removeTemporary(_ temporary: String) {
        guard let upper = layers.upper, let status = try? upper.temporaries.status(at: temporary) else { return }
        try? RecursiveRemoval.remove(temporary, in: upper.temporaries, status: status)
    }

    // MARK: Hard-link groups

    /// A non-directory that a lower layer holds under several names: its names must stay one inode
    /// when they come up (the kernel needs `index=on` for this; Strata always does it).
    func isLowerHardLinkGroup(_ record: NodeRecord) -> Bool {
        !record.isDirectory && !record.inUpper && (record.lowerStatus?.linkCount ?? 1) > 1
    }

    func indexKey(of record: NodeRecord) -> String { String(record.inode) }

    /// Brings a lower hard-link group into the index without giving the current name an upper link,
    /// so its link count can be kept before one of its names is removed or renamed over (as the
    /// kernel's `ovl_nlink_start`). Metadata only: no data moves.
    mutating func ensureIndexed(_ id: NodeID) throws(Errno) {
        let record = try record(id)
        guard isLowerHardLinkGroup(record) else { return }
        let upper = try upperLayer()
        let key = indexKey(of: record)
        let temporary = try buildCopy(of: record, withData: false)
        do throws(Errno) {
            try upper.temporaries.createHardLink(from: temporary, to: upper.index, as: key)
        } catch {
            removeTemporary(temporary)
            throw error
        }
        removeTemporary(temporary)
        nodes[id]?.inUpper = true
        nodes[id]?.metacopy = record.kind == .regular
        nodes[id]?.indexKey = key
        nodesByInode[record.inode] = id
        storeLinkCount(id, record.lowerStatus?.linkCount)
    }


    /// Makes sure the current name of node `id` exists in the upper layer, for operations on the name
    /// itself (rename, link). Metadata and data changes of an indexed group go to its index inode and
    /// need no upper name, as in the kernel; this links one on demand.
    mutating func copyUpName(_ id: NodeID, withData: Bool = false) throws(Errno) {
        try copyUp(id, withData: withData)
        let record = try record(id)
        guard let key = record.indexKey, let parent = record.parent,
            let entry = nodes[parent]?.directory?.entries[record.name], entry.layer != .upper
        else { return }
        try copyUp(parent)
        let upper = try upperLayer()
        let linkCount = mergedLinkCount(id)
        try withUpperDirectory(parent) { (directory) throws(Errno) in
            let parentStatus = try directory.status()
            try upper.index.createHardLink(from: key, to: directory, as: record.name)
            try? directory.setTimes(access: parentStatus.accessTime, modification: parentStatus.modificationTime)
        }
        nodes[parent]?.directory?.entries[record.name]?.layer = .upper
        storeLinkCount(id, linkCount)
    }

    /// The merged link count of an indexed group; nil for anything else.
    func mergedLinkCount(_ id: NodeID) -> UInt64? {
        guard let record = nodes[id], let key = record.indexKey, let upper = layers.upper,
            let real = try? upper.index.status(at: key).linkCount
        else { return nil }
        guard let stored = readPrivate(\.linkCount, at: key, in: upper.index) else { return real }
        return Self.linkCount(stored, upper: real, lower: record.lowerStatus?.linkCount) ?? real
    }

    /// Records the merged link count of an indexed group relative to its upper inode's own count
    /// (`U+N`), as the kernel does after every change of its names. Call with the count taken before
    /// the change plus the change.
    func storeLinkCount(_ id: NodeID, _ merged: UInt64?) {
        guard let merged, let key = nodes[id]?.indexKey, let upper = layers.upper,
            let real = try? upper.index.status(at: key).linkCount
        else { return }
        let relative = Int64(merged) - Int64(real)
        let value = "U" + (relative >= 0 ? "+" : "") + String(relative)
        try? upper.index.setExtendedAttribute(attributes.linkCount, to: Array(value.utf8), at: key)
    }

    /// Creates the object of a copy-up in the work directory: the file with its data (or only its
    /// size), the symlink with its target, or the device, fifo or socket node.
    private func createCopy(
        of name: String, in directory: FileDescriptor, status: FileStatus, kind: FileKind, metadataOnly: Bool,
        at temporary: String, in work: FileDescriptor
    ) throws(Errno) {
        switch kind {
        case .regular:
            let target = try work.open(
                at: temporary, flags: openCreate | openExclusive | openWriteOnly, permissions: 0o600)
            defer { try? target.close() }
            if metadataOnly {
                try target.truncate(to: status.size)
            } else {
                let source = try directory.open(at: name, flags: openReadOnly)
                defer { try? source.close() }
                try DataCopy.copy(from: source, to: target, size: status.size)
                if layers.durability == .synchronous { try target.synchronize() }
            }
        case .symbolicLink:
            try work.createSymbolicLink(at: temporary, target: try directory.readSymbolicLink(at: name))
        case .directory:
            throw Errno.isDirectory
        default:
            try work.createNode(at: temporary, mode: kind.modeBits | 0o600, device: status.specialDevice)
        }
    }

    /// Owner, extended attributes (private ones excluded), the origin and metacopy marks, then mode
    /// and times: the mode comes after the attributes so a read-only object can still be given them,
    /// and after `chown`, which clears set-user-ID bits.
    func copyMetadata(
        from sourceDirectory: FileDescriptor, _ sourceName: String, to targetDirectory: FileDescriptor,
        _ targetName: String, status: FileStatus, record: NodeRecord, metacopy: Bool = false
    ) throws(Errno) {
        do {
            try targetDirectory.setOwner(at: targetName, user: status.user, group: status.group)
        } catch where error == .notPermitted && !isPrivileged {
            // Rootless: the copy keeps the caller's ownership, as with `cp -a` by a user.
        }
        try copyExtendedAttributes(from: sourceDirectory, sourceName, to: targetDirectory, targetName)
        try targetDirectory.setExtendedAttribute(
            attributes.origin, to: Array(String(record.inode).utf8), at: targetName)
        if metacopy { try targetDirectory.setExtendedAttribute(attributes.metacopy, to: [], at: targetName) }
        if record.kind != .symbolicLink { try targetDirectory.setPermissions(at: targetName, status.permissions) }
        try targetDirectory.setTimes(at: targetName, access: status.accessTime, modification: status.modificationTime)
    }

    func copyExtendedAttributes(
        from sourceDirectory: FileDescriptor, _ sourceName: String, to targetDirectory: FileDescriptor,
        _ targetName: String
    ) throws(Errno) {
        let names: [String]
        do {
            names = try sourceDirectory.extendedAttributeNames(at: sourceName)
        } catch where error == .notSupported || error == .notPermitted {
            return
        }
        for name in names where !PrivateNames.isPrivateAttribute(name) {
            guard let value = try? sourceDirectory.extendedAttribute(name, at: sourceName) else { continue }
            do {
                try targetDirectory.setExtendedAttribute(name, to: value, at: targetName)
            } catch where error == .notSupported || (error == .notPermitted && !isPrivileged) {
                // An attribute the upper filesystem or an unprivileged caller cannot hold (security.*,
                // trusted.*): the kernel skips these too.
            }
        }
    }

    /// Fills a metadata-only upper file with its lower data, in place so its hard links stay linked;
    /// the metacopy mark goes only after the data is synced, so a crash leaves the lower data in view.
    private mutating func completeMetacopy(_ record: NodeRecord) throws(Errno) {
        guard let source = record.lowerObject, let status = record.lowerStatus else {
            throw Errno.noSuchFileOrDirectory
        }
        try withUpperObject(record.id) { (directory, name) throws(Errno) in
            let target = try directory.open(at: name, flags: openWriteOnly)
            defer { try? target.close() }
            let size = try target.status().size
            try withLowerDirectory(source.directory) { (lowerDirectory) throws(Errno) in
                let data = try lowerDirectory.open(at: source.name, flags: openReadOnly)
                defer { try? data.close() }
                try DataCopy.copy(from: data, to: target, size: min(size, status.size))
            }
            try target.truncate(to: size)
            if layers.durability == .synchronous { try target.synchronize() }
            // The redirect stays, as the kernel leaves it: it records where the file came from.
            for namespace in MetadataAttributes.all {
                try? directory.removeExtendedAttribute(namespace.metacopy, at: name)
            }
        }
        nodes[record.id]?.metacopy = false
    }
}
