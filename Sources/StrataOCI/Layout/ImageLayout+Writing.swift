import Foundation
import Strata
import StrataArchive
import StrataSystem
import SystemPackage

/// How `commit` writes the new layer.
public struct CommitOptions: Sendable {
    /// The tag the new image gets in the layout (moved from any image that had it).
    public var tag: String
    public var compression: LayerCompression = .gzip
    /// A fixed modification time for every entry and for the history entry (reproducible layers).
    public var timestamp: Int64?
    /// The history entry's `created_by`.
    public var createdBy = "strata commit"
    public var comment: String?

    public init(tag: String) { self.tag = tag }
}

/// The new image a commit wrote.
public struct CommitResult: Sendable {
    public var manifest: Descriptor
    public var layer: Descriptor
    public var diffID: ContentDigest
    public var entries: Int
}

extension ImageLayout {
    /// Writes a new layer made by `compose` on top of `image`, with a config (new diffID, a history
    /// entry) and a manifest, and tags it. Blobs are written under a temporary name and renamed to their
    /// digest; `index.json` is replaced atomically last, so an interrupted commit changes no tag.
    public func commit(onto image: ResolvedImage, options: CommitOptions,
                       compose: (TarWriter) throws(StrataError) -> Int) throws(StrataError) -> CommitResult {
        guard !options.tag.isEmpty else {
            throw StrataError(.invalidOption, "the tag must not be empty")
        }
        let blobs = try blobDirectory()
        defer { try? blobs.close() }
        let temporary = ".strata-commit-\(getpid())"
        let layerFile: FileDescriptor
        do {
            try? blobs.remove(at: temporary)
            layerFile = try blobs.open(at: temporary, flags: O_RDWR | O_CREAT | O_EXCL, permissions: 0o644)
        } catch {
            throw StrataError(.io, "cannot create a blob in the layout", path: path, errno: error)
        }
        let digests: (diffID: ContentDigest, digest: ContentDigest, size: Int64)
        let entries: Int
        do throws(StrataError) {
            defer { try? layerFile.close() }
            let writer: TarWriter
            do {
                writer = try TarWriter(file: layerFile, compression: options.compression)
            } catch {
                throw StrataError(.io, "cannot start the layer: \(error)", path: path)
            }
            entries = try compose(writer)
            do {
                digests = try writer.finish()
                try layerFile.synchronize()
            } catch let error as ArchiveError {
                throw StrataError(.io, "cannot finish the layer: \(error)", path: path)
            } catch {
                throw StrataError(.io, "cannot finish the layer", path: path, errno: error as? Errno)
            }
            try publish(temporary, as: digests.digest, in: blobs)
        } catch {
            try? blobs.remove(at: temporary)
            throw error
        }
        let isDocker = image.manifestDescriptor.mediaType == MediaType.dockerManifest
        let layerType = switch (options.compression, isDocker) {
        case (.gzip, false): MediaType.layerGzip
        case (.gzip, true): MediaType.dockerLayerGzip
        case (_, false): MediaType.layerTar
        case (_, true): MediaType.dockerLayerTar
        }
        let layer = Descriptor(mediaType: layerType, digest: digests.digest, size: digests.size)

        let created = Self.timestampText(options.timestamp)
        var config = try jsonObject(image.configurationBytes, what: "config")
        var rootfs = config["rootfs"] as? [String: Any] ?? ["type": "layers"]
        rootfs["diff_ids"] = ((rootfs["diff_ids"] as? [Any]) ?? []) + [digests.diffID.description]
        config["rootfs"] = rootfs
        var history: [String: Any] = ["created": created, "created_by": options.createdBy]
        if let comment = options.comment { history["comment"] = comment }
        config["history"] = ((config["history"] as? [Any]) ?? []) + [history]
        config["created"] = created
        let configBytes = try serialize(config)
        let configDescriptor = Descriptor(mediaType: image.manifest.config.mediaType, digest: .of(configBytes), size: Int64(configBytes.count))
        try writeBlob(configBytes, digest: configDescriptor.digest, in: blobs)

        var manifest = try jsonObject(try document(image.manifestDescriptor), what: "manifest")
        manifest["config"] = try descriptorObject(configDescriptor)
        manifest["layers"] = ((manifest["layers"] as? [Any]) ?? []) + [try descriptorObject(layer)]
        let manifestBytes = try serialize(manifest)
        let manifestDescriptor = Descriptor(
            mediaType: image.manifestDescriptor.mediaType, digest: .of(manifestBytes), size: Int64(manifestBytes.count),
            annotations: ["org.opencontainers.image.ref.name": options.tag])
        try writeBlob(manifestBytes, digest: manifestDescriptor.digest, in: blobs)

        try retag(manifestDescriptor, tag: options.tag)
        return CommitResult(manifest: manifestDescriptor, layer: layer, diffID: digests.diffID, entries: entries)
    }

