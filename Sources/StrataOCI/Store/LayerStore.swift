import Foundation
import Strata
import StrataArchive
import StrataSystem
import SystemPackage

/// A content-addressed store of unpacked layers, keyed by diffID and shared read-only by every image
/// and container that uses them.
///
/// ```
/// STORE/layers/<diffID hex>/root         the unpacked layer (a lower directory)
/// STORE/layers/<diffID hex>/layer.json   what it is (LayerRecord)
/// STORE/staging/<diffID hex>/            an unpack in progress: never trusted, removed on the next try
/// STORE/locks/<diffID hex>               flock: exclusive while unpacking, shared while a mount starts
/// STORE/images/<manifest hex>.json       which images use which layers (ImageRecord)
/// STORE/containers/<id>/                 per-container upper and work directories (ContainerRecord)
/// ```
/// A layer appears under `layers/` only by one rename of a complete, verified staging directory, so an
/// interrupted unpack never leaves a layer a later mount would trust.
public struct LayerStore: Sendable {
    public let root: FilePath
    /// The union format unpacked markers are stored in: the kernel's (overlay) when running as root, so
    /// the store can also be mounted by overlayfs; `.wh.` files otherwise.
    public let format: WhiteoutFormat
    /// Whether a finished layer is flushed to disk before it is published (`syncfs`).
    public var durable = true

