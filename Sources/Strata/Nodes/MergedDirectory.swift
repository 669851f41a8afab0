/// The merged listing of one directory: every name of every layer, resolved once.
///
/// Built on the first lookup or listing of the directory by reading the upper directory and each
/// lower directory that merges into it, then kept up to date by Strata's own changes (the upper is
/// exclusively ours while the union is open, and lowers never change), so a lookup is one hash probe
/// whatever the number of layers.
struct MergedDirectory {
    var entries: [String: MergedEntry] = [:]
    /// The listing order given to the next name created in the upper layer.
    var nextUpperOrder: Int64 = 0

    /// Listing order: upper entries first, then each lower layer in stack order, each in the order
    /// its directory returned them. Copy-up keeps an entry's place.
    static func order(rank: Int, position: Int) -> Int64 {
        (Int64(rank) << 40) | Int64(position)
    }

    /// The names that show with their entries, in listing order.
    var visibleNames: [(name: String, entry: MergedEntry)] {
        var visible: [(name: String, entry: MergedEntry)] = []
        visible.reserveCapacity(entries.count)
        for (name, entry) in entries where entry.kind != nil { visible.append((name, entry)) }
        // Sort small (order, position) pairs, then gather: sorting whole entries moves far more memory.
        var order: [(key: Int64, index: Int)] = []
        order.reserveCapacity(visible.count)
        for (index, item) in visible.enumerated() { order.append((item.entry.order, index)) }
        order.sort { $0.key < $1.key }
        return order.map { visible[$0.index] }
    }

    var isEmpty: Bool { !entries.values.contains { $0.kind != nil } }
}

/// One name of a merged directory.
struct MergedEntry {
    /// The visible object's type; `nil` when the upper layer whites the name out.
    var kind: FileKind?
    /// The layer of the visible object, or `.upper` for an upper whiteout.
    var layer: LayerID
    /// The object's inode number in its layer (`d_ino`).
    var inode: UInt64
    /// The top lower layer that holds a visible object of this name below the upper layer, and its
    /// type. Removing or renaming away the name must then leave a whiteout.
    var lowerLayer: Int?
    var lowerKind: FileKind?
    /// The upper layer holds a whiteout for this name, stored this way.
    var upperWhiteout: LayerDirectory.Marker?
    /// For directories: the lower layers whose same-named directory merges under the visible one.
    var mergeLayers: [Int]
    var order: Int64

    var lowerPresent: Bool { lowerLayer != nil }
}
