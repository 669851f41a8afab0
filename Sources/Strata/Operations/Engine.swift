/// The state of one union and every operation on it, run under the union's single lock.
///
/// Lock order: `UnionFileSystem.engine` (this state) is the only lock on the metadata path; open
/// file handles read and write their descriptors without it. Copy-up runs under it, so concurrent
/// copy-ups of one file do the work once, and no lookup can see a half-built object (objects are
/// built in the work directory and renamed into place).
struct Engine {
    let layers: LayerStack
    var nodes = NodeTable()
    /// Non-directories by union inode number, so every name of a hard-linked file is one node.
    var nodesByInode: [UInt64: NodeID] = [:]
    var nextNodeID: UInt64 = 2
    var nextTemporary: UInt64 = 0
    /// Results of the path API's walks, emptied after every call that may change the union.
    var paths = PathCache()
    /// Set once the upper file system refused `O_TMPFILE`: copy-ups then build named temporaries.
    var unnamedFilesRefused = false
    /// Lower layers whose files the upper file system refused to reflink (`FICLONE`): not asked again.
    var clonesRefused: Set<Int> = []
    let attributes: MetadataAttributes
    /// Whether this process may set any owner (copy-up keeps owners only then).
    let isPrivileged: Bool
    /// The process umask when the union opened: the bits a new object may have lost, which the engine
    /// puts back (all bits when it could not be read).
    let creationMask: UInt32
    /// Whose rights the current operation is checked against; set for each call.
    var caller: Credentials

    init(layers: LayerStack, caller: Credentials) throws(Errno) {
        self.layers = layers
        self.attributes = MetadataAttributes.forWriting(layers.format)
        self.isPrivileged = effectiveUserID == 0
        self.creationMask = currentFileCreationMask() ?? 0o777
        self.caller = caller
        var root = NodeRecord(
            id: .root, parent: nil, name: "", kind: .directory, inode: 0, inUpper: layers.upper != nil)
        root.lowerStack = layers.lowers.map { LowerDirectory(layer: $0.index, path: "") }
        if let upper = layers.upper {
            let status = try upper.root.status()
            root.inode = layers.unionInode(device: upper.device, inode: status.inode)
        } else {
            let status = try layers.lowers[0].root.status()
            root.lowerStatus = status
            root.inode = layers.unionInode(device: layers.lowers[0].device, inode: status.inode)
        }
        root.lookups = 1
        nodes[.root] = root
    }

    // MARK: Records

    func record(_ id: NodeID) throws(Errno) -> NodeRecord {
        guard let record = nodes[id] else { throw Errno.staleNFSFileHandle }
        return record
    }

    func upperLayer() throws(Errno) -> UpperLayer {
        guard let upper = layers.upper else { throw Errno.readOnlyFileSystem }
        return upper
    }

    /// The path of a node inside the upper layer (`""` for the root); `nil` if it has no name.
    func upperPath(of id: NodeID) -> String? {
        var components: [String] = []
        var current = id
        while current != .root {
            guard let parent = nodes.parent(of: current), let name = nodes.name(of: current) else { return nil }
            components.append(name)
            current = parent
        }
        return components.reversed().joined(separator: "/")
    }

    /// A descriptor of the upper copy of directory `id` (for *at calls only); the caller closes it.
    func openUpperDirectory(_ id: NodeID) throws(Errno) -> FileDescriptor {
        let upper = try upperLayer()
        return try upper.directories.duplicate(id, open: { () throws(Errno) in try openUpperDirectoryByPath(id) })
    }

    /// Runs `body` with a descriptor of the upper copy of directory `id`, which `body` must not close.
    func withUpperDirectory<Result>(
        _ id: NodeID, _ body: (FileDescriptor) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        let upper = try upperLayer()
        return try upper.directories.with(id, open: { () throws(Errno) in try openUpperDirectoryByPath(id) }, body)
    }

    private func openUpperDirectoryByPath(_ id: NodeID) throws(Errno) -> FileDescriptor {
        let upper = try upperLayer()
        guard let path = upperPath(of: id) else { throw Errno.noSuchFileOrDirectory }
        return try upper.root.open(beneath: path.isEmpty ? "." : path, flags: openPathDirectory)
    }

    func openLowerDirectory(_ directory: LowerDirectory) throws(Errno) -> FileDescriptor {
        try layers.lowers[directory.layer].root.open(
            beneath: directory.path.isEmpty ? "." : directory.path, flags: openPathDirectory)
    }

