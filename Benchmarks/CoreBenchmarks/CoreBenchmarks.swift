// The core benchmarks: lookup, listing, reads and copy-up through `UnionFileSystem`, in-process.
//
// Every benchmark builds its own layers under /tmp in `setup` and removes them in `teardown`.
// Time figures are machine-specific: read them as ratios against a peer (a plain directory, kernel
// overlayfs) measured in the same run; only `mallocCountTotal` carries a threshold (see README.md).

import Benchmark
import Glibc
import Strata
import Synchronization

/// `STRATA_BENCHMARK_SMOKE=1`: tiny fixtures and two iterations per benchmark, to check in CI that
/// every benchmark still sets up, runs and tears down (the figures then mean nothing).
let smoke = getenv("STRATA_BENCHMARK_SMOKE") != nil

/// The layer counts every benchmark runs at (in smoke mode 1 and 5 only: the code is the same for
/// every count, and `strata bench` covers 128 layers in CI).
let layerCounts = smoke ? [1, 5] : [1, 5, 20, 64, 128]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: smoke ? 0 : 1,
        maxDuration: smoke ? .milliseconds(100) : .seconds(2),
        maxIterations: smoke ? 2 : 10_000,
        thresholds: [
            // Allocation counts are deterministic: a change is a code change. Times are not compared.
            .mallocCountTotal: .init(relative: [.p90: 5.0]),
            .wallClock: .none,
            .cpuTotal: .none,
            .throughput: .none,
        ]
    )
    for layers in layerCounts {
        registerLookups(layers: layers)
        registerListings(layers: layers)
        registerSmallReads(layers: layers)
        registerCopyUps(layers: layers)
        registerBigCopyUps(layers: layers)
    }
}

/// "1 layer", "5 layers": the suffix of every benchmark name.
func label(_ layers: Int) -> String {
    layers == 1 ? "1 layer" : "\(layers) layers"
}

// MARK: - Lookup

/// The paths one iteration of a lookup benchmark visits. With `scalingFactor: .kilo` the tables
/// divide by this count: the columns marked `*` are per lookup.
let pathsPerPass = smoke ? 20 : BenchmarkScalingFactor.kilo.rawValue

/// Five directories present in every layer, so each level of a deep path merges all of them.
/// With the file name, a deep path has depth 6.
let deepDirectory = "d1/d2/d3/d4/d5"

/// Files of each layer in the root and in `deepDirectory`, so every merged directory has an entry
/// from every layer to skip.
let fillerPerLayer = 8

/// Where the looked-up names live.
enum Placement {
    case topLayer
    case bottomLayer
    /// Nowhere: negative lookups.
    case missing
}

func registerLookups(layers: Int) {
    let label = label(layers)
    // Warm: the union has seen every path (after the warmup iteration), as a long-lived process does.
    registerLookup("lookup top-layer, \(label)", layers: layers, directory: "", placement: .topLayer, cold: false)
    registerLookup("lookup bottom-layer, \(label)", layers: layers, directory: "", placement: .bottomLayer, cold: false)
    registerLookup(
        "lookup deep top-layer, \(label)", layers: layers, directory: deepDirectory, placement: .topLayer, cold: false)
    registerLookup(
        "lookup deep bottom-layer, \(label)", layers: layers, directory: deepDirectory, placement: .bottomLayer,
        cold: false)
    registerLookup("negative lookup, \(label)", layers: layers, directory: "", placement: .missing, cold: false)
    // First: a new union for every pass (outside the measurement), with the lower file system warm.
    // This is the cost every path pays once, and where the number of layers shows.
    registerLookup(
        "lookup first bottom-layer, \(label)", layers: layers, directory: "", placement: .bottomLayer, cold: true)
    registerLookup(
        "lookup first deep bottom-layer, \(label)", layers: layers, directory: deepDirectory,
        placement: .bottomLayer, cold: true)
    registerLookup("negative lookup first, \(label)", layers: layers, directory: "", placement: .missing, cold: true)
    registerStat(layers: layers)
}

