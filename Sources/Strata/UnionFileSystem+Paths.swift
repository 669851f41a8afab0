/// The path API: paths are relative to the union root (`"a/b"` and `"/a/b"` name the same entry).
/// A final symlink is never followed (as `lstat`, `lchown`, `O_NOFOLLOW`); intermediate symlinks are
/// followed inside the union root, never out of it.
extension UnionFileSystem {
    /// Attributes of the entry at `path`; matches `lstat(2)`.
    public func status(_ path: FilePath) throws(Errno) -> FileStatus {
        try withEngine(reading: true) { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            return try engine.attributes(of: node)
        }
    }

    /// The merged listing of the directory at `path`, without `.` and `..`.
    public func contentsOfDirectory(_ path: FilePath) throws(Errno) -> [DirectoryEntry] {
        try withEngine(reading: true) { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            return Array(try engine.directorySnapshot(node).dropFirst(2))
        }
    }

    /// The target of the symlink at `path`; matches `readlink(2)`.
    public func readLink(_ path: FilePath) throws(Errno) -> String {
        try withEngine(reading: true) { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            return try engine.readLink(node)
        }
    }

    /// Opens (and with `.create` creates) the file at `path`.
    ///
    /// `options` honours `.create`, `.exclusiveCreate`, `.truncate` and `.append`; `permissions` is
    /// used as given (no umask) when a file is created. A final symlink answers `ELOOP`.
    public func open(
        _ path: FilePath, _ access: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions = [],
        permissions: UInt32 = 0o644
    ) throws(Errno) -> UnionFile {
        let flags = access.rawValue | (options.rawValue & (openCreate | openExclusive | openTruncate | openAppend))
        if Engine.opensForWriting(flags) && flags & openExclusive == 0,
            let opened = try openExistingInOneStep(path, flags: flags)
        {
            return UnionFile(descriptor: opened.descriptor, node: opened.node, fileSystem: self, appends: flags & openAppend != 0)
        }
        if Engine.opensForWriting(flags) && flags & openExclusive == 0 {
            // An existing file's data comes up first, without the engine lock held during the copy.
            let existing = try withEngine(reading: true) { (engine) throws(Errno) -> NodeID? in
                let (parent, name) = try engine.resolveParent(path)
                guard let node = try? engine.lookup(name, in: parent) else { return nil }
                try engine.validateOpen(node, flags: flags)
                return node
            }
            if let existing { try copyDataUp(existing, limit: Engine.dataKept(openedWith: flags)) }
        }
        // Opening changes no path unless it creates (a copy-up keeps every node where it was).
        let reading = flags & openCreate == 0
        let (node, descriptor) = try withEngine(reading: reading) { (engine) throws(Errno) -> (NodeID, FileDescriptor) in
            let (parent, name) = try engine.resolveParent(path)
            if flags & openCreate != 0 {
                let existing = try engine.entry(name, in: parent)
                if existing?.kind == nil {
                    let created = try engine.create(name, in: parent, .file(flags: flags, permissions: permissions))
                    guard let descriptor = created.descriptor else { throw Errno.ioError }
                    return (created.node, descriptor)
                }
                if flags & openExclusive != 0 { throw Errno.fileExists }
            }
            let node = try engine.lookup(name, in: parent)
            return (node, try engine.open(node, flags: flags))
        }
        return UnionFile(descriptor: descriptor, node: node, fileSystem: self, appends: flags & openAppend != 0)
    }

    /// Opens an existing file for writing in one trip through the engine lock when its data is already
    /// up or small enough to copy under the lock (see `copyDataUp`); `nil` when it does not exist or its
    /// copy must run outside the lock.
    private func openExistingInOneStep(_ path: FilePath, flags: Int32) throws(Errno) -> (node: NodeID, descriptor: FileDescriptor)? {
        // Reading as far as paths go: only a copy-up changes what they resolve to, and it empties them itself.
        try withEngine(reading: true) { (engine) throws(Errno) -> (NodeID, FileDescriptor)? in
            let (parent, name) = try engine.resolveParent(path)
            guard let node = try? engine.lookup(name, in: parent) else { return nil }
            if try engine.pendingDataSize(node) != nil {
                guard try engine.copiesWhenOpening(node, flags: flags) else { return nil }
                engine.paths.invalidate()
            }
            // The open copies the data up itself, after its checks.
            return (node, try engine.open(node, flags: flags))
        }
    }

    /// Creates a directory; matches `mkdir(2)` with no umask.
    public func makeDirectory(_ path: FilePath, permissions: UInt32) throws(Errno) {
        try create(path, .directory(permissions: permissions))
    }

    /// Creates a symlink at `path` pointing to `target`; matches `symlink(2)`.
    public func makeSymbolicLink(_ path: FilePath, target: String) throws(Errno) {
        try create(path, .symbolicLink(target: target))
    }