    /// Runs `body` with a descriptor of a lower directory, which `body` must not close.
    func withLowerDirectory<Result>(
        _ directory: LowerDirectory, _ body: (FileDescriptor) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        try layers.lowerDirectories.with(directory, open: { () throws(Errno) in try openLowerDirectory(directory) }, body)
    }

    /// Runs `body` with the directory holding the upper object of node `id` and its name there: the
    /// hard-link index for an indexed group (every name shares that inode), the parent otherwise, the
    /// upper root itself (name `""`) for the root.
    func withUpperObject<Result>(
        _ id: NodeID, _ body: (FileDescriptor, String) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        let record = try record(id)
        let upper = try upperLayer()
        if id == .root { return try body(upper.root, "") }
        if let key = record.indexKey { return try body(upper.index, key) }
        guard let parent = record.parent else { throw Errno.noSuchFileOrDirectory }
        return try withUpperDirectory(parent) { (directory) throws(Errno) in try body(directory, record.name) }
    }

    /// The upper parent directory of a named node and the node's name in it.
    func upperLocation(of id: NodeID) throws(Errno) -> (parent: NodeID, name: String) {
        let record = try record(id)
        guard let parent = record.parent else {
            if id == .root { throw Errno.resourceBusy }
            throw Errno.noSuchFileOrDirectory
        }
        return (parent, record.name)
    }

    /// Makes `name` in `parent` the name node `id` is reached by, and remembers it among its names.
    mutating func attach(_ id: NodeID, to parent: NodeID, as name: String) {
        if nodes[id]?.isDirectory == false {
            let location = NameLocation(parent: parent, name: name)
            if nodes[id]?.names.isEmpty == false {
                nodes[id]?.names.insert(location)
            } else if let current = nodes.parent(of: id), let currentName = nodes.name(of: id),
                current != parent || !currentName.isSameName(as: name)
            {
                // A second name: from now on the set holds them all.
                nodes[id]?.names = [NameLocation(parent: current, name: currentName), location]
            }
        }
        nodes[id]?.parent = parent
        nodes[id]?.name = name
    }

    /// Moves node `id` from its name `old` to `name` in `parent` (a rename); other names stay.
    mutating func move(_ id: NodeID, from old: NameLocation, to parent: NodeID, as name: String) {
        if nodes[id]?.names.isEmpty == false {
            nodes[id]?.names.remove(old)
        } else {
            // Its only name, which `attach` must not keep as a second one.
            nodes[id]?.parent = nil
        }
        attach(id, to: parent, as: name)
    }

    /// Forgets that node `id` is reached by `name` in `parent`. If that was its current name, another
    /// known name takes over; a node left with none is released once nobody refers to it.
    mutating func detachName(_ id: NodeID, from parent: NodeID, name: String) {
        guard var record = nodes[id] else { return }
        if !record.names.isEmpty {
            record.names.remove(NameLocation(parent: parent, name: name))
            record.names = record.names.filter { nodes[$0.parent] != nil }
        }
        if record.parent == parent && record.name.isSameName(as: name) {
            // The lowest remaining name, not the set's first: the same operations give the same current
            // name (and so the same upper) in every process, whatever its hash seed.
            if let other = record.names.min(by: {
                $0.parent != $1.parent ? $0.parent.rawValue < $1.parent.rawValue : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
            }) {
                record.parent = other.parent
                record.name = other.name
            } else {
                record.parent = nil
            }
        }
        if record.names.count == 1, let only = record.names.first, only.parent == record.parent,
            only.name.isSameName(as: record.name)
        {
            record.names = []
        }
        nodes[id] = record
        if record.parent == nil {
            // Nameless: its inode number may be reused by the filesystem for a new object, which must not
            // resolve to this node.
            if nodesByInode[record.inode] == id { nodesByInode[record.inode] = nil }
            if record.isDirectory { layers.upper?.directories.remove(id) }
            if record.lookups == 0 { forgetUnreferenced(id) }
        }
    }

    mutating func makeTemporaryName() -> String {
        nextTemporary += 1
        return "#strata.\(nextTemporary)"
    }

    mutating func allocateNodeID() -> NodeID {
        defer { nextNodeID += 1 }
        return NodeID(rawValue: nextNodeID)
    }

    /// Checks a name a caller wants to create: a real component, not too long, not a marker name.
    static func validateNewName(_ name: String) throws(Errno) {
        guard LayerDirectory.isValidName(name) else { throw Errno.invalidArgument }
        guard name.utf8.count <= 255 else { throw Errno.fileNameTooLong }
        guard !PrivateNames.isReserved(name) else { throw Errno.invalidArgument }
    }
}