/// Registers one benchmark that calls `status` on `pathsPerPass` paths per iteration.
func registerLookup(_ name: String, layers: Int, directory: String, placement: Placement, cold: Bool) {
    let prefix = directory.isEmpty ? "" : directory + "/"
    let names = (0..<pathsPerPass).map { placement == .missing ? "missing\($0)" : "name\($0)" }
    let paths = names.map { FilePath(prefix + $0) }
    let session = Session(layers: layers) { (tree) throws(Errno) in
        for layer in 0..<layers {
            try tree.makeDirectory(deepDirectory, in: layer)
            for index in 0..<fillerPerLayer {
                try tree.makeFile("filler\(layer)-\(index)", in: layer)
                try tree.makeFile("\(deepDirectory)/filler\(layer)-\(index)", in: layer)
            }
        }
        let layer: Int
        switch placement {
        case .topLayer: layer = 0
        case .bottomLayer: layer = layers - 1
        case .missing: return
        }
        for name in names {
            try tree.makeFile(prefix + name, in: layer)
        }
    }
    Benchmark(name, configuration: .init(scalingFactor: .kilo)) { benchmark throws in
        let fileSystem = try cold ? session.reopen() : session.fileSystem()
        if cold { benchmark.startMeasurement() }
        if placement == .missing {
            for path in paths {
                try expectMissing(path, in: fileSystem)
            }
        } else {
            for path in paths {
                blackHole(try fileSystem.status(path))
            }
        }
    } setup: {
        try session.setUp()
    } teardown: {
        try session.tearDown()
    }
}

/// Registers the stat benchmark: `attributes(of:)` of `pathsPerPass` bottom-layer files already
/// looked up through the node API, which is what a FUSE `GETATTR` asks. Unlike a lookup, no name is
/// resolved: the figure is the cost of answering for a known node.
func registerStat(layers: Int) {
    let names = (0..<pathsPerPass).map { "name\($0)" }
    let session = Session(layers: layers) { (tree) throws(Errno) in
        for layer in 0..<layers {
            for index in 0..<fillerPerLayer {
                try tree.makeFile("filler\(layer)-\(index)", in: layer)
            }
        }
        for name in names {
            try tree.makeFile(name, in: layers - 1)
        }
    }
    // Looked up once per union, in setup: each lookup holds a reference, as the kernel's would.
    let known = KnownNodes()
    Benchmark("stat of a looked-up file, \(label(layers))", configuration: .init(scalingFactor: .kilo)) { benchmark throws in
        let fileSystem = try session.fileSystem()
        for node in known.nodes {
            blackHole(try fileSystem.attributes(of: node))
        }
    } setup: {
        try session.setUp()
        let fileSystem = try session.fileSystem()
        known.nodes = try names.map { try fileSystem.lookup($0, in: .root).node }
        guard try fileSystem.attributes(of: known.nodes[0]).kind == .regular else {
            throw BenchmarkFailure("\(names[0]) is not a regular file")
        }
    } teardown: {
        known.nodes = []
        try session.tearDown()
    }
}

/// The nodes a stat benchmark asks about, looked up in its setup.
final class KnownNodes {
    var nodes: [NodeID] = []
}

func expectMissing(_ path: FilePath, in fileSystem: UnionFileSystem) throws {
    do {
        blackHole(try fileSystem.status(path))
    } catch {
        // Not `catch .noSuchFileOrDirectory`: in a function with untyped `throws`, Swift 6.3.1
        // crashes on that pattern (signal 11 in MandatoryAllocBoxToStack).
        guard error == .noSuchFileOrDirectory else { throw error }
        return
    }
    throw BenchmarkFailure("\(path) exists; a negative lookup expects ENOENT")
}

// MARK: - Merged listing

/// Visible entries of the merged directory `big`.
let listingEntries = smoke ? 200 : 20_000

func registerListings(layers: Int) {
    // `big` in every layer, entry k in layer k % layers; with more than one layer, 1,000 names repeat
    // in the layer below their visible copy (hidden by the merge) and 100 names of the bottom layer
    // are whited out in the top one.
    let session = Session(layers: layers) { (tree) throws(Errno) in
        for layer in 0..<layers {
            try tree.makeDirectory("big", in: layer)
        }
        for index in 0..<listingEntries {
            try tree.makeFile("big/entry\(index)", in: index % layers)
        }
        guard layers > 1 else { return }
        for index in stride(from: 0, to: listingEntries / 4, by: layers) {
            try tree.makeFile("big/entry\(index)", in: 1)
        }
        for index in 0..<(listingEntries / 200) {
            try tree.makeFile("big/gone\(index)", in: layers - 1)
            try tree.makeWhiteout("big/gone\(index)", in: 0)
        }
    }
    let big = FilePath("big")
    let setUp = { () throws in
        try session.setUp()
        let count = try session.fileSystem().contentsOfDirectory(big).count
        guard count == listingEntries else {
            throw BenchmarkFailure("the merged listing has \(count) entries, expected \(listingEntries)")
        }
    }
    Benchmark("merged listing 20k entries, first, \(label(layers))") { benchmark throws in
        let fileSystem = try session.reopen()
        benchmark.startMeasurement()
        blackHole(try fileSystem.contentsOfDirectory(big))
    } setup: {
        try setUp()
    } teardown: {
        try session.tearDown()
    }
    Benchmark("merged listing 20k entries, warm, \(label(layers))") { benchmark throws in
        blackHole(try session.fileSystem().contentsOfDirectory(big))
    } setup: {
        try setUp()
    } teardown: {
        try session.tearDown()
    }
}

