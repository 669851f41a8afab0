import Glibc
import StrataTestSupport
import Testing

@testable import Strata

/// How a copy-up builds a regular file before it takes its name: unnamed (`O_TMPFILE`), or under a
/// name in the work directory, as on an upper file system without `O_TMPFILE`.
enum CopyBuild: CaseIterable, CustomTestStringConvertible {
    case unnamed, named

    func prepare(_ union: UnionFileSystem) {
        if self == .named { union.buildCopiesUnderNames() }
    }

    var testDescription: String { self == .unnamed ? "unnamed files" : "named temporaries" }
}

@Suite("copy-up")
struct CopyUpTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
                .directory("etc", mode: 0o750, uid: 3, gid: 4, xattrs: ["user.dir": "d"]),
                .file("etc/conf", "setting=1\n", mode: 0o640, uid: 1000, gid: 100, xattrs: ["user.tag": "blue", "trusted.keep": "t"]),
                .file("etc/ro", "read-only", mode: 0o444),
                .symlink("etc/link", to: "conf"),
                .fifo("etc/pipe", mode: 0o600),
            ])
    ])

    @Test("writing copies data, owner, mode, times and xattrs; parents come up with their own metadata",
          arguments: CopyBuild.allCases)
    func fullCopyUp(build: CopyBuild) throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        let before = try stack.union.status("etc/conf")
        let file = try stack.union.open("etc/conf", .readWrite)
        try file.write(Array("X".utf8), at: 0)
        file.close()
        #expect(try stack.read("etc/conf") == "Xetting=1\n")
        let upper = try #require(stack.upperStatus("etc/conf"))
        #expect(upper.permissions == 0o640 && upper.user == 1000 && upper.group == 100)
        #expect(stack.upperAttribute("user.tag", of: "etc/conf") == "blue")
        #expect(stack.upperAttribute("trusted.keep", of: "etc/conf") == "t")
        #expect(stack.upperAttribute("trusted.overlay.metacopy", of: "etc/conf") == nil)
        let parent = try #require(stack.upperStatus("etc"))
        #expect(parent.permissions == 0o750 && parent.user == 3 && parent.group == 4)
        #expect(stack.upperAttribute("user.dir", of: "etc") == "d")
        #expect(parent.modificationTime.seconds < 1_100_000_000, "the parent keeps its lower mtime")
        #expect(try stack.union.status("etc/conf").inode == before.inode)
        let lower = try openDirectory(stack.layers.lowers[0])
        defer { try? lower.close() }
        #expect(try lower.status(at: "etc/conf").size == 10, "the lower layer is never written")
        #expect(workLeftovers(stack.layers.work) == [], "nothing of the copy stays in the work directory")
    }

    @Test("chmod, chown, utimens and setxattr copy metadata only; the first write brings the data",
          arguments: CopyBuild.allCases)
    func metadataOnlyCopyUp(build: CopyBuild) throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        try stack.union.setPermissions("etc/conf", 0o600)
        try stack.union.setOwner("etc/ro", user: 5, group: nil)
        try stack.union.setTimes("etc/pipe", access: .omit, modification: TimeSpec(seconds: 1_234_567_890))
        try stack.union.setExtendedAttribute("user.more", of: "etc/conf", to: Array("m".utf8))
        let upper = try #require(stack.upperStatus("etc/conf"))
        #expect(upper.size == 10, "a metacopy upper has the size of its data")
        let raw = try openDirectory(stack.layers.upper + "/etc")
        let upperFile = try raw.open(at: "conf", flags: O_RDONLY)
        #expect(try upperFile.read(count: 64, at: 0) == [UInt8](repeating: 0, count: 10), "and holds no data")
        try? upperFile.close()
        try? raw.close()
        #expect(stack.upperAttribute("trusted.overlay.metacopy", of: "etc/conf") != nil)
        #expect(try stack.read("etc/conf") == "setting=1\n", "data still comes from the lower layer")
        #expect(try stack.union.status("etc/conf").permissions == 0o600)
        #expect(try stack.union.status("etc/ro").user == 5)
        #expect(try stack.union.status("etc/pipe").modificationTime.seconds == 1_234_567_890)
        try stack.write("etc/conf", "!", options: [])
        #expect(try stack.read("etc/conf") == "!etting=1\n")
        #expect(stack.upperAttribute("trusted.overlay.metacopy", of: "etc/conf") == nil)
        #expect(try stack.union.status("etc/conf").permissions == 0o600)
        #expect(workLeftovers(stack.layers.work) == [])
    }

    @Test("a chmod that brings an object up gives the copy its new mode, set-user-ID bits kept after the owner",
          arguments: CopyBuild.allCases)
    func chmodBringsUpWithItsMode(build: CopyBuild) throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        try stack.union.setPermissions("etc/conf", 0o4750)
        let upper = try #require(stack.upperStatus("etc/conf"))
        #expect(upper.permissions == 0o4750 && upper.user == 1000 && upper.group == 100)
        #expect(try stack.union.status("etc/conf").permissions == 0o4750)
        try stack.union.setPermissions("etc", 0o711)
        #expect(stack.upperStatus("etc")?.permissions == 0o711)
        try stack.union.setPermissions("etc/pipe", 0o640)
        #expect(stack.upperStatus("etc/pipe")?.kind == .fifo && stack.upperStatus("etc/pipe")?.permissions == 0o640)
        #expect(try stack.read("etc/conf") == "setting=1\n")
    }

    @Test("in a set-group-ID work directory a copy still gets its lower group", arguments: CopyBuild.allCases)
    func setGroupIDWorkDirectory(build: CopyBuild) throws {
        let directory = try TemporaryDirectory(prefix: "strata-sgid")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("f", "data", uid: 0, gid: 0), .file("g", "meta", uid: 0, gid: 0)])])
            .build(in: directory.path)
        // New objects in WORK/work would take group 4242, not the creating process's group 0.
        #expect(chown(layers.work, 0, 4242) == 0 && chmod(layers.work, 0o2755) == 0)
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(layers.work)))
        defer { union.close() }
        build.prepare(union)
        try union.setPermissions("g", 0o600)
        let file = try union.open("f", .writeOnly, options: .append)
        _ = try file.write(Array("!".utf8), at: 0)
        file.close()
        var info = stat()
        for name in ["f", "g"] {
            #expect(lstat("\(layers.upper)/\(name)", &info) == 0 && info.st_gid == 0, "\(name) keeps group 0")
        }
    }

    @Test("a chown -R of a large lower tree copies no data")
    func recursiveChownIsCheap() throws {
        let directory = try TemporaryDirectory(prefix: "strata-chown")
        defer { try? directory.remove() }
        let blob = [UInt8](repeating: 0x5A, count: 256 << 10)
        let layers = try LayerFixture(lowers: [
            Layer((0..<200).map { FixtureEntry.file("tree/d\($0 % 10)/f\($0)", bytes: blob) })
        ]).build(in: directory.path)
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(layers.work)))
        defer { union.close() }
        func walk(_ path: FilePath) throws {
            try union.setOwner(path, user: 4242, group: 4242)
            guard try union.status(path).kind == .directory else { return }
            for entry in try union.contentsOfDirectory(path) { try walk(path.appending(entry.name)) }
        }
        try walk("tree")
        #expect(try union.status("tree/d3/f13").user == 4242)
        var allocated: Int64 = 0
        for index in 0..<200 {
            let upper = try openDirectory(layers.upper + "/tree/d\(index % 10)")
            allocated += try upper.status(at: "f\(index)").blocks * 512
            try? upper.close()
        }
        #expect(allocated < 200 * 8192, "50 MiB of lower data, and the upper holds none of it")
        let file = try union.open("tree/d3/f13", .readOnly)
        defer { file.close() }
        #expect(try file.read(count: 4, at: 1000) == [0x5A, 0x5A, 0x5A, 0x5A])
    }

    @Test("copy-up of symlinks, fifos and read-only files keeps their kind and mode")
    func specialObjects() throws {
        let stack = try Stack(Self.fixture)
        defer { stack.close() }
        try stack.union.setOwner("etc/link", user: 9, group: 9)
        #expect(try stack.union.readLink("etc/link") == "conf")
        #expect(stack.upperStatus("etc/link")?.kind == .symbolicLink)
        try stack.union.setOwner("etc/pipe", user: 9, group: 9)
        #expect(stack.upperStatus("etc/pipe")?.kind == .fifo)
        #expect(stack.upperStatus("etc/pipe")?.permissions == 0o600)
        try stack.write("etc/ro", "changed", options: [.truncate])
        #expect(stack.upperStatus("etc/ro")?.permissions == 0o444)
        #expect(try stack.read("etc/ro") == "changed")
    }

    @Test("sparse files keep their holes", arguments: CopyBuild.allCases)
    func sparseCopyUp(build: CopyBuild) throws {
        let directory = try TemporaryDirectory(prefix: "strata-sparse")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("sparse", "")])]).build(in: directory.path)
        let size: Int64 = 64 << 20
        let path = "\(layers.lowers[0])/sparse"
        let descriptor = open(path, O_WRONLY)
        _ = pwrite(descriptor, "head", 4, 0)
        _ = pwrite(descriptor, "tail", 4, off_t(size - 4))
        close(descriptor)
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(layers.work)))
        defer { union.close() }
        build.prepare(union)
        let file = try union.open("sparse", .writeOnly)
        try file.write(Array("H".utf8), at: 0)
        file.close()
        let status = try union.status("sparse")
        #expect(status.size == size)
        #expect(status.blocks * 512 < 1 << 20, "64 MiB with two written blocks stays sparse")
        let reader = try union.open("sparse", .readOnly)
        defer { reader.close() }
        #expect(try reader.read(count: 4, at: 0) == Array("Head".utf8))
        #expect(try reader.read(count: 4, at: size - 4) == Array("tail".utf8))
        #expect(try reader.read(count: 4, at: size / 2) == [0, 0, 0, 0])
    }

    @Test("readers during a large copy-up see the whole old content, never a partial copy")
    func readersDuringCopyUp() async throws {
        let directory = try TemporaryDirectory(prefix: "strata-big")
        defer { try? directory.remove() }
        let chunk = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let layers = try LayerFixture(lowers: [Layer([.file("big", bytes: []), .file("small", "s")])])
            .build(in: directory.path)
        let writer = open(layers.lowers[0] + "/big", O_WRONLY)
        for index in 0..<48 { _ = chunk.withUnsafeBytes { pwrite(writer, $0.baseAddress, $0.count, off_t(index << 20)) } }
        close(writer)
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(layers.work),
            durability: .volatile))
        defer { union.close() }
        let probe = Int64(47 << 20) + 12_345
        let expected = Array(chunk[12_345..<12_345 + 64])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let file = try union.open("big", .writeOnly)
                file.close()
            }
            group.addTask {
                for _ in 0..<200 {
                    let reader = try union.open("big", .readOnly)
                    let bytes = try reader.read(count: 64, at: probe)
                    reader.close()
                    #expect(bytes == expected)
                    #expect(try union.status("small").size == 1)
                }
            }
            try await group.waitForAll()
        }
        #expect(try union.origin(of: "big").top.layer == .upper)
        let reader = try union.open("big", .readOnly)
        defer { reader.close() }
        #expect(try reader.read(count: 64, at: probe) == expected)
        #expect(try union.status("big").size == 48 << 20)
    }

    @Test("concurrent copy-ups of one file do the work once and lose nothing")
    func concurrentCopyUp() async throws {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("shared", String(repeating: ".", count: 64))])]))
        defer { stack.close() }
        let union = stack.union
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    guard let file = try? union.open("shared", .writeOnly) else { return }
                    _ = try? file.write([UInt8(65 + index)], at: Int64(index))
                    file.close()
                }
            }
        }
        let content = Array(try stack.read("shared").utf8)
        #expect(content.prefix(16) == ArraySlice((0..<16).map { UInt8(65 + $0) }))
        let work = try openDirectory(stack.layers.work + "/work", pathOnly: false)
        defer { try? work.close() }
        #expect(try work.readDirectoryRecords().isEmpty, "no temporaries left behind")
    }

    /// `wchar` of /proc/thread-self/io: the bytes this thread's system calls wrote.
    static func threadBytesWritten() throws -> Int {
        let text = try String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("wchar:") }),
            let value = Int(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces))
        else { throw HarnessError("no wchar in /proc/thread-self/io") }
        return value
    }

    /// A truncation copies only the bytes it keeps: a small file under the engine lock, a large one
    /// (over `Engine.lockedCopyLimit`) through a data-copy plan, and a metadata-only copy filled in place.
    @Test("a truncation of a lower file copies only what it keeps; the rest reads as the kernel's would",
          arguments: CopyBuild.allCases)
    func truncationCopiesWhatItKeeps(build: CopyBuild) throws {
        let small = String((0..<20_000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        let large = String(repeating: small, count: 30)  // 600,000 bytes
        let fixture = LayerFixture(lowers: [
            Layer([
                .file("small", small, mode: 0o640), .file("large", large, mode: 0o600),
                .file("meta-small", small), .file("meta-large", large), .file("grow", "0123"),
            ])
        ])
        let stack = try Stack(fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        // Metadata-only copies first: their data is filled in place by the truncation.
        try stack.union.setPermissions("meta-small", 0o600)
        try stack.union.setPermissions("meta-large", 0o600)
        for (path, content, size) in [
            ("small", small, 1_000), ("large", large, 300_001), ("meta-small", small, 7), ("meta-large", large, 0),
            ("grow", "0123", 10),
        ] {
            // This thread's write counter (copy_file_range counts too): only the kept bytes are copied.
            let writtenBefore = try Self.threadBytesWritten()
            try stack.union.truncate(FilePath(path), to: Int64(size))
            let written = try Self.threadBytesWritten() - writtenBefore
            #expect(written <= min(size, content.utf8.count) + 4096, "\(path): \(written) bytes written")
            let expected = String(content.utf8.prefix(size))! + String(repeating: "\0", count: max(0, size - content.utf8.count))
            #expect(try stack.read(FilePath(path)) == expected, "\(path)")
            let upper = try String(contentsOfFile: "\(stack.layers.upper)/\(path)", encoding: .utf8)
            #expect(upper == expected, "\(path) in the upper layer")
            #expect(try stack.union.status(FilePath(path)).size == Int64(size))
        }
        #expect(try stack.union.status("small").permissions == 0o640)
        #expect(try stack.union.status("large").permissions == 0o600)
        // The lower files are untouched, and nothing is left in the work directory.
        #expect(try String(contentsOfFile: "\(stack.layers.lowers[0])/large", encoding: .utf8) == large)
        let work = try openDirectory(stack.layers.work + "/work", pathOnly: false)
        defer { try? work.close() }
        #expect(try work.readDirectoryRecords().filter { !$0.name.hasPrefix("#strata.whiteout") }.isEmpty)
    }

    /// An open with `O_TRUNC` keeps none of the data, so its copy-up copies none: through the path API
    /// (a small file in one step under the lock, a large one by a plan, a metadata-only copy) and
    /// through the node API a FUSE `OPEN` uses.
    @Test("an open with O_TRUNC of a lower file copies none of its data", arguments: CopyBuild.allCases)
    func truncatingOpenCopiesNothing(build: CopyBuild) throws {
        let small = String(repeating: "s", count: 20_000)
        let large = String(repeating: "l", count: 600_000)
        let fixture = LayerFixture(lowers: [
            Layer([.file("small", small), .file("large", large), .file("meta", large), .file("node", large)])
        ])
        let stack = try Stack(fixture)
        defer { stack.close() }
        build.prepare(stack.union)
        try stack.union.setPermissions("meta", 0o600)
        let node = try stack.union.lookup("node", in: .root).node
        for path in ["small", "large", "meta", "node"] {
            let writtenBefore = try Self.threadBytesWritten()
            if path == "node" {
                let descriptor = try stack.union.openDescriptor(node, flags: O_WRONLY | O_TRUNC | O_CLOEXEC)
                _ = try descriptor.write(Array("new".utf8), at: 0)
                try descriptor.close()
            } else {
                let file = try stack.union.open(FilePath(path), .writeOnly, options: .truncate)
                try file.write(Array("new".utf8), at: 0)
                file.close()
            }
            let written = try Self.threadBytesWritten() - writtenBefore
            #expect(written <= 4096, "\(path): \(written) bytes written")
            #expect(try stack.read(FilePath(path)) == "new", "\(path)")
            #expect(try String(contentsOfFile: "\(stack.layers.upper)/\(path)", encoding: .utf8) == "new")
        }
        #expect(try stack.union.status("meta").permissions == 0o600)
    }

    /// An open for writing that copies a small file up without syncing keeps the copy's own descriptor
    /// (no second open by name): it must behave as the descriptor the open would have made.
    @Test("an open for writing that copies a file up gets a descriptor with the open's access and flags",
          arguments: CopyBuild.allCases, [Durability.volatile, .synchronous])
    func openAfterCopyUpHasItsFlags(build: CopyBuild, durability: Durability) throws {
        let fixture = LayerFixture(lowers: [
            Layer(["append", "writeonly", "readwrite", "nonblocking", "synchronous", "truncated"].map {
                .file($0, "abc", mode: 0o640)
            })
        ])
        let stack = try Stack(fixture, durability: durability)
        defer { stack.close() }
        build.prepare(stack.union)
        let union = stack.union

        let appending = try union.open("append", .writeOnly, options: .append)
        try appending.write(Array("d".utf8), at: 0)
        try appending.write(Array("e".utf8), at: 0)
        appending.close()
        #expect(try stack.read("append") == "abcde")

        func node(_ name: String) throws -> NodeID { try union.lookup(name, in: .root).node }
        let writeOnly = try union.openDescriptor(try node("writeonly"), flags: O_WRONLY | O_CLOEXEC)
        #expect(throws: Errno.badFileDescriptor) { _ = try writeOnly.read(count: 1, at: 0) }
        _ = try writeOnly.write(Array("X".utf8), at: 0)
        try writeOnly.close()
        #expect(try stack.read("writeonly") == "Xbc")

        let readWrite = try union.openDescriptor(try node("readwrite"), flags: O_RDWR | O_CLOEXEC)
        #expect(try readWrite.read(count: 10, at: 0) == Array("abc".utf8))
        _ = try readWrite.write(Array("Y".utf8), at: 3)
        #expect(try readWrite.status().size == 4)
        try readWrite.close()

        let kernelLargeFile: Int32 = 0o100000
        let nonBlocking = try union.openDescriptor(
            try node("nonblocking"), flags: O_WRONLY | O_APPEND | O_NONBLOCK | kernelLargeFile | O_CLOEXEC)
        let statusFlags = fcntl(nonBlocking.rawValue, F_GETFL)
        #expect(statusFlags & O_APPEND != 0 && statusFlags & O_NONBLOCK != 0 && statusFlags & O_ACCMODE == O_WRONLY)
        _ = try nonBlocking.append(Array("Z".utf8))
        try nonBlocking.close()
        #expect(try stack.read("nonblocking") == "abcZ")

        let synchronous = try union.openDescriptor(try node("synchronous"), flags: O_WRONLY | O_DSYNC | O_CLOEXEC)
        #expect(fcntl(synchronous.rawValue, F_GETFL) & O_DSYNC != 0, "O_DSYNC cannot be added later: opened by name")
        try synchronous.close()

        let truncated = try union.open("truncated", .readWrite, options: .truncate)
        #expect(try truncated.read(count: 10, at: 0).isEmpty)
        truncated.close()

        for (name, content) in [("append", "abcde"), ("writeonly", "Xbc"), ("readwrite", "abcY"),
                                ("nonblocking", "abcZ"), ("synchronous", "abc"), ("truncated", "")] {
            #expect(try String(contentsOfFile: "\(stack.layers.upper)/\(name)", encoding: .utf8) == content, "\(name)")
            #expect(stack.upperStatus(name)?.permissions == 0o640, "\(name)")
        }
        let work = try openDirectory(stack.layers.work + "/work", pathOnly: false)
        defer { try? work.close() }
        #expect(try work.readDirectoryRecords().isEmpty, "no temporaries left behind")
    }
}
