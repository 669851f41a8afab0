/// Which attributes `setAttributes` changes; `nil` leaves one alone.
public struct AttributeChanges: Sendable, Hashable {
    public var mode: UInt32?
    public var user: UInt32?
    public var group: UInt32?
    public var size: Int64?
    public var accessTime: TimeSpec?
    public var modificationTime: TimeSpec?

    public init(
        mode: UInt32? = nil, user: UInt32? = nil, group: UInt32? = nil, size: Int64? = nil,
        accessTime: TimeSpec? = nil, modificationTime: TimeSpec? = nil
    ) {
        self.mode = mode
        self.user = user
        self.group = group
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
    }
}

extension Engine {
    /// The merged attributes of a node: those of its topmost copy, with the union's inode number and
    /// device, one link for a merged directory, and a metadata-only file's block count from its data.
    ///
    /// Serves FUSE `GETATTR`; matches `lstat(2)`.
    func attributes(of id: NodeID) throws(Errno) -> FileStatus {
        let record = try record(id)
        var status: FileStatus
        if record.inUpper {
            status = try upperStatus(of: record)
            if record.metacopy, let lower = record.lowerStatus { status.blocks = lower.blocks }
        } else if let lower = record.lowerStatus {
            status = lower
        } else {
            status = try layers.lowers[0].root.status()
        }
        status.inode = record.inode
        status.device = layers.device
        if record.isMergedDirectory { status.linkCount = 1 }
        return status
    }

    func upperStatus(of record: NodeRecord) throws(Errno) -> FileStatus {
        try withUpperObject(record.id) { (directory, name) throws(Errno) in
            var status = try directory.status(at: name)
            // An indexed hard-link group counts its names itself: lower names not yet up count too.
            if record.indexKey != nil, let value = readPrivate(\.linkCount, at: name, in: directory),
                let count = Self.linkCount(value, upper: status.linkCount, lower: record.lowerStatus?.linkCount)
            {
                status.linkCount = count
            }
            return status
        }
    }

    /// Changes mode, owner, size or times, copying the node up first: data and all for a size change,
    /// metadata only for the others (as overlayfs with `metacopy=on`).
    ///
    /// Serves FUSE `SETATTR`; matches `chmod`, `lchown`, `truncate`, `utimensat` with
    /// `AT_SYMLINK_NOFOLLOW`. `EOPNOTSUPP` for a mode change on a symlink, `EISDIR` for a directory
    /// size change, `EINVAL` for a negative size.
    mutating func setAttributes(of id: NodeID, _ changes: AttributeChanges) throws(Errno) -> FileStatus {
        try applyAttributes(of: id, changes)
        return try attributes(of: id)
    }

    /// `setAttributes` without reading the attributes back.
    mutating func applyAttributes(of id: NodeID, _ changes: AttributeChanges) throws(Errno) {
        try validateAttributeChange(of: id, changes)
        // A lone mode change that brings the object up gives the copy its new mode directly (an owner
        // change must come first: it clears set-user-ID bits).
        let foldsMode = changes.mode != nil && changes.user == nil && changes.group == nil
            && nodes[id]?.inUpper == false
        // As the kernel's setattr: the name itself comes up (an indexed group gets its upper link).
        try copyUpName(
            id, withData: changes.size != nil, permissions: foldsMode ? changes.mode.map { $0 & 0o7777 } : nil)
        let apply: (FileDescriptor, String) throws(Errno) -> Void = { (directory, name) throws(Errno) in
            if changes.user != nil || changes.group != nil {
                try directory.setOwner(at: name, user: changes.user, group: changes.group)
            }
            if let mode = changes.mode, !foldsMode { try directory.setPermissions(at: name, mode & 0o7777) }
            if let size = changes.size {
                let file = try directory.open(at: name, flags: openWriteOnly)
                defer { try? file.close() }
                try file.truncate(to: size)
            }
            if changes.accessTime != nil || changes.modificationTime != nil {
                try directory.setTimes(
                    at: name, access: changes.accessTime ?? .omit, modification: changes.modificationTime ?? .omit)
            }
        }
        try withUpperObject(id, apply)
    }

    /// The checks of `setAttributes` that come before any copy-up.
    func validateAttributeChange(of id: NodeID, _ changes: AttributeChanges) throws(Errno) {
        let record = try record(id)
        if changes.mode != nil && record.kind == .symbolicLink { throw Errno.notSupported }
        try checkAttributeChange(of: id, changes)
        if let size = changes.size {
            guard record.kind != .directory else { throw Errno.isDirectory }
            // A final symlink is never followed: `open(O_NOFOLLOW)` then `ftruncate` answers ELOOP.
            guard record.kind != .symbolicLink else { throw Errno.tooManySymbolicLinkLevels }
            guard record.kind == .regular else { throw Errno.invalidArgument }
            guard size >= 0 else { throw Errno.invalidArgument }
        }
    }

    /// Decodes the kernel's `overlay.nlink` (`U+N`, `U-N`, `L+N`…); nil when malformed.
    static func linkCount(_ value: String, upper: UInt64, lower: UInt64?) -> UInt64? {
        guard let base = value.first, let delta = Int64(value.dropFirst()) else { return nil }
        let reference: UInt64
        switch base {
        case "U": reference = upper
        case "L":
            guard let lower else { return nil }
            reference = lower
        default: return nil
        }
        let count = Int64(reference) + delta
        return count > 0 ? UInt64(count) : nil
    }

    /// Statistics of the filesystem that holds the upper layer (of the top lower layer when there is none).
    ///
    /// Serves FUSE `STATFS`; matches `statfs(2)` on an overlay mount.
    func fileSystemStatus() throws(Errno) -> FileSystemStatus {
        if let upper = layers.upper { return try upper.root.fileSystemStatus() }
        return try layers.lowers[0].root.fileSystemStatus()
    }

    /// The target of a symbolic link. Serves FUSE `READLINK`.
    func readLink(_ id: NodeID) throws(Errno) -> String {
        let record = try record(id)
        guard record.kind == .symbolicLink else { throw Errno.invalidArgument }
        if record.inUpper {
            return try withUpperObject(id) { (directory, name) throws(Errno) in try directory.readSymbolicLink(at: name) }
        }
        guard let source = record.lowerObject else { throw Errno.ioError }
        return try withLowerDirectory(source.directory) { (directory) throws(Errno) in
            try directory.readSymbolicLink(at: source.name)
        }
    }
}
