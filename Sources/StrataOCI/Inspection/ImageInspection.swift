import Strata
import StrataArchive

/// What each layer of an image holds and how much of it the finished image still shows: the report
/// `strata inspect` prints.
///
/// Every blob is read once, verified against its digest, size and diffID while it streams, and never
/// unpacked. Visibility follows the OCI rules exactly, the way a union mount of the layers resolves a
/// path: a whiteout hides the lower entry of its name and everything below it; an opaque marker hides
/// every lower entry below its directory; a non-directory (or a directory over a non-directory) hides
/// the lower entry of its name and everything below it; markers never hide an entry of their own layer,
/// whatever their position in the tar. Hard-linked names of one layer share their data, so it is counted
/// once and is wasted only when every name is hidden.
///
/// Encoded as JSON (`strata inspect --json`) with the field names below; they are stable, and new fields
/// are only ever added (`schemaVersion` changes if one is removed or changes meaning). Layer numbers count
/// from 1, bottom first, like every other layer message of Strata.
public struct ImageInspection: Sendable, Codable, Equatable {
    /// 1 for the fields documented here.
    public var schemaVersion: Int
    /// The reference as given (`LAYOUT:TAG`, `LAYOUT@DIGEST`).
    public var reference: String
    /// The digest of the image manifest inspected (after following an index to one platform).
    public var manifest: ContentDigest
    /// The digest of the image configuration.
    public var config: ContentDigest
    /// `os/architecture[/variant]` from the configuration, when it says.
    public var platform: String?
    /// The layers, bottom first.
    public var layers: [Layer]
    /// Regular files a later layer deleted whose data an earlier layer's blob still holds: anyone with the
    /// image can read them (the leaked-secret case). Ordered by layer, then path.
    public var deletedFiles: [DeletedFile]
    public var totals: Totals

    enum CodingKeys: String, CodingKey {
        case schemaVersion, reference, manifest, config, platform, layers, deletedFiles, totals
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(reference, forKey: .reference)
        try container.encode(manifest, forKey: .manifest)
        try container.encode(config, forKey: .config)
        try container.encode(platform, forKey: .platform)  // null when unknown: every key always present
        try container.encode(layers, forKey: .layers)
        try container.encode(deletedFiles, forKey: .deletedFiles)
        try container.encode(totals, forKey: .totals)
    }

    /// One layer of the image.
    public struct Layer: Sendable, Codable, Equatable {
        /// 1 for the bottom layer.
        public var number: Int
        /// The digest of the blob (compressed as stored).
        public var blob: ContentDigest
        /// The digest of the uncompressed tar (the config's diffID).
        public var diffID: ContentDigest
        /// The blob's media type.
        public var mediaType: String
        /// The blob's size in bytes, as stored.
        public var compressedSize: Int64
        /// The size of the uncompressed tar stream.
        public var uncompressedSize: Int64
        /// Every tar entry, markers included.
        public var entries: Int
        /// How many of the entries are whiteouts or opaque markers.
        public var markers: Int
        /// The `created_by` of the history entry that made this layer (entries marked `empty_layer` are
        /// skipped when history is matched to layers); null when the history does not say.
        public var createdBy: String?
        /// The bytes of regular-file data the layer carries (hard links counted once).
        public var addedBytes: Int64
        /// The part of `addedBytes` that the finished image no longer shows: files overwritten, deleted or
        /// hidden by a later layer, or replaced within this layer's own tar.
        public var wastedBytes: Int64

        enum CodingKeys: String, CodingKey {
            case number, blob, diffID, mediaType, compressedSize, uncompressedSize, entries, markers, createdBy,
                 addedBytes, wastedBytes
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(number, forKey: .number)
            try container.encode(blob, forKey: .blob)
            try container.encode(diffID, forKey: .diffID)
            try container.encode(mediaType, forKey: .mediaType)
            try container.encode(compressedSize, forKey: .compressedSize)
            try container.encode(uncompressedSize, forKey: .uncompressedSize)
            try container.encode(entries, forKey: .entries)
            try container.encode(markers, forKey: .markers)
            // Always present (null when unknown), so a script can rely on the key.
            try container.encode(createdBy, forKey: .createdBy)
            try container.encode(addedBytes, forKey: .addedBytes)
            try container.encode(wastedBytes, forKey: .wastedBytes)
        }
    }

    /// A file whose data is still in a layer blob though a later layer deleted it.
    public struct DeletedFile: Sendable, Codable, Equatable {
        /// The path that was deleted (relative to the image root).
        public var path: String
        /// The bytes of data anyone can still extract from the blob.
        public var size: Int64
        /// The layer whose blob holds the data.
        public var layer: Int
        /// The layer that deleted `path` (by a whiteout, an opaque marker or replacing a parent directory).
        public var deletedBy: Int
        /// Other names of the same data in that layer (hard links), all hidden in the finished image too.
        public var hardLinks: [String]

        public init(path: String, size: Int64, layer: Int, deletedBy: Int, hardLinks: [String]) {
            self.path = path
            self.size = size
            self.layer = layer
            self.deletedBy = deletedBy
            self.hardLinks = hardLinks
        }
    }

    /// Sums over the whole image.
    public struct Totals: Sendable, Codable, Equatable {
        public var layers: Int
        public var compressedSize: Int64
        public var uncompressedSize: Int64
        /// Regular-file data in all the layers.
        public var addedBytes: Int64
        /// Regular-file data the finished image no longer shows.
        public var wastedBytes: Int64
        /// Regular-file data the finished image shows (`addedBytes - wastedBytes`; hard links once).
        public var visibleBytes: Int64
        /// `visibleBytes / addedBytes` (1 for an image without file data): the share of the shipped file
        /// data the image still shows. Like dive's efficiency score, but with whiteouts, opaque markers and
        /// hard links applied as a union mount applies them.
        public var efficiency: Double
        /// The number of `deletedFiles` and the bytes they still carry.
        public var deletedFiles: Int
        public var deletedBytes: Int64
    }
}
