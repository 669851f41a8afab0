import Strata

/// Whether, and by which layer, an entry of one layer is hidden in the finished image.
///
/// For every path, the layers that hide something there are listed bottom first: a whiteout or a
/// non-directory hides the lower entry of that path and everything below it, a directory hides a lower
/// non-directory of that path, an opaque marker hides everything below its directory.
struct Visibility {
    enum Hider { case whiteout, opaque, directory, nonDirectory }
    /// The earliest layer (0-based) that hides an entry, and whether it deleted it (no entry of that
    /// layer took its path) rather than replaced it.
    struct Fate: Equatable {
        var layer: Int
        var deleted: Bool
    }

    private let layers: [LayerContents]
    /// By path as bytes (`NameKey`).
    private var hiders: [NameKey: [(layer: Int, hider: Hider)]] = [:]

    init(_ layers: [LayerContents]) {
        self.layers = layers
        for (index, layer) in layers.enumerated() {
            for (path, occupant) in layer.occupants {
                hiders[path, default: []].append((index, occupant == .directory ? .directory : .nonDirectory))
            }
            for path in layer.whiteouts { hiders[path, default: []].append((index, .whiteout)) }
            for path in layer.opaques { hiders[path, default: []].append((index, .opaque)) }
        }
    }

    /// Refuses, as the layer store does, an image in which a layer writes into a directory its tar never
    /// described while the layers below show a non-directory there: a tool that unpacks onto the merged
    /// tree would write through that symbolic link (or fail on that file), so the image means different
    /// things to different tools. `names` are the layers' names for the message.
    func checkImplicitDirectories(names: [String]) throws(StrataError) {
        for (index, layer) in layers.enumerated() {
            for (key, entry) in layer.implicitDirectories.sorted(by: { $0.key.string.utf8.lexicographicallyPrecedes($1.key.string.utf8) }) {
                let path = key.string
                guard let lower = hiders[path]?.last(where: { $0.layer < index && $0.hider == .nonDirectory })?.layer,
                      fate(of: path, in: lower, before: index) == nil else { continue }
                throw StrataError(.unsafePath, "\(names[index]): entry '\(FileName.printable(entry))' is written through the non-directory '\(FileName.printable(path))' of layer \(lower + 1), which the tar never replaces with a directory")
            }
        }
    }

    /// The fate of the non-directory `path` of layer `layer` (0-based); nil while the image shows it
    /// (or, with `limit`, while the layers below `limit` show it).
    func fate(of path: String, in layer: Int, before limit: Int = .max) -> Fate? {
        var earliest = first(at: path, after: layer, before: limit) { $0 != .opaque }
        var ancestor = path.utf8[...]
        var more = true
        while more {
            // Every strict ancestor, the root ("") last; split at "/" bytes.
            if let slash = ancestor.lastIndex(of: UInt8(ascii: "/")) {
                ancestor = ancestor[..<slash]
            } else {
                ancestor = ancestor[ancestor.startIndex..<ancestor.startIndex]
                more = false
            }
            if let found = first(at: String(decoding: ancestor, as: UTF8.self), after: layer, before: limit, where: { $0 != .directory }) {
                earliest = min(earliest ?? found, found)
            }
        }
        return earliest.map { Fate(layer: $0, deleted: layers[$0].occupants[path] == nil) }
    }

    private func first(at path: String, after layer: Int, before limit: Int, where wanted: (Hider) -> Bool) -> Int? {
        hiders[path]?.first { $0.layer > layer && $0.layer < limit && wanted($0.hider) }?.layer
    }
}
