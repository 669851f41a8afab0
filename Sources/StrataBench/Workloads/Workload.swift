/// The workloads of a repetition, each one line of the table.
public enum Workload: String, Codable, Sendable, CaseIterable {
    case lookupFirst = "lookup_first"
    case lookupWarm = "lookup_warm"
    case negativeFirst = "negative_first"
    case negativeWarm = "negative_warm"
    case readdirFirst = "readdir_first"
    case readdirWarm = "readdir_warm"
    case walkFirst = "walk_first"
    case walkWarm = "walk_warm"
    case readFirst = "read_first"
    case readWarm = "read_warm"
    case create
    case unlink
    case chmod
    case copyUpSmall = "copyup_small"
    case rename
    case removeTree = "rmrf"
    case bigAppend = "copyup_big_append"
    case bigOverwrite = "copyup_big_overwrite"

    /// How the figure reads.
    public enum Unit: String, Codable, Sendable {
        /// Thousands of operations per second: higher is better.
        case kopsPerSecond = "kops/s"
        /// Milliseconds for the whole operation: lower is better.
        case milliseconds = "ms"

        public var higherIsBetter: Bool { self == .kopsPerSecond }
    }

    public var unit: Unit {
        switch self {
        case .readdirFirst, .readdirWarm, .walkFirst, .walkWarm, .removeTree, .bigAppend, .bigOverwrite: .milliseconds
        default: .kopsPerSecond
        }
    }

    /// Whether it runs once per repetition on a fresh mount (false: the median of the warm passes).
    public var isFirstPass: Bool {
        switch self {
        case .lookupWarm, .negativeWarm, .readdirWarm, .walkWarm, .readWarm: false
        default: true
        }
    }

    /// One line saying what one measurement is, with the fixture's counts.
    func title(_ layout: FixtureLayout) -> String {
        let tree = layout.treeDirectories * 49
        switch self {
        case .lookupFirst: return "lstat \(tree) tree paths, first pass after mount"
        case .lookupWarm: return "lstat \(tree) tree paths, warm"
        case .negativeFirst: return "lstat \(layout.negativeCount) never-seen names, depth-8 merged dir"
        case .negativeWarm: return "lstat the same missing names, warm"
        case .readdirFirst: return "list merged \(layout.mergedEntries)-entry dir, first"
        case .readdirWarm: return "list merged \(layout.mergedEntries)-entry dir, warm"
        case .walkFirst: return "ls -lR of the tree (readdir + lstat), first listing"
        case .walkWarm: return "ls -lR of the tree, warm"
        case .readFirst: return "open+read+close \(layout.mergedEntries) small files, first"
        case .readWarm: return "open+read+close \(layout.mergedEntries) small files, warm"
        case .create: return "create+write+close \(layout.setCount) new files"
        case .unlink: return "unlink \(layout.setCount) lower files (whiteouts)"
        case .chmod: return "chmod \(layout.setCount) lower files (metadata copy-up)"
        case .copyUpSmall: return "append 1 B to \(layout.setCount) lower 1 KiB files (copy-up)"
        case .rename: return "rename \(layout.setCount) lower files in their directory"
        case .removeTree: return "rm -rf a \(layout.removalEntries)-entry lower tree"
        case .bigAppend: return "append 1 B to a \(layout.bigFileSize >> 20) MiB lower file"
        case .bigOverwrite: return "overwrite 4 KiB at 0 of a \(layout.bigFileSize >> 20) MiB lower file"
        }
    }
}
