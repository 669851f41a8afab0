/// The shape of the benchmark fixture at a given scale: which names exist, in which layer, and how
/// many of each. Pure arithmetic; `FixtureBuilder` writes it and the workloads read the same names.
///
/// At scale 1 (the default): a 50k-entry tree (a quarter of its directories merged across every
/// layer, the rest in one layer each), a deep directory present in every layer for negative lookups,
/// a 20k-entry merged directory of small files, four sets of 10k lower files (chmod, unlink,
/// copy-up, rename), a directory for 10k creates, a 10,001-entry lower tree for `rm -rf`, two 1 GiB lower
/// files, and a separate stack for the layer-scaling runs (10k names in the bottom layer under up to
/// 127 filler layers).
public struct FixtureLayout: Sendable {
    public let scale: Double
    /// Lower layers of the main stack.
    public let layers: Int
    /// The layer counts of the scaling runs.
    public let scalingLayers: [Int]

    public init(scale: Double, layers: Int, scalingLayers: [Int]) {
        self.scale = scale
        self.layers = layers
        self.scalingLayers = scalingLayers
    }

    private func count(_ full: Double, minimum: Int) -> Int {
        max(minimum, Int((full * scale).rounded()))
    }

    // MARK: The 50k-entry tree

    /// Subdirectories per top-level directory of the tree, and files per subdirectory.
    static let treeFanOut = (subdirectories: 8, files: 5)
    /// Top-level directories of the tree: each brings 1 + 8 + 40 entries.
    public var treeDirectories: Int { count(50_000.0 / 49.0, minimum: 2) }

    /// Whether top-level directory `index` exists in every layer (a quarter of them) or in one.
    func treeDirectoryIsMerged(_ index: Int) -> Bool { index % 4 == 0 }

    /// Every path of the tree, parents before children.
    public var treePaths: [String] {
        var paths: [String] = []
        paths.reserveCapacity(treeDirectories * 49)
        for directory in 0..<treeDirectories {
            paths.append("tree/d\(directory)")
            for sub in 0..<Self.treeFanOut.subdirectories {
                paths.append("tree/d\(directory)/s\(sub)")
                for file in 0..<Self.treeFanOut.files {
                    paths.append("tree/d\(directory)/s\(sub)/f\(file)")
                }
            }
        }
        return paths
    }

    // MARK: Negative lookups

    /// A depth-8 directory present in every layer: a miss there must consult all of them.
    public static let negativeDirectory = "neg/d1/d2/d3/d4/d5/d6/d7/d8"
    public var negativeCount: Int { count(50_000, minimum: 20) }

    /// Names that exist nowhere, new for every `token` (backend and repetition), so the lower file
    /// system has never seen them either.
    public func missingNames(_ token: String, in directory: String = negativeDirectory, count: Int? = nil) -> [String] {
        (0..<(count ?? negativeCount)).map { "\(directory)/miss-\(token)-\($0)" }
    }

    // MARK: The merged directory and small files

    public static let mergedDirectory = "merged"
    /// Entries of the merged directory; entry k lives in layer k % layers. Each is a small file.
    public var mergedEntries: Int { count(20_000, minimum: 20) }
    public var mergedPaths: [String] { (0..<mergedEntries).map { "\(Self.mergedDirectory)/m\($0)" } }
    static let smallFileSize = 100

    // MARK: Write sets

    /// Lower files per write workload (chmod, unlink, copy-up, rename) and new files to create.
    public var setCount: Int { count(10_000, minimum: 20) }
    public var chmodPaths: [String] { (0..<setCount).map { "chmod/c\($0)" } }
    public var unlinkPaths: [String] { (0..<setCount).map { "unlink/u\($0)" } }
    public var copyUpPaths: [String] { (0..<setCount).map { "copyup/w\($0)" } }
    public var createPaths: [String] { (0..<setCount).map { "create/n\($0)" } }
    public var renamePaths: [String] { (0..<setCount).map { "rename/r\($0)" } }
    /// The name a renamed file gets, in the same directory.
    public static func renamed(_ path: String) -> String { path + ".moved" }
    static let copyUpFileSize = 1_024

    // MARK: rm -rf

    public static let removalRoot = "rmrf"
    /// Subdirectories of the removal tree (each in every layer, with 99 files spread over the layers):
    /// 100 at scale 1, so the tree has 10,001 entries.
    public var removalDirectories: Int { count(100, minimum: 1) }
    static let removalFilesPerDirectory = 99
    public var removalEntries: Int { 1 + removalDirectories * (1 + Self.removalFilesPerDirectory) }

    // MARK: Big files

    public static let bigAppendPath = "big/append.bin"
    public static let bigOverwritePath = "big/overwrite.bin"
    /// 1 GiB at scale 1, at least 1 MiB, a multiple of 1 MiB.
    public var bigFileSize: Int64 {
        let mebibytes = max(1, Int((1_024 * scale).rounded()))
        return Int64(mebibytes) << 20
    }

    // MARK: Layer scaling

    public static let scalingDirectory = "dir"
    /// Names that exist only in the bottom layer of the scaling stack.
    public var scalingNames: Int { count(10_000, minimum: 20) }
    public var scalingExistingPaths: [String] { (0..<scalingNames).map { "\(Self.scalingDirectory)/x\($0)" } }
    /// Filler layers above the bottom one: enough for the largest scaling stack.
    public var fillerLayers: Int { max(0, (scalingLayers.max() ?? 1) - 1) }

    /// Directory names of the scaling stack of `layers` layers, top first, relative to the scaling root:
    /// `f0 … f(layers-2)` then the bottom layer `b`. Short on purpose: the kernel takes the whole
    /// option string in one page.
    public func scalingStack(_ layers: Int) -> [String] {
        (0..<(layers - 1)).map { "f\($0)" } + ["b"]
    }

    /// Entries in the fixture, for the output.
    public var totalEntries: Int {
        treeDirectories * 49 + mergedEntries + 4 * setCount + removalEntries + 2 + scalingNames
    }
}
