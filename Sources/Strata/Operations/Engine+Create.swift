/// What to create at a new name.
enum NewObject {
    case file(flags: Int32, permissions: UInt32)
    case directory(permissions: UInt32)
    case symbolicLink(target: String)
    case node(mode: UInt32, device: UInt64)
    /// A hard link to the upper object `name` in directory `parent`.
    case hardLink(parent: NodeID, name: String)

    /// The permission bits asked for, where creating the object takes a mode.
    var requestedPermissions: UInt32? {
        switch self {
        case .file(_, let permissions), .directory(let permissions): return permissions & 0o7777
        case .node(let mode, _): return mode & 0o7777
        case .symbolicLink, .hardLink: return nil
        }
    }
}

/// The owner a new object gets; `nil` keeps the creating process's credentials.
public struct Ownership: Hashable, Sendable {
    public var user: UInt32
    public var group: UInt32
    public init(user: UInt32, group: UInt32) {
        self.user = user
        self.group = group
    }
}

extension Engine {
    /// What a creation made: the new node, a new file's open descriptor, and the node's attributes.
    struct Created {
        var node: NodeID
        var descriptor: FileDescriptor?
        var status: FileStatus
    }

    /// Creates `object` at `name` in directory `parent` and returns its node, its attributes and, for a
    /// new file, an open descriptor.
    ///
    /// The parent is copied up first. Where the upper layer holds a whiteout for the name, the object
    /// is built in the work directory and exchanged with the whiteout in one `renameat2`, so the name
    /// never shows the lower object again; a new directory over a whiteout is made opaque so the
    /// lower directory's children never reappear.
    ///
    /// Throws `EEXIST` when the name is visible, `EINVAL` for a marker name (`.wh.*`), `EPERM` for a
    /// character device 0/0 (a whiteout; overlayfs refuses it too), `EROFS` without an upper layer.
    /// Serves FUSE `CREATE`, `MKNOD`, `MKDIR`, `SYMLINK`, `LINK`.
    mutating func create(
        _ name: String, in parent: NodeID, _ object: NewObject, owner: Ownership? = nil
    ) throws(Errno) -> Created {
        if case .node(let mode, let device) = object, FileKind(mode: mode) == .characterDevice, device == 0 {
            throw Errno.notPermitted
        }
        try Self.validateNewName(name)
        if let existing = try entry(name, in: parent), existing.kind != nil { throw Errno.fileExists }
        try checkDirectoryChange(parent)
        return try createFresh(name, in: parent, object, owner: owner)
    }

    private mutating func createFresh(
        _ name: String, in parent: NodeID, _ object: NewObject, owner: Ownership?
    ) throws(Errno) -> Created {
        let upper = try upperLayer()
        try copyUp(parent)
        let entry = try self.entry(name, in: parent)
        let whiteout = entry?.upperWhiteout
        let needsOpaque = entry?.lowerPresent ?? false
        let builtAside = whiteout == .inPlace || (needsOpaque && isDirectory(object))
        let plan = Construction(
            name: name, object: object, owner: owner, whiteout: whiteout, needsOpaque: needsOpaque,
            temporary: builtAside ? makeTemporaryName() : nil,
            marksOpaque: isDirectory(object) && layers.format == .overlay && !(nodes[parent]?.lowerStack.isEmpty ?? true))
        let built: (descriptor: FileDescriptor?, status: FileStatus)
        if case .hardLink = object {
            // Linking opens the source's directory, which may push the parent's out of the cache:
            // work on a descriptor of our own.
            let parentDirectory = try openUpperDirectory(parent)
            defer { try? parentDirectory.close() }
            built = try construct(plan, in: parentDirectory, upper: upper)
        } else {
            built = try withUpperDirectory(parent) { (parentDirectory) throws(Errno) in
                try construct(plan, in: parentDirectory, upper: upper)
            }
        }
        let status = built.status
        guard let nextOrder = nodes[parent]?.directory?.nextUpperOrder else {
            try? built.descriptor?.close()
            throw Errno.ioError
        }
        var order = MergedDirectory.order(rank: 0, position: Int(nextOrder))
        if let previous = entry?.order {
            order = previous
        } else {
            nodes[parent]?.directory?.nextUpperOrder = nextOrder + 1
        }
        nodes[parent]?.directory?.entries[name] = MergedEntry(
            kind: status.kind, layer: .upper, inode: status.inode, lowerLayer: entry?.lowerLayer,
            lowerKind: entry?.lowerKind, upperWhiteout: nil, mergeLayers: [], order: order)
        nodes[parent]?.children[name] = nil
        if case .hardLink = object {
        } else if let kind = status.kind {
            let node = makeCreatedNode(name, in: parent, kind: kind, inode: status.inode, device: upper.device)
            // What `attributes(of:)` would answer: a new object is neither indexed nor merged.
            var attributes = status
            attributes.inode = nodes[node]?.inode ?? attributes.inode
            attributes.device = layers.device
            return Created(node: node, descriptor: built.descriptor, status: attributes)
        }
        // Another name of an existing object: the lookup finds its node by inode number.
        do {
            let node = try lookup(name, in: parent)
            return Created(node: node, descriptor: built.descriptor, status: try attributes(of: node))
        } catch {
            try? built.descriptor?.close()
            throw error
        }
    }

