extension Engine {
    /// Gives node `id` the additional name `newName` in directory `newParent`.
    ///
    /// The source is copied up first (metadata only for a regular file), so both names share the
    /// upper inode and its link count. Throws `EPERM` for a directory, `EEXIST` when the name is
    /// visible, `EINVAL` for a marker name, `EROFS` without an upper layer. Serves FUSE `LINK`.
    mutating func link(_ id: NodeID, to newParent: NodeID, as newName: String) throws(Errno) -> NodeID {
        let record = try record(id)
        try Self.validateNewName(newName)
        if let existing = try entry(newName, in: newParent), existing.kind != nil { throw Errno.fileExists }
        guard record.kind != .directory else { throw Errno.notPermitted }
        try copyUpName(id)
        let (parent, name) = try upperLocation(of: id)
        let copied = try self.record(id)
        if copied.metacopy, copied.redirect?.hasNamePrefix("/") != true {
            // Every name of a metadata-only file must find its data: an absolute redirect naming the
            // linked name's lower path says where (kernel `ovl_set_link_redirect`).
            let redirect = "/" + joinPath(lowerPath(of: parent), copied.redirect ?? name)
            try withUpperDirectory(parent) { (directory) throws(Errno) in
                try directory.setExtendedAttribute(attributes.redirect, to: Array(redirect.utf8), at: name)
            }
            nodes[id]?.redirect = redirect
        }
        let linkCount = mergedLinkCount(id)
        let node = try create(newName, in: newParent, .hardLink(parent: parent, name: name)).node
        storeLinkCount(id, linkCount.map { $0 + 1 })
        return node
    }
}
