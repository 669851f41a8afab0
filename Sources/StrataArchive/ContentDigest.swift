import Crypto

/// A SHA-256 content address in OCI form (`sha256:` and 64 lowercase hex digits).
///
/// Blobs, layer diffIDs and the layer store are all keyed by it. Other algorithms are refused when a
/// digest is parsed, so a digest can always be checked.
public struct ContentDigest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The 64 lowercase hex digits.
    public let hex: String

    /// Parses `sha256:<64 hex>`; nil for anything else (another algorithm, upper case, wrong length).
    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = String(text.dropFirst(7))
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        self.hex = hex
    }

    init(finishing hasher: SHA256) {
        hex = hasher.finalize().map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// The digest of `bytes`.
    public static func of(_ bytes: some Sequence<UInt8>) -> ContentDigest {
        var hasher = SHA256()
        unsafe Array(bytes).withUnsafeBytes { unsafe hasher.update(bufferPointer: $0) }
        return ContentDigest(finishing: hasher)
    }

    public var description: String { "sha256:" + hex }
    /// The first 12 hex digits, as container tools show a digest.
    public var short: String { String(hex.prefix(12)) }

    public static func < (a: ContentDigest, b: ContentDigest) -> Bool { a.hex < b.hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = ContentDigest(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a sha256 digest"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// How a layer blob is compressed, from its media type.
public enum LayerCompression: String, Sendable, Codable {
    case none, gzip, zstd
}