    /// How `construct` makes a new object, decided before the upper directory is at hand.
    private struct Construction {
        var name: String
        var object: NewObject
        var owner: Ownership?
        var whiteout: LayerDirectory.Marker?
        var needsOpaque: Bool
        /// The work-directory name of an object built aside (over a whiteout, or an opaque directory).
        var temporary: String?
        /// A new directory in a merged parent, marked opaque as the kernel does.
        var marksOpaque: Bool
    }

    /// Makes the object of `plan` in the upper `parentDirectory` and returns a new file's descriptor and
    /// the object's upper status.
    private func construct(
        _ plan: Construction, in parentDirectory: FileDescriptor, upper: UpperLayer
    ) throws(Errno) -> (descriptor: FileDescriptor?, status: FileStatus) {
        let name = plan.name, object = plan.object
        var descriptor: FileDescriptor?
        var inheritedACL = false
        if let temporary = plan.temporary {
            // An object built in the work directory does not inherit from its future parent as the
            // filesystem would do it in place: a set-group-ID parent's group (and, for a directory, the
            // bit itself) is applied by hand, as `inode_init_owner` does.
            let parentStatus = try parentDirectory.status()
            let inherited = parentStatus.mode & 0o2000 != 0 ? parentStatus.group : nil
            do {
                if plan.whiteout == .inPlace {
                    // Build aside, then swap with the whiteout: the name is never empty in between.
                    descriptor = try make(
                        object, at: temporary, in: upper.temporaries, owner: plan.owner, opaque: plan.needsOpaque,
                        group: inherited)
                    inheritedACL = try inheritDefaultACL(of: parentDirectory, by: object, at: temporary, in: upper.temporaries)
                    try upper.temporaries.rename(temporary, to: parentDirectory, as: name, flags: .exchange)
                } else {
                    // An OCI whiteout sits beside the name: build the opaque directory aside, move it in,
                    // then drop the whiteout (a same-layer whiteout never hides its own layer's entry).
                    _ = try make(object, at: temporary, in: upper.temporaries, owner: plan.owner, opaque: true, group: inherited)
                    inheritedACL = try inheritDefaultACL(of: parentDirectory, by: object, at: temporary, in: upper.temporaries)
                    try upper.temporaries.rename(temporary, to: parentDirectory, as: name, flags: .noReplace)
                }
            } catch {
                try? descriptor?.close()
                if let status = try? upper.temporaries.status(at: temporary) {
                    try? RecursiveRemoval.remove(temporary, in: upper.temporaries, status: status)
                }
                throw error
            }
            // What the exchange left in the work directory: the old whiteout.
            if plan.whiteout == .inPlace { try? upper.temporaries.remove(at: temporary) }
        } else {
            descriptor = try make(object, at: name, in: parentDirectory, owner: plan.owner, opaque: false, group: nil)
            // The kernel marks a new directory in a merged parent opaque, sparing later lookups the
            // lower layers (which cannot hold the name: it was free). Kept for an identical upper.
            if plan.marksOpaque { try markOpaque(name, in: parentDirectory) }
        }
        if plan.whiteout == .ociFile {
            try? parentDirectory.remove(at: PrivateNames.whiteoutPrefix + name)
        }
        do throws(Errno) {
            // A new file through its descriptor, anything else by name.
            let (directory, entry) = descriptor.map { ($0, "") } ?? (parentDirectory, name)
            let status = try directory.status(at: entry)
            // An inherited ACL decided the mode; the umask had no say in it.
            if inheritedACL { return (descriptor, status) }
            return (descriptor, try restoringMaskedBits(object, status: status, of: directory, entry))
        } catch {
            try? descriptor?.close()
            throw error
        }
    }

    /// Gives an object built in the work directory what it would have inherited in place from a parent
    /// with a default ACL, as the kernel's overlay does for what it builds aside (`posix_acl_create`):
    /// the mode asked for (no umask) limited by the ACL, the ACL limited by that mode, and for a
    /// directory the default ACL itself. Returns whether the parent had one.
    private func inheritDefaultACL(
        of parent: FileDescriptor, by object: NewObject, at temporary: String, in directory: FileDescriptor
    ) throws(Errno) -> Bool {
        guard let requested = object.requestedPermissions else { return false }
        let value: [UInt8]
        do {
            value = try parent.extendedAttribute(AccessControlList.defaultAttributeName)
        } catch where error == .noData || error == .notSupported {
            return false
        }
        guard let defaults = AccessControlList(value) else { throw Errno.ioError }
        let (access, mode) = defaults.inherited(byMode: requested)
        let current = try directory.status(at: temporary).permissions
        try directory.setPermissions(at: temporary, (current & 0o7000) | mode)
        if let access { try directory.setExtendedAttribute(AccessControlList.attributeName, to: access.bytes, at: temporary) }
        if case .directory = object {
            try directory.setExtendedAttribute(AccessControlList.defaultAttributeName, to: value, at: temporary)
        }
        return true
    }