// MARK: - Reads

/// The size of the small files read and copied up.
let smallFileSize = 1_024

func registerSmallReads(layers: Int) {
    // 1,000 files of 1 KiB in `small`, which is in every layer; file k in layer k % layers.
    let paths = (0..<pathsPerPass).map { FilePath("small/file\($0)") }
    let session = Session(layers: layers) { (tree) throws(Errno) in
        for layer in 0..<layers {
            try tree.makeDirectory("small", in: layer)
        }
        for index in paths.indices {
            try tree.makeFile("small/file\(index)", in: index % layers, size: smallFileSize)
        }
    }
    Benchmark("open read close small lower file, \(label(layers))", configuration: .init(scalingFactor: .kilo)) { benchmark throws in
        let fileSystem = try session.fileSystem()
        for path in paths {
            let file = try fileSystem.open(path, .readOnly)
            blackHole(try file.read(count: 4_096, at: 0))
            file.close()
        }
    } setup: {
        try session.setUp()
    } teardown: {
        try session.tearDown()
    }
}

// MARK: - Copy-up and namespace changes

// These run with `.volatile` durability: copy-up does not fsync (the kernel's `volatile` mount
// option), so they time Strata rather than the disk. `copy-up append 1 B, synchronous` is the
// variant that syncs, as the kernel does by default.
//
// A fresh union per operation would cost more than the operation, so each benchmark prepares many
// targets in setup and every iteration consumes the next one. When they are used up, the upper layer
// is emptied and a new union opened, outside the measurement. The target is looked up before the
// measurement starts, so only the change itself is timed.

/// Targets per benchmark between two resets.
let copyUpTargets = smoke ? 20 : 2_000

