/// The node API: what a FUSE low-level filesystem needs, one call per request.
///
/// Every call takes the `caller` whose rights it is checked against (the FUSE request's uid, gid and
/// groups); `nil` means the union's `credentials`. A mount with `default_permissions` lets the kernel
/// check and may pass `nil`.
extension UnionFileSystem {
    /// Looks `name` up in directory `parent` and counts one kernel reference to the result, released
    /// by `forget(_:count:)`. Serves FUSE `LOOKUP`.
    public func lookup(_ name: String, in parent: NodeID,
        as caller: Credentials? = nil) throws(Errno) -> (node: NodeID, status: FileStatus) {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in
            guard try engine.record(parent).isDirectory else { throw Errno.notDirectory }
            try engine.checkAccess(of: parent, .execute)
            let node = try engine.lookup(name, in: parent)
            engine.nodes[node]?.lookups += 1
            return (node, try engine.attributes(of: node))
        }
    }

    /// Drops `count` kernel references; a node nobody refers to is released, named or not (a later
    /// lookup reads it again from the layers, with the same inode number). Serves FUSE `FORGET`.
    public func forget(_ node: NodeID, count: UInt64) {
        let released = (try? withEngine { (engine) throws(Errno) -> Bool in
            guard node != .root, let record = engine.nodes[node] else { return false }
            let remaining = record.lookups > count ? record.lookups - count : 0
            engine.nodes[node]?.lookups = remaining
            guard remaining == 0 else { return false }
            if record.parent == nil { engine.forgetUnreferenced(node) } else { engine.releaseNamed(node) }
            return true
        }) ?? false
        // No open file refers to a node the kernel forgot: its data descriptor (kept or cached) goes.
        if released { dataFiles.withLock { $0.drop(node) } }
    }

    /// Serves FUSE `GETATTR`.
    /// A removed file whose data is kept (`keepsDataOfRemovedFiles`) answers from that data.
    public func attributes(of node: NodeID, as caller: Credentials? = nil) throws(Errno) -> FileStatus {
        if let kept = keptData(node), isRemovedFile(node) { return try keptAttributes(of: node, kept) }
        return try withEngine(as: caller, reading: true) { (engine) throws(Errno) in try engine.attributes(of: node) }
    }

    /// Serves FUSE `SETATTR`.
    public func setAttributes(of node: NodeID, _ changes: AttributeChanges,
        as caller: Credentials? = nil) throws(Errno) -> FileStatus {
        if isRemovedFile(node) { return try setKeptAttributes(of: node, changes) }
        if changes.size != nil {
            try withEngine(as: caller) { (engine) throws(Errno) in
                try engine.validateAttributeChange(of: node, changes)
            }
            try copyDataUp(node, limit: changes.size)
        }
        defer { if changes.size != nil { dataChanged(node) } }
        return try withEngine(as: caller) { (engine) throws(Errno) in try engine.setAttributes(of: node, changes) }
    }

    /// Serves FUSE `READLINK`.
    public func readLink(_ node: NodeID, as caller: Credentials? = nil) throws(Errno) -> String {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in try engine.readLink(node) }
    }

    /// Opens a node with `open(2)` flags; the caller owns the descriptor. Serves FUSE `OPEN`.
    public func openDescriptor(_ node: NodeID, flags: Int32,
        as caller: Credentials? = nil) throws(Errno) -> FileDescriptor {
        if Engine.opensForWriting(flags) {
            let copiesWhenOpening = try withEngine(as: caller, reading: true) { (engine) throws(Errno) -> Bool in
                try engine.validateOpen(node, flags: flags)
                return try engine.copiesWhenOpening(node, flags: flags)
            }
            if !copiesWhenOpening { try copyDataUp(node, limit: Engine.dataKept(openedWith: flags)) }
        }
        return try withEngine(as: caller) { (engine) throws(Errno) in try engine.open(node, flags: flags) }
    }

    /// Opens a node like `openDescriptor(_:flags:as:)` and says whether the data comes from a lower
    /// layer: such data never changes while the union is open, so a kernel page cache of it stays valid
    /// across opens (FUSE `keep_cache`), until a write-open copies the file up.
    public func openFile(_ node: NodeID, flags: Int32, as caller: Credentials? = nil) throws(Errno) -> OpenedFile {
        // One look at the node: a read-only open changes nothing, and a write-open always leaves the data
        // in the upper layer, so its state before the open says everything.
        let lower = (try? withEngine(as: caller) { (engine) throws(Errno) -> Bool in
            guard let record = engine.nodes[node] else { return false }
            return !record.isDirectory && (!record.inUpper || record.metacopy)
        }) ?? false
        let descriptor = try openDescriptor(node, flags: flags, as: caller)
        let writes = Engine.opensForWriting(flags)
        return OpenedFile(descriptor: descriptor, readsLowerLayer: lower && !writes, copiedUp: lower && writes)
    }

    /// Creates and opens a regular file. Serves FUSE `CREATE`.
    public func createFile(
        _ name: String, in parent: NodeID, flags: Int32, permissions: UInt32, owner: Ownership? = nil
    , as caller: Credentials? = nil) throws(Errno) -> (node: NodeID, status: FileStatus, descriptor: FileDescriptor) {
        try withEngine(as: caller) { (engine) throws(Errno) in
            let created = try engine.create(
                name, in: parent, .file(flags: flags, permissions: permissions), owner: owner)
            guard let descriptor = created.descriptor else { throw Errno.ioError }
            engine.nodes[created.node]?.lookups += 1
            return (created.node, created.status, descriptor)
        }
    }

    /// Serves FUSE `MKDIR`.
    public func makeDirectory(_ name: String, in parent: NodeID, permissions: UInt32, owner: Ownership? = nil,
        as caller: Credentials? = nil)
        throws(Errno) -> (node: NodeID, status: FileStatus)
    {
        try make(name, in: parent, .directory(permissions: permissions), owner: owner, caller: caller)
    }

    /// Serves FUSE `SYMLINK`.
    public func makeSymbolicLink(_ name: String, in parent: NodeID, target: String, owner: Ownership? = nil,
        as caller: Credentials? = nil)
        throws(Errno) -> (node: NodeID, status: FileStatus)
    {
        try make(name, in: parent, .symbolicLink(target: target), owner: owner, caller: caller)
    }

    /// Creates a device, fifo, socket or empty regular file (`mode` includes the type bits).
    /// Serves FUSE `MKNOD`.
    public func makeNode(_ name: String, in parent: NodeID, mode: UInt32, device: UInt64, owner: Ownership? = nil,
        as caller: Credentials? = nil)
        throws(Errno) -> (node: NodeID, status: FileStatus)
    {
        try make(name, in: parent, .node(mode: mode, device: device), owner: owner, caller: caller)
    }

    private func make(_ name: String, in parent: NodeID, _ object: NewObject, owner: Ownership?, caller: Credentials?)
        throws(Errno) -> (node: NodeID, status: FileStatus)
    {
        try withEngine(as: caller) { (engine) throws(Errno) in
            let created = try engine.create(name, in: parent, object, owner: owner)
            engine.nodes[created.node]?.lookups += 1
            return (created.node, created.status)
        }
    }

    /// Serves FUSE `LINK`.
    public func link(_ node: NodeID, to parent: NodeID, as name: String,
        as caller: Credentials? = nil) throws(Errno) -> FileStatus {
        try withEngine(as: caller) { (engine) throws(Errno) in
            let linked = try engine.link(node, to: parent, as: name)
            engine.nodes[linked]?.lookups += 1
            return try engine.attributes(of: linked)
        }
    }

    /// Serves FUSE `UNLINK` (`directory: false`) and `RMDIR` (`directory: true`).
    public func remove(_ name: String, in parent: NodeID, directory: Bool,
        as caller: Credentials? = nil) throws(Errno) {
        let keeping = !directory && keepsDataOfRemovedFiles
        let opened = try withEngine(as: caller) { (engine) throws(Errno) in
            let opened = keeping ? openDataBeforeRemoval(name, in: parent, engine: &engine) : nil
            try engine.remove(name, in: parent, directory: directory)
            return opened
        }
        keepData(opened)
    }

    /// Serves FUSE `RENAME` and `RENAME2`.
    public func rename(
        _ name: String, in parent: NodeID, to newName: String, in newParent: NodeID, flags: RenameFlags = []
    , as caller: Credentials? = nil) throws(Errno) {
        // A file the rename replaces is removed like an unlinked one.
        let keeping = keepsDataOfRemovedFiles && !flags.contains(.exchange)
        let opened = try withEngine(as: caller) { (engine) throws(Errno) in
            let replaced = engine.nodes.child(newName, of: newParent)
            let opened = keeping && replaced != engine.nodes.child(name, of: parent)
                ? openDataBeforeRemoval(newName, in: newParent, engine: &engine) : nil
            try engine.rename(name, in: parent, to: newName, in: newParent, flags: flags)
            return opened
        }
        keepData(opened)
    }

    /// Checks that `node` is a directory the caller may list (`ENOTDIR`, `EACCES`), reading its
    /// layers if that was not done yet. Serves FUSE `OPENDIR`.
    public func openDirectory(_ node: NodeID, as caller: Credentials? = nil) throws(Errno) {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in
            try engine.loadDirectory(node)
            try engine.checkAccess(of: node, .read)
        }
    }

    /// The listing of a directory as one open handle sees it: `.`, `..`, then every visible name.
    /// Serves FUSE `READDIR`/`READDIRPLUS` at the start of a listing.
    public func directorySnapshot(of node: NodeID, as caller: Credentials? = nil) throws(Errno) -> [DirectoryEntry] {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in try engine.directorySnapshot(node) }
    }

    /// Serves FUSE `GETXATTR`.
    public func extendedAttribute(_ name: String, of node: NodeID,
        as caller: Credentials? = nil) throws(Errno) -> [UInt8] {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in try engine.extendedAttribute(name, of: node) }
    }

    /// Serves FUSE `LISTXATTR`.
    public func extendedAttributeNames(of node: NodeID, as caller: Credentials? = nil) throws(Errno) -> [String] {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in try engine.extendedAttributeNames(of: node) }
    }

    /// Serves FUSE `SETXATTR`.
    public func setExtendedAttribute(_ name: String, of node: NodeID, to value: [UInt8], flags: XAttrFlags = [],
        as caller: Credentials? = nil)
        throws(Errno)
    {
        try withEngine(as: caller) { (engine) throws(Errno) in
            try engine.setExtendedAttribute(name, of: node, to: value, flags: flags)
        }
    }

    /// Serves FUSE `REMOVEXATTR`.
    public func removeExtendedAttribute(_ name: String, of node: NodeID, as caller: Credentials? = nil) throws(Errno) {
        try withEngine(as: caller) { (engine) throws(Errno) in
            try engine.setExtendedAttribute(name, of: node, to: nil, flags: [])
        }
    }

    /// Serves FUSE `STATFS`.
    public func fileSystemStatus(as caller: Credentials? = nil) throws(Errno) -> FileSystemStatus {
        try withEngine(as: caller, reading: true) { (engine) throws(Errno) in try engine.fileSystemStatus() }
    }
}

/// A descriptor opened by the node API, and where its data lives.
public struct OpenedFile: Sendable {
    public let descriptor: FileDescriptor
    /// The data is a lower layer's: immutable while the union is open.
    public let readsLowerLayer: Bool
    /// This open brought the data up; a metadata-only file filled in place has a new mtime, which a
    /// cache of its attributes does not know yet.
    public let copiedUp: Bool
}
