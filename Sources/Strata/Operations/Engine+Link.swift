extension Engine {
    /// Gives node `id` the additional name `newName` in directory `newParent`.
    ///
    /// The source is copied up first (metadata only for a regular file), so both names share the
    /// upper inode and its link count. Throws `EPERM` for a directory, `EEXIST` when the name is
    /// visible, `EINVAL` for a marker name, `EROFS` without an upper layer. Serves FUSE `LINK`.
    mutating func link(_ id: NodeID, to newParent: NodeID, as newName: String) throws(Errno) -> NodeID {
        let record = try record(id)
        guard record.kind != .directory else { throw Errno.notPermitted }
        try Self.validateNewName(newName)
        if let existing = try entry(newName, in: newParent), existing.kind != nil { throw Errno.fileExists }
        try copyUp(id)
        let (parent, name) = try upperLocation(of: id)
        let (node, _) = try create(newName, in: newParent, .hardLink(parent: parent, name: name))
        adjustLinkCount(id, by: 1)
        return node
    }
}
