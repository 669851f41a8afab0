import Foundation
import Glibc
import Strata
import StrataArchive
import StrataOCI
import StrataTestSupport
import Testing

/// `strata mount --image` and the image commands, run as a user runs them: the built binary, through FUSE.
@Suite("OCI images through strata mount", .serialized)
struct ImageMountTests {
    @Test("two containers of one image share its layers; the mount equals umoci unpack; mount, change, commit, unpack round-trips",
          .timeLimit(.minutes(3)))
    func mountedContainers() throws {
        let directory = try TemporaryDirectory(prefix: "strata-image-mount")
        defer { try? directory.remove() }
        let image = try ImageFixtures.rich(in: directory.path)
        let reference = try image.unpack(into: directory.path, name: "reference")
        let store = directory.path + "/store"
        let first = try directory.makeSubdirectory("first")
        let second = try directory.makeSubdirectory("second")
        var mounted: [String] = []
        defer { for point in mounted { Self.forceUnmount(point) } }

        let one = try Self.strata(["mount", "--image", image.reference, "--store", store, "-o", "volatile", first])
        mounted.append(first)
        let two = try Self.strata(["mount", "--image", image.reference, "--store", store, "-o", "volatile", second])
        mounted.append(second)
        let firstID = try #require(Self.container(in: one)), secondID = try #require(Self.container(in: two))
        #expect(firstID != secondID)

        let expected = ImageFixtures.withoutRoot(try TreeSnapshot.directory(reference, xattrs: .mergedView))
        let view = ImageFixtures.withoutRoot(try TreeSnapshot.directory(first, xattrs: .mergedView))
        #expect(view.differences(from: expected, labels: ("mount", "umoci")) == [])
        let layerStore = try LayerStore(FilePath(store))
        #expect(layerStore.records().count == 3, "both containers use the same three layers")
        #expect(Set(layerStore.containerRecords().map(\.diffIDs)).count == 1)

        // Containers are independent.
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: first + "/only-in-first"))
        #expect(!FileManager.default.fileExists(atPath: second + "/only-in-first"))

        // Change the first container through the mount, as programs do.
        let (status, output) = try runShortProgram(["sh", "-c", """
            set -e; cd '\(first)'
            echo appended >> etc/hosts; rm etc/passwd-link; chmod 700 bin/tool; mv app application
            rm -r tmp; mkdir -m 1777 tmp; echo new > tmp/fresh; ln etc/hosts etc/hosts-link; rm data/sparse
            """])
        #expect(status == 0, "\(output)")
        let changed = ImageFixtures.withoutRoot(try TreeSnapshot.directory(first, xattrs: .mergedView))
        try Self.strata(["unmount", first])
        mounted.removeAll { $0 == first }

        let diff = try Self.strata(["diff", "--store", store, firstID])
        #expect(diff.contains("D /app\n") && diff.contains("A /application\n") && diff.contains("C /etc/hosts\n") && diff.contains("D /data/sparse\n"), "\(diff)")
        try Self.strata(["commit", "--store", store, firstID, "--tag", "changed", "--message", "RUN changes"])
        let (skopeo, skopeoOutput) = try runShortProgram(["skopeo", "inspect", "oci:\(image.layout):changed"])
        #expect(skopeo == 0, "skopeo cannot read the committed image: \(skopeoOutput)")
        let committed = UmociImage(existing: image.layout, tag: "changed")
        let unpacked = ImageFixtures.withoutRoot(try TreeSnapshot.directory(committed.unpack(into: directory.path, name: "changed"), xattrs: .mergedView))
        #expect(unpacked.differences(from: changed, labels: ("umoci unpack of the commit", "the mount")) == [])
        // The second container still shows the original image.
        let untouched = ImageFixtures.withoutRoot(try TreeSnapshot.directory(second, xattrs: .mergedView))
        #expect(untouched.differences(from: expected, labels: ("second mount", "umoci")) == [])
    }

    @Test("prune removes unreferenced layers but never one a mount or an open union holds", .timeLimit(.minutes(2)))
    func prune() throws {
        let directory = try TemporaryDirectory(prefix: "strata-prune")
        defer { try? directory.remove() }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: [#"file("a", b"a")"#, #"file("b", b"b")"#])
        let store = try LayerStore(FilePath(directory.path + "/store"))
        let prepared = try store.prepare(ImageLayout(FilePath(layout.path)).resolve(ImageReference(layout: FilePath(layout.path), tag: "t")))
        prepared.lease.release()
        #expect(try store.prune().removed.isEmpty, "the layout still uses both layers")
        try TemporaryDirectory.removeTree(layout.path)
        // Layer 0 is held by an in-process union, layer 1 by a mount; then both are let go.
        let union = try UnionFileSystem(UnionConfiguration(lowers: [prepared.lowers[1]]))
        let mountPoint = try directory.makeSubdirectory("mnt")
        try Self.strata(["mount", "--lower", prepared.lowers[0].string, mountPoint])
        defer { Self.forceUnmount(mountPoint) }
        let busy = try store.prune()
        #expect(busy.removed.isEmpty && busy.busy.count == 2)
        union.close()
        try Self.strata(["unmount", mountPoint])
        let done = try store.prune()
        #expect(done.removed.count == 2 && store.records().isEmpty)
        #expect(store.imageRecords().isEmpty, "the record of the deleted layout is gone too")
    }

    @Test("kill -9 during a long unpack: no half layer is trusted, and the next mount unpacks it whole", .timeLimit(.minutes(2)))
    func crashDuringUnpack() throws {
        let directory = try TemporaryDirectory(prefix: "strata-unpack-crash")
        defer { try? directory.remove() }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: [
            #"[file("f%03d" % i, bytes([i]) * (3 << 20)) for i in range(100)]"#,
        ], compression: "none")
        let store = directory.path + "/store"
        var interrupted = 0
        for delay in [150_000, 400_000] as [useconds_t] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = ["export", "\(layout.path):t", "--store", store, "-o", "/dev/null"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let layerStore = try LayerStore(FilePath(store))
            if !(try FileManager.default.contentsOfDirectory(atPath: store + "/staging")).isEmpty { interrupted += 1 }
            for record in layerStore.records() {
                // Whatever the store kept is whole.
                #expect(try FileManager.default.contentsOfDirectory(atPath: layerStore.layerRoot(record.diffID).string).count == 100)
            }
        }
        #expect(interrupted > 0, "no kill landed during the unpack")
        let layerStore = try LayerStore(FilePath(store))
        let prepared = try layerStore.prepare(ImageLayout(FilePath(layout.path)).resolve(ImageReference(layout: FilePath(layout.path), tag: "t")))
        prepared.lease.release()
        let root = prepared.lowers[0].string
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        #expect(names.count == 100)
        for name in names {
            let size = (try FileManager.default.attributesOfItem(atPath: root + "/" + name)[.size] as? Int) ?? -1
            #expect(size == 3 << 20, "\(name)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/staging") == [])
    }

    @Test("a refused image mount keeps no container; strata layers lists each layer's users", .timeLimit(.minutes(1)))
    func refusedMountAndLayers() throws {
        let directory = try TemporaryDirectory(prefix: "strata-refused")
        defer { try? directory.remove() }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: [#"file("a", b"a")"#])
        let store = directory.path + "/store"
        let mountPoint = try directory.makeSubdirectory("mnt")
        defer { Self.forceUnmount(mountPoint) }
        let (status, output) = try runShortProgram([Self.executable, "mount", "--image", "\(layout.path):t", "--store", store,
                                                    "-o", "frobnicate", mountPoint])
        #expect(status != 0 && output.contains("frobnicate"), "\(output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/containers") == [], "a container was kept")
        let (missing, missingOutput) = try runShortProgram([Self.executable, "mount", "--image", "\(layout.path):t", "--store", store,
                                                            directory.path + "/nowhere"])
        #expect(missing != 0 && missingOutput.contains("is not a directory"), "\(missingOutput)")

        struct Row: Decodable { var diffID: String; var usedBy: [String] }
        let rows = try JSONDecoder().decode([Row].self, from: Data(Self.strata(["layers", "--store", store, "--json"]).utf8))
        #expect(rows.count == 1 && rows[0].usedBy == ["\(layout.path):t"], "\(rows)")
    }

    @Test("unpacking shows progress on a terminal and nothing in a script", .timeLimit(.minutes(3)))
    func progress() throws {
        let directory = try TemporaryDirectory(prefix: "strata-progress")
        defer { try? directory.remove() }
        let layout = try HandLayout.image(at: directory.path + "/layout", layers: [#"file("a", b"a")"#, #"file("b", b"b")"#])
        let command = "\(Self.executable) export \(layout.path):t --store \(directory.path)/tty -o /dev/null"
        let (status, terminal) = try runShortProgram(["script", "-qec", command, "/dev/null"])
        #expect(status == 0, "\(terminal)")
        #expect(terminal.contains("unpacking layer 1/2") && terminal.contains("unpacking layer 2/2"), "\(terminal)")
        let quiet = try Self.strata(["export", "\(layout.path):t", "--store", directory.path + "/script", "-o", "/dev/null"])
        #expect(!quiet.contains("unpacking"), "\(quiet)")
    }

    // MARK: Helpers

    static var executable: String { builtExecutable("strata") }

    /// Runs the strata binary to its end (30 s at most) and returns its output; a failure fails the test.
    @discardableResult
    static func strata(_ arguments: [String]) throws -> String {
        let result = withTimeLimit(.seconds(60)) { () -> (Int32, String)? in
            try? runShortProgram([executable] + arguments)
        }
        guard let finished = result, let (status, output) = finished else {
            throw HarnessError("strata \(arguments.joined(separator: " ")) did not finish within 60 s")
        }
        guard status == 0 else { throw HarnessError("strata \(arguments.joined(separator: " ")) failed (\(status)): \(output)") }
        return output
    }

    static func container(in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("container ") }.map { String($0.dropFirst("container ".count)) }
    }

    /// Unmounts on every path: `strata unmount`, then a lazy detach.
    static func forceUnmount(_ point: String) {
        _ = withTimeLimit(.seconds(20)) { try? runShortProgram([executable, "unmount", point]) }
        _ = umount2(point, Int32(MNT_DETACH))
    }
}
