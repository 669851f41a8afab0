import Glibc
import Strata

/// Writes a `FixtureLayout` to disk: the main stack (`main/l0` top … `main/lN-1` bottom), the same
/// tree as one plain directory (`plain`, the floor), and the scaling stack (`scale/f0…`, `scale/b`).
///
/// Lower layers are never written after this; each backend and repetition gets its own upper.
struct FixtureBuilder {
    let layout: FixtureLayout
    let root: String

    var mainLayers: [String] { (0..<layout.layers).map { "\(root)/main/l\($0)" } }
    var plainRoot: String { "\(root)/plain" }
    var scalingRoot: String { "\(root)/scale" }

    /// Builds everything; `progress` gets a short description of each part.
    func build(progress: (String) -> Void) throws(BenchError) {
        do {
            for directory in [root, "\(root)/main", scalingRoot] {
                try FileDescriptor.currentWorkingDirectory.createDirectory(at: directory, permissions: 0o755)
            }
            progress("main stack (\(layout.layers) layers)")
            let main = LayerWriter(layers: mainLayers)
            try writeTree(main)
            progress("plain directory (the floor)")
            let plain = LayerWriter(layers: [plainRoot])
            try writeTree(plain, sparseBigFiles: true)
            progress("scaling stack (\(layout.fillerLayers + 1) layers)")
            try writeScalingStack()
        } catch {
            throw BenchError("cannot build the fixture under \(root): \(error)")
        }
    }

    /// Writes every part of the main tree into `writer`'s layers (a single layer for the plain copy).
    private func writeTree(_ writer: LayerWriter, sparseBigFiles: Bool = false) throws(Errno) {
        let count = writer.layers.count
        let bottom = count - 1
        let fanOut = FixtureLayout.treeFanOut
        for directory in 0..<layout.treeDirectories {
            let base = "tree/d\(directory)"
            let merged = layout.treeDirectoryIsMerged(directory)
            for sub in 0..<fanOut.subdirectories {
                for file in 0..<fanOut.files {
                    let layer = merged ? (directory + sub + file) % count : directory % count
                    try writer.file("\(base)/s\(sub)/f\(file)", in: layer, size: 0)
                }
            }
            if merged {
                for layer in 0..<count {
                    for sub in 0..<fanOut.subdirectories { try writer.directory("\(base)/s\(sub)", in: layer) }
                }
            }
        }
        for layer in 0..<count {
            try writer.directory(FixtureLayout.negativeDirectory, in: layer)
            try writer.file("\(FixtureLayout.negativeDirectory)/present\(layer)", in: layer, size: 0)
            try writer.directory(FixtureLayout.mergedDirectory, in: layer)
            for set in ["chmod", "unlink", "copyup", "create", "rename"] {
                try writer.directory(set, in: layer)
                try writer.file("\(set)/filler\(layer)", in: layer, size: 0)
            }
        }
        for (index, path) in layout.mergedPaths.enumerated() {
            try writer.file(path, in: index % count, size: FixtureLayout.smallFileSize)
        }
        for path in layout.chmodPaths + layout.unlinkPaths + layout.renamePaths {
            try writer.file(path, in: bottom, size: FixtureLayout.smallFileSize)
        }
        for path in layout.copyUpPaths {
            try writer.file(path, in: bottom, size: FixtureLayout.copyUpFileSize)
        }
        try writeRemovalTree(writer)
        try writer.directory("big", in: bottom)
        for path in [FixtureLayout.bigAppendPath, FixtureLayout.bigOverwritePath] {
            try writer.bigFile(path, in: bottom, size: layout.bigFileSize, sparse: sparseBigFiles)
        }
    }

    /// The `rm -rf` tree: subdirectories in every layer, files spread over the layers.
    func writeRemovalTree(_ writer: LayerWriter, replacing: Bool = false) throws(Errno) {
        let count = writer.layers.count
        for directory in 0..<layout.removalDirectories {
            let base = "\(FixtureLayout.removalRoot)/r\(directory)"
            for layer in 0..<count { try writer.directory(base, in: layer) }
            for file in 0..<FixtureLayout.removalFilesPerDirectory {
                try writer.file("\(base)/f\(file)", in: file % count, size: FixtureLayout.smallFileSize, replacing: replacing)
            }
        }
    }

