/// Which layer of the stack an object lives in.
///
/// The upper layer ranks above every lower; lower 0 is the top lower (`lowerdir=` leftmost).
enum LayerID: Hashable, Sendable, Comparable {
    case upper
    case lower(Int)

    var rank: Int {
        switch self {
        case .upper: 0
        case .lower(let index): index + 1
        }
    }

    static func < (lhs: LayerID, rhs: LayerID) -> Bool { lhs.rank < rhs.rank }
}

/// One read-only lower layer: its root directory, held open for the life of the union.
struct LowerLayer: Sendable {
    let index: Int
    let path: FilePath
    /// `O_PATH` descriptor of the layer root; every access is resolved beneath it.
    let root: FileDescriptor
    let device: UInt64
}

/// A directory of one lower layer: which layer, and the path of the directory inside it
/// (`""` for the layer root, components joined by `/`).
struct LowerDirectory: Hashable, Sendable {
    var layer: Int
    var path: String

    func appending(_ name: String) -> LowerDirectory {
        LowerDirectory(layer: layer, path: path.isEmpty ? name : path + "/" + name)
    }
}

/// A non-directory in one lower layer: the directory holding it and its name there.
struct LowerObject: Hashable, Sendable {
    var directory: LowerDirectory
    var name: String
    var layer: Int { directory.layer }
    var path: String { directory.path.isEmpty ? name : directory.path + "/" + name }
}

/// Paths are built from validated names only, so joining never produces `..` or absolute paths.
func joinPath(_ parent: String, _ name: String) -> String {
    parent.isEmpty ? name : parent + "/" + name
}
