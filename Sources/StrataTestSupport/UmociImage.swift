import Foundation
import Glibc

/// An OCI image layout built layer by layer by the real `umoci`, so image tests read what a real tool
/// wrote, not what Strata's own writer produces.
///
/// Each `addLayer` changes a working root file system (a `umoci unpack` bundle) and repacks it as one new
/// tar+gzip layer, with a history entry whose `created_by` is the given command: umoci diffs the tree
/// against the previous layer and writes `.wh.` whiteouts for what was removed (it never writes opaque
/// markers; a file whose link count changed is written again in full). `addRawLayer` appends a tar made
/// by hand verbatim (`umoci raw add-layer`), for marker orders umoci would never produce. Runs as root
/// (umoci unpack keeps owners).
///
/// ```swift
/// let image = try UmociImage(in: directory.path, tag: "app")
/// try image.addLayer(createdBy: "COPY credentials.txt /") { root in
///     try root.write("credentials.txt", "hunter2\n")
/// }
/// try image.addLayer(createdBy: "RUN rm /credentials.txt") { root in try root.remove("credentials.txt") }
/// // image.reference == "<dir>/layout:app"
/// ```
public final class UmociImage {
    /// The layout directory (`oci-layout`, `index.json`, `blobs/`).
    public let layout: String
    /// The tag every layer is added to.
    public let tag: String
    private let workspace: String
    private var bundle: String
    /// Whether `bundle` shows the tag's current top (a raw layer makes it stale until the next unpack).
    private var bundleIsCurrent = false

    /// `LAYOUT:TAG`, as `strata` commands and `ImageReference(parsing:)` take it.
    public var reference: String { "\(layout):\(tag)" }

    /// Creates a new layout `<directory>/<name>` holding one empty image tagged `tag` (no layers yet).
    public init(in directory: String, tag: String = "latest", layoutName: String = "layout") throws {
        layout = "\(directory)/\(layoutName)"
        self.tag = tag
        workspace = directory
        bundle = "\(directory)/\(layoutName).bundle-\(tag)"
        try Self.umoci(["init", "--layout", layout])
        try Self.umoci(["new", "--image", reference])
    }

    /// An image already in the layout `layout` (one a test committed, say), to unpack or build on.
    public init(existing layout: String, tag: String) {
        self.layout = layout
        self.tag = tag
        workspace = (layout as NSString).deletingLastPathComponent
        bundle = "\(layout).bundle-\(tag)"
    }

    /// Another tag of the same layout, whose bundle starts from this image's current top.
    private init(sharing other: UmociImage, tag: String) {
        layout = other.layout
        self.tag = tag
        workspace = other.workspace
        bundle = "\(other.workspace)/\((other.layout as NSString).lastPathComponent).bundle-\(tag)"
    }

    /// Tags this image's current top as `newTag` too, and returns it as an image to build on: layers added
    /// to it share every layer this image has so far.
    public func branch(as newTag: String) throws -> UmociImage {
        try Self.umoci(["tag", "--image", reference, newTag])
        return UmociImage(sharing: self, tag: newTag)
    }

    /// Lets `change` edit the image's root file system, then packs the difference as a new layer whose
    /// history entry says `createdBy`.
    public func addLayer(createdBy: String, _ change: (Root) throws -> Void) throws {
        try refreshBundle()
        try change(Root(path: bundle + "/rootfs"))
        try Self.umoci(["repack", "--refresh-bundle", "--image", reference, "--history.created_by", createdBy, bundle])
    }

    /// Appends the uncompressed tar at `tarPath` verbatim (umoci gzips it and records its diffID); with
    /// `createdBy` nil the layer gets no history entry.
    public func addRawLayer(tarPath: String, createdBy: String?) throws {
        let history = createdBy.map { ["--history.created_by", $0] } ?? ["--no-history"]
        try Self.umoci(["raw", "add-layer", "--image", reference] + history + [tarPath])
        bundleIsCurrent = false
    }

