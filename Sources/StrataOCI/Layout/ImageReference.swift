import Foundation
import Strata
import StrataArchive
import SystemPackage

/// `LAYOUT[:TAG|@DIGEST]`: an image in a layout directory, by tag or by manifest digest.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    public var layout: FilePath
    public var tag: String?
    public var digest: ContentDigest?

    public init(layout: FilePath, tag: String? = nil, digest: ContentDigest? = nil) {
        self.layout = layout
        self.tag = tag
        self.digest = digest
    }

    /// Parses `LAYOUT`, `LAYOUT:TAG` or `LAYOUT@sha256:…`. A colon counts as a tag separator only in the
    /// last path component, so `/srv/a:b/image` is a layout path.
    public init(parsing text: String) throws(StrataError) {
        if let at = text.range(of: "@sha256:", options: .backwards) {
            guard let digest = ContentDigest(String(text[text.index(after: at.lowerBound)...])) else {
                throw StrataError(.invalidOption, "'\(text)' names a malformed digest (expected @sha256:<64 hex digits>)")
            }
            self.init(layout: FilePath(String(text[..<at.lowerBound])), digest: digest)
            return
        }
        let lastSlash = text.lastIndex(of: "/")
        let searchStart = lastSlash.map { text.index(after: $0) } ?? text.startIndex
        if let colon = text[searchStart...].lastIndex(of: ":") {
            let tag = String(text[text.index(after: colon)...])
            guard !tag.isEmpty else { throw StrataError(.invalidOption, "'\(text)' has an empty tag") }
            self.init(layout: FilePath(String(text[..<colon])), tag: tag)
        } else {
            self.init(layout: FilePath(text))
        }
        guard !layout.isEmpty else { throw StrataError(.invalidOption, "'\(text)' names no layout directory") }
    }

    public var description: String {
        if let digest { return "\(layout)@\(digest)" }
        if let tag { return "\(layout):\(tag)" }
        return layout.string
    }
}

/// One image of a layout, resolved and verified: its manifest, configuration and layers.
public struct ResolvedImage: Sendable {
    public var layout: ImageLayout
    public var reference: ImageReference
    public var manifestDescriptor: Descriptor
    public var manifest: ImageManifest
    public var configuration: ImageConfiguration
    /// The raw configuration document (commit rewrites it, keeping every field it does not own).
    public var configurationBytes: [UInt8]
    /// The layers bottom first, each with its blob descriptor and diffID.
    public var layers: [LayerReference]
}

/// A layer of an image: the blob that carries it and the diffID of its uncompressed tar.
public struct LayerReference: Sendable, Hashable {
    public var blob: Descriptor
    public var diffID: ContentDigest
    public var compression: LayerCompression
}

extension ImageLayout {
    /// The platform Strata runs on, as OCI names it.
    public static var currentPlatform: Platform {
        #if arch(x86_64)
        let architecture = "amd64"
        #elseif arch(arm64)
        let architecture = "arm64"
        #elseif arch(arm)
        let architecture = "arm"
        #elseif arch(i386)
        let architecture = "386"
        #else
        let architecture = "unknown"
        #endif
        return Platform(os: "linux", architecture: architecture)
    }

    /// Finds the image `reference` names (a tag, a digest, or the only image of the layout), following a
    /// multi-platform index to `platform` (default: this machine's), and verifies every document on the way.
    public func resolve(_ reference: ImageReference, platform: Platform? = nil) throws(StrataError) -> ResolvedImage {
        let entries = try index().manifests
        let chosen: Descriptor
        if let digest = reference.digest {
            guard let entry = entries.first(where: { $0.digest == digest }) else {
                throw StrataError(.invalidOption, "no image with digest \(digest) in the layout", path: path)
            }
            chosen = entry
        } else if let tag = reference.tag {
            let tagged = entries.filter { $0.referenceName == tag }
            guard !tagged.isEmpty else {
                let known = entries.compactMap(\.referenceName).sorted().joined(separator: ", ")
                throw StrataError(.invalidOption, "no tag '\(tag)' in the layout (tags: \(known.isEmpty ? "none" : known))", path: path)
            }
            chosen = try pick(tagged, platform: platform, what: "tag '\(tag)'")
        } else {
            guard !entries.isEmpty else { throw StrataError(.invalidLayer, "the layout holds no image", path: path) }
            let tags = Set(entries.compactMap(\.referenceName))
            if tags.count > 1, !tags.contains("latest") {
                throw StrataError(.invalidOption, "the layout holds several images; name one with :TAG (tags: \(tags.sorted().joined(separator: ", ")))", path: path)
            }
            let candidates = tags.count > 1 ? entries.filter { $0.referenceName == "latest" } : entries
            chosen = try pick(candidates, platform: platform, what: "the layout")
        }
        return try image(at: chosen, reference: reference, platform: platform, depth: 0)
    }

    private func pick(_ candidates: [Descriptor], platform: Platform?, what: String) throws(StrataError) -> Descriptor {
        if candidates.count == 1 { return candidates[0] }
        let wanted = platform ?? Self.currentPlatform
        guard let match = candidates.first(where: { $0.platform?.matches(wanted) ?? false }) else {
            throw StrataError(.invalidOption, "\(what) names \(candidates.count) manifests and none for \(wanted)", path: path)
        }
        return match
    }

    private func image(at descriptor: Descriptor, reference: ImageReference, platform: Platform?, depth: Int) throws(StrataError) -> ResolvedImage {
        switch descriptor.mediaType {
        case MediaType.index, MediaType.dockerManifestList:
            guard depth < 4 else { throw StrataError(.invalidLayer, "image indexes nest too deeply", path: path) }
            let nested = try decodeDocument(ImageIndex.self, descriptor)
            let wanted = platform ?? Self.currentPlatform
            guard let match = nested.manifests.first(where: { $0.platform?.matches(wanted) ?? false })
                ?? (nested.manifests.count == 1 ? nested.manifests.first : nil) else {
                let offered = nested.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw StrataError(.invalidOption, "the image index \(descriptor.digest) has no manifest for \(wanted) (it has: \(offered)); choose one with --platform", path: path)
            }
            return try image(at: match, reference: reference, platform: platform, depth: depth + 1)
        case MediaType.manifest, MediaType.dockerManifest:
            let manifest = try decodeDocument(ImageManifest.self, descriptor)
            let configurationBytes = try document(manifest.config)
            let configuration = try decode(ImageConfiguration.self, from: configurationBytes, what: "config \(manifest.config.digest)")
            guard configuration.rootfs.diff_ids.count == manifest.layers.count else {
                throw StrataError(.invalidLayer, "manifest \(descriptor.digest) lists \(manifest.layers.count) layers but its config has \(configuration.rootfs.diff_ids.count) diffIDs", path: path)
            }
            var layers: [LayerReference] = []
            for (blob, diffID) in zip(manifest.layers, configuration.rootfs.diff_ids) {
                guard let compression = MediaType.compression(ofLayer: blob.mediaType) else {
                    throw StrataError(.unsupported, "layer \(blob.digest) has media type '\(blob.mediaType)', which Strata does not read (tar, tar+gzip and tar+zstd only)", path: path)
                }
                layers.append(LayerReference(blob: blob, diffID: diffID, compression: compression))
            }
            return ResolvedImage(layout: self, reference: reference, manifestDescriptor: descriptor, manifest: manifest,
                                 configuration: configuration, configurationBytes: configurationBytes, layers: layers)
        default:
            throw StrataError(.unsupported, "\(descriptor.digest) has media type '\(descriptor.mediaType)', not an image manifest or index", path: path)
        }
    }
}
