import Foundation
import Glibc
import Strata
import StrataArchive
import StrataOCI
import StrataTestSupport
import Synchronization
import Testing

@Suite("OCI images: unpack, share, diff, commit", .serialized)
struct ImageTests {
    @Test("the in-process view of a umoci-built image equals umoci unpack, entry for entry")
    func viewEqualsUmociUnpack() throws {
        let directory = try TemporaryDirectory(prefix: "strata-image")
        defer { try? directory.remove() }
        let (image, store, container) = try richContainer(in: directory)
        let reference = try umociRootfs(image, directory)
        defer { container.close() }
        let view = ImageFixtures.withoutRoot(try TreeSnapshot.union(container.union))
        let expected = ImageFixtures.withoutRoot(try TreeSnapshot.directory(reference, xattrs: .mergedView))
        #expect(view.differences(from: expected, labels: ("strata", "umoci")) == [])
        #expect(expected.entries["bin/tool"]?.xattrs["security.capability"] != nil, "the fixture lost its capability")
        #expect(expected.entries["tmp"]?.permissions == 0o1777 && expected.entries["bin/tool"]?.permissions == 0o4755)
        #expect(try ImageFixtures.hardLinkGroups(reference).count == 1)
        // The store's layers are kept in the kernel's format: overlayfs mounts them to the same tree.
        let prepared = try store.prepare(ImageLayout(FilePath(image.layout)).resolve(ImageReference(parsing: image.reference)))
        prepared.lease.release()
        let kernel = try KernelOverlay(lowers: prepared.lowers.map(\.string), upper: nil, work: nil,
                                       mountPoint: directory.makeSubdirectory("kernel"), extraOptions: "")
        defer { try? kernel.unmount() }
        let kernelView = ImageFixtures.withoutRoot(try TreeSnapshot.directory(kernel.mountPoint, xattrs: .mergedView))
        #expect(kernelView.differences(from: expected, labels: ("overlayfs", "umoci")) == [])
    }

    @Test("a second image that shares base layers unpacks only its new layer")
    func sharedLayers() throws {
        let directory = try TemporaryDirectory(prefix: "strata-image-share")
        defer { try? directory.remove() }
        let base = try UmociImage(in: directory.path, tag: "base")
        try base.addLayer(createdBy: "one") { try $0.write("one", "1\n") }
        try base.addLayer(createdBy: "two") { try $0.write("two", "2\n") }
        let app = try base.branch(as: "app")
        try app.addLayer(createdBy: "three") { try $0.write("three", "3\n") }
        let store = try LayerStore(FilePath(directory.path + "/store"))
        let unpacked = Mutex<Set<StrataArchive.ContentDigest>>([])
        let progress: @Sendable (UnpackProgress) -> Void = { event in unpacked.withLock { _ = $0.insert(event.diffID) } }
        let first = try store.prepare(ImageLayout(FilePath(base.layout)).resolve(ImageReference(parsing: base.reference)), progress: progress)
        first.lease.release()
        #expect(unpacked.withLock { $0.count } == 2)
        unpacked.withLock { $0 = [] }
        let second = try store.prepare(ImageLayout(FilePath(app.layout)).resolve(ImageReference(parsing: app.reference)), progress: progress)
        second.lease.release()
        #expect(unpacked.withLock { $0 } == [second.layers[2].diffID], "only the new layer is unpacked")
        #expect(Array(second.lowers.suffix(2)) == first.lowers, "the base layers are the same directories")
        #expect(store.records().count == 3)
        #expect(Set(store.users()[first.layers[0].diffID] ?? []) == [base.reference, app.reference])
    }

    @Test("concurrent unpacks of one image do the work once; leftovers of an interrupted unpack are never trusted")
    func concurrentUnpacks() throws {
        let directory = try TemporaryDirectory(prefix: "strata-image-race")
        defer { try? directory.remove() }
        let image = try UmociImage(in: directory.path, tag: "t")
        try image.addLayer(createdBy: "big") { root in
            for index in 0..<400 { try root.write("files/\(index)", String(repeating: "\(index)", count: 500)) }
        }
        let storePath = FilePath(directory.path + "/store")
        let store = try LayerStore(storePath)
        let resolved = try ImageLayout(FilePath(image.layout)).resolve(ImageReference(parsing: image.reference))
        // A half-written staging directory from a crashed unpack, with a file the real layer lacks.
        let staging = directory.path + "/store/staging/" + resolved.layers[0].diffID.hex + "/root"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: staging + "/half", contents: Data("partial".utf8))
        let unpacked = Mutex(0)
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                do {
                    let counted = Mutex(false)
                    let prepared = try store.prepare(resolved) { _ in
                        if !counted.withLock({ seen in defer { seen = true }; return seen }) { unpacked.withLock { $0 += 1 } }
                    }
                    prepared.lease.release()
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(failures.withLock { $0 } == [])
        #expect(unpacked.withLock { $0 } == 1, "the layer was unpacked once")
        let root = store.layerRoot(resolved.layers[0].diffID).string
        #expect(!FileManager.default.fileExists(atPath: root + "/half"), "a leftover was trusted")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/files").count == 400)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/store/staging") == [])
    }