    /// Creates a device, fifo, socket or empty file; `mode` includes the type bits. Matches `mknod(2)`.
    public func makeNode(_ path: FilePath, mode: UInt32, device: UInt64 = 0) throws(Errno) {
        try create(path, .node(mode: mode, device: device))
    }

    private func create(_ path: FilePath, _ object: NewObject) throws(Errno) {
        try withEngine { (engine) throws(Errno) in
            let (parent, name) = try engine.resolveParent(path)
            if name == "." || name == ".." { throw Errno.fileExists }
            _ = try engine.create(name, in: parent, object)
        }
    }

    /// Gives the file at `existing` the new name `path`; matches `link(2)`.
    public func makeHardLink(_ path: FilePath, to existing: FilePath) throws(Errno) {
        try withEngine { (engine) throws(Errno) in
            let source = try engine.resolve(existing)
            let (parent, name) = try engine.resolveParent(path)
            _ = try engine.link(source, to: parent, as: name)
        }
    }

    /// Removes a non-directory; matches `unlink(2)`.
    public func removeFile(_ path: FilePath) throws(Errno) {
        try withEngine { (engine) throws(Errno) in
            let (parent, name) = try engine.resolveParent(path)
            try engine.remove(name, in: parent, directory: false)
        }
    }

    /// Removes an empty directory; matches `rmdir(2)`.
    public func removeDirectory(_ path: FilePath) throws(Errno) {
        try withEngine { (engine) throws(Errno) in
            let (parent, name) = try engine.resolveParent(path)
            if parent == .root && name == "." { throw Errno.resourceBusy }
            try engine.remove(name, in: parent, directory: true)
        }
    }

    /// Matches `renameat2(2)` with `RENAME_NOREPLACE` or `RENAME_EXCHANGE` in `flags`.
    public func rename(_ source: FilePath, to destination: FilePath, flags: RenameFlags = []) throws(Errno) {
        try withEngine { (engine) throws(Errno) in
            let (oldParent, oldName) = try engine.resolveParent(source)
            let (newParent, newName) = try engine.resolveParent(destination)
            try engine.rename(oldName, in: oldParent, to: newName, in: newParent, flags: flags)
        }
    }

    /// Matches `fchmodat(2)` with `AT_SYMLINK_NOFOLLOW` (`EOPNOTSUPP` on a symlink).
    public func setPermissions(_ path: FilePath, _ mode: UInt32) throws(Errno) {
        try setAttributes(path, AttributeChanges(mode: mode))
    }

    /// Matches `lchown(2)`; `nil` leaves the id unchanged.
    public func setOwner(_ path: FilePath, user: UInt32?, group: UInt32?) throws(Errno) {
        try setAttributes(path, AttributeChanges(user: user, group: group))
    }

    /// Matches `utimensat(2)` with `AT_SYMLINK_NOFOLLOW`; `.omit` and `.now` work as there.
    public func setTimes(_ path: FilePath, access: TimeSpec, modification: TimeSpec) throws(Errno) {
        // Linux returns before resolving the path when both times are omitted.
        if access == .omit && modification == .omit { return }
        try setAttributes(path, AttributeChanges(accessTime: access, modificationTime: modification))
    }

    /// Matches `truncate(2)`.
    public func truncate(_ path: FilePath, to size: Int64) throws(Errno) {
        try setAttributes(path, AttributeChanges(size: size))
    }

    private func setAttributes(_ path: FilePath, _ changes: AttributeChanges) throws(Errno) {
        if changes.size != nil {
            let node = try withEngine { (engine) throws(Errno) -> NodeID in
                let node = try engine.resolve(path)
                try engine.validateAttributeChange(of: node, changes)
                return node
            }
            try copyDataUp(node, limit: changes.size)
        }
        try withEngine { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            try engine.applyAttributes(of: node, changes)
        }
    }

    /// Matches `lgetxattr(2)`.
    public func extendedAttribute(_ name: String, of path: FilePath) throws(Errno) -> [UInt8] {
        try withEngine(reading: true) { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            return try engine.extendedAttribute(name, of: node)
        }
    }

    /// Matches `lsetxattr(2)`.
    public func setExtendedAttribute(_ name: String, of path: FilePath, to value: [UInt8], flags: XAttrFlags = [])
        throws(Errno)
    {
        try withEngine { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            try engine.setExtendedAttribute(name, of: node, to: value, flags: flags)
        }
    }

    /// Matches `llistxattr(2)`.
    public func extendedAttributeNames(of path: FilePath) throws(Errno) -> [String] {
        try withEngine(reading: true) { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            return try engine.extendedAttributeNames(of: node)
        }
    }

    /// Matches `lremovexattr(2)`.
    public func removeExtendedAttribute(_ name: String, of path: FilePath) throws(Errno) {
        try withEngine { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            try engine.setExtendedAttribute(name, of: node, to: nil, flags: [])
        }
    }
}
