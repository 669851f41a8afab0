import Glibc

/// Data by node, for a FUSE mount whose kernel opens regular files without asking the server (`no_open`):
/// every `READ`, `WRITE`, `FSYNC`, `FALLOCATE`, `LSEEK` and `COPY_FILE_RANGE` then names only the node.
///
/// The data is brought up at the first write (or truncation), not at an open for writing the server
/// never sees; a write that follows a copy-up reaches the upper copy even through a file opened before
/// it, and so does a read (overlayfs reopens its real file after a copy-up in the same way).
extension UnionFileSystem {
    /// Whether the data of regular upper files removed while the kernel still knows them is kept open
    /// until `forget(_:count:)`: a process may hold such a file open and go on reading, writing, `fstat`-ing
    /// or truncating it, and those requests name only the node, whose upper name is gone. Set by
    /// `FUSEServer`; the path API has no use for it.
    public var keepsDataOfRemovedFiles: Bool {
        get { keepsRemovedData.load(ordering: .relaxed) }
        set { keepsRemovedData.store(newValue, ordering: .relaxed) }
    }

    /// The descriptor of `node`'s data: any for reading; for `writing`, one open for reading and
    /// writing on the upper copy, which the first such call makes (a data copy-up). `copiedUp` says the
    /// call brought lower data up (its attributes changed: a metadata-only copy got its data and times).
    ///
    /// Access is not checked: the kernel checked it when the file was opened. Throws `EROFS` without an
    /// upper layer, `ESTALE` for a node the union no longer knows, the copy-up's errors.
    public func dataFile(of node: NodeID, writing: Bool) throws(Errno) -> (file: DataFile, copiedUp: Bool) {
        let (cached, generation) = dataFiles.withLock { ($0.file(node, writing: writing), $0.generation) }
        if let cached { return (cached, false) }
        // Reads open whatever data the node has; only a write needs to know where it is.
        let (lower, removed, copiesWhenOpening) = !writing ? (false, false, false) : try withEngine(reading: true) {
            (engine) throws(Errno) -> (Bool, Bool, Bool) in
            let record = try engine.record(node)
            return (!record.inUpper || record.metacopy, record.parent == nil && node != .root,
                    try engine.copiesWhenOpening(node, flags: O_RDWR))
        }
        if removed {
            // A removed file whose data a lower layer holds (a removed upper file's data is kept open for
            // writing): an unnamed upper copy takes its place, which only this node reaches.
            let source = try withEngine(reading: true) { (engine) throws(Errno) in
                try engine.open(node, flags: O_RDONLY | O_CLOEXEC, checkingAccess: false)
            }
            defer { try? source.close() }
            let copy = try unnamedCopy(of: source)
            return (dataFiles.withLock { $0.insert(copy, for: node, openedAt: generation, kept: true) }, false)
        }
        // A small copy is made by the open itself, under the engine lock, which then keeps the copy's
        // descriptor instead of opening the new upper file by name; a large one is copied first, without it.
        if writing && !copiesWhenOpening { try copyDataUp(node) }
        let flags = (writing ? O_RDWR : O_RDONLY) | O_CLOEXEC
        let open = { () throws(Errno) -> FileDescriptor in
            try self.withEngine(reading: !writing) { (engine) throws(Errno) in
                try engine.open(node, flags: flags, checkingAccess: false)
            }
        }
        let descriptor: FileDescriptor
        do {
            descriptor = try open()
        } catch where error == .tooManyOpenFiles {
            // Out of descriptors: give back the cached ones (not the kept ones) and try once more.
            dataFiles.withLock { $0.dropCached() }
            descriptor = try open()
        }
        let file = DataFile(descriptor, writable: writing)
        return (dataFiles.withLock { $0.insert(file, for: node, openedAt: generation) }, lower)
    }

    /// Forgets the read-only descriptor kept for `node` after its data changed without one: a lower
    /// file's descriptor would go on reading the old bytes.
    func dataChanged(_ node: NodeID) {
        dataFiles.withLock { (files: inout DataFiles) in
            if files.file(node, writing: true) == nil && !files.isKept(node) { files.drop(node) }
        }
    }

