/// Whose permissions an operation is checked against.
///
/// The kernel checks a caller against the merged object's owner and mode before overlayfs acts with
/// the mounter's rights (ovl §Permission model). Strata does the same: a caller without the right
/// gets `EACCES`/`EPERM` *before* anything is copied up. User 0 has every right but execute on a file
/// with no execute bit (`CAP_DAC_OVERRIDE`).
public struct Credentials: Sendable, Hashable {
    public var user: UInt32
    public var group: UInt32
    public var supplementaryGroups: [UInt32]

    public init(user: UInt32, group: UInt32, supplementaryGroups: [UInt32] = []) {
        self.user = user
        self.group = group
        self.supplementaryGroups = supplementaryGroups
    }

    /// The calling process's effective user, group and supplementary groups.
    public static var process: Credentials {
        Credentials(user: effectiveUserID, group: effectiveGroupID, supplementaryGroups: supplementaryGroupIDs)
    }

    public var isPrivileged: Bool { user == 0 }

    func isMember(of group: UInt32) -> Bool {
        group == self.group || supplementaryGroups.contains(group)
    }
}
