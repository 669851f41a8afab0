/// The engine's node records by ID.
///
/// Each record lives in a heap slot, so that the field accessors below (`kind(of:)`, `probe(_:in:)`…)
/// read one field in place: a dictionary's getter copies the whole record, retaining every table it
/// holds, and those copies were most of the cost of a path walk. `nodes[id]` still lends a whole record
/// (`_read`, a bitwise copy without retains); the hot paths use the accessors. Writes go through
/// `_modify` in place. Records keep value semantics because slots never leave the table — and a
/// `NodeTable` is never copied (copies would share slots): the engine owns the only one.
struct NodeTable {
    private final class Slot {
        var record: NodeRecord?

        init(_ record: NodeRecord) { self.record = record }
    }

    private var slots: [NodeID: Slot] = [:]

    subscript(id: NodeID) -> NodeRecord? {
        _read {
            if let slot = slots[id] { yield slot.record } else { yield nil }
        }
        set {
            if let newValue {
                if let slot = slots[id] { slot.record = newValue } else { slots[id] = Slot(newValue) }
            } else {
                slots[id] = nil
            }
        }
        _modify {
            if let slot = slots[id] {
                yield &slot.record
                if slot.record == nil { slots[id] = nil }
            } else {
                var record: NodeRecord?
                yield &record
                if let record { slots[id] = Slot(record) }
            }
        }
    }

    // Field reads for the path walk: they reach into the slot without a temporary copy of the record.

    func kind(of id: NodeID) -> FileKind? {
        slots[id]?.record?.kind
    }

    func child(_ name: String, of id: NodeID) -> NodeID? {
        slots[id]?.record?.children[name]
    }

    func isLoaded(_ id: NodeID) -> Bool {
        slots[id]?.record?.directory != nil
    }

    func entry(_ name: String, of id: NodeID) -> MergedEntry? {
        slots[id]?.record?.directory?.entries[name]
    }

    func parent(of id: NodeID) -> NodeID? {
        slots[id]?.record?.parent
    }

    func name(of id: NodeID) -> String? {
        slots[id]?.record?.name
    }

    func inode(of id: NodeID) -> UInt64? {
        slots[id]?.record?.inode
    }

    /// What a lookup of `name` in directory `id` finds, read from the directory's slot once.
    enum Probe {
        case staleNode
        case notDirectory
        case notLoaded
        case child(NodeID)
        case entry(MergedEntry?)
    }

    func probe(_ name: String, in id: NodeID) -> Probe {
        guard let slot = slots[id] else { return .staleNode }
        guard let kind = slot.record?.kind else { return .staleNode }
        guard kind == .directory else { return .notDirectory }
        guard slot.record?.directory != nil else { return .notLoaded }
        if let child = slot.record?.children[name] { return .child(child) }
        return .entry(slot.record?.directory?.entries[name])
    }
}
