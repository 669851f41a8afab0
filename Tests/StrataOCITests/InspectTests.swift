import Foundation
import Strata
import StrataArchive
import StrataOCI
import StrataTestSupport
import Testing

@Suite("UmociImage builds real layered images")
struct UmociImageTests {
    @Test("each addLayer is one layer with its history entry, and umoci unpacks the result")
    func layersAndHistory() throws {
        let directory = try TemporaryDirectory(prefix: "strata-umoci")
        let image = try UmociImage(in: directory.path, tag: "app")
        try image.addLayer(createdBy: "COPY a") { root in try root.write("a", "first\n") }
        try image.addLayer(createdBy: "RUN rm a") { root in try root.remove("a") }
        let branch = try image.branch(as: "other")
        try branch.addLayer(createdBy: "COPY b") { root in try root.write("b/c", "second\n") }

        let resolved = try ImageLayout(FilePath(image.layout)).resolve(ImageReference(parsing: image.reference))
        #expect(resolved.layers.count == 2)
        #expect(resolved.configuration.history?.compactMap(\.created_by) == ["COPY a", "RUN rm a"])
        #expect(try image.layerBlobPaths().count == 2)

        let other = try ImageLayout(FilePath(image.layout)).resolve(ImageReference(parsing: branch.reference))
        #expect(other.layers.count == 3)
        #expect(Array(other.layers.prefix(2)) == resolved.layers)
        let rootfs = try branch.unpack(into: directory.path, name: "check")
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/a"))
        #expect(try String(contentsOfFile: rootfs + "/b/c", encoding: .utf8) == "second\n")
    }
}

/// An image built with umoci, its inspection, and the tree umoci itself unpacks from it.
private struct Inspected {
    let directory: TemporaryDirectory
    let image: UmociImage

    init(tag: String = "app") throws {
        directory = try TemporaryDirectory(prefix: "strata-inspect")
        image = try UmociImage(in: directory.path, tag: tag)
    }

    func inspect(_ reference: String? = nil) throws -> ImageInspection {
        try ImageInspection(ImageReference(parsing: reference ?? image.reference))
    }

    /// Checks the visible bytes of `report` against the two unpacked views of the image: umoci's own
    /// unpack (worked out without Strata) and the merged view of Strata's layer store.
    func expectVisibleBytes(_ report: ImageInspection, of image: UmociImage? = nil, umoci: Bool = true,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        if umoci {
            #expect(report.totals.visibleBytes == (try unpackedFileBytes(of: image)), "umoci unpack", sourceLocation: sourceLocation)
        }
        #expect(report.totals.visibleBytes == (try storeViewFileBytes(of: image)), "the store's view", sourceLocation: sourceLocation)
    }

    /// The bytes of regular-file data in the merged view of the image's layers as Strata's layer store
    /// unpacks them, each inode once.
    func storeViewFileBytes(of image: UmociImage? = nil) throws -> Int64 {
        var store = try LayerStore(FilePath(directory.path + "/store"))
        store.durable = false
        let container = try ImageContainer.create(ImageReference(parsing: (image ?? self.image).reference), store: store)
        defer { container.close() }
        let union = try container.base(store: store)
        defer { union.close() }
        var seen: Set<[UInt64]> = []
        var total: Int64 = 0
        var pending = [""]
        while let directory = pending.popLast() {
            for entry in try union.contentsOfDirectory(FilePath(directory)) {
                let path = directory.isEmpty ? entry.name : directory + "/" + entry.name
                let status = try union.status(FilePath(path))
                if entry.kind == .directory { pending.append(path) }
                if entry.kind == .regular, seen.insert([status.device, status.inode]).inserted { total += status.size }
            }
        }
        return total
    }

