extension Engine {
    /// Opens node `id` for I/O with `open(2)` flags and returns a descriptor of its topmost data.
    ///
    /// Write access or `O_TRUNC` copies the node up with its data first (as the kernel does at open);
    /// a read-only open of a lower or metadata-only file reads the lower copy and keeps reading it even
    /// if the file is copied up later (overlayfs documents the same). Throws `EISDIR` for a directory
    /// opened for writing, `ELOOP` for a symlink (the union never follows a final symlink),
    /// `EROFS` for a write without an upper layer. Serves FUSE `OPEN`. Without `checkingAccess`
    /// the caller's rights are not checked (the kernel checked them when it opened the file itself).
    mutating func open(_ id: NodeID, flags: Int32, checkingAccess: Bool = true) throws(Errno) -> FileDescriptor {
        try validateOpen(id, flags: flags, checkingAccess: checkingAccess)
        let writes = Self.opensForWriting(flags)
        let passed = flags & ~(openCreate | openExclusive)
        if writes, let copy = try copyUpName(
            id, withData: true, dataLimit: Self.dataKept(openedWith: flags), keepingCopy: Self.adoptableAccess(passed))
        {
            // The copy just made is the file this open reaches: adopt its descriptor (opened with no
            // status flag that fcntl can change, so setting these is adding them).
            do throws(Errno) {
                let added = passed & (openAppend | openNonBlocking)
                if added != 0 { try copy.setStatusFlags(added) }
                return copy
            } catch {
                try? copy.close()
                throw error
            }
        }
        let current = try self.record(id)
        if current.inUpper && !current.metacopy {
            if id == .root { return try upperLayer().root.open(beneath: ".", flags: passed) }
            return try withUpperObject(id) { (directory, name) throws(Errno) in try directory.open(at: name, flags: passed) }
        }
        if current.isDirectory {
            guard let top = current.lowerStack.first else { return try layers.lowers[0].root.open(beneath: ".", flags: passed) }
            return try layers.lowers[top.layer].root.open(beneath: top.path.isEmpty ? "." : top.path, flags: passed)
        }
        guard let source = current.lowerObject else { throw Errno.ioError }
        return try withLowerDirectory(source.directory) { (directory) throws(Errno) in
            try directory.open(at: source.name, flags: passed)
        }
    }

    /// The access mode of an open for writing whose descriptor a fresh copy-up's unnamed file can
    /// become: every other flag must be one that descriptor already has (`O_CLOEXEC`, `O_NOFOLLOW`,
    /// large files, no controlling terminal), one that changes nothing for a new copy (`O_TRUNC`: the
    /// copy kept no data), or one `fcntl` can add (`O_APPEND`, `O_NONBLOCK`). Nil otherwise (`O_SYNC`,
    /// `O_DIRECT`, `O_NOATIME`, …): the open then opens the copy by name.
    static func adoptableAccess(_ flags: Int32) -> Int32? {
        let access = flags & openAccessMask
        guard access == openWriteOnly || access == openReadWrite else { return nil }
        let largeFile: Int32 = 0o100000  // O_LARGEFILE as the kernel passes it in FUSE requests
        let adoptable =
            openTruncate | openAppend | openNonBlocking | openCloseOnExec | openNoFollow | openNoControllingTerminal | largeFile
        return flags & ~(openAccessMask | adoptable) == 0 ? access : nil
    }

    static func opensForWriting(_ flags: Int32) -> Bool {
        flags & openAccessMask != openReadOnly || flags & openTruncate != 0
    }

    /// The checks of `open` that come before any copy-up: type (`ELOOP`, `EISDIR`) and access (`EACCES`).
    func validateOpen(_ id: NodeID, flags: Int32, checkingAccess: Bool = true) throws(Errno) {
        let record = try record(id)
        let writes = Self.opensForWriting(flags)
        if record.kind == .symbolicLink { throw Errno.tooManySymbolicLinkLevels }
        if record.kind == .directory && writes { throw Errno.isDirectory }
        guard checkingAccess else { return }
        var wanted: Access = []
        if flags & openAccessMask != openWriteOnly { wanted.insert(.read) }
        if writes { wanted.insert(.write) }
        try checkAccess(of: id, wanted)
    }

    /// A snapshot of a merged directory for one open handle: `.` and `..` first, then upper entries,
    /// then each lower layer's, no duplicates, markers and whited-out names left out. Each entry's
    /// inode number is the one `lstat` reports.
    mutating func directorySnapshot(_ id: NodeID) throws(Errno) -> [DirectoryEntry] {
        try loadDirectory(id)
        try checkAccess(of: id, .read)
        // Upper entries may carry the inode number of their origin: resolve those to nodes first, so
        // that no copy of this directory's tables is alive while lookups add children to it.
        let unresolved = (nodes[id]?.directory?.entries ?? [:]).compactMap { (name, entry) -> String? in
            entry.kind != nil && entry.layer == .upper && nodes.child(name.string, of: id).flatMap({ nodes.kind(of: $0) }) == nil
                ? name.string : nil
        }
        for name in unresolved { _ = try? lookup(name, in: id) }
        guard let directory = nodes[id]?.directory, let inode = nodes[id]?.inode else { throw Errno.ioError }
        let children = nodes[id]?.children ?? [:]
        let parentInode = nodes.parent(of: id).flatMap { nodes[$0]?.inode } ?? inode
        var entries: [DirectoryEntry] = [
            DirectoryEntry(name: ".", inode: inode, kind: .directory),
            DirectoryEntry(name: "..", inode: parentInode, kind: .directory),
        ]
        entries.reserveCapacity(directory.entries.count + 2)
        for listed in directory.visibleNames {
            let inode: UInt64
            if !children.isEmpty, let child = children[listed.name], let childInode = nodes.inode(of: child) {
                inode = childInode
            } else if case .lower(let layer) = listed.layer {
                inode = layers.unionInode(device: layers.lowerDevice(layer), inode: listed.inode)
            } else {
                continue
            }
            entries.append(DirectoryEntry(name: listed.name, inode: inode, kind: listed.kind))
        }
        return entries
    }
}

/// One name of a merged directory listing.
public struct DirectoryEntry: Hashable, Sendable {
    public var name: String
    /// Equals the `st_ino` that `lstat` reports for the entry.
    public var inode: UInt64
    public var kind: FileKind

    public init(name: String, inode: UInt64, kind: FileKind) {
        self.name = name
        self.inode = inode
        self.kind = kind
    }
}
