import Strata
import StrataArchive
import SystemPackage

extension ImageInspection {
    /// Reads every layer blob of `image` once, verifying it, and works out what the finished image shows.
    ///
    /// Throws `.invalidLayer` naming the blob when a blob does not match its digest or size, when its tar
    /// does not match the config's diffID, when it is not a readable tar stream, or when an entry breaks
    /// the unpacker's rules (`..`, absolute paths, a hard link to nothing earlier in the layer, a path
    /// written through a non-directory).
    public init(_ image: ResolvedImage) throws(StrataError) {
        var contents: [LayerContents] = []
        var layers: [Layer] = []
        var names: [String] = []
        let commands = Self.commands(of: image.configuration, layerCount: image.layers.count)
        for (index, layer) in image.layers.enumerated() {
            let name = "layer \(index + 1) of \(image.layers.count) (blob \(layer.blob.digest))"
            let (scanned, sizes) = try Self.read(layer, from: image.layout, name: name)
            contents.append(scanned)
            names.append(name)
            layers.append(Layer(
                number: index + 1, blob: layer.blob.digest, diffID: layer.diffID, mediaType: layer.blob.mediaType,
                compressedSize: sizes.compressed, uncompressedSize: sizes.uncompressed, entries: scanned.entryCount,
                markers: scanned.markerCount, createdBy: commands[index], addedBytes: scanned.addedBytes, wastedBytes: 0))
        }
        let visibility = Visibility(contents)
        try visibility.checkImplicitDirectories(names: names)
        var deleted: [DeletedFile] = []
        for (index, layer) in contents.enumerated() {
            for data in layer.data {
                let fates = data.names.map { visibility.fate(of: $0, in: index) }
                // Data stays useful while any one of its names still shows it.
                guard fates.allSatisfy({ $0 != nil }) else { continue }
                layers[index].wastedBytes += data.size
                // Reported under the deleted name removed last (the first in tar order on a tie).
                let deletions = zip(data.names, fates).compactMap { name, fate in fate.flatMap { $0.deleted ? (name, $0.layer) : nil } }
                guard let last = deletions.max(by: { $0.1 < $1.1 }) else { continue }
                deleted.append(DeletedFile(path: last.0, size: data.size, layer: index + 1, deletedBy: last.1 + 1,
                                           hardLinks: data.names.filter { $0 != last.0 }))
            }
        }
        deleted.sort { ($0.layer, $0.path) < ($1.layer, $1.path) }
        let added = layers.reduce(0) { $0 + $1.addedBytes }
        let wasted = layers.reduce(0) { $0 + $1.wastedBytes }
        let platform = image.configuration.os.flatMap { os in image.configuration.architecture.map { "\(os)/\($0)" } }
        self.init(
            schemaVersion: 1, reference: image.reference.description, manifest: image.manifestDescriptor.digest,
            config: image.manifest.config.digest, platform: platform, layers: layers, deletedFiles: deleted,
            totals: Totals(
                layers: layers.count,
                compressedSize: layers.reduce(0) { $0 + $1.compressedSize },
                uncompressedSize: layers.reduce(0) { $0 + $1.uncompressedSize },
                addedBytes: added, wastedBytes: wasted, visibleBytes: added - wasted,
                efficiency: added == 0 ? 1 : Double(added - wasted) / Double(added),
                deletedFiles: deleted.count, deletedBytes: deleted.reduce(0) { $0 + $1.size }))
    }

    /// Inspects the image `reference` names (see `ImageLayout.resolve(_:platform:)`).
    public init(_ reference: ImageReference, platform: Platform? = nil) throws(StrataError) {
        try self.init(ImageLayout(reference.layout).resolve(reference, platform: platform))
    }

    /// The `created_by` of each layer: history entries marked `empty_layer` made no layer, the others
    /// match the layers in order. A history too short leaves the top layers without a command.
    static func commands(of configuration: ImageConfiguration, layerCount: Int) -> [String?] {
        let made = (configuration.history ?? []).filter { $0.empty_layer != true }.map(\.created_by)
        return (0..<layerCount).map { $0 < made.count ? made[$0] : nil }
    }

    /// Streams one blob through the tar reader, checking its digest, size and diffID at the end.
    private static func read(_ layer: LayerReference, from layout: ImageLayout, name: String)
        throws(StrataError) -> (LayerContents, (compressed: Int64, uncompressed: Int64)) {
        let file = try layout.openBlob(layer.blob.digest)
        defer { try? file.close() }
        var contents = LayerContents(layerName: name)
        let reader: TarReader
        do {
            reader = try TarReader(file: file, compression: layer.compression)
        } catch {
            throw StrataError(.invalidLayer, "\(name) cannot be read: \(error)", path: layout.path)
        }
        defer { reader.close() }
        do {
            while let entry = try reader.nextEntry() {
                try contents.add(entry)
            }
            try reader.finish()
        } catch let error as ArchiveError {
            throw StrataError(.invalidLayer, "\(name) is corrupt or truncated: \(error)", path: layout.path)
        } catch let error as StrataError {
            throw error
        } catch {
            throw StrataError(.invalidLayer, "\(name): \(error)", path: layout.path)
        }
        try layer.verify(reader, in: layout)
        return (contents, (reader.compressedSize, reader.uncompressedSize))
    }
}