func registerCopyUps(layers: Int) {
    let suffix = label(layers)
    let populateFiles = { (tree: LayerTree) throws(Errno) in try populateBottomFiles(tree, layers: layers) }
    let files = (0..<copyUpTargets).map { FilePath("files/file\($0)") }
    let newFiles = (0..<copyUpTargets).map { FilePath("files/new\($0)") }
    let payload = [UInt8](repeating: 0x61, count: smallFileSize)

    let lookUpFile = { (fileSystem: UnionFileSystem, index: Int) throws(Errno) in
        _ = try fileSystem.status(files[index])
    }
    let appendOneByte = { (fileSystem: UnionFileSystem, index: Int) throws(Errno) in
        let file = try fileSystem.open(files[index], .writeOnly, options: .append)
        try file.write([0x0a], at: 0)
        file.close()
    }
    registerConsuming(
        "copy-up append 1 B, volatile, \(suffix)", layers: layers, targets: files.count, populate: populateFiles, prepare: lookUpFile,
        operation: appendOneByte)
    registerConsuming(
        "copy-up append 1 B, synchronous, \(suffix)", layers: layers, durability: .synchronous, targets: smoke ? 20 : 500, populate: populateFiles,
        prepare: lookUpFile, operation: appendOneByte)
    registerConsuming(
        "copy-up chmod (metadata only), volatile, \(suffix)", layers: layers, targets: files.count, populate: populateFiles,
        prepare: lookUpFile
    ) { fileSystem, index throws(Errno) in
        try fileSystem.setPermissions(files[index], 0o600)
    }
    registerConsuming("create new file, volatile, \(suffix)", layers: layers, targets: newFiles.count, populate: populateFiles) {
        fileSystem, _ throws(Errno) in
        _ = try fileSystem.status("files")
    } operation: { fileSystem, index throws(Errno) in
        let file = try fileSystem.open(newFiles[index], .writeOnly, options: [.create, .exclusiveCreate])
        try file.write(payload, at: 0)
        file.close()
    }
    registerConsuming(
        "unlink lower file (whiteout), volatile, \(suffix)", layers: layers, targets: files.count, populate: populateFiles,
        prepare: lookUpFile
    ) { fileSystem, index throws(Errno) in
        try fileSystem.removeFile(files[index])
    }

    // 1,000 directories merged from the two bottom layers (or in the only one), a file from each.
    let directories = (0..<(smoke ? 20 : 1_000)).map { FilePath("dirs/dir\($0)") }
    let renamed = directories.indices.map { FilePath("dirs/moved\($0)") }
    registerConsuming("rename lower directory, volatile, \(suffix)", layers: layers, targets: directories.count) {
        (tree) throws(Errno) in
        for layer in 0..<layers {
            try tree.makeDirectory("dirs", in: layer)
        }
        for index in directories.indices {
            for layer in max(0, layers - 2)..<layers {
                try tree.makeFile("dirs/dir\(index)/file\(layer)", in: layer, size: smallFileSize)
            }
        }
    } prepare: { fileSystem, index throws(Errno) in
        _ = try fileSystem.status(directories[index])
    } operation: { fileSystem, index throws(Errno) in
        try fileSystem.rename(directories[index], to: renamed[index])
    }

    // 16 trees of 1,000 entries: 10 directories in every layer holding 99 files each, file n in
    // layer n % layers. One removal took from 75 ms to 1 s in the first runs: 6 s leaves room for a
    // few samples.
    let trees = (0..<(smoke ? 2 : 16)).map { "trees/tree\($0)" }
    let filesPerDirectory = smoke ? 9 : 99
    registerConsuming(
        "remove lower tree of 1000 entries, volatile, \(suffix)", layers: layers, targets: trees.count,
        maxDuration: smoke ? nil : .seconds(6)
    ) { (tree) throws(Errno) in
        for layer in 0..<layers {
            try tree.makeDirectory("trees", in: layer)
        }
        for root in trees {
            for directory in 0..<10 {
                for layer in 0..<layers {
                    try tree.makeDirectory("\(root)/dir\(directory)", in: layer)
                }
                for file in 0..<filesPerDirectory {
                    try tree.makeFile("\(root)/dir\(directory)/file\(file)", in: file % layers, size: 100)
                }
            }
        }
    } prepare: { fileSystem, index throws(Errno) in
        _ = try fileSystem.status(FilePath(trees[index]))
    } operation: { fileSystem, index throws(Errno) in
        try removeTree(trees[index], in: fileSystem)
    }
}

/// The size of the big lower files: 1 GiB (1 MiB in smoke mode).
let bigFileSize = smoke ? 1 << 20 : 1 << 30

/// Copy-up of a 1 GiB bottom-layer file: append one byte, and overwrite 4 KiB at offset 0. Each
/// iteration uses up one of two files; then the upper is emptied (outside the measurement).
func registerBigCopyUps(layers: Int) {
    let files = [FilePath("big/file0"), FilePath("big/file1")]
    let populate = { (tree: LayerTree) throws(Errno) in
        for layer in 0..<layers {
            try tree.makeDirectory("big", in: layer)
        }
        for file in files {
            try tree.makeBigFile(file.string, in: layers - 1, size: bigFileSize)
        }
    }
    let lookUp = { (fileSystem: UnionFileSystem, index: Int) throws(Errno) in
        _ = try fileSystem.status(files[index])
    }
    let page = [UInt8](repeating: 0x62, count: 4_096)
    registerConsuming(
        "copy-up 1 GiB append 1 B, volatile, \(label(layers))", layers: layers, targets: files.count, maxIterations: 4,
        populate: populate, prepare: lookUp
    ) { fileSystem, index throws(Errno) in
        let file = try fileSystem.open(files[index], .writeOnly, options: .append)
        defer { file.close() }
        _ = try file.write([0x0a], at: 0)
    }
    registerConsuming(
        "copy-up 1 GiB overwrite 4 KiB at 0, volatile, \(label(layers))", layers: layers, targets: files.count,
        maxIterations: 4, populate: populate, prepare: lookUp
    ) { fileSystem, index throws(Errno) in
        let file = try fileSystem.open(files[index], .writeOnly)
        defer { file.close() }
        _ = try file.write(page, at: 0)
    }
}