    @Test("diff lists what the container changed; commit makes an image umoci unpacks to the container's view")
    func commitRoundTrip() throws {
        let directory = try TemporaryDirectory(prefix: "strata-image-commit")
        defer { try? directory.remove() }
        let (image, store, container) = try richContainer(in: directory)
        let fs = container.union
        let log = try fs.open("/var-log", .writeOnly, options: [.create], permissions: 0o640)
        _ = try log.write(Array("started\n".utf8), at: 0)
        log.close()
        let hosts = try fs.open("/etc/hosts", .writeOnly, options: [.append])
        _ = try hosts.write(Array("10.0.0.1 db\n".utf8), at: 0)
        hosts.close()
        try fs.removeFile("/etc/passwd-link")
        try fs.setPermissions("/bin/tool", 0o755)                       // metadata-only copy-up
        try fs.rename("/app", to: "/application")                        // a lower directory: redirect
        try fs.removeFile("/data/new")
        try fs.removeFile("/dev/null")
        try fs.removeDirectory("/tmp")
        try fs.makeDirectory("/tmp", permissions: 0o1777)                // replaced: opaque
        try fs.makeHardLink("/etc/hosts-link", to: "/etc/hosts")
        try fs.makeSymbolicLink("/latest", target: "application/config/c.conf")
        let view = ImageFixtures.withoutRoot(try TreeSnapshot.union(fs))
        let base = try container.base(store: store)
        let changes = try ChangeSet(merged: fs, base: base).changes
        base.close()
        container.close()
        let expected: [Change] = [
            .init(kind: .deleted, path: "/app"), .init(kind: .added, path: "/application"),
            .init(kind: .added, path: "/application/config"), .init(kind: .added, path: "/application/config/c.conf"),
            .init(kind: .changed, path: "/bin"), .init(kind: .changed, path: "/bin/tool"),
            .init(kind: .changed, path: "/data"), .init(kind: .deleted, path: "/data/new"),
            .init(kind: .changed, path: "/dev"), .init(kind: .deleted, path: "/dev/null"),
            .init(kind: .changed, path: "/etc"), .init(kind: .changed, path: "/etc/hosts"),
            .init(kind: .added, path: "/etc/hosts-link"),
            // Removing one name of a hard-link group changes the others' link count: copied up, as the kernel does.
            .init(kind: .changed, path: "/etc/passwd"), .init(kind: .deleted, path: "/etc/passwd-link"),
            .init(kind: .changed, path: "/etc/passwd-second"),
            .init(kind: .added, path: "/latest"), .init(kind: .changed, path: "/tmp"), .init(kind: .added, path: "/var-log"),
        ]
        #expect(changes == expected)

        let strata = builtExecutable("strata")
        for attempt in ["first", "second"] {
            let (status, output) = try runShortProgram([strata, "commit", "--store", store.root.string, container.record.id,
                                                        "--tag", "committed-\(attempt)", "--timestamp", "1700000000"])
            #expect(status == 0, "\(output)")
        }
        // Deterministic: the same container committed twice gives the same layer.
        let layout = try ImageLayout(FilePath(image.layout))
        let one = try layout.resolve(ImageReference(layout: layout.path, tag: "committed-first"))
        let two = try layout.resolve(ImageReference(layout: layout.path, tag: "committed-second"))
        #expect(one.layers.last?.blob.digest == two.layers.last?.blob.digest)
        #expect(one.layers.count == 4 && one.configuration.history?.last?.created_by == "strata commit")

        // umoci reads the new image, and its rootfs is what the container showed (times aside: fixed).
        let committed = UmociImage(existing: image.layout, tag: "committed-first")
        let unpacked = ImageFixtures.withoutRoot(try TreeSnapshot.directory(committed.unpack(into: directory.path, name: "committed"), xattrs: .mergedView))
        #expect(Self.ignoringTimes(unpacked).differences(from: Self.ignoringTimes(view), labels: ("umoci", "container")) == [])
        // And Strata mounting the new tag shows it too.
        let again = try ImageContainer.create(ImageReference(layout: layout.path, tag: "committed-first"), store: store, durability: .volatile)
        defer { again.close() }
        let remounted = ImageFixtures.withoutRoot(try TreeSnapshot.union(again.union))
        #expect(Self.ignoringTimes(remounted).differences(from: Self.ignoringTimes(view), labels: ("new image", "container")) == [])
    }

