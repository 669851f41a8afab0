/// The merged listing of one directory: every name of every layer, resolved once.
///
/// Built on the first lookup or listing of the directory by reading the upper directory and each
/// lower directory that merges into it, then kept up to date by Strata's own changes (the upper is
/// exclusively ours while the union is open, and lowers never change), so a lookup is one hash probe
/// whatever the number of layers.
struct MergedDirectory {
    var entries: [NameKey: MergedEntry] = [:]
    /// The listing order given to the next name created in the upper layer.
    var nextUpperOrder: Int64 = 0

    /// Listing order: upper entries first, then each lower layer in stack order, each in the order
    /// its directory returned them. Copy-up keeps an entry's place.
    static func order(rank: Int, position: Int) -> Int64 {
        (Int64(rank) << 40) | Int64(position)
    }

    /// What a listing shows of one name.
    struct Listed {
        var name: String
        var kind: FileKind
        var layer: LayerID
        /// The inode number in its layer.
        var inode: UInt64
    }

    /// The names that show, in listing order. Only what a listing needs is gathered: copying whole
    /// entries (with their layer arrays) was most of the cost of listing a large directory.
    var visibleNames: [Listed] {
        var visible: [Listed] = []
        var orders: [Int64] = []
        visible.reserveCapacity(entries.count)
        orders.reserveCapacity(entries.count)
        for (name, entry) in entries {
            guard let kind = entry.kind else { continue }
            orders.append(entry.order)
            visible.append(Listed(name: name.string, kind: kind, layer: entry.layer, inode: entry.inode))
        }
        if let placed = Self.placeInOrder(orders) { return placed.map { visible[$0] } }
        var sorted = Array(orders.indices)
        sorted.sort { orders[$0] < orders[$1] }
        return sorted.map { visible[$0] }
    }

    /// The indices of `orders` in increasing order, found without sorting: positions are dense within
    /// each rank (a layer's directory numbers its entries as it reads them), so each order has its own
    /// slot in a table of about as many slots as entries. Nil when the orders are too sparse for that
    /// (many names removed since), or two share an order; then a sort decides.
    static func placeInOrder(_ orders: [Int64]) -> [Int]? {
        let positionMask: Int64 = (1 << 40) - 1
        var spans: [Int] = []
        for order in orders {
            let rank = Int(order >> 40)
            let position = Int(order & positionMask)
            if rank >= spans.count { spans.append(contentsOf: repeatElement(0, count: rank + 1 - spans.count)) }
            spans[rank] = max(spans[rank], position + 1)
        }
        var starts: [Int] = []
        starts.reserveCapacity(spans.count)
        var total = 0
        for span in spans {
            starts.append(total)
            total += span
        }
        guard total <= 2 * orders.count + 64 else { return nil }
        var slots = [Int](repeating: -1, count: total)
        for (index, order) in orders.enumerated() {
            let slot = starts[Int(order >> 40)] + Int(order & positionMask)
            guard slots[slot] < 0 else { return nil }
            slots[slot] = index
        }
        return slots.filter { $0 >= 0 }
    }

    var isEmpty: Bool { !entries.values.contains { $0.kind != nil } }
}

/// One name of a merged directory.
///
/// Stored compactly — layer numbers as 16 bits (a stack has at most a few hundred layers) — because
/// every name of every directory read is one: 32 bytes instead of 64 is a fifth of what a walked tree
/// holds.
struct MergedEntry {
    /// The visible object's type; `nil` when the upper layer whites the name out.
    var kind: FileKind?
    /// The top lower layer's object type (see `lowerLayer`).
    var lowerKind: FileKind?
    /// The upper layer holds a whiteout for this name, stored this way.
    var upperWhiteout: LayerDirectory.Marker?
    /// `layer`: -1 for the upper layer.
    private var layerCode: Int16
    /// `lowerLayer`: -1 for none.
    private var lowerLayerCode: Int16
    /// The object's inode number in its layer (`d_ino`).
    var inode: UInt64
    var order: Int64
    /// For directories: the lower layers whose same-named directory merges under the visible one.
    var mergeLayers: [Int]

    init(
        kind: FileKind?, layer: LayerID, inode: UInt64, lowerLayer: Int?, lowerKind: FileKind?,
        upperWhiteout: LayerDirectory.Marker?, mergeLayers: [Int], order: Int64
    ) {
        self.kind = kind
        self.lowerKind = lowerKind
        self.upperWhiteout = upperWhiteout
        self.layerCode = Self.code(of: layer)
        self.lowerLayerCode = Int16(lowerLayer ?? -1)
        self.inode = inode
        self.order = order
        self.mergeLayers = mergeLayers
    }

    /// The layer of the visible object, or `.upper` for an upper whiteout.
    var layer: LayerID {
        get { layerCode < 0 ? .upper : .lower(Int(layerCode)) }
        set { layerCode = Self.code(of: newValue) }
    }

    /// The top lower layer that holds a visible object of this name below the upper layer, and its
    /// type. Removing or renaming away the name must then leave a whiteout.
    var lowerLayer: Int? {
        get { lowerLayerCode < 0 ? nil : Int(lowerLayerCode) }
        set { lowerLayerCode = Int16(newValue ?? -1) }
    }

    var lowerPresent: Bool { lowerLayerCode >= 0 }

    private static func code(of layer: LayerID) -> Int16 {
        switch layer {
        case .upper: return -1
        case .lower(let index): return Int16(index)
        }
    }
}

extension MergedEntry {
    /// A name no layer has shown yet (an order no layer gives).
    static let unseen = MergedEntry(
        kind: nil, layer: .upper, inode: 0, lowerLayer: nil, lowerKind: nil, upperWhiteout: nil, mergeLayers: [],
        order: -1)
}

/// Merges the lower layers' entries of one directory, top layer first, into merged entries: the first
/// layer that has a name decides what shows; directories below it merge until a non-directory or a
/// whiteout closes the name.
struct LowerMerge {
    /// Names whose top lower copy is a whiteout: they must not show.
    private(set) var hidden: [NameKey] = []
    /// Visible directories that lower layers may no longer merge into (few: a same-layer OCI whiteout,
    /// or a non-directory below).
    private var closed: Set<NameKey> = []

    mutating func add(
        _ entry: LayerDirectory.Entry, named name: NameKey, layer: Int, rank: Int, to merged: inout MergedEntry
    ) {
        let isDirectory = entry.kind == .directory
        if merged.order < 0 {
            merged = MergedEntry(
                kind: entry.kind, layer: .lower(layer), inode: entry.inode, lowerLayer: layer, lowerKind: entry.kind,
                upperWhiteout: nil, mergeLayers: isDirectory ? [layer] : [],
                order: MergedDirectory.order(rank: rank, position: entry.position))
            if entry.kind == nil {
                hidden.append(name)
            } else if isDirectory && entry.whiteout != nil {
                closed.insert(name)
            }
            return
        }
        // Only a visible directory still open takes more from below.
        guard merged.kind == .directory, closed.isEmpty || !closed.contains(name) else { return }
        if isDirectory { merged.mergeLayers.append(layer) }
        if !isDirectory || entry.whiteout != nil { closed.insert(name) }
    }
}