    /// Puts back, in the plain directory, what a repetition removed or added: the floor has no upper
    /// to throw away.
    func restorePlain() throws(BenchError) {
        do {
            let writer = LayerWriter(layers: [plainRoot])
            for path in layout.unlinkPaths {
                try writer.file(path, in: 0, size: FixtureLayout.smallFileSize, replacing: true)
            }
            for path in layout.copyUpPaths {
                try writer.file(path, in: 0, size: FixtureLayout.copyUpFileSize, replacing: true)
            }
            for path in layout.createPaths {
                do { try FileDescriptor.currentWorkingDirectory.remove(at: "\(plainRoot)/\(path)") } catch .noSuchFileOrDirectory {}
            }
            for path in layout.renamePaths {
                let moved = "\(plainRoot)/\(FixtureLayout.renamed(path))"
                do { try FileDescriptor.currentWorkingDirectory.remove(at: moved) } catch .noSuchFileOrDirectory {}
                try writer.file(path, in: 0, size: FixtureLayout.smallFileSize, replacing: true)
            }
            try writeRemovalTree(writer, replacing: true)
            let big = try FileDescriptor.currentWorkingDirectory.open(
                at: "\(plainRoot)/\(FixtureLayout.bigAppendPath)", flags: O_WRONLY)
            defer { try? big.close() }
            try big.truncate(to: layout.bigFileSize)
        } catch {
            throw BenchError("cannot restore the plain directory \(plainRoot): \(error)")
        }
    }

    private func writeScalingStack() throws(Errno) {
        let names = layout.scalingStack(layout.fillerLayers + 1)
        let writer = LayerWriter(layers: names.map { "\(scalingRoot)/\($0)" })
        for layer in 0..<names.count {
            try writer.directory(FixtureLayout.scalingDirectory, in: layer)
            for filler in 0..<4 {
                try writer.file("\(FixtureLayout.scalingDirectory)/fill\(layer)-\(filler)", in: layer, size: 0)
            }
        }
        for path in layout.scalingExistingPaths {
            try writer.file(path, in: names.count - 1, size: 0)
        }
    }
}

/// Creates files and directories in a set of layer directories, remembering the directories it made.
final class LayerWriter {
    let layers: [String]
    private var made: Set<String> = []
    private static let small = [UInt8](repeating: 0x61, count: FixtureLayout.copyUpFileSize)

    init(layers: [String]) {
        self.layers = layers
    }

    /// Creates `relative` and its missing parents in layer `layer`.
    func directory(_ relative: String, in layer: Int) throws(Errno) {
        var path = layers[layer]
        try make(path)
        for component in relative.split(separator: "/") {
            path += "/\(component)"
            try make(path)
        }
    }

    private func make(_ path: String) throws(Errno) {
        guard !made.contains(path) else { return }
        do {
            try FileDescriptor.currentWorkingDirectory.createDirectory(at: path, permissions: 0o755)
        } catch .fileExists {}
        made.insert(path)
    }

    /// Creates a file of `size` bytes (at most 1 KiB) at `relative` in layer `layer`.
    func file(_ relative: String, in layer: Int, size: Int, replacing: Bool = false) throws(Errno) {
        if let slash = relative.lastIndex(of: "/") {
            try directory(String(relative[..<slash]), in: layer)
        }
        let flags = O_WRONLY | O_CREAT | (replacing ? O_TRUNC : O_EXCL)
        let file = try FileDescriptor.currentWorkingDirectory.open(
            at: "\(layers[layer])/\(relative)", flags: flags, permissions: 0o644)
        defer { try? file.close() }
        if size > 0 { _ = try file.write(Array(Self.small.prefix(size)), at: 0) }
    }

    /// Creates a file of `size` bytes of real data (or a hole, when `sparse`).
    func bigFile(_ relative: String, in layer: Int, size: Int64, sparse: Bool) throws(Errno) {
        let file = try FileDescriptor.currentWorkingDirectory.open(
            at: "\(layers[layer])/\(relative)", flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
        defer { try? file.close() }
        if sparse {
            try file.truncate(to: size)
            return
        }
        let chunk = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var offset: Int64 = 0
        while offset < size {
            offset += Int64(try file.write(chunk, at: offset))
        }
    }
}