/// `files` in every layer; `copyUpTargets` files of 1 KiB in the bottom one.
func populateBottomFiles(_ tree: LayerTree, layers: Int) throws(Errno) {
    for layer in 0..<layers {
        try tree.makeDirectory("files", in: layer)
    }
    for index in 0..<copyUpTargets {
        try tree.makeFile("files/file\(index)", in: layers - 1, size: smallFileSize)
    }
}

/// Registers a benchmark whose every iteration uses up target `index` of `targets`: `prepare` runs
/// untimed, `operation` is measured.
func registerConsuming(
    _ name: String, layers: Int, durability: Durability = .volatile, targets: Int, maxDuration: Duration? = nil,
    maxIterations: Int? = nil,
    populate: @escaping (LayerTree) throws(Errno) -> Void,
    prepare: @escaping (UnionFileSystem, Int) throws(Errno) -> Void,
    operation: @escaping (UnionFileSystem, Int) throws(Errno) -> Void
) {
    let session = Session(layers: layers, durability: durability, populate: populate)
    var next = 0
    var configuration = Benchmark.defaultConfiguration
    if let maxDuration {
        configuration.maxDuration = maxDuration
    }
    if let maxIterations, !smoke {
        configuration.maxIterations = maxIterations
        configuration.maxDuration = .seconds(30)
    }
    Benchmark(name, configuration: configuration) { benchmark throws in
        var fileSystem = try session.fileSystem()
        if next == targets {
            fileSystem = try session.reopen(discardingUpper: true)
            next = 0
        }
        let index = next
        next += 1
        try prepare(fileSystem, index)
        benchmark.startMeasurement()
        try operation(fileSystem, index)
        benchmark.stopMeasurement()
    } setup: {
        next = 0
        try session.setUp()
    } teardown: {
        try session.tearDown()
    }
}

/// `rm -rf` through the union: lists each directory, unlinks its files, recurses into its
/// subdirectories, then removes it.
func removeTree(_ path: String, in fileSystem: UnionFileSystem) throws(Errno) {
    for entry in try fileSystem.contentsOfDirectory(FilePath(path)) {
        let child = "\(path)/\(entry.name)"
        if entry.kind == .directory {
            try removeTree(child, in: fileSystem)
        } else {
            try fileSystem.removeFile(FilePath(child))
        }
    }
    try fileSystem.removeDirectory(FilePath(path))
}

// MARK: - Fixtures

/// What one benchmark holds from its setup to its teardown: the layers and the union over them.
final class Session {
    private let layerCount: Int
    private let durability: Durability
    private let populate: (LayerTree) throws(Errno) -> Void
    private var tree: LayerTree?
    private var union: UnionFileSystem?

    init(layers: Int, durability: Durability = .volatile, populate: @escaping (LayerTree) throws(Errno) -> Void) {
        self.layerCount = layers
        self.durability = durability
        self.populate = populate
    }

    /// Builds the layers and opens a union over them.
    func setUp() throws {
        let tree = try LayerTree(layers: layerCount)
        self.tree = tree
        try populate(tree)
        union = try makeUnion(tree)
    }

    func tearDown() throws {
        union?.close()
        union = nil
        try tree?.remove()
        tree = nil
    }

    func fileSystem() throws -> UnionFileSystem {
        guard let union else { throw BenchmarkFailure("no union: setup did not run") }
        return union
    }

    /// Closes the union and opens a new one over the same layers: nothing cached in Strata, the
    /// lower file system warm. With `discardingUpper`, everything written so far is thrown away first.
    func reopen(discardingUpper: Bool = false) throws -> UnionFileSystem {
        guard let tree else { throw BenchmarkFailure("no layers: setup did not run") }
        union?.close()
        union = nil
        if discardingUpper {
            try tree.emptyUpperAndWork()
        }
        let union = try makeUnion(tree)
        self.union = union
        return union
    }

    private func makeUnion(_ tree: LayerTree) throws -> UnionFileSystem {
        try UnionFileSystem(
            UnionConfiguration(
                lowers: tree.lowers.map { FilePath($0) }, upper: FilePath(tree.upper), work: FilePath(tree.work),
                durability: durability))
    }
}

