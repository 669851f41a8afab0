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

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rawValue)
    }

    /// Node tables are probed several times per path component; SipHash would dominate the probe.
    /// Node IDs are handed out by the engine, never chosen by a user, so a bit mixer (splitmix64's
    /// finalizer) is enough to spread them over the buckets.
    public func _rawHashValue(seed: Int) -> Int {
        var mixed = rawValue &+ UInt64(UInt(bitPattern: seed))
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return Int(truncatingIfNeeded: mixed ^ (mixed >> 31))
    }
}
