/// The rights an access check asks for (the `rwx` bits).
struct Access: OptionSet {
    let rawValue: UInt32
    static let read = Access(rawValue: 4)
    static let write = Access(rawValue: 2)
    static let execute = Access(rawValue: 1)
}

extension Engine {
    /// Checks `caller` against an object's owner, mode and POSIX ACL, as `inode_permission` does: the
    /// owner class from the mode; for anyone else, when the mode has group bits (the ACL's mask), the
    /// access ACL of `id`'s topmost copy if it has one, else the group or other class. Throws `EACCES`.
    func checkAccess(_ status: FileStatus, _ access: Access, of id: NodeID) throws(Errno) {
        if caller.isPrivileged {
            if access.contains(.execute) && status.kind != .directory && status.permissions & 0o111 == 0 {
                throw Errno.permissionDenied
            }
            return
        }
        let bits: UInt32
        if caller.user == status.user {
            bits = (status.permissions >> 6) & 7
        } else if status.permissions & 0o070 != 0, let acl = try accessControlList(of: id) {
            guard acl.grants(access.rawValue, to: caller, owningGroup: status.group) else { throw Errno.permissionDenied }
            return
        } else if caller.isMember(of: status.group) {
            bits = (status.permissions >> 3) & 7
        } else {
            bits = status.permissions & 7
        }
        guard access.rawValue & ~bits == 0 else { throw Errno.permissionDenied }
    }

    /// The access ACL of a node's topmost copy; nil where it has none (or its file system keeps none).
    func accessControlList(of id: NodeID) throws(Errno) -> AccessControlList? {
        let value: [UInt8]
        do {
            value = try withTopmostLocation(try record(id)) { (directory, entry) throws(Errno) in
                try directory.extendedAttribute(AccessControlList.attributeName, at: entry)
            }
        } catch where error == .noData || error == .notSupported {
            return nil
        }
        // A value the kernel would not have stored: refuse rather than guess.
        guard let acl = AccessControlList(value) else { throw Errno.ioError }
        return acl
    }

    func checkAccess(of id: NodeID, _ access: Access) throws(Errno) {
        if caller.isPrivileged {
            // Only a non-directory's execute bits bind a privileged caller: its searches of directories
            // (every lookup) need no attributes, which for an upper directory would cost an `fstatat`.
            guard access.contains(.execute), nodes.kind(of: id) != .directory else { return }
        }
        try checkAccess(try attributes(of: id), access, of: id)
    }

    /// A change of the entries of `directory`: write and search rights on it. Throws `EACCES`.
    func checkDirectoryChange(_ directory: NodeID) throws(Errno) {
        guard !caller.isPrivileged else { return }
        try checkAccess(try attributes(of: directory), [.write, .execute], of: directory)
    }

    /// Removing or renaming away `child` from `directory`: write and search rights, and in a sticky
    /// directory ownership of the directory or the entry. Throws `EACCES`, `EPERM`.
    func checkRemoval(of child: NodeID, from directory: NodeID) throws(Errno) {
        guard !caller.isPrivileged else { return }
        let directoryStatus = try attributes(of: directory)
        try checkAccess(directoryStatus, [.write, .execute], of: directory)
        if directoryStatus.mode & 0o1000 != 0 {
            let childStatus = try attributes(of: child)
            guard caller.user == directoryStatus.user || caller.user == childStatus.user else {
                throw Errno.notPermitted
            }
        }
    }

    /// The rules of `chmod`, `chown`, `utimensat` and `truncate` for an unprivileged caller.
    /// Throws `EPERM` (not the owner, or a forbidden owner change) and `EACCES` (no write right).
    func checkAttributeChange(of id: NodeID, _ changes: AttributeChanges) throws(Errno) {
        guard !caller.isPrivileged else { return }
        let status = try attributes(of: id)
        let isOwner = caller.user == status.user
        if changes.mode != nil && !isOwner { throw Errno.notPermitted }
        if let user = changes.user, user != status.user { throw Errno.notPermitted }
        if let group = changes.group, group != status.group, !(isOwner && caller.isMember(of: group)) {
            throw Errno.notPermitted
        }
        let times = [changes.accessTime, changes.modificationTime].compactMap { $0 }
        if !times.isEmpty && !isOwner {
            // Setting explicit times needs ownership; "now" needs the write right.
            guard times.allSatisfy({ $0 == .now }) else { throw Errno.notPermitted }
            try checkAccess(status, .write, of: id)
        }
        if changes.size != nil { try checkAccess(status, .write, of: id) }
    }

    /// Extended attributes: `trusted.*` and `security.*` need privilege; `user.*` the read or write
    /// right. Throws `EPERM`, `EACCES`.
    func checkAttributeAccess(of id: NodeID, name: String, write: Bool) throws(Errno) {
        if name.hasNamePrefix("user."), let kind = nodes[id]?.kind, kind != .regular, kind != .directory {
            // The VFS allows user.* only on regular files and directories (`xattr_permission`).
            throw write ? Errno.notPermitted : Errno.noData
        }
        guard !caller.isPrivileged else { return }
        if write && (name.hasNamePrefix("trusted.") || name.hasNamePrefix("security.")) { throw Errno.notPermitted }
        if name.hasNamePrefix("user.") {
            let status = try attributes(of: id)
            if write && status.user != caller.user { try checkAccess(status, .write, of: id) }
            if !write { try checkAccess(status, .read, of: id) }
        }
    }
}
