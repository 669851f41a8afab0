import StrataSystem

/// One header of a tar stream, in the terms a layer unpacker needs.
///
/// `path` is the name exactly as the archive spells it (no normalisation: the unpacker decides what is
/// safe). Times are whole seconds plus nanoseconds, as pax headers keep them.
public struct ArchiveEntry: Sendable, Equatable {
    /// The kind of object an entry describes. A hard link is its own kind: its data is another entry's.
    public enum Kind: Sendable, Equatable {
        case regular, directory, symbolicLink, hardLink, characterDevice, blockDevice, fifo, socket
    }

    public var path: String
    public var kind: Kind
    /// The permission bits, set-user-ID, set-group-ID and sticky bits included (no file-type bits).
    public var permissions: UInt32
    public var userID: UInt32
    public var groupID: UInt32
    /// The size of a regular file's data (holes included); 0 for everything else.
    public var size: Int64
    public var modification: TimeSpec
    /// The target of a symbolic link, or the path of the entry a hard link names.
    public var linkTarget: String?
    /// The device number of a character or block device.
    public var device: UInt64
    /// Extended attributes in the order the archive lists them (pax `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*`).
    public var extendedAttributes: [ExtendedAttribute]

    public struct ExtendedAttribute: Sendable, Equatable {
        public var name: String
        public var value: [UInt8]
        public init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    public init(
        path: String, kind: Kind, permissions: UInt32, userID: UInt32 = 0, groupID: UInt32 = 0,
        size: Int64 = 0, modification: TimeSpec = TimeSpec(seconds: 0), linkTarget: String? = nil,
        device: UInt64 = 0, extendedAttributes: [ExtendedAttribute] = []
    ) {
        self.path = path
        self.kind = kind
        self.permissions = permissions
        self.userID = userID
        self.groupID = groupID
        self.size = size
        self.modification = modification
        self.linkTarget = linkTarget
        self.device = device
        self.extendedAttributes = extendedAttributes
    }
}
