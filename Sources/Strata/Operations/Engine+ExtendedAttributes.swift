extension Engine {
    /// The directory holding the topmost copy of a node and its name there, for attribute reads.
    /// Runs `body` with the directory holding a node's topmost copy and the copy's name there (`""`
    /// for a lower directory itself); `body` must not close the directory.
    func withTopmostLocation<Result>(
        _ record: NodeRecord, _ body: (FileDescriptor, String) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        if record.inUpper { return try withUpperObject(record.id, body) }
        if record.isDirectory {
            guard let top = record.lowerStack.first else { return try body(layers.lowers[0].root, "") }
            return try withLowerDirectory(top) { (directory) throws(Errno) in try body(directory, "") }
        }
        guard let source = record.lowerObject else { throw Errno.ioError }
        return try withLowerDirectory(source.directory) { (directory) throws(Errno) in try body(directory, source.name) }
    }

    /// The attribute holding a file's capabilities, which the kernel reads before each first write.
    static let fileCapabilities = "security.capability"

    /// The value of extended attribute `name` of a node's topmost copy.
    ///
    /// Private attributes (`trusted.overlay.*`, `user.overlay.*`, Strata's) answer `EOPNOTSUPP`, as
    /// overlayfs answers for its own. Serves FUSE `GETXATTR`.
    func extendedAttribute(_ name: String, of id: NodeID) throws(Errno) -> [UInt8] {
        guard !PrivateNames.isPrivateAttribute(name) else { throw Errno.notSupported }
        try checkAttributeAccess(of: id, name: name, write: false)
        let record = try record(id)
        if record.createdWithoutAttributes && name.isSameName(as: Self.fileCapabilities) { throw Errno.noData }
        return try withTopmostLocation(record) { (directory, entry) throws(Errno) in
            try directory.extendedAttribute(name, at: entry)
        }
    }

    /// The names of a node's extended attributes, private ones left out. Serves FUSE `LISTXATTR`.
    func extendedAttributeNames(of id: NodeID) throws(Errno) -> [String] {
        try withTopmostLocation(try record(id)) { (directory, entry) throws(Errno) in
            try directory.extendedAttributeNames(at: entry).filter { !PrivateNames.isPrivateAttribute($0) }
        }
    }

    /// Sets or removes (`value == nil`) an extended attribute, copying the node up first (metadata
    /// only). Private names answer `EOPNOTSUPP`. Serves FUSE `SETXATTR` and `REMOVEXATTR`.
    mutating func setExtendedAttribute(_ name: String, of id: NodeID, to value: [UInt8]?, flags: XAttrFlags)
        throws(Errno)
    {
        guard !PrivateNames.isPrivateAttribute(name) else { throw Errno.notSupported }
        try checkAttributeAccess(of: id, name: name, write: true)
        // A removal of an absent attribute must not copy anything up.
        if value == nil {
            let names = try extendedAttributeNames(of: id)
            guard names.contains(where: { $0.isSameName(as: name) }) else { throw Errno.noData }
        }
        try copyUp(id)
        nodes[id]?.createdWithoutAttributes = false
        let apply: (FileDescriptor, String) throws(Errno) -> Void = { (directory, entry) throws(Errno) in
            if let value {
                try directory.setExtendedAttribute(name, to: value, at: entry, flags: flags)
            } else {
                try directory.removeExtendedAttribute(name, at: entry)
            }
        }
        try withUpperObject(id, apply)
    }
}