    /// `$STRATA_STORE`, else `/var/lib/strata` for root, else `$XDG_DATA_HOME/strata` (`~/.local/share/strata`).
    public static var defaultLocation: FilePath {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["STRATA_STORE"], !explicit.isEmpty { return FilePath(explicit) }
        if effectiveUserID == 0 { return "/var/lib/strata" }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return FilePath(data).appending("strata") }
        return FilePath(NSHomeDirectory()).appending(".local/share/strata")
    }

    /// Opens (creating it if needed) the store at `root`.
    public init(_ root: FilePath? = nil, format: WhiteoutFormat = .default) throws(StrataError) {
        let chosen = root ?? Self.defaultLocation
        self.root = chosen.isAbsolute ? chosen.lexicallyNormalized() : FilePath(currentDirectoryPath()).pushing(chosen).lexicallyNormalized()
        self.format = format
        for part in ["layers", "staging", "locks", "images", "containers"] {
            do {
                try FileManager.default.createDirectory(atPath: self.root.appending(part).string, withIntermediateDirectories: true)
            } catch {
                throw StrataError(.io, "cannot create the layer store", path: self.root.appending(part))
            }
        }
    }

    /// The unpacked root of a layer (whether or not it exists yet).
    public func layerRoot(_ diffID: ContentDigest) -> FilePath { root.appending("layers/\(diffID.hex)/root") }

    /// The record of a complete layer, or nil when the store does not hold it.
    public func record(_ diffID: ContentDigest) -> LayerRecord? {
        guard let data = FileManager.default.contents(atPath: root.appending("layers/\(diffID.hex)/layer.json").string) else { return nil }
        return try? JSONDecoder().decode(LayerRecord.self, from: data)
    }

    /// Every complete layer in the store.
    public func records() -> [LayerRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appending("layers").string)) ?? []
        return names.sorted().compactMap { ContentDigest("sha256:" + $0).flatMap(record) }
    }

    // MARK: Unpacking

    /// Makes sure every layer of `image` is in the store (unpacking only the missing ones), checks the
    /// stack, remembers that the image uses them, and returns the lower directories top first with a
    /// lease that keeps them from being pruned until it is released.
    public func prepare(_ image: ResolvedImage, progress: (@Sendable (UnpackProgress) -> Void)? = nil) throws(StrataError) -> PreparedImage {
        var leases: [FileDescriptor] = []
        var records: [LayerRecord] = []
        do throws(StrataError) {
            for (index, layer) in image.layers.enumerated() {
                let (record, lease) = try ensure(layer, from: image.layout, below: records.reversed().map { layerRoot($0.diffID) },
                                                 position: (index, image.layers.count), progress: progress)
                leases.append(lease)
                records.append(record)
            }
            try checkStack(records)
            try remember(image)
        } catch {
            for lease in leases { try? lease.close() }
            throw error
        }
        return PreparedImage(image: image, layers: records, lowers: records.reversed().map { layerRoot($0.diffID) },
                             lease: LayerLease(descriptors: leases))
    }

    /// Unpacks `layer` unless the store has it. Two processes asking at once: one unpacks, the other
    /// waits on the layer's lock and then finds it done. Returns the record and a shared lock on it.
    func ensure(_ layer: LayerReference, from layout: ImageLayout, below lowers: [FilePath], position: (Int, Int),
                progress: (@Sendable (UnpackProgress) -> Void)?) throws(StrataError) -> (LayerRecord, FileDescriptor) {
        let lock = try lockFile(layer.diffID)
        do throws(StrataError) {
            try take(lock, exclusive: true, wait: true, layer.diffID)
            if let record = record(layer.diffID) {
                try take(lock, exclusive: false, wait: true, layer.diffID)
                return (record, lock)
            }
            let record = try unpack(layer, from: layout, below: lowers, position: position, progress: progress)
            try take(lock, exclusive: false, wait: true, layer.diffID)
            return (record, lock)
        } catch {
            try? lock.close()
            throw error
        }
    }

    private func unpack(_ layer: LayerReference, from layout: ImageLayout, below lowers: [FilePath], position: (Int, Int),
                        progress: (@Sendable (UnpackProgress) -> Void)?) throws(StrataError) -> LayerRecord {
        let name = "layer \(position.0 + 1) of \(position.1) (\(layer.blob.digest))"
        let stagingRoot = root.appending("staging")
        do throws(StrataError) {
            let staging = try open(stagingRoot)
            defer { try? staging.close() }
            try io("clearing an interrupted unpack", stagingRoot) { () throws(Errno) in
                try RecursiveRemoval.removeIfPresent(layer.diffID.hex, in: staging)
                try staging.createDirectory(at: layer.diffID.hex, permissions: 0o700)
                let work = try staging.open(beneath: layer.diffID.hex, flags: O_RDONLY | O_DIRECTORY)
                defer { try? work.close() }
                try work.createDirectory(at: "root", permissions: 0o755)
            }
            let blob = try layout.openBlob(layer.blob.digest)
            defer { try? blob.close() }
            if let size = try? blob.status().size, size != layer.blob.size {
                throw StrataError(.invalidLayer, "blob \(layer.blob.digest) has \(size) bytes, its descriptor says \(layer.blob.size)", path: layout.path)
            }
            let layerRoot = try open(stagingRoot.appending("\(layer.diffID.hex)/root"))
            defer { try? layerRoot.close() }
            let reader: TarReader
            do {
                reader = try TarReader(file: blob, compression: layer.compression)
            } catch {
                throw StrataError(.invalidLayer, "\(name): \(error)", path: layout.path)
            }
            defer { reader.close() }
            let lowerView = lowers.isEmpty ? nil : try UnionFileSystem(UnionConfiguration(lowers: lowers))
            defer { lowerView?.close() }
            var unpacker = LayerUnpacker(root: layerRoot, format: format, layerName: name, lowerView: lowerView)
            try unpacker.unpack(reader) { bytes in
                progress?(UnpackProgress(layer: position.0, layers: position.1, diffID: layer.diffID, bytes: bytes))
            }
            try layer.verify(reader, in: layout)
            let record = LayerRecord(
                diffID: layer.diffID, blob: layer.blob.digest, compressedSize: layer.blob.size,
                tarSize: reader.uncompressedSize, dataBytes: unpacker.dataBytes, entries: unpacker.entryCount,
                format: format.rawValue, implicitDirectories: unpacker.implicitDirectories.map(\.string).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            guard let json = try? encoder.encode(record),
                  FileManager.default.createFile(atPath: stagingRoot.appending("\(layer.diffID.hex)/layer.json").string, contents: json) else {
                throw StrataError(.io, "cannot write the layer record", path: stagingRoot)
            }
            let layers = try open(root.appending("layers"))
            defer { try? layers.close() }
            try io("publishing the layer", root.appending("layers")) { () throws(Errno) in
                if durable { try layerRoot.synchronizeFileSystem() }
                try staging.rename(layer.diffID.hex, to: layers, as: layer.diffID.hex, flags: .noReplace)
                if durable { try layers.synchronize() }
            }
            return record
        } catch {
            if let staging = try? open(stagingRoot) {
                try? RecursiveRemoval.removeIfPresent(layer.diffID.hex, in: staging)
                try? staging.close()
            }
            throw error
        }
    }

    /// Refuses a stack in which a layer writes into a directory that only exists implicitly in it (its
    /// tar had no header for it) while a lower layer has a symbolic link or a file there: such a layer
    /// would write through the lower symbolic link when unpacked by a flattening tool.
    private func checkStack(_ records: [LayerRecord]) throws(StrataError) {
        for (index, record) in records.enumerated() where index > 0 {
            for path in record.implicitDirectories {
                for lower in records[..<index].reversed() {
                    guard let status = lowerStatus(path, in: lower) else { continue }
                    if status.kind == .directory { break }
                    if status.kind == .characterDevice && status.device == 0 { break }
                    throw StrataError(.unsafePath, "layer \(index + 1) (\(record.blob)) writes into '\(path)', which is a \(status.kind == .symbolicLink ? "symbolic link" : "non-directory") in layer \(records.firstIndex(of: lower)! + 1) (\(lower.blob))")
                }
            }
        }
    }

    private func lowerStatus(_ path: String, in record: LayerRecord) -> FileStatus? {
        guard let layer = try? openDirectory(layerRoot(record.diffID).string) else { return nil }
        defer { try? layer.close() }
        let parts = FileName.components(of: path)
        guard let last = parts.last else { return nil }
        let parent: FileDescriptor
        if parts.count == 1 {
            parent = layer
        } else {
            guard let opened = try? layer.open(beneath: parts.dropLast().joined(separator: "/"), flags: O_RDONLY | O_DIRECTORY) else { return nil }
            parent = opened
        }
        defer { if parts.count > 1 { try? parent.close() } }
        return try? parent.status(at: last)
    }

    // MARK: Helpers

    private func lockFile(_ diffID: ContentDigest) throws(StrataError) -> FileDescriptor {
        do {
            let locks = try openDirectory(root.appending("locks").string)
            defer { try? locks.close() }
            return try locks.open(at: diffID.hex, flags: O_RDONLY | O_CREAT, permissions: 0o600)
        } catch {
            throw StrataError(.io, "cannot open the lock of layer \(diffID)", path: root.appending("locks"), errno: error)
        }
    }

    private func take(_ lock: FileDescriptor, exclusive: Bool, wait: Bool, _ diffID: ContentDigest) throws(StrataError) {
        do {
            try lock.lock(exclusive: exclusive, wait: wait)
        } catch {
            throw StrataError(.busy, "layer \(diffID) is locked", path: root, errno: error)
        }
    }

    func open(_ path: FilePath) throws(StrataError) -> FileDescriptor {
        do {
            return try openDirectory(path.string, pathOnly: false)
        } catch {
            throw StrataError(.io, "cannot open a store directory", path: path, errno: error)
        }
    }

    func io(_ what: String, _ path: FilePath, _ body: () throws(Errno) -> Void) throws(StrataError) {
        try StrataError.io(what, path: path, body)
    }
}