    @Test("look-alike names and names that are not UTF-8 survive diff and commit, byte for byte")
    func namesAsBytes() throws {
        let directory = try TemporaryDirectory(prefix: "strata-image-names")
        defer { try? directory.remove() }
        let (image, store, container) = try richContainer(in: directory)
        let names = [FileName.decode([0x78, 0xFF]), FileName.decode([0x78, 0xFE]), "caf\u{E9}", "cafe\u{301}"]
        let target = FileName.decode([0x74, 0xFB])
        for (index, name) in names.enumerated() {
            let file = try container.union.open(FileName.path("/" + name), .writeOnly, options: [.create], permissions: 0o644)
            _ = try file.write(Array("\(index)".utf8), at: 0)
            file.close()
        }
        try container.union.makeSymbolicLink(FileName.path("/" + FileName.decode([0x6C, 0xFC])), target: target)
        let base = try container.base(store: store)
        let added = try ChangeSet(merged: container.union, base: base).changes.filter { $0.kind == .added }.map { Array($0.path.utf8) }
        base.close()
        container.close()
        #expect(added == ["/cafe\u{301}", "/caf\u{E9}", "/l\u{0}fc", "/x\u{0}fe", "/x\u{0}ff"].map { Array($0.utf8) })

        let (status, output) = try runShortProgram([builtExecutable("strata"), "commit", "--store", store.root.string,
                                                    container.record.id, "--tag", "names", "--timestamp", "1700000000"])
        #expect(status == 0, "\(output)")
        let layout = try ImageLayout(FilePath(image.layout))
        let again = try ImageContainer.create(ImageReference(layout: layout.path, tag: "names"), store: store, durability: .volatile)
        defer { again.close() }
        #expect(Set(try again.union.contentsOfDirectory("/").map { NameKey($0.name) }).isSuperset(of: names.map(NameKey.init)))
        for (index, name) in names.enumerated() {
            let file = try again.union.open(FileName.path("/" + name), .readOnly)
            #expect(try file.read(count: 8, at: 0) == Array("\(index)".utf8))
            file.close()
        }
        #expect(Array(try again.union.readLink(FileName.path("/" + FileName.decode([0x6C, 0xFC]))).utf8) == Array(target.utf8))
    }

    static func ignoringTimes(_ snapshot: TreeSnapshot) -> TreeSnapshot {
        var copy = snapshot
        for key in copy.entries.keys { copy.entries[key]?.mtime = .exact(seconds: 0, nanoseconds: 0) }
        return copy
    }

    /// The rich fixture image in `directory`, a layer store beside it, and a volatile container of the image.
    func richContainer(in directory: TemporaryDirectory) throws -> (image: UmociImage, store: LayerStore, container: ImageContainer) {
        let image = try ImageFixtures.rich(in: directory.path)
        let store = try LayerStore(FilePath(directory.path + "/store"))
        let container = try ImageContainer.create(try ImageReference(parsing: image.reference), store: store, durability: .volatile)
        return (image, store, container)
    }

    func umociRootfs(_ image: UmociImage, _ directory: TemporaryDirectory) throws -> String {
        try image.unpack(into: directory.path, name: "reference")
    }
}


@Suite("OCI images: export")
struct ExportTests {
    @Test("export flattens the merged view into one tar that unpacks to umoci's rootfs")
    func exportFlattens() throws {
        let directory = try TemporaryDirectory(prefix: "strata-export")
        defer { try? directory.remove() }
        let image = try ImageFixtures.rich(in: directory.path)
        let reference = try image.unpack(into: directory.path, name: "reference")
        let tar = directory.path + "/flat.tar"
        let (status, output) = try runShortProgram([builtExecutable("strata"), "export", image.reference, "--store", directory.path + "/store", "-o", tar])
        #expect(status == 0, "\(output)")
        let target = try directory.makeSubdirectory("flat")
        let (untar, untarOutput) = try runShortProgram(["tar", "--xattrs", "--xattrs-include=*", "-xpf", tar, "-C", target])
        #expect(untar == 0, "\(untarOutput)")
        let flat = ImageFixtures.withoutRoot(try TreeSnapshot.directory(target, xattrs: .mergedView))
        let expected = ImageFixtures.withoutRoot(try TreeSnapshot.directory(reference, xattrs: .mergedView))
        #expect(flat.differences(from: expected, labels: ("exported", "umoci")) == [])
        #expect(try ImageFixtures.hardLinkGroups(target) == ImageFixtures.hardLinkGroups(reference))
    }
}
