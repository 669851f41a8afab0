/// Where a merged entry comes from and what it hides: for tools and debugging.
public struct Provenance: Sendable, Hashable {
    /// A layer of the stack as a caller names it.
    public enum Layer: Sendable, Hashable, CustomStringConvertible {
        case upper
        /// Lower layer `index` (0 is the top, as in `lowerdir=`).
        case lower(Int)
        public var description: String {
            switch self {
            case .upper: "upper"
            case .lower(let index): "lower \(index)"
            }
        }
    }

    /// One copy of the name in one layer.
    public struct Copy: Sendable, Hashable {
        public var layer: Layer
        /// Path of the copy inside its layer.
        public var path: String
        public var kind: FileKind?
    }

    /// The copy whose attributes the merged view shows.
    public var top: Copy
    /// Directories: the lower directories merged under the top one, top first.
    public var merged: [Copy]
    /// Regular files copied up as metadata only: where their data still comes from.
    public var dataSource: Copy?
    /// Copies of the same path in lower layers that the merged view does not show (shadowed by the
    /// top copy, cut off by an opaque directory or hidden by a whiteout).
    public var hidden: [Copy]
}

extension UnionFileSystem {
    /// Which layer the entry at `path` comes from, what merges into it and what it hides.
    public func origin(of path: FilePath) throws(Errno) -> Provenance {
        try withEngine { (engine) throws(Errno) in
            let node = try engine.resolve(path)
            // A directory's stack is final once it has been read (opaque layers and redirects).
            if try engine.record(node).isDirectory { try engine.loadDirectory(node) }
            return try engine.provenance(of: node, path: Engine.components(of: path).joined(separator: "/"))
        }
    }
}

extension Engine {
    func provenance(of id: NodeID, path: String) throws(Errno) -> Provenance {
        let record = try record(id)
        let upperPath = self.upperPath(of: id) ?? path
        let top: Provenance.Copy
        if record.inUpper {
            top = .init(layer: .upper, path: upperPath, kind: record.kind)
        } else if record.isDirectory, let first = record.lowerStack.first {
            top = .init(layer: .lower(first.layer), path: first.path, kind: .directory)
        } else if let source = record.lowerObject {
            top = .init(layer: .lower(source.layer), path: source.path, kind: record.kind)
        } else {
            top = .init(layer: .lower(0), path: "", kind: .directory)
        }
        let merged = record.isDirectory
            ? record.lowerStack.dropFirst(record.inUpper ? 0 : 1).map {
                Provenance.Copy(layer: .lower($0.layer), path: $0.path, kind: .directory)
            } : []
        let dataSource = record.metacopy
            ? record.lowerObject.map { Provenance.Copy(layer: .lower($0.layer), path: $0.path, kind: .regular) } : nil
        // Every lower copy of the same path that is neither the top nor merged nor the data source.
        var shown = Set(merged.map(\.path).indices.map { merged[$0].layer })
        shown.insert(top.layer)
        if let dataSource { shown.insert(dataSource.layer) }
        var hidden: [Provenance.Copy] = []
        let lowerPath = record.isDirectory ? (record.lowerStack.first?.path ?? path) : (record.lowerObject?.path ?? path)
        for layer in layers.lowers where !shown.contains(.lower(layer.index)) {
            let kind: FileKind?
            do {
                kind = try layer.root.open(beneath: lowerPath.isEmpty ? "." : lowerPath, flags: openPathObject)
                    .closeAfterStatus()
            } catch {
                continue
            }
            if kind == .characterDevice { continue }
            hidden.append(.init(layer: .lower(layer.index), path: lowerPath, kind: kind))
        }
        return Provenance(top: top, merged: merged, dataSource: dataSource, hidden: hidden)
    }
}
