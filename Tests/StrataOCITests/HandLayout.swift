import Foundation
import StrataArchive
import StrataTestSupport

/// An OCI layout written by hand, blob by blob: for layers no real tool would make (hostile tars,
/// zstd, uncompressed) and for multi-platform indexes.
struct HandLayout {
    let path: String

    init(at path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path + "/blobs/sha256", withIntermediateDirectories: true)
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: path + "/oci-layout"))
    }

    /// Stores `bytes` as a blob and returns its descriptor JSON fields.
    @discardableResult
    func blob(_ bytes: [UInt8]) throws -> (digest: String, size: Int) {
        let digest = ContentDigest.of(bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/blobs/sha256/" + digest.hex))
        return (digest.description, bytes.count)
    }

    /// A layer from an uncompressed tar file, compressed with `compression` (none, gzip or zstd).
    func layer(tar: String, compression: String) throws -> (mediaType: String, digest: String, size: Int, diffID: String) {
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar)))
        let diffID = ContentDigest.of(raw).description
        var bytes = raw
        var mediaType = "application/vnd.oci.image.layer.v1.tar"
        if compression != "none" {
            let (status, output) = try runShortProgram(["sh", "-c", "\(compression) -c -q < '\(tar)' > '\(tar).\(compression)'"])
            guard status == 0 else { throw HarnessError("\(compression): \(output)") }
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(tar).\(compression)")))
            mediaType += "+" + compression
        }
        let (digest, size) = try blob(bytes)
        return (mediaType, digest, size, diffID)
    }

    /// A manifest (with its config) over `layers`, bottom first; returns its descriptor fields.
    func manifest(_ layers: [(mediaType: String, digest: String, size: Int, diffID: String)],
                  architecture: String = "amd64") throws -> (digest: String, size: Int) {
        let config = """
            {"architecture":"\(architecture)","os":"linux","rootfs":{"type":"layers","diff_ids":[\(layers.map { "\"\($0.diffID)\"" }.joined(separator: ","))]},\
            "history":[\(layers.map { _ in #"{"created_by":"hand"}"# }.joined(separator: ","))]}
            """
        let (configDigest, configSize) = try blob(Array(config.utf8))
        let layerJSON = layers.map { #"{"mediaType":"\#($0.mediaType)","digest":"\#($0.digest)","size":\#($0.size)}"# }
        let manifest = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(configSize)},\
            "layers":[\(layerJSON.joined(separator: ","))]}
            """
        return try blob(Array(manifest.utf8))
    }

    /// Writes index.json with one entry per `(tag, manifest, platform)`.
    func index(_ entries: [(tag: String?, manifest: (digest: String, size: Int), mediaType: String, platform: String?)]) throws {
        let json = entries.map { entry in
            var fields = [#""mediaType":"\#(entry.mediaType)""#, #""digest":"\#(entry.manifest.digest)""#, #""size":\#(entry.manifest.size)"#]
            if let tag = entry.tag { fields.append(#""annotations":{"org.opencontainers.image.ref.name":"\#(tag)"}"#) }
            if let platform = entry.platform {
                let parts = platform.split(separator: "/")
                fields.append(#""platform":{"os":"\#(parts[0])","architecture":"\#(parts[1])"}"#)
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        try Data("{\"schemaVersion\":2,\"manifests\":[\(json.joined(separator: ","))]}".utf8)
            .write(to: URL(fileURLWithPath: path + "/index.json"))
    }

    /// A one-image layout tagged `tag` over tars given as Python tarfile code (see ImageFixtures.pythonTar).
    static func image(at path: String, tag: String = "t", layers: [String], compression: String = "gzip") throws -> HandLayout {
        let layout = try HandLayout(at: path)
        var built: [(mediaType: String, digest: String, size: Int, diffID: String)] = []
        for (index, code) in layers.enumerated() {
            let tar = "\(path).layer\(index).tar"
            try ImageFixtures.pythonTar(tar, code)
            built.append(try layout.layer(tar: tar, compression: compression))
        }
        try layout.index([(tag, try layout.manifest(built), "application/vnd.oci.image.manifest.v1+json", nil)])
        return layout
    }
}