    /// The bytes of regular-file data in umoci's own unpack of `tag`, each inode once: what an
    /// inspection must call visible, worked out without Strata.
    func unpackedFileBytes(of image: UmociImage? = nil) throws -> Int64 {
        let source = image ?? self.image
        let rootfs = try source.unpack(into: directory.path, name: "unpacked-\(source.tag)-\(UInt32.random(in: 0...UInt32.max))")
        var seen: Set<UInt64> = []
        var total: Int64 = 0
        // By hand, not with FileManager's enumerator, which may follow a symbolic link to a directory.
        var pending = [rootfs]
        while let directory = pending.popLast() {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
                let path = directory + "/" + name
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                if attributes[.type] as? FileAttributeType == .typeDirectory { pending.append(path) }
                guard attributes[.type] as? FileAttributeType == .typeRegular,
                      let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value,
                      seen.insert(inode).inserted else { continue }
                total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }

    /// Writes an uncompressed layer tar holding exactly `entries`, in that order, and appends it to
    /// `target` (default: the image).
    func addRawLayer(to target: UmociImage? = nil, createdBy: String?, _ entries: [RawEntry]) throws {
        let tarPath = directory.path + "/raw-\(UInt32.random(in: 0...UInt32.max)).tar"
        let output = try FileDescriptor.open(tarPath, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        defer { try? output.close() }
        let writer = try TarWriter(file: output, compression: .none)
        for entry in entries {
            switch entry {
            case .directory(let path):
                try writer.append(ArchiveEntry(path: path, kind: .directory, permissions: 0o755))
            case .marker(let path):
                try writer.append(ArchiveEntry(path: path, kind: .regular, permissions: 0))
            case .withAttribute(let path, let name):
                try writer.append(ArchiveEntry(path: path, kind: .directory, permissions: 0o755,
                                               extendedAttributes: [.init(name: name, value: Array("y".utf8))]))
            case .hardLink(let path, let target):
                try writer.append(ArchiveEntry(path: path, kind: .hardLink, permissions: 0o644, linkTarget: target))
            case .file(let path, let contents):
                let dataPath = directory.path + "/data-\(UInt32.random(in: 0...UInt32.max))"
                #expect(FileManager.default.createFile(atPath: dataPath, contents: Data(contents.utf8)))
                let data = try FileDescriptor.open(dataPath, .readOnly)
                defer { try? data.close() }
                try writer.append(ArchiveEntry(path: path, kind: .regular, permissions: 0o644, size: Int64(contents.utf8.count)), data: data)
            }
        }
        _ = try writer.finish()
        try (target ?? image).addRawLayer(tarPath: tarPath, createdBy: createdBy)
    }
}

/// One entry of a hand-written layer tar.
private enum RawEntry {
    case directory(String)
    case file(String, String)
    /// A whiteout or opaque marker: an empty regular file with the marker's name.
    case marker(String)
    case hardLink(String, to: String)
    /// A directory carrying the extended attribute `name` (set to "y").
    case withAttribute(String, name: String)
}

/// `count` bytes of text, so sizes are known without asking the code under test.
private func filler(_ count: Int, _ letter: Character = "x") -> String { String(repeating: letter, count: count) }

@Suite("strata inspect: sizes, waste and deleted files of real images")
struct InspectTests {
    @Test("a secret added in one layer and removed in the next is reported with its size and both layers")
    func leakedSecret() throws {
        let built = try Inspected()
        let secret = "aws_secret_access_key = 0123456789abcdef\n"
        let app = filler(3000)
        try built.image.addLayer(createdBy: "COPY credentials.txt app.bin /srv/") { root in
            try root.write("srv/credentials.txt", secret)
            try root.write("srv/app.bin", app)
        }
        try built.image.configure(["--config.env", "MODE=prod"], createdBy: "ENV MODE=prod")
        try built.image.addLayer(createdBy: "RUN rm /srv/credentials.txt") { root in try root.remove("srv/credentials.txt") }

        let report = try built.inspect()
        let secretSize = Int64(secret.utf8.count)
        #expect(report.deletedFiles == [.init(path: "srv/credentials.txt", size: secretSize, layer: 1, deletedBy: 2, hardLinks: [])])
        #expect(report.layers.map(\.createdBy) == ["COPY credentials.txt app.bin /srv/", "RUN rm /srv/credentials.txt"])
        #expect(report.layers[0].addedBytes == secretSize + Int64(app.utf8.count))
        #expect(report.layers[0].wastedBytes == secretSize)
        #expect(report.layers[1].addedBytes == 0)
        #expect(report.layers[1].wastedBytes == 0)
        #expect(report.totals.deletedBytes == secretSize)
        #expect(report.totals.visibleBytes == Int64(app.utf8.count))
        try built.expectVisibleBytes(report)
        #expect(abs(report.totals.efficiency - Double(app.utf8.count) / Double(app.utf8.count + secret.utf8.count)) < 1e-12)
    }

    @Test("an overwritten file is wasted in the layer that carries it, and is not a deleted file")
    func overwritten() throws {
        let built = try Inspected()
        let first = filler(10_000, "a"), second = filler(300, "b"), third = filler(1234, "c")
        try built.image.addLayer(createdBy: "COPY big") { root in try root.write("opt/big", first) }
        try built.image.addLayer(createdBy: "RUN shrink") { root in try root.write("opt/big", second) }
        try built.image.addLayer(createdBy: "RUN replace with a directory") { root in
            try root.remove("opt/big")
            try root.write("opt/big/inner", third)
        }
        let report = try built.inspect()
        #expect(report.deletedFiles.isEmpty)
        #expect(report.layers.map(\.addedBytes) == [10_000, 300, 1234])
        #expect(report.layers.map(\.wastedBytes) == [10_000, 300, 0])
        #expect(report.totals.wastedBytes == 10_300)
        try built.expectVisibleBytes(report)
    }

    @Test("look-alike names are two files: removing one deletes only its data")
    func lookAlikeNames() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "COPY two") { root in
            try root.write("caf\u{E9}", filler(10, "a"))
            try root.write("cafe\u{301}", filler(20, "b"))
        }
        try built.image.addLayer(createdBy: "RUN rm one") { root in try root.remove("caf\u{E9}") }
        let report = try built.inspect()
        #expect(report.layers.map(\.addedBytes) == [30, 0])
        #expect(report.deletedFiles.map { Array($0.path.utf8) } == [Array("caf\u{E9}".utf8)])
        #expect(report.deletedFiles.map(\.size) == [10])
        try built.expectVisibleBytes(report)
    }