    /// Changes the image configuration with `umoci config` (for example `["--config.env", "A=1"]`),
    /// which adds an `empty_layer` history entry saying `createdBy`, as a Dockerfile ENV step does.
    public func configure(_ arguments: [String], createdBy: String) throws {
        try Self.umoci(["config", "--image", reference, "--history.created_by", createdBy] + arguments)
        bundleIsCurrent = false
    }

    /// Unpacks the image with umoci into `<directory>/<name>` and returns its root file system: the
    /// reference tree a Strata view of the image must equal.
    public func unpack(into directory: String, name: String) throws -> String {
        let target = "\(directory)/\(name)"
        try Self.umoci(["unpack", "--image", reference, target])
        return target + "/rootfs"
    }

    /// The layer blobs of the tag's manifest, bottom first, as paths inside the layout (to tamper with).
    public func layerBlobPaths() throws -> [String] {
        try manifest().layers.map { blobPath($0.digest) }
    }

    /// The path of the blob `digest` (`sha256:…`) names.
    public func blobPath(_ digest: String) -> String {
        "\(layout)/blobs/sha256/" + digest.dropFirst("sha256:".count)
    }

    private struct Index: Decodable {
        struct Entry: Decodable {
            var digest: String
            var annotations: [String: String]?
        }
        var manifests: [Entry]
    }
    private struct Manifest: Decodable {
        struct Layer: Decodable { var digest: String }
        var layers: [Layer]
    }

    private func manifest() throws -> Manifest {
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json")))
        guard let entry = index.manifests.first(where: { $0.annotations?["org.opencontainers.image.ref.name"] == tag }) else {
            throw HarnessError("the layout \(layout) has no tag '\(tag)'")
        }
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: blobPath(entry.digest))))
    }

    private func refreshBundle() throws {
        guard !bundleIsCurrent else { return }
        try TemporaryDirectory.removeTree(bundle)
        try Self.umoci(["unpack", "--image", reference, bundle])
        bundleIsCurrent = true
    }

    private static func umoci(_ arguments: [String]) throws {
        let (status, output) = try runShortProgram(["umoci"] + arguments)
        guard status == 0 else {
            throw HarnessError("umoci \(arguments.joined(separator: " ")) failed (\(status)): \(output)")
        }
    }

    /// The root file system of a layer being built: paths are relative to it.
    public struct Root {
        /// The absolute path of the root directory.
        public let path: String

        /// `path/relative`.
        public func absolute(_ relative: String) -> String { path + "/" + relative }

        /// Writes a regular file (creating missing parent directories), replacing what was there.
        public func write(_ relative: String, _ contents: String, permissions: UInt32 = 0o644) throws {
            try write(relative, Array(contents.utf8), permissions: permissions)
        }

        /// Writes a regular file of raw bytes (creating missing parent directories), replacing what was there.
        public func write(_ relative: String, _ bytes: [UInt8], permissions: UInt32 = 0o644) throws {
            let target = absolute(relative)
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try? TemporaryDirectory.removeTree(target)
            guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
                throw HarnessError("cannot write \(target)")
            }
            guard chmod(target, mode_t(permissions)) == 0 else { throw HarnessError("chmod \(target)", errno: errno) }
        }

        /// Creates a directory and its missing parents.
        public func makeDirectory(_ relative: String) throws {
            try FileManager.default.createDirectory(atPath: absolute(relative), withIntermediateDirectories: true)
        }

        /// Removes a file or a whole tree.
        public func remove(_ relative: String) throws {
            try TemporaryDirectory.removeTree(absolute(relative))
        }

        /// Makes `relative` another name of the existing file `existing`.
        public func hardLink(_ relative: String, to existing: String) throws {
            guard link(absolute(existing), absolute(relative)) == 0 else {
                throw HarnessError("link \(existing) \(relative)", errno: errno)
            }
        }

        /// Creates a symbolic link at `relative` pointing to `target` (kept as given).
        public func symbolicLink(_ relative: String, to target: String) throws {
            guard symlink(target, absolute(relative)) == 0 else {
                throw HarnessError("symlink \(relative) -> \(target)", errno: errno)
            }
        }
    }
}