/// Where the layers go: `STRATA_BENCHMARK_DIRECTORY`, else /tmp.
let scratchParent = getenv("STRATA_BENCHMARK_DIRECTORY").map { String(cString: $0) } ?? "/tmp"

/// A fresh directory `/tmp/strata-bench.PID.N` (under `scratchParent`) holding `lower0` (the top layer) … `lowerN-1` (the
/// bottom one), `upper` and `work`.
final class LayerTree {
    private static let counter = Atomic(0)

    let root: String
    let lowers: [String]
    var upper: String { "\(root)/upper" }
    var work: String { "\(root)/work" }

    init(layers: Int) throws(Errno) {
        let number = Self.counter.add(1, ordering: .relaxed).newValue
        let root = "\(scratchParent)/strata-bench.\(getpid()).\(number)"
        self.root = root
        lowers = (0..<layers).map { "\(root)/lower\($0)" }
        try Self.createDirectory(root)
        for path in lowers + [upper, work] {
            try Self.createDirectory(path)
        }
    }

    /// Creates `relative` and any missing parent in layer `layer`.
    func makeDirectory(_ relative: String, in layer: Int) throws(Errno) {
        var path = lowers[layer]
        for component in relative.split(separator: "/") {
            path += "/\(component)"
            do {
                try Self.createDirectory(path)
            } catch .fileExists {
                continue
            }
        }
    }

    /// Creates a file of `size` bytes (and its missing parents) in layer `layer`.
    func makeFile(_ relative: String, in layer: Int, size: Int = 0) throws(Errno) {
        if let slash = relative.lastIndex(of: "/") {
            try makeDirectory(String(relative[..<slash]), in: layer)
        }
        let file = try FileDescriptor.currentWorkingDirectory.open(
            at: "\(lowers[layer])/\(relative)", flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
        defer { try? file.close() }
        if size > 0 {
            _ = try file.write([UInt8](repeating: 0x61, count: size), at: 0)
        }
    }

    /// Creates a file of `size` bytes of real data (a copy-up of a hole would copy nothing).
    func makeBigFile(_ relative: String, in layer: Int, size: Int) throws(Errno) {
        let file = try FileDescriptor.currentWorkingDirectory.open(
            at: "\(lowers[layer])/\(relative)", flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
        defer { try? file.close() }
        let chunk = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var offset = 0
        while offset < size {
            offset += try file.write(chunk, at: Int64(offset))
        }
    }

    /// Hides `relative` from the layers below `layer`: with a kernel whiteout (a 0/0 character
    /// device) as root, else with an OCI one (`.wh.NAME`). Strata reads both.
    func makeWhiteout(_ relative: String, in layer: Int) throws(Errno) {
        guard effectiveUserID == 0 else {
            var components = relative.split(separator: "/").map(String.init)
            components[components.count - 1] = ".wh." + components[components.count - 1]
            try makeFile(components.joined(separator: "/"), in: layer)
            return
        }
        try FileDescriptor.currentWorkingDirectory.createNode(
            at: "\(lowers[layer])/\(relative)", mode: UInt32(S_IFCHR), device: 0)
    }

    /// Removes what unions wrote, leaving `upper` and `work` empty.
    func emptyUpperAndWork() throws(Errno) {
        for path in [upper, work] {
            try Self.removeTree(path)
            try Self.createDirectory(path)
        }
    }

    func remove() throws(Errno) {
        try Self.removeTree(root)
    }

    private static func createDirectory(_ path: String) throws(Errno) {
        try FileDescriptor.currentWorkingDirectory.createDirectory(at: path, permissions: 0o755)
    }

    /// Removes `path` and everything below it, never following a symlink.
    private static func removeTree(_ path: String) throws(Errno) {
        let here = FileDescriptor.currentWorkingDirectory
        let status: FileStatus
        do {
            status = try here.status(at: path)
        } catch .noSuchFileOrDirectory {
            return
        }
        guard status.kind == .directory else {
            try here.remove(at: path)
            return
        }
        try here.setPermissions(at: path, 0o700)  // Strata's work directory holds a 0700 one; be safe
        let directory = try openDirectory(path, pathOnly: false)
        let records: [DirectoryRecord]
        do {
            records = try directory.readDirectoryRecords()
        } catch {
            try? directory.close()
            throw error
        }
        try? directory.close()
        for record in records {
            try removeTree("\(path)/\(record.name)")
        }
        try here.remove(at: path, directory: true)
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