    /// Points `tag` at `descriptor` in index.json (other images lose the tag), replacing the file atomically.
    func retag(_ descriptor: Descriptor, tag: String) throws(StrataError) {
        let indexBytes: [UInt8]
        do {
            indexBytes = try readWholeFile("index.json", limit: Self.documentLimit)
        } catch {
            throw StrataError(.invalidLayer, "cannot read index.json", path: path, errno: error)
        }
        var index = try jsonObject(indexBytes, what: "index.json")
        var manifests = (index["manifests"] as? [[String: Any]]) ?? []
        manifests.removeAll { entry in
            ((entry["annotations"] as? [String: Any])?["org.opencontainers.image.ref.name"] as? String) == tag
        }
        manifests.append(try descriptorObject(descriptor))
        index["manifests"] = manifests
        let bytes = try serialize(index)
        do {
            let root = try openDirectory(path.string, pathOnly: false)
            defer { try? root.close() }
            let temporary = ".index.json.strata-\(getpid())"
            try? root.remove(at: temporary)
            let file = try root.open(at: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
            defer { try? file.close() }
            _ = try file.write(bytes, at: 0)
            try file.synchronize()
            try root.rename(temporary, to: root, as: "index.json")
            try root.synchronize()
        } catch {
            throw StrataError(.io, "cannot update index.json", path: path, errno: error)
        }
    }

    private func blobDirectory() throws(StrataError) -> FileDescriptor {
        do {
            let root = try openDirectory(path.string, pathOnly: true)
            defer { try? root.close() }
            return try root.open(beneath: "blobs/sha256", flags: O_RDONLY | O_DIRECTORY)
        } catch {
            throw StrataError(.invalidLayer, "the layout has no usable blobs/sha256 directory", path: path, errno: error)
        }
    }

    private func writeBlob(_ bytes: [UInt8], digest: ContentDigest, in blobs: FileDescriptor) throws(StrataError) {
        let temporary = ".strata-blob-\(getpid())"
        do {
            try? blobs.remove(at: temporary)
            let file = try blobs.open(at: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
            defer { try? file.close() }
            _ = try file.write(bytes, at: 0)
            try file.synchronize()
        } catch {
            throw StrataError(.io, "cannot write blob \(digest)", path: path, errno: error)
        }
        try publish(temporary, as: digest, in: blobs)
    }

    private func publish(_ temporary: String, as digest: ContentDigest, in blobs: FileDescriptor) throws(StrataError) {
        do {
            try blobs.rename(temporary, to: blobs, as: digest.hex)
            try blobs.synchronize()
        } catch {
            throw StrataError(.io, "cannot publish blob \(digest)", path: path, errno: error)
        }
    }

    private func jsonObject(_ bytes: [UInt8], what: String) throws(StrataError) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw StrataError(.invalidLayer, "\(what) is not a JSON object", path: path)
        }
        return object
    }

    private func descriptorObject(_ descriptor: Descriptor) throws(StrataError) -> [String: Any] {
        let encoder = JSONEncoder()
        guard let data = try? encoder.encode(descriptor),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StrataError(.io, "cannot encode a descriptor")
        }
        return object
    }

    private func serialize(_ object: [String: Any]) throws(StrataError) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw StrataError(.io, "cannot encode a JSON document")
        }
        return Array(data)
    }

    static func timestampText(_ seconds: Int64?) -> String {
        let date = seconds.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
