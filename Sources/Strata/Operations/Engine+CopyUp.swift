/// The object a copy-up builds before it takes its place in the upper layer.
///
/// A regular file is built as an unnamed `O_TMPFILE` file and linked into place, as the kernel's
/// copy-up does: one change of the parent directory, metadata set through the descriptor, nothing
/// left behind by a crash. Directories, symlinks and special files — and regular files where the upper
/// file system has no `O_TMPFILE` — are built under a temporary name in the work directory and renamed
/// into place.
enum CopyTarget {
    /// An `O_TMPFILE` file, open for writing.
    case unnamed(FileDescriptor)
    /// An entry of the work directory (`UpperLayer.temporaries`).
    case named(String)
}

extension Engine {
    /// Makes sure node `id` has an upper copy, copying its parents first.
    ///
    /// A directory comes up empty, with its own metadata (its lower children stay merged). A
    /// non-directory is built aside (`CopyTarget`) — data (reflink, else `copy_file_range` over the
    /// data segments so holes stay holes), owner, extended attributes except private ones, mode, times —
    /// and only then given its name, so no reader ever sees a half-copied file. Without `withData`, a
    /// regular file comes up as metadata only: a sparse file of the right size marked
    /// `overlay.metacopy`, whose data still comes from the lower copy; a later call with `withData`
    /// fills it in place and drops the mark only once the data is on disk. A `prebuilt` target
    /// already holds the data (copied outside the engine lock); its descriptor stays the caller's.
    /// With `dataLimit` no byte at or past it is copied: a truncation to that size follows.
    ///
    /// With `keepingCopy` (an access mode, `O_WRONLY` or `O_RDWR`), a regular file copied whole into
    /// an unnamed file comes back open in that mode (its offset at 0): the descriptor an open for
    /// writing would make next, without looking the new name up again. Nil when nothing was copied now
    /// or the copy was built otherwise; the caller then opens the file itself.
    ///
    /// Throws `EROFS` without an upper layer, `ENOENT` for a node that lost its name.
    @discardableResult
    mutating func copyUp(
        _ id: NodeID, withData: Bool = false, prebuilt: CopyTarget? = nil, permissions: UInt32? = nil,
        dataLimit: Int64? = nil, keepingCopy keptAccess: Int32? = nil
    ) throws(Errno) -> FileDescriptor? {
        let record = try record(id)
        if record.inUpper {
            if withData && record.metacopy { try completeMetacopy(record, dataLimit: dataLimit) }
            return nil
        }
        let upper = try upperLayer()
        guard let parent = record.parent else { throw Errno.noSuchFileOrDirectory }
        try copyUp(parent)
        let group = isLowerHardLinkGroup(record)
        let keepsCopy = keptAccess != nil && withData && prebuilt == nil && record.kind == .regular
        let target = try buildCopy(
            of: record, withData: withData, prebuilt: prebuilt, permissions: permissions, dataLimit: dataLimit,
            readable: keepsCopy && keptAccess == openReadWrite)
        var kept: FileDescriptor?
        defer { if prebuilt == nil, kept == nil, case .unnamed(let file) = target { try? file.close() } }
        do throws(Errno) {
            try withUpperDirectory(parent) { (parentDirectory) throws(Errno) in
                if group {
                    // The index entry is the group's upper inode: later copy-ups of its other names link it.
                    try link(target, into: upper.index, as: indexKey(of: record))
                }
                // A copy-up is not a change of the parent: its times stay as they were (the kernel does the same).
                let parentStatus = try parentDirectory.status()
                switch target {
                case .unnamed(let file):
                    try file.createHardLink(from: "", to: parentDirectory, as: record.name)
                case .named(let temporary):
                    try upper.temporaries.rename(temporary, to: parentDirectory, as: record.name, flags: .noReplace)
                }
                try? parentDirectory.setTimes(
                    access: parentStatus.accessTime, modification: parentStatus.modificationTime)
            }
        } catch {
            discard(target)
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
        if keepsCopy, case .unnamed(let file) = target { kept = file }
        return kept
    }

    /// Builds the upper copy of a lower object aside (see `CopyTarget`) and returns it; a `prebuilt`
    /// target, which already holds the data, only gets the metadata.
    private mutating func buildCopy(
        of record: NodeRecord, withData: Bool, prebuilt: CopyTarget? = nil, permissions: UInt32? = nil,
        dataLimit: Int64? = nil, readable: Bool = false
    ) throws(Errno) -> CopyTarget {
        let upper = try upperLayer()
        let metadataOnly = !withData && record.kind == .regular
        var built = prebuilt
        do throws(Errno) {
            if record.isDirectory {
                guard let source = record.lowerStack.first, let status = record.lowerStatus else { throw Errno.ioError }
                let temporary = makeTemporaryName()
                try upper.temporaries.createDirectory(at: temporary, permissions: 0o700)
                built = .named(temporary)
                try withLowerDirectory(source) { (directory) throws(Errno) in
                    try copyMetadata(
                        from: directory, "", to: upper.temporaries, temporary, status: status, record: record,
                        permissions: permissions)
                }
            } else {
                guard let source = record.lowerObject, let status = record.lowerStatus else { throw Errno.ioError }
                try withLowerDirectory(source.directory) { (directory) throws(Errno) in
                    if built == nil {
                        built = try createCopy(
                            of: source.name, in: directory, layer: source.directory.layer, status: status,
                            kind: record.kind, metadataOnly: metadataOnly, dataLimit: dataLimit, readable: readable)
                    }
                    guard let built else { throw Errno.ioError }
                    let (targetDirectory, targetName) = metadataTarget(of: built, in: upper)
                    try copyMetadata(
                        from: directory, source.name, to: targetDirectory, targetName, status: status, record: record,
                        metacopy: metadataOnly, permissions: permissions)
                }
            }
        } catch {
            // A prebuilt unnamed file is the caller's to close; a named one goes in any case.
            if let built, prebuilt == nil || !built.isUnnamed { release(built) }
            throw error
        }
        guard let built else { throw Errno.ioError }
        return built
    }

    /// Where the `*at` calls reach a copy target: its own descriptor (empty name), or its name in
    /// the work directory.
    private func metadataTarget(of target: CopyTarget, in upper: UpperLayer) -> (FileDescriptor, String) {
        switch target {
        case .unnamed(let file): return (file, "")
        case .named(let temporary): return (upper.temporaries, temporary)
        }
    }

    /// Gives a copy target a further name (a hard link), leaving the target as it was.
    private func link(_ target: CopyTarget, into directory: FileDescriptor, as name: String) throws(Errno) {
        let upper = try upperLayer()
        switch target {
        case .unnamed(let file): try file.createHardLink(from: "", to: directory, as: name)
        case .named(let temporary): try upper.temporaries.createHardLink(from: temporary, to: directory, as: name)
        }
    }

    /// Removes a named copy target; an unnamed one vanishes when its descriptor is closed, by its owner.
    func discard(_ target: CopyTarget) {
        guard case .named(let temporary) = target, let upper = layers.upper,
            let status = try? upper.temporaries.status(at: temporary)
        else { return }
        try? RecursiveRemoval.remove(temporary, in: upper.temporaries, status: status)
    }

    /// Discards a copy target this engine made: removes a named one, closes an unnamed one.
    private func release(_ target: CopyTarget) {
        discard(target)
        if case .unnamed(let file) = target { try? file.close() }
    }

    /// A new, empty regular file to build a copy in: unnamed where the upper file system can, else
    /// named in the work directory. Returns the target and a descriptor open for writing (and reading
    /// when `readable`), which for a named target the caller closes.
    mutating func makeFileTarget(
        permissions: UInt32 = 0o600, readable: Bool = false
    ) throws(Errno) -> (target: CopyTarget, file: FileDescriptor) {
        let upper = try upperLayer()
        if !unnamedFilesRefused {
            do {
                let file = try upper.temporaries.openUnnamedFile(permissions: permissions, readable: readable)
                return (.unnamed(file), file)
            } catch where error == .notSupported || error == .isDirectory || error == .invalidArgument {
                // No O_TMPFILE on this file system (or kernel): named temporaries from now on.
                unnamedFilesRefused = true
            }
        }
        let temporary = makeTemporaryName()
        let file = try upper.temporaries.open(
            at: temporary, flags: openCreate | openExclusive | (readable ? openReadWrite : openWriteOnly),
            permissions: permissions)
        return (.named(temporary), file)
    }

    /// A new regular file without a name in the upper file system, open for reading and writing: the
    /// copy of a removed file's data (a named temporary loses its name at once where `O_TMPFILE` fails).
    mutating func makeReadableUnnamedFile(permissions: UInt32) throws(Errno) -> FileDescriptor {
        let (target, file) = try makeFileTarget(permissions: permissions, readable: true)
        if case .named(let temporary) = target { try? upperLayer().temporaries.remove(at: temporary) }
        return file
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
        let target = try buildCopy(of: record, withData: false)
        // The index link is the group's upper inode; the target itself is not needed any more.
        defer { release(target) }
        try link(target, into: upper.index, as: key)
        nodes[id]?.inUpper = true
        nodes[id]?.metacopy = record.kind == .regular
        nodes[id]?.indexKey = key
        nodesByInode[record.inode] = id
        storeLinkCount(id, record.lowerStatus?.linkCount)
    }


    /// Makes sure the current name of node `id` exists in the upper layer, for operations on the name
    /// itself (rename, link). Metadata and data changes of an indexed group go to its index inode and
    /// need no upper name, as in the kernel; this links one on demand.
    /// `keepingCopy` as for `copyUp`.
    @discardableResult
    mutating func copyUpName(
        _ id: NodeID, withData: Bool = false, permissions: UInt32? = nil, dataLimit: Int64? = nil,
        keepingCopy keptAccess: Int32? = nil
    ) throws(Errno) -> FileDescriptor? {
        let kept = try copyUp(id, withData: withData, permissions: permissions, dataLimit: dataLimit, keepingCopy: keptAccess)
        do throws(Errno) {
            try linkIndexedName(id)
        } catch {
            try? kept?.close()
            throw error
        }
        return kept
    }

    /// Links the current name of an indexed node into the upper layer if it is not there yet.
    private mutating func linkIndexedName(_ id: NodeID) throws(Errno) {
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

    /// Creates the object of a copy-up: the file with its data (or only its size), the symlink with
    /// its target, or the device, fifo or socket node.
    private mutating func createCopy(
        of name: String, in directory: FileDescriptor, layer: Int, status: FileStatus, kind: FileKind,
        metadataOnly: Bool, dataLimit: Int64?, readable: Bool
    ) throws(Errno) -> CopyTarget {
        let upper = try upperLayer()
        switch kind {
        case .regular:
            let (target, file) = try makeFileTarget(readable: readable)
            defer { if !target.isUnnamed { try? file.close() } }
            do throws(Errno) {
                if metadataOnly {
                    try file.truncate(to: status.size)
                } else {
                    let source = try directory.open(at: name, flags: openReadOnly)
                    defer { try? source.close() }
                    let cloneRefused = try DataCopy.copy(
                        from: source, to: file, size: Self.bytesKept(of: status.size, limit: dataLimit),
                        sparse: status.mayHaveHoles,
                        cloning: !clonesRefused.contains(layer))
                    if cloneRefused { clonesRefused.insert(layer) }
                    if layers.durability == .synchronous { try file.synchronize() }
                }
            } catch {
                release(target)
                throw error
            }
            return target
        case .symbolicLink:
            let temporary = makeTemporaryName()
            try upper.temporaries.createSymbolicLink(at: temporary, target: try directory.readSymbolicLink(at: name))
            return .named(temporary)
        case .directory:
            throw Errno.isDirectory
        default:
            let temporary = makeTemporaryName()
            try upper.temporaries.createNode(
                at: temporary, mode: kind.modeBits | 0o600, device: status.specialDevice)
            return .named(temporary)
        }
    }

    /// Owner, extended attributes (private ones excluded), the origin and metacopy marks, then mode
    /// and times: the mode comes after the attributes so a read-only object can still be given them,
    /// and after `chown`, which clears set-user-ID bits. `permissions`, when given, replace the lower
    /// object's (a chmod that brings the object up sets its mode once).
    func copyMetadata(
        from sourceDirectory: FileDescriptor, _ sourceName: String, to targetDirectory: FileDescriptor,
        _ targetName: String, status: FileStatus, record: NodeRecord, metacopy: Bool = false,
        permissions: UInt32? = nil
    ) throws(Errno) {
        let madeBy = layers.upper?.temporaryOwner
        if madeBy?.user != status.user || madeBy?.group != status.group {
            do {
                try targetDirectory.setOwner(at: targetName, user: status.user, group: status.group)
            } catch where error == .notPermitted && !isPrivileged {
                // Rootless: the copy keeps the caller's ownership, as with `cp -a` by a user.
            }
        }
        try copyExtendedAttributes(from: sourceDirectory, sourceName, to: targetDirectory, targetName)
        try targetDirectory.setExtendedAttribute(
            attributes.origin, to: Array(String(record.inode).utf8), at: targetName)
        if metacopy { try targetDirectory.setExtendedAttribute(attributes.metacopy, to: [], at: targetName) }
        if record.kind != .symbolicLink {
            try targetDirectory.setPermissions(at: targetName, permissions ?? status.permissions)
        }
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
    private mutating func completeMetacopy(_ record: NodeRecord, dataLimit: Int64? = nil) throws(Errno) {
        guard let source = record.lowerObject, let status = record.lowerStatus else {
            throw Errno.noSuchFileOrDirectory
        }
        try withUpperObject(record.id) { (directory, name) throws(Errno) in
            let target = try directory.open(at: name, flags: openWriteOnly)
            defer { try? target.close() }
            var size = try target.status().size
            if let limit = dataLimit, limit < size {
                // Cut first: while marked, the file shows the lower data up to its own size, so a crash
                // from here on leaves the truncation done, never a tail of zeros.
                try target.truncate(to: max(limit, 0))
                size = max(limit, 0)
            }
            try withLowerDirectory(source.directory) { (lowerDirectory) throws(Errno) in
                let data = try lowerDirectory.open(at: source.name, flags: openReadOnly)
                defer { try? data.close() }
                try DataCopy.copy(from: data, to: target, size: min(size, status.size), sparse: status.mayHaveHoles)
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

extension CopyTarget {
    var isUnnamed: Bool {
        if case .unnamed = self { return true }
        return false
    }
}

extension UnionFileSystem {
    /// For tests: builds copy-ups under names in the work directory from now on, as on an upper file
    /// system without `O_TMPFILE`.
    func buildCopiesUnderNames() {
        try? withEngine { (engine) throws(Errno) in engine.unnamedFilesRefused = true }
    }
}
