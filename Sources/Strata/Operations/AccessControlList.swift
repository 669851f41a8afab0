/// A POSIX access ACL, as the kernel stores it in `system.posix_acl_access`, and the kernel's rule for
/// who it lets in (`posix_acl_permission`).
struct AccessControlList {
    static let attributeName = "system.posix_acl_access"

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

    let entries: [Entry]

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
}
