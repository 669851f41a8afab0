import Foundation
import Glibc
import Strata
import StrataArchive
import StrataOCI
import StrataTestSupport
import Testing

/// Every hostile layer is refused with an error that says what was wrong, and leaves nothing behind:
/// no layer in the store, no staging leftovers, nothing written outside the store.
@Suite("OCI images: hostile and unusual layers")
struct HostileLayerTests {
    static let cases: [(name: String, layers: [String], message: String)] = [
        ("dot-dot path", [#"file("../escaped")"#], "escapes the layer root with '..'"),
        ("absolute path", [#"file("/escaped")"#], "absolute path"),
        ("write through a symlink of the same layer",
         [#"entry("link", tarfile.SYMTYPE, "OUTSIDE")\#nfile("link/owned")"#], "written through the symbolic link 'link'"),
        ("write through a symlink of a lower layer",
         [#"entry("link", tarfile.SYMTYPE, "OUTSIDE")"#, #"file("link/owned")"#], "the symbolic link 'link' of a lower layer"),
        ("write through a file of the same layer", [#"file("f")\#nfile("f/x")"#], "which is not a directory"),
        ("hard link out of the layer", [#"entry("h", tarfile.LNKTYPE, "../../etc/passwd")"#], "escapes the layer root"),
        ("hard link to an absolute path", [#"entry("h", tarfile.LNKTYPE, "/etc/passwd")"#], "absolute path"),
        ("hard link to a lower layer's file", [#"file("a")"#, #"entry("h", tarfile.LNKTYPE, "a")"#], "not an earlier file of this layer"),
        ("whiteout of ..", [#"file("d/.wh...")"#], "cannot be deleted"),
        ("whiteout with no name", [#"file(".wh.")"#], "cannot be deleted"),
        ("a symlink as the layer root", [#"entry(".", tarfile.SYMTYPE, "OUTSIDE")"#], "would change the type of the layer root"),
        ("forged union marker xattr", [#"file("x", pax_headers={"SCHILY.xattr.trusted.overlay.opaque": "y"})"#], "a union marker"),
        ("absurd size", [#"i = tarfile.TarInfo("huge"); i.size = 2**41; tar.fileobj.write(i.tobuf(tarfile.PAX_FORMAT)); tar.fileobj.write(b"\0" * 10240)"#],
         "absurd size"),
        ("truncated stream", [#"file("big", b"y" * 100000)\#ntar.close(); import os; os.truncate(sys.argv[1], 30000); sys.exit(0)"#],
         "corrupt or truncated"),
    ]

    @Test("a hostile layer is refused by name and leaves nothing behind", arguments: cases.indices)
    func hostile(_ index: Int) throws {
        let hostile = Self.cases[index]
        let directory = try TemporaryDirectory(prefix: "strata-hostile")
        defer { try? directory.remove() }
        let outside = try directory.makeSubdirectory("outside")
        let layers = hostile.layers.map { $0.replacingOccurrences(of: "OUTSIDE", with: outside) }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: layers, compression: "none")
        let store = try LayerStore(FilePath(directory.path + "/store"))
        do {
            let image = try ImageLayout(FilePath(layout.path)).resolve(ImageReference(layout: FilePath(layout.path), tag: "t"))
            _ = try store.prepare(image)
            Issue.record("\(hostile.name): accepted")
        } catch {
            #expect(error.description.contains(hostile.message), "\(hostile.name): \(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [], "\(hostile.name): wrote outside the store")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/store/staging") == [])
        // Only complete, verified layers may be kept (a layer valid on its own stays, for other images).
        #expect(store.records().allSatisfy { FileManager.default.fileExists(atPath: store.layerRoot($0.diffID).string) })
        #expect(store.records().count <= hostile.layers.count - 1 || hostile.message.contains("of a lower layer"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/escaped"))
    }

    @Test("a tampered blob or a wrong diffID is named, and nothing is kept")
    func tamperedBlobs() throws {
        let directory = try TemporaryDirectory(prefix: "strata-tamper")
        defer { try? directory.remove() }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: [#"file("a", b"original")"#], compression: "gzip")
        let image = try ImageLayout(FilePath(layout.path)).resolve(ImageReference(layout: FilePath(layout.path), tag: "t"))
        let blob = layout.path + "/blobs/sha256/" + image.layers[0].blob.digest.hex
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: blob)))
        bytes[bytes.count / 2] ^= 0x55
        try Data(bytes).write(to: URL(fileURLWithPath: blob))
        let store = try LayerStore(FilePath(directory.path + "/store"))
        #expect {
            _ = try store.prepare(image)
        } throws: { error in
            "\(error)".contains("\(image.layers[0].blob.digest)")
        }
        #expect(store.records().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/store/staging") == [])

        // A config whose diffID does not match the layer.
        var wrong = image
        wrong.layers[0].diffID = ContentDigestFixture.zero
        let good = try HandLayout.image(at: directory.path + "/good", layers: [#"file("a", b"original")"#], compression: "gzip")
        wrong.layout = try ImageLayout(FilePath(good.path))
        wrong.layers[0].blob = try ImageLayout(FilePath(good.path)).resolve(ImageReference(layout: FilePath(good.path), tag: "t")).layers[0].blob
        #expect {
            _ = try store.prepare(wrong)
        } throws: { error in
            "\(error)".contains("diffID")
        }
        // A manifest that does not match its digest is refused before any layer is read.
        let index = try String(contentsOfFile: good.path + "/index.json", encoding: .utf8)
        let manifestDigest = image.manifestDescriptor.digest
        _ = index
        let manifestPath = layout.path + "/blobs/sha256/" + manifestDigest.hex
        try Data("{}".utf8).write(to: URL(fileURLWithPath: manifestPath))
        #expect {
            _ = try ImageLayout(FilePath(layout.path)).resolve(ImageReference(layout: FilePath(layout.path), tag: "t"))
        } throws: { error in
            "\(error)".contains("\(manifestDigest)")
        }
    }

    @Test("whiteouts and opaque markers apply whatever their order and never hide their own layer")
    func markerOrder() throws {
        let directory = try TemporaryDirectory(prefix: "strata-order")
        defer { try? directory.remove() }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: [
            #"entry("dir", tarfile.DIRTYPE)\#nfile("dir/a")\#nfile("dir/b")\#nfile("x", b"old")\#nentry("d", tarfile.DIRTYPE)\#nfile("d/old")\#nfile("gone")"#,
            // The opaque marker comes after the same layer's new child; the whiteout of x before the new x;
            // the whiteout of d before d's new content; a plain whiteout last.
            #"file("dir/c")\#nfile("dir/.wh..wh..opq", b"")\#nfile(".wh.x", b"")\#nfile("x", b"new")\#nfile(".wh.d", b"")\#nfile("d/new")\#nfile(".wh.gone", b"")"#,
        ], compression: "zstd")
        let store = try LayerStore(FilePath(directory.path + "/store"))
        let container = try ImageContainer.create(ImageReference(layout: FilePath(layout.path), tag: "t"), store: store, durability: .volatile)
        defer { container.close() }
        let fs = container.union
        #expect(try fs.contentsOfDirectory("/dir").map(\.name).sorted() == ["c"])
        #expect(try fs.contentsOfDirectory("/d").map(\.name).sorted() == ["new"])
        #expect(try fs.contentsOfDirectory("/").map(\.name).sorted() == ["d", "dir", "x"])
        let file = try fs.open("/x", .readOnly)
        defer { file.close() }
        #expect(try file.read(count: 10, at: 0) == Array("new".utf8))
    }

    @Test("tags, digests and multi-platform indexes pick the right manifest; other media types are refused by name")
    func references() throws {
        let directory = try TemporaryDirectory(prefix: "strata-refs")
        defer { try? directory.remove() }
        let layout = try HandLayout(at: directory.path + "/layout")
        let tars = try ["amd", "arm"].map { name -> (mediaType: String, digest: String, size: Int, diffID: String) in
            let tar = directory.path + "/\(name).tar"
            try ImageFixtures.pythonTar(tar, #"file("arch", b"\#(name)")"#)
            return try layout.layer(tar: tar, compression: "none")
        }
        let amd = try layout.manifest([tars[0]], architecture: "amd64")
        let arm = try layout.manifest([tars[1]], architecture: "arm64")
        let nested = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(arm.digest)","size":\(arm.size),"platform":{"os":"linux","architecture":"arm64"}},\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amd.digest)","size":\(amd.size),"platform":{"os":"linux","architecture":"amd64"}}]}
            """
        let multi = try layout.blob(Array(nested.utf8))
        let odd = try layout.manifest([(mediaType: "application/vnd.example.layer.v1+squashfs", digest: tars[0].digest, size: tars[0].size, diffID: tars[0].diffID)])
        try layout.index([
            ("multi", multi, "application/vnd.oci.image.index.v1+json", nil),
            ("odd", odd, "application/vnd.oci.image.manifest.v1+json", nil),
        ])
        let images = try ImageLayout(FilePath(layout.path))
        let here = try images.resolve(ImageReference(parsing: layout.path + ":multi"))
        #expect(here.manifestDescriptor.digest.description == (ImageLayout.currentPlatform.architecture == "arm64" ? arm.digest : amd.digest))
        let other = try images.resolve(ImageReference(parsing: layout.path + ":multi"), platform: Platform("linux/arm64"))
        #expect(other.manifestDescriptor.digest.description == arm.digest)
        #expect(throws: StrataError.self) { try images.resolve(ImageReference(parsing: layout.path + ":multi"), platform: Platform("linux/s390x")) }
        let byDigest = try ImageReference(parsing: layout.path + "@" + multi.digest)
        #expect(try images.resolve(byDigest).manifestDescriptor.digest == here.manifestDescriptor.digest)
        #expect {
            try images.resolve(ImageReference(parsing: layout.path + ":odd"))
        } throws: { error in
            "\(error)".contains("application/vnd.example.layer.v1+squashfs")
        }
        #expect {
            try images.resolve(ImageReference(parsing: layout.path + ":missing"))
        } throws: { error in
            "\(error)".contains("no tag 'missing'") && "\(error)".contains("multi, odd")
        }
    }
}

enum ContentDigestFixture {
    static let zero = StrataArchive.ContentDigest("sha256:" + String(repeating: "0", count: 64))!
}