    /// For `remove` and `rename`: opens the data of the regular file `name` in `parent` before it goes,
    /// if the kernel knows the file (so a process may hold it open). Runs under the engine lock (which
    /// is taken before the data files' lock, never after).
    func openDataBeforeRemoval(
        _ name: String, in parent: NodeID, engine: inout Engine
    ) -> (node: NodeID, file: DataFile)? {
        // Lower data stays where it is (lower layers never change): a removed file reads it from there,
        // and copies it at its first write. Only an upper file's data goes with its name.
        guard let node = engine.nodes.child(name, of: parent), let record = engine.nodes[node],
            record.kind == .regular, record.lookups > 0, record.inUpper, !record.metacopy
        else { return nil }
        // Already open: kept from now on (if the removal fails, only until the kernel forgets the node).
        if dataFiles.withLock({ $0.keep(node) }) { return nil }
        guard let descriptor = try? engine.open(node, flags: O_RDWR | O_CLOEXEC, checkingAccess: false) else { return nil }
        return (node, DataFile(descriptor, writable: true))
    }

    /// Keeps what `openDataBeforeRemoval` opened once the removal succeeded.
    func keepData(_ opened: (node: NodeID, file: DataFile)?) {
        guard let opened else { return }
        dataFiles.withLock { (files: inout DataFiles) in
            _ = files.insert(opened.file, for: opened.node, openedAt: files.generation, kept: true)
        }
    }

    /// The kept data of a removed file, if `node` is one. Without `keepsDataOfRemovedFiles` nothing
    /// is kept, and the data files are not even locked to ask (a GETATTR asks on every call).
    func keptData(_ node: NodeID) -> DataFile? {
        guard keepsDataOfRemovedFiles else { return nil }
        return dataFiles.withLock { $0.isKept(node) ? $0.file(node, writing: false) : nil }
    }

    /// Whether `node` is a regular file with no name left in the union (it lives on only through the
    /// kernel's references) while removed files are served (`keepsDataOfRemovedFiles`).
    func isRemovedFile(_ node: NodeID) -> Bool {
        guard keepsDataOfRemovedFiles, node != .root else { return false }
        return (try? withEngine(reading: true) { (engine) throws(Errno) in
            engine.nodes[node].map { $0.parent == nil && $0.kind == .regular } ?? false
        }) ?? false
    }

    /// The attributes of a removed file from its kept data, with the union's inode number and device.
    func keptAttributes(of node: NodeID, _ file: DataFile) throws(Errno) -> FileStatus {
        var status = try file.descriptor.status()
        let (inode, device) = try withEngine(reading: true) { (engine) throws(Errno) in
            (try engine.record(node).inode, engine.layers.device)
        }
        status.inode = inode
        status.device = device
        status.linkCount = 0
        return status
    }

    /// Applies `changes` to a removed file through its kept data, copying lower data up first.
    func setKeptAttributes(of node: NodeID, _ changes: AttributeChanges) throws(Errno) -> FileStatus {
        let (file, _) = try dataFile(of: node, writing: true)
        let descriptor = file.descriptor
        if let size = changes.size { try descriptor.truncate(to: size) }
        if changes.user != nil || changes.group != nil {
            try descriptor.setOwner(user: changes.user, group: changes.group)
        }
        if let mode = changes.mode { try descriptor.setPermissions(mode) }
        if changes.accessTime != nil || changes.modificationTime != nil {
            try descriptor.setTimes(access: changes.accessTime ?? .omit, modification: changes.modificationTime ?? .omit)
        }
        return try keptAttributes(of: node, file)
    }

    /// A new unnamed upper file holding `source`'s data and mode, open for reading and writing.
    private func unnamedCopy(of source: FileDescriptor) throws(Errno) -> DataFile {
        let status = try source.status()
        let file = try withEngine(reading: true) { (engine) throws(Errno) in
            try engine.makeReadableUnnamedFile(permissions: status.permissions)
        }
        do throws(Errno) {
            try DataCopy.copy(from: source, to: file, size: status.size, sparse: status.mayHaveHoles)
        } catch {
            try? file.close()
            throw error
        }
        return DataFile(file, writable: true)
    }
}
