/// A POSIX access ACL, as the kernel stores it in `system.posix_acl_access`, and the kernel's rule for
/// who it lets in (`posix_acl_permission`).
struct AccessControlList {
    static let attributeName = "system.posix_acl_access"
    /// A directory's ACL that new objects in it inherit.
    static let defaultAttributeName = "system.posix_acl_default"

    /// The kinds of entry, in the order the kernel keeps them.
    enum Tag: UInt16 {
        case owner = 0x01, user = 0x02, owningGroup = 0x04, group = 0x08, mask = 0x10, other = 0x20
    }

    struct Entry {
        let tag: Tag
        let permissions: UInt32
        /// The user or group of a `.user` or `.group` entry.
        let id: UInt32
    }

    var entries: [Entry]

    /// Parses the attribute's value: a little-endian version 2, then 8-byte entries (tag, permissions,
    /// id). Nil for anything else.
    init?(_ value: [UInt8]) {
        guard value.count >= 4, (value.count - 4) % 8 == 0 else { return nil }
        func integer(_ offset: Int, _ width: Int) -> UInt32 {
            (0..<width).reduce(UInt32(0)) { $0 | UInt32(value[offset + $1]) << (8 * $1) }
        }
        guard integer(0, 4) == 2 else { return nil }
        var entries: [Entry] = []
        for offset in stride(from: 4, to: value.count, by: 8) {
            guard let tag = Tag(rawValue: UInt16(integer(offset, 2))) else { return nil }
            entries.append(Entry(tag: tag, permissions: integer(offset + 2, 2) & 7, id: integer(offset + 4, 4)))
        }
        self.entries = entries
    }

    /// Whether `caller` (not the owner: the mode's owner bits decide for the owner) gets the `rwx` bits
    /// `wanted`: a named-user entry, else the owning group's or a named group's entry that grants them,
    /// each limited by the mask; other only when no group entry matched.
    func grants(_ wanted: UInt32, to caller: Credentials, owningGroup: UInt32) -> Bool {
        let mask = entries.first { $0.tag == .mask }?.permissions ?? 7
        var groupMatched = false
        for entry in entries {
            switch entry.tag {
            case .owner, .mask:
                continue
            case .user:
                if entry.id == caller.user { return wanted & ~(entry.permissions & mask) == 0 }
            case .owningGroup, .group:
                let member = caller.isMember(of: entry.tag == .owningGroup ? owningGroup : entry.id)
                guard member else { continue }
                groupMatched = true
                if wanted & ~entry.permissions == 0 { return wanted & ~(entry.permissions & mask) == 0 }
            case .other:
                return !groupMatched && wanted & ~entry.permissions == 0
            }
        }
        return false
    }

    /// The value as the kernel stores it.
    var bytes: [UInt8] {
        func littleEndian(_ value: UInt32, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        return littleEndian(2, 4) + entries.flatMap {
            littleEndian(UInt32($0.tag.rawValue), 2) + littleEndian($0.permissions, 2) + littleEndian($0.id, 4)
        }
    }

    /// What an object created with permission bits `mode` under a directory whose default ACL this is
    /// gets, as the kernel's `posix_acl_create`: the ACL limited by the mode and the mode limited by the
    /// ACL; the ACL is nil when the mode alone says it all (no named entries, no mask).
    func inherited(byMode mode: UInt32) -> (acl: AccessControlList?, mode: UInt32) {
        var acl = self, mode = mode & 0o777
        var equivalent = true
        var groupIndex: Int?, maskIndex: Int?
        for index in acl.entries.indices {
            let entry = acl.entries[index]
            switch entry.tag {
            case .owner:
                let permissions = entry.permissions & (mode >> 6)
                acl.entries[index] = Entry(tag: .owner, permissions: permissions, id: entry.id)
                mode &= (permissions << 6) | 0o077
            case .user, .group:
                equivalent = false
            case .owningGroup:
                groupIndex = index
            case .other:
                let permissions = entry.permissions & mode & 7
                acl.entries[index] = Entry(tag: .other, permissions: permissions, id: entry.id)
                mode &= permissions | 0o770
            case .mask:
                maskIndex = index
                equivalent = false
            }
        }
        if let classIndex = maskIndex ?? groupIndex {
            let entry = acl.entries[classIndex]
            let permissions = entry.permissions & ((mode >> 3) & 7)
            acl.entries[classIndex] = Entry(tag: entry.tag, permissions: permissions, id: entry.id)
            mode &= (permissions << 3) | 0o707
        }
        return (equivalent ? nil : acl, mode)
    }
}