    @Test("a directory removed and made again: every file of the old one is deleted, the new one counts")
    func directoryReplacedByUmoci() throws {
        let built = try Inspected()
        let old = ["etc/conf/a": filler(100), "etc/conf/sub/b": filler(200), "etc/conf/sub/c": filler(50)]
        try built.image.addLayer(createdBy: "COPY conf") { root in
            for (path, contents) in old { try root.write(path, contents) }
        }
        try built.image.addLayer(createdBy: "RUN rm -rf /etc/conf && mkdir /etc/conf && echo new > /etc/conf/n") { root in
            try root.remove("etc/conf")
            try root.write("etc/conf/n", "new\n")
        }
        let report = try built.inspect()
        let deleted = report.deletedFiles.map { "\($0.path) \($0.size) \($0.layer)->\($0.deletedBy)" }
        #expect(deleted == old.keys.sorted().map { "\($0) \(old[$0]!.utf8.count) 1->2" })
        #expect(report.layers[0].wastedBytes == 350)
        #expect(report.totals.visibleBytes == 4)
        try built.expectVisibleBytes(report)
    }

    @Test("opaque markers and whiteouts hide only lower layers, whatever their position in the tar")
    func opaqueMarkers() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "COPY base") { root in
            try root.write("d/old1", filler(1000))
            try root.write("d/sub/old2", filler(2000))
            try root.write("e/f", filler(400))
            try root.write("g", filler(70))
            try root.write("keep", filler(5))
        }
        // The markers come after the same-layer entries they must not hide; 'e' becomes a file over a
        // directory; the whiteout of 'g' shares its layer with a new 'g'.
        try built.addRawLayer(createdBy: "RUN rebuild d", [
            .directory("d/"),
            .file("d/new", filler(10)),
            .directory("d/sub/"),
            .file("d/sub/new2", filler(20)),
            .marker("d/.wh..wh..opq"),
            .marker("d/sub/.wh..wh..opq"),
            .file("e", filler(30)),
            .file("g", filler(40)),
            .marker(".wh.g"),
            .marker(".wh.keep-not-there"),
        ])
        let report = try built.inspect()
        #expect(report.layers[1].markers == 4)
        #expect(report.layers[1].entries == 10)
        #expect(report.layers[1].addedBytes == 100)
        #expect(report.layers[1].wastedBytes == 0)
        #expect(report.layers[0].wastedBytes == 1000 + 2000 + 400 + 70)
        #expect(report.deletedFiles.map(\.path) == ["d/old1", "d/sub/old2", "e/f"])
        #expect(report.deletedFiles.allSatisfy { $0.layer == 1 && $0.deletedBy == 2 })
        #expect(report.totals.visibleBytes == 100 + 5)
        try built.expectVisibleBytes(report)
    }

    @Test("an opaque directory of a middle layer hides the layers below it, not the ones above")
    func opaqueInTheMiddle() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "base") { root in try root.write("d/a", filler(11)) }
        try built.addRawLayer(createdBy: "opaque", [.marker("d/.wh..wh..opq"), .file("d/b", filler(22))])
        try built.image.addLayer(createdBy: "top") { root in try root.write("d/c", filler(33)) }
        let report = try built.inspect()
        #expect(report.layers.map(\.wastedBytes) == [11, 0, 0])
        #expect(report.deletedFiles.map(\.path) == ["d/a"])
        #expect(report.totals.visibleBytes == 55)
        try built.expectVisibleBytes(report)
    }

    @Test("hard links carry their data once; it is wasted only when every name is gone")
    func hardLinks() throws {
        let built = try Inspected()
        let data = filler(1000)
        try built.image.addLayer(createdBy: "COPY a, ln a b") { root in
            try root.write("a", data)
            try root.hardLink("b", to: "a")
        }
        // Only one name goes: the data still shows through 'b'.
        try built.addRawLayer(createdBy: "RUN rm a", [.marker(".wh.a")])
        let middle = try built.image.branch(as: "middle")
        var report = try built.inspect()
        #expect(report.layers[0].addedBytes == 1000)
        #expect(report.layers[0].wastedBytes == 0)
        #expect(report.deletedFiles.isEmpty)
        try built.expectVisibleBytes(report, of: middle)

        try built.addRawLayer(createdBy: "RUN rm b", [.marker(".wh.b")])
        report = try built.inspect()
        #expect(report.layers[0].wastedBytes == 1000)
        #expect(report.totals.wastedBytes == 1000)
        #expect(report.deletedFiles == [.init(path: "b", size: 1000, layer: 1, deletedBy: 3, hardLinks: ["a"])])
        #expect(report.totals.visibleBytes == 0)
        try built.expectVisibleBytes(report)
    }

    @Test("a hard link within a hand-written layer joins the data of the earlier entry")
    func hardLinkInRawLayer() throws {
        let built = try Inspected()
        try built.addRawLayer(createdBy: "raw", [
            .file("x", filler(64)), .hardLink("y", to: "x"), .hardLink("z", to: "y"), .file("w", filler(8)),
        ])
        let report = try built.inspect()
        #expect(report.layers[0].addedBytes == 72)
        try built.expectVisibleBytes(report)
    }

    @Test("history entries marked empty_layer are skipped; a layer without history has no command")
    func historyAlignment() throws {
        let built = try Inspected()
        try built.image.configure(["--config.env", "A=1"], createdBy: "ENV A=1")
        try built.image.addLayer(createdBy: "RUN one") { root in try root.write("one", "1") }
        try built.image.configure(["--config.workingdir", "/srv"], createdBy: "WORKDIR /srv")
        try built.image.addLayer(createdBy: "RUN two") { root in try root.write("two", "2") }
        try built.addRawLayer(createdBy: nil, [.file("three", "3")])
        let report = try built.inspect()
        #expect(report.layers.map(\.createdBy) == ["RUN one", "RUN two", nil])
    }

    @Test("the JSON report has exactly the documented fields, null for an unknown command")
    func jsonSchema() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "COPY s") { root in try root.write("s", "secret") }
        try built.addRawLayer(createdBy: nil, [.marker(".wh.s")])
        let encoded = try JSONEncoder().encode(built.inspect())
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(Set(object.keys) == ["schemaVersion", "reference", "manifest", "config", "platform", "layers", "deletedFiles", "totals"])
        #expect(object["schemaVersion"] as? Int == 1)
        #expect(object["reference"] as? String == built.image.reference)
        let layers = try #require(object["layers"] as? [[String: Any]])
        #expect(layers.count == 2)
        for layer in layers {
            #expect(Set(layer.keys) == ["number", "blob", "diffID", "mediaType", "compressedSize", "uncompressedSize",
                                        "entries", "markers", "createdBy", "addedBytes", "wastedBytes"])
        }
        #expect(layers[0]["createdBy"] as? String == "COPY s")
        #expect(layers[1]["createdBy"] is NSNull)
        #expect(layers.map { $0["number"] as? Int } == [1, 2])
        let blobs = try built.image.layerBlobPaths().map { "sha256:" + ($0 as NSString).lastPathComponent }
        #expect(layers.map { $0["blob"] as? String } == blobs)
        let deleted = try #require(object["deletedFiles"] as? [[String: Any]])
        #expect(deleted.count == 1)
        #expect(Set(deleted[0].keys) == ["path", "size", "layer", "deletedBy", "hardLinks"])
        #expect(deleted[0]["path"] as? String == "s")
        #expect(deleted[0]["size"] as? Int == 6)
        let totals = try #require(object["totals"] as? [String: Any])
        #expect(Set(totals.keys) == ["layers", "compressedSize", "uncompressedSize", "addedBytes", "wastedBytes",
                                     "visibleBytes", "efficiency", "deletedFiles", "deletedBytes"])
        let sizes = try built.image.layerBlobPaths().map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? -1 }
        #expect(totals["compressedSize"] as? Int == sizes.reduce(0, +))
        #expect(try JSONDecoder().decode(ImageInspection.self, from: encoded) == built.inspect())
    }

    enum Tampering: String, CaseIterable, CustomTestStringConvertible {
        case flipMiddleByte, flipLastByte, appendByte, truncate
        var testDescription: String { rawValue }
    }

    @Test("a tampered layer blob is refused with an error naming that blob", arguments: Tampering.allCases)
    func tamperedBlob(_ tampering: Tampering) throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "COPY one") { root in try root.write("one", filler(5000, "1")) }
        try built.image.addLayer(createdBy: "COPY two") { root in try root.write("two", filler(5000, "2")) }
        let blob = try built.image.layerBlobPaths()[1]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: blob)))
        switch tampering {
        case .flipMiddleByte: bytes[bytes.count / 2] ^= 0x01
        case .flipLastByte: bytes[bytes.count - 1] ^= 0x01
        case .appendByte: bytes.append(0)
        case .truncate: bytes.removeLast(10)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: blob))
        let digest = "sha256:" + (blob as NSString).lastPathComponent
        do {
            _ = try built.inspect()
            Issue.record("a tampered blob was inspected without an error")
        } catch {
            #expect("\(error)".contains(digest), "\(error)")
        }
    }

    @Test("strata inspect prints the table and the same report as JSON")
    func commandLine() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "COPY credentials.txt /") { root in try root.write("credentials.txt", "hunter2\n") }
        try built.image.addLayer(createdBy: "RUN rm /credentials.txt") { root in try root.remove("credentials.txt") }
        let strata = builtExecutable("strata")
        let table = try runShortProgram([strata, "inspect", built.image.reference])
        #expect(table.status == 0, "\(table.output)")
        #expect(table.output.contains("RUN rm /credentials.txt"))
        #expect(table.output.contains("credentials.txt"))
        #expect(table.output.contains("Deleted files still readable: 1 (8 B)"))
        let json = try runShortProgram([strata, "inspect", "--json", built.image.reference])
        #expect(json.status == 0, "\(json.output)")
        let decoded = try JSONDecoder().decode(ImageInspection.self, from: Data(json.output.utf8))
        #expect(decoded == (try built.inspect()))
        let many = try Inspected()
        try many.image.addLayer(createdBy: "COPY many") { root in
            for index in 0..<60 { try root.write("many/f\(index)", "\(index)") }
        }
        try many.image.addLayer(createdBy: "RUN rm -r many") { root in try root.remove("many") }
        let short = try runShortProgram([strata, "inspect", many.image.reference])
        #expect(short.output.contains("… and 10 more (--all or --json lists them)"), "\(short.output)")
        #expect(short.output.split(separator: "\n").filter { $0.hasPrefix("many/f") }.count == 50)
        let full = try runShortProgram([strata, "inspect", "--all", many.image.reference])
        #expect(!full.output.contains("more (--all"))
        #expect(full.output.split(separator: "\n").filter { $0.hasPrefix("many/f") }.count == 60)
        let missing = try runShortProgram([strata, "inspect", built.image.layout + ":nope"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("no tag 'nope'"))
        // A name that is not UTF-8 shows its byte as \xff in the table, not as a NUL sent to the terminal.
        let bytes = try Inspected()
        let oddName = FileName.decode(Array("odd".utf8) + [0xFF])
        try bytes.image.addLayer(createdBy: "COPY odd") { root in
            try root.write("placeholder", "o")
            let directory = try openDirectory(root.path)
            defer { try? directory.close() }
            try directory.rename("placeholder", to: directory, as: oddName)
        }
        try bytes.image.addLayer(createdBy: "RUN rm odd*") { root in
            let directory = try openDirectory(root.path)
            defer { try? directory.close() }
            try directory.remove(at: oddName)
        }
        let odd = try runShortProgram([strata, "inspect", bytes.image.reference])
        #expect(odd.output.contains("odd\\xff") && !odd.output.contains("\u{0}"), "\(odd.output)")
        let platform = try runShortProgram([strata, "inspect", "--platform", "amd64", built.image.reference])
        #expect(platform.status != 0)
        #expect(platform.output.contains("--platform 'amd64' is not os/arch"))
    }

    @Test("a symbolic link replacing a directory hides everything below it")
    func symbolicLinkOverDirectory() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "COPY lib") { root in
            try root.write("lib/libc.so", filler(900))
            try root.write("lib/sub/x", filler(90))
            try root.write("usr/lib/libc.so", filler(9))
        }
        try built.image.addLayer(createdBy: "RUN ln -s usr/lib lib") { root in
            try root.remove("lib")
            try root.symbolicLink("lib", to: "usr/lib")
        }
        let report = try built.inspect()
        #expect(report.layers[0].wastedBytes == 990)
        #expect(report.deletedFiles.map(\.path) == ["lib/libc.so", "lib/sub/x"])
        // Only usr/lib/libc.so shows. Not compared with umoci's own unpack: umoci writes the symbolic link
        // before 'lib/.wh.libc.so' and, unpacking, applies that whiteout through the new link, deleting
        // usr/lib/libc.so, though a whiteout acts on the layers below only (OCI image-spec, layer.md).
        #expect(report.totals.visibleBytes == 9)
        try built.expectVisibleBytes(report, umoci: false)
    }

    @Test("a path written twice in one tar wastes the first copy in its own layer")
    func sameLayerRewrite() throws {
        let built = try Inspected()
        try built.addRawLayer(createdBy: "raw", [
            .file("f", filler(500)), .directory("d/"), .file("d/inner", filler(60)), .file("f", filler(5)),
            .file("d", filler(7)),
        ])
        let report = try built.inspect()
        #expect(report.layers[0].addedBytes == 572)
        #expect(report.layers[0].wastedBytes == 560)
        #expect(report.deletedFiles.isEmpty)
        try built.expectVisibleBytes(report)
    }

    @Test("uncompressed and zstd layers, chosen from a multi-platform index with --platform")
    func compressionsAndPlatforms() throws {
        let directory = try TemporaryDirectory(prefix: "strata-inspect-hand")
        let layout = try HandLayout(at: directory.path + "/layout")
        func layer(_ name: String, _ code: String, _ compression: String) throws -> (mediaType: String, digest: String, size: Int, diffID: String) {
            let tar = directory.path + "/\(name).tar"
            try ImageFixtures.pythonTar(tar, code)
            return try layout.layer(tar: tar, compression: compression)
        }
        let plain = try layer("plain", #"file("a", b"a" * 100)"#, "none")
        let zstd = try layer("zstd", #"file(".wh.a", b""); file("b", b"b" * 7)"#, "zstd")
        let arm = try layer("arm", #"file("arm", b"r" * 30)"#, "gzip")
        let amdManifest = try layout.manifest([plain, zstd], architecture: "amd64")
        let armManifest = try layout.manifest([arm], architecture: "arm64")
        let nested = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(armManifest.digest)","size":\(armManifest.size),"platform":{"os":"linux","architecture":"arm64"}},\
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amdManifest.digest)","size":\(amdManifest.size),"platform":{"os":"linux","architecture":"amd64"}}]}
            """
        let wrongDiffID = try layout.manifest([(plain.mediaType, plain.digest, plain.size, zstd.diffID)])
        try layout.index([
            ("multi", try layout.blob(Array(nested.utf8)), "application/vnd.oci.image.index.v1+json", nil),
            ("wrong", wrongDiffID, "application/vnd.oci.image.manifest.v1+json", nil),
        ])
        let strata = builtExecutable("strata")
        func inspect(_ platform: String) throws -> ImageInspection {
            let run = try runShortProgram([strata, "inspect", "--json", "--platform", platform, layout.path + ":multi"])
            #expect(run.status == 0, "\(run.output)")
            return try JSONDecoder().decode(ImageInspection.self, from: Data(run.output.utf8))
        }
        let onArm = try inspect("linux/arm64")
        #expect(onArm.platform == "linux/arm64")
        #expect(onArm.manifest.description == armManifest.digest)
        #expect(onArm.layers.map(\.addedBytes) == [30])

        let onAmd = try inspect("linux/amd64")
        #expect(onAmd.platform == "linux/amd64")
        #expect(onAmd.layers.map(\.mediaType) == [plain.mediaType, zstd.mediaType])
        #expect(onAmd.layers.map(\.blob.description) == [plain.digest, zstd.digest])
        #expect(onAmd.layers.map(\.compressedSize) == [Int64(plain.size), Int64(zstd.size)])
        let zstdTarSize = try FileManager.default.attributesOfItem(atPath: directory.path + "/zstd.tar")[.size] as? Int
        #expect(onAmd.layers.map(\.uncompressedSize) == [Int64(plain.size), Int64(zstdTarSize ?? -1)])
        #expect(onAmd.layers.map(\.markers) == [0, 1])
        #expect(onAmd.deletedFiles == [.init(path: "a", size: 100, layer: 1, deletedBy: 2, hardLinks: [])])
        #expect(onAmd.totals.visibleBytes == 7)

        #expect {
            try ImageInspection(ImageReference(parsing: layout.path + ":wrong"))
        } throws: { error in
            "\(error)".contains(plain.digest) && "\(error)".contains(zstd.diffID)
        }
    }

    @Test("writing into a directory the tar never described, over a lower symbolic link, is refused as the store refuses it")
    func implicitDirectoryOverLowerLink() throws {
        let built = try Inspected()
        try built.image.addLayer(createdBy: "RUN ln -s usr/lib /lib") { root in
            try root.write("usr/lib/x", "x")
            try root.symbolicLink("lib", to: "usr/lib")
        }
        let described = try built.image.branch(as: "described")
        try built.addRawLayer(createdBy: "raw", [.file("lib/foo", "foo")])
        #expect {
            try built.inspect()
        } throws: { error in
            "\(error)".contains("entry 'lib/foo' is written through the non-directory 'lib' of layer 1")
        }
        #expect(throws: StrataError.self) { try built.storeViewFileBytes() }

        // With a header for 'lib' the layer replaces the link with a directory: both accept it, and agree.
        try built.addRawLayer(to: described, createdBy: "raw", [.directory("lib/"), .file("lib/foo", "foo")])
        let report = try built.inspect(described.reference)
        #expect(report.totals.visibleBytes == 4)
        try built.expectVisibleBytes(report, of: described)
    }

    @Test("a layer forging a union marker xattr is refused by name")
    func forgedMarkerAttribute() throws {
        let built = try Inspected()
        try built.addRawLayer(createdBy: "raw", [.withAttribute("d/", name: "trusted.overlay.opaque")])
        #expect {
            try built.inspect()
        } throws: { error in
            "\(error)".contains("entry 'd/' carries the xattr 'trusted.overlay.opaque'") && "\(error)".contains("layer 1 of 1")
        }
    }
}
