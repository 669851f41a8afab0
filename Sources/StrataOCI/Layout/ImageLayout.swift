import Foundation
import Strata
import StrataArchive
import StrataSystem
import SystemPackage

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`).
///
/// Every blob read through it is checked against its descriptor's digest and size before it is used;
/// a mismatch is an error that names the blob. Blobs are opened beneath the layout without following
/// any symbolic link, so a hostile layout cannot point a blob outside itself.
public struct ImageLayout: Sendable {
    /// The layout's directory, absolute.
    public let path: FilePath

    /// The largest JSON document (index, manifest, config) Strata reads: anything bigger is hostile.
    static let documentLimit: Int64 = 64 << 20

    public init(_ path: FilePath) throws(StrataError) {
        let absolute = path.isAbsolute ? path : FilePath(currentDirectoryPath()).pushing(path)
        self.path = absolute.lexicallyNormalized()
        let marker: [UInt8]
        do {
            marker = try readWholeFile("oci-layout", limit: 4096)
        } catch {
            throw StrataError(.invalidLayer, "not an OCI image layout (no readable oci-layout file)", path: self.path, errno: error)
        }
        struct LayoutMarker: Decodable { var imageLayoutVersion: String }
        guard let version = try? JSONDecoder().decode(LayoutMarker.self, from: Data(marker)).imageLayoutVersion,
              version.hasPrefix("1.") else {
            throw StrataError(.invalidLayer, "oci-layout does not declare imageLayoutVersion 1.x", path: self.path)
        }
    }

    /// `index.json`, the layout's entry point (not content-addressed, so not digest-checked).
    public func index() throws(StrataError) -> ImageIndex {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile("index.json", limit: Self.documentLimit)
        } catch {
            throw StrataError(.invalidLayer, "cannot read index.json", path: path, errno: error)
        }
        return try decode(ImageIndex.self, from: bytes, what: "index.json")
    }

    /// The bytes of the blob `descriptor` names, after checking its size and digest.
    public func document(_ descriptor: Descriptor) throws(StrataError) -> [UInt8] {
        guard descriptor.size >= 0, descriptor.size <= Self.documentLimit else {
            throw StrataError(.invalidLayer, "blob \(descriptor.digest) claims an absurd size of \(descriptor.size) bytes", path: path)
        }
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(Self.blobPath(descriptor.digest), limit: descriptor.size + 1)
        } catch {
            throw StrataError(.invalidLayer, "blob \(descriptor.digest) is missing or unreadable", path: path, errno: error)
        }
        guard Int64(bytes.count) == descriptor.size else {
            throw StrataError(.invalidLayer, "blob \(descriptor.digest) has \(bytes.count) bytes, its descriptor says \(descriptor.size)", path: path)
        }
        guard ContentDigest.of(bytes) == descriptor.digest else {
            throw StrataError(.invalidLayer, "blob \(descriptor.digest) does not match its digest (corrupt or tampered)", path: path)
        }
        return bytes
    }

    /// Opens a (large) blob for streaming; the caller checks its digest while reading it.
    public func openBlob(_ digest: ContentDigest) throws(StrataError) -> FileDescriptor {
        do {
            let root = try openDirectory(path.string, pathOnly: true)
            defer { try? root.close() }
            return try root.open(beneath: Self.blobPath(digest), flags: O_RDONLY)
        } catch {
            throw StrataError(.invalidLayer, "blob \(digest) is missing or unreadable", path: path, errno: error)
        }
    }

    /// Decodes a verified JSON blob.
    public func decodeDocument<T: Decodable>(_ type: T.Type, _ descriptor: Descriptor) throws(StrataError) -> T {
        try decode(type, from: document(descriptor), what: "blob \(descriptor.digest)")
    }

    static func blobPath(_ digest: ContentDigest) -> String { "blobs/sha256/" + digest.hex }

    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(StrataError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw StrataError(.invalidLayer, "\(what) is not a valid \(type): \(error)", path: path)
        }
    }

    func readWholeFile(_ relative: String, limit: Int64) throws(Errno) -> [UInt8] {
        let root = try openDirectory(path.string, pathOnly: true)
        defer { try? root.close() }
        let file = try root.open(beneath: relative, flags: O_RDONLY)
        defer { try? file.close() }
        var bytes: [UInt8] = []
        while true {
            let chunk = try file.read(count: 1 << 20, at: Int64(bytes.count))
            if chunk.isEmpty { return bytes }
            bytes += chunk
            if Int64(bytes.count) > limit { return bytes }
        }
    }
}

func currentDirectoryPath() -> String { FileManager.default.currentDirectoryPath }
