/// The identity of one merged object for as long as someone refers to it.
///
/// This is the kernel-facing node ID of FUSE (the root is 1, as `FUSE_ROOT_ID`); it is not the inode
/// number a caller sees in `st_ino`. Every name of a hard-linked file maps to the same node ID.
public struct NodeID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// The root directory of the union.
    public static let root = NodeID(rawValue: 1)
    public var description: String { "node \(rawValue)" }
}
