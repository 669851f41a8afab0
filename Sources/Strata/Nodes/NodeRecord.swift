/// What the union knows about one merged object.
///
/// Guarded by the engine lock. A directory keeps the lower directories that merge under it (its
/// "stack", like the kernel's `ovl_entry`); a non-directory keeps the lower copy it came from, which
/// is also where a metadata-only copy-up reads its data.
struct NodeRecord {
    let id: NodeID
    /// The directory holding the name this node was last reached by; `nil` for the root and for
    /// objects that have lost every name.
    var parent: NodeID?
    var name: String {
        willSet {
            // The lower copy keeps the name it has in its layer.
            if lowerPlace != nil, rare?.lowerName == nil, !newValue.isSameName(as: name) {
                rare = RareFields.make(redirect: redirect, indexKey: indexKey, lowerName: name)
            }
        }
    }
    /// Non-directories reached by several names (a hard-linked file): every name the union knows the
    /// object by, so that removing the current one moves the node to another instead of orphaning
    /// it. Empty while `parent` and `name` are its only name, which is most objects: a set per node
    /// was an eighth of the memory a walked tree holds.
    var names: Set<NameLocation> = []
    let kind: FileKind
    /// The inode number callers see: stable for the life of the union and across copy-up.
    var inode: UInt64
    /// An upper object exists (possibly metadata only).
    var inUpper: Bool
    /// The upper object holds metadata only; data still comes from `lowerObject`.
    var metacopy = false
    /// A regular file the union created and has set no extended attribute on since: it holds no
    /// `security.capability`, which the kernel asks for before the first write to every new file
    /// (answered without a system call).
    var createdWithoutAttributes = false
    /// Directories: lower directories merged under this one, top first.
    var lowerStack: [LowerDirectory] = []
    /// Non-directories: the directory of the topmost lower copy (see `lowerObject`).
    private var lowerPlace: LowerDirectory?
    private var packedLowerStatus: PackedStatus?
    /// Directories: the merged listing, once loaded.
    var directory: MergedDirectory?
    /// Names already resolved to nodes in this directory.
    var children: [NameKey: NodeID] = [:]
    /// Outstanding kernel lookups (FUSE `forget` decrements).
    var lookups: UInt64 = 0
    /// What few records have (see `RareFields`); nil for most.
    private var rare: RareFields?

    init(id: NodeID, parent: NodeID?, name: String, kind: FileKind, inode: UInt64, inUpper: Bool) {
        self.id = id
        self.parent = parent
        self.name = name
        self.kind = kind
        self.inode = inode
        self.inUpper = inUpper
    }

    /// Non-directories: the topmost lower copy.
    var lowerObject: LowerObject? {
        get { lowerPlace.map { LowerObject(directory: $0, name: rare?.lowerName ?? name) } }
        set {
            lowerPlace = newValue?.directory
            let lowerName = newValue.flatMap { $0.name.isSameName(as: name) ? nil : $0.name }
            rare = RareFields.make(redirect: redirect, indexKey: indexKey, lowerName: lowerName)
        }
    }

    /// Attributes of the lower copy, read once: lowers never change while the union is open.
    var lowerStatus: FileStatus? {
        get { packedLowerStatus?.status }
        set { packedLowerStatus = newValue.map(PackedStatus.init) }
    }

    /// The redirect this upper object carries (directories, and metadata-only files renamed away
    /// from their data).
    var redirect: String? {
        get { rare?.redirect }
        set { rare = RareFields.make(redirect: newValue, indexKey: indexKey, lowerName: rare?.lowerName) }
    }

    /// Lower hard-link groups that have come up: the name of their entry in the work directory's
    /// index, which holds the upper inode all their names share and the group's link count.
    var indexKey: String? {
        get { rare?.indexKey }
        set { rare = RareFields.make(redirect: redirect, indexKey: newValue, lowerName: rare?.lowerName) }
    }

    var isDirectory: Bool { kind == .directory }

    /// A merged directory reports one link, as the kernel does (counting subdirectories of every
    /// layer is not worth it, and `find` accepts 1).
    var isMergedDirectory: Bool {
        isDirectory && ((inUpper && !lowerStack.isEmpty) || lowerStack.count > 1)
    }
}

/// Fields few records need, kept out of line so that the common record is smaller: a redirect, a
/// hard-link group's index entry, a lower copy's name when the node is now reached by another.
/// Immutable (a change makes a new one), so records keep value semantics.
private final class RareFields: Sendable {
    let redirect: String?
    let indexKey: String?
    let lowerName: String?

    private init(redirect: String?, indexKey: String?, lowerName: String?) {
        self.redirect = redirect
        self.indexKey = indexKey
        self.lowerName = lowerName
    }

    static func make(redirect: String?, indexKey: String?, lowerName: String?) -> RareFields? {
        if redirect == nil && indexKey == nil && lowerName == nil { return nil }
        return RareFields(redirect: redirect, indexKey: indexKey, lowerName: lowerName)
    }
}

/// A lower copy's `FileStatus` in 96 bytes instead of 128: link counts, block sizes and nanoseconds
/// fit 32 bits, and every lower object the union has seen keeps one.
private struct PackedStatus {
    var device: UInt64
    var inode: UInt64
    var specialDevice: UInt64
    var size: Int64
    var blocks: Int64
    var seconds: (access: Int64, modification: Int64, change: Int64)
    var nanoseconds: (access: Int32, modification: Int32, change: Int32)
    var mode: UInt32
    var linkCount: UInt32
    var user: UInt32
    var group: UInt32
    var blockSize: Int32

    init(_ status: FileStatus) {
        device = status.device
        inode = status.inode
        specialDevice = status.specialDevice
        size = status.size
        blocks = status.blocks
        seconds = (status.accessTime.seconds, status.modificationTime.seconds, status.changeTime.seconds)
        nanoseconds = (
            Int32(clamping: status.accessTime.nanoseconds), Int32(clamping: status.modificationTime.nanoseconds),
            Int32(clamping: status.changeTime.nanoseconds)
        )
        mode = status.mode
        linkCount = UInt32(clamping: status.linkCount)
        user = status.user
        group = status.group
        blockSize = Int32(clamping: status.blockSize)
    }

    var status: FileStatus {
        FileStatus(
            device: device, inode: inode, mode: mode, linkCount: UInt64(linkCount), user: user, group: group,
            specialDevice: specialDevice, size: size, blockSize: Int64(blockSize), blocks: blocks,
            accessTime: TimeSpec(seconds: seconds.access, nanoseconds: Int64(nanoseconds.access)),
            modificationTime: TimeSpec(seconds: seconds.modification, nanoseconds: Int64(nanoseconds.modification)),
            changeTime: TimeSpec(seconds: seconds.change, nanoseconds: Int64(nanoseconds.change)))
    }
}

/// One name of an object: the directory holding it and the name in it.
struct NameLocation: Hashable {
    var parent: NodeID
    var name: String

    static func == (lhs: NameLocation, rhs: NameLocation) -> Bool {
        lhs.parent == rhs.parent && lhs.name.isSameName(as: rhs.name)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(parent)
        hasher.combine(NameKey(name))
    }
}