    /// The status of a new object once it has every permission bit it was asked for. The mode given
    /// to the engine is final (a FUSE client has applied its caller's umask already, and the API takes
    /// modes as given), but the kernel clears the process umask from it too: bits lost that way, and
    /// only those, are set back (one more call, never made when the umask is 0, as in `strata mount`),
    /// unless the umask in force is the caller's (`RequestContext.umaskIsCallers`).
    private func restoringMaskedBits(
        _ object: NewObject, status: FileStatus, of directory: FileDescriptor, _ name: String
    ) throws(Errno) -> FileStatus {
        guard let requested = object.requestedPermissions, !RequestContext.umaskIsCallers else { return status }
        let actual = status.permissions & 0o777, wanted = requested & 0o777
        let lost = wanted & ~actual
        guard lost != 0, actual & ~wanted == 0, lost & ~creationMask == 0 else { return status }
        try directory.setPermissions(at: name, (status.permissions & ~0o777) | wanted)
        return try directory.status(at: name)
    }

    /// The node of an object just made at `name`: what a lookup would find out, known already (a new
    /// object carries no marks, and nothing of a lower layer merges under a new name).
    private mutating func makeCreatedNode(
        _ name: String, in parent: NodeID, kind: FileKind, inode upperInode: UInt64, device: UInt64
    ) -> NodeID {
        let id = allocateNodeID()
        let inode = layers.unionInode(device: device, inode: upperInode)
        var record = NodeRecord(id: id, parent: parent, name: name, kind: kind, inode: inode, inUpper: true)
        record.createdWithoutAttributes = kind == .regular
        nodes[id] = record
        if kind != .directory { nodesByInode[inode] = id }
        attach(id, to: parent, as: name)
        nodes[parent]?.children[name] = id
        return id
    }

    private func isDirectory(_ object: NewObject) -> Bool {
        if case .directory = object { return true }
        return false
    }

    /// Makes the object itself at `name` in `directory`; a new file is returned open.
    private func make(
        _ object: NewObject, at name: String, in directory: FileDescriptor, owner: Ownership?, opaque: Bool,
        group inherited: UInt32?
    ) throws(Errno) -> FileDescriptor? {
        var descriptor: FileDescriptor?
        switch object {
        case .file(let flags, let permissions):
            descriptor = try directory.open(
                at: name, flags: (flags & ~openTruncate) | openCreate | openExclusive, permissions: permissions & 0o7777)
        case .directory(let permissions):
            // mkdir(2) keeps only the permission and sticky bits of the mode it is given.
            let mode = (permissions & 0o1777) | (inherited != nil ? 0o2000 : 0)
            try directory.createDirectory(at: name, permissions: opaque ? 0o700 : permissions & 0o1777)
            if opaque {
                try markOpaque(name, in: directory)
                if owner != nil || inherited != nil {
                    try directory.setOwner(at: name, user: owner?.user, group: inherited ?? owner?.group)
                }
                try directory.setPermissions(at: name, mode)
                return nil
            }
        case .symbolicLink(let target):
            try directory.createSymbolicLink(at: name, target: target)
        case .node(let mode, let device):
            try directory.createNode(at: name, mode: mode, device: device)
        case .hardLink(let parent, let sourceName):
            try withUpperDirectory(parent) { (source) throws(Errno) in
                try source.createHardLink(from: sourceName, to: directory, as: name)
            }
            return nil
        }
        if owner != nil || inherited != nil {
            do {
                try directory.setOwner(at: name, user: owner?.user, group: inherited ?? owner?.group)
            } catch {
                try? descriptor?.close()
                try? directory.remove(at: name, directory: isDirectory(object))
                throw error
            }
        }
        return descriptor
    }

    /// Marks the upper directory `name` opaque in the configured format.
    func markOpaque(_ name: String, in directory: FileDescriptor) throws(Errno) {
        switch layers.format {
        case .overlay:
            try directory.setExtendedAttribute(attributes.opaque, to: Array("y".utf8), at: name)
        case .oci:
            let inner = try directory.open(beneath: name, flags: openPathDirectory)
            defer { try? inner.close() }
            let marker = try inner.open(
                at: PrivateNames.opaqueMarker, flags: openCreate | openExclusive | openWriteOnly, permissions: 0)
            try? marker.close()
        }
    }
}