/// What the store knows about one unpacked layer.
public struct LayerRecord: Codable, Sendable, Hashable {
    public var diffID: ContentDigest
    public var blob: ContentDigest
    public var compressedSize: Int64
    public var tarSize: Int64
    /// Bytes of regular-file data the layer holds.
    public var dataBytes: Int64
    public var entries: Int
    public var format: String
    /// Directories the tar never described but that had to be made for its entries.
    public var implicitDirectories: [String]
}

/// How far an unpack has come.
public struct UnpackProgress: Sendable {
    public var layer: Int
    public var layers: Int
    public var diffID: ContentDigest
    public var bytes: Int64
}

/// Shared locks on the layers of a prepared image: while held, `prune` leaves them alone.
public final class LayerLease: Sendable {
    private let descriptors: [FileDescriptor]
    init(descriptors: [FileDescriptor]) { self.descriptors = descriptors }
    /// Gives the layers back (the union that uses them keeps them busy from then on).
    public func release() { for descriptor in descriptors { try? descriptor.close() } }
}

/// An image whose layers are all in the store.
public struct PreparedImage: Sendable {
    public var image: ResolvedImage
    public var layers: [LayerRecord]
    /// The lower directories, top first, as `lowerdir=` wants them.
    public var lowers: [FilePath]
    public var lease: LayerLease
}
