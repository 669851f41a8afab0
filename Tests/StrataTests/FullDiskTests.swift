import Glibc
import Strata
import StrataTestSupport
import Testing

/// A full upper file system: the upper and work directories live on a small tmpfs, the lower on /tmp.
/// Operations that run out of space must throw `ENOSPC`, leave the merged view and the upper layer as they
/// were (no partial copy, nothing left in `WORK/work`, the same tree after a reopen), and work once space
/// is freed.
///
/// tmpfs limits pages with `size=` and inodes with `nr_inodes=`; a directory, an empty file, a whiteout
/// (a 0/0 character device) or an xattr take no page, so the metadata test fills both.
@Suite(
    "full disk: ENOSPC leaves the upper consistent", .serialized,
    .enabled(if: getuid() == 0, "needs root to mount a tmpfs"))
struct FullDiskTests {
    static let bigSize = 16 << 20

    /// Not all zeros (a copy must move real data) and not periodic with the page size.
    static func pattern(_ count: Int) -> [UInt8] {
        // A 4099-byte block (prime length) doubled up: fast to build in a debug build.
        var result = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 5 &+ 1) }
        while result.count < count { result += result }
        return Array(result.prefix(count))
    }

    /// The big lower file's content, computed once.
    static let bigData = pattern(bigSize)

    /// Byte-for-byte equality without a per-element loop (tests are built without optimisation).
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
    }

    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("big", bytes: bigData),
            .file("etc/a", "alpha\n"),
            .file("etc/b", "bravo\n"),
            .file("doc/readme", "read me\n"),
            .directory("srv/site"),
            .file("srv/site/index", "<html>\n"),
        ])
    ])

    /// Lower layer on /tmp, upper and work on a tmpfs mounted at `space`; always unmounted.
    final class Scene {
        let directory: TemporaryDirectory
        let lower: String
        let space: String
        let upper: String
        let work: String
        private var mounted = false

        init(tmpfsOptions: String) throws {
            let directory = try TemporaryDirectory(prefix: "strata-fulldisk")
            self.directory = directory
            let space = directory.path + "/space"
            self.space = space
            upper = space + "/upper"
            work = space + "/work"
            do {
                lower = try FullDiskTests.fixture.build(in: try directory.makeSubdirectory("layers")).lowers[0]
            } catch {
                try? directory.remove()
                throw error
            }
            guard mkdir(space, 0o755) == 0 else { throw HarnessError("mkdir \(space)", errno: errno) }
            guard mount("tmpfs", space, "tmpfs", 0, tmpfsOptions) == 0 else {
                let code = errno
                try? directory.remove()
                throw HarnessError("mount -t tmpfs -o \(tmpfsOptions) \(space)", errno: code)
            }
            mounted = true
            guard mkdir(upper, 0o755) == 0, mkdir(work, 0o755) == 0 else {
                let code = errno
                tearDown()
                throw HarnessError("mkdir upper/work on the tmpfs", errno: code)
            }
        }

        func tearDown() {
            if mounted {
                if umount2(space, 0) != 0 { _ = umount2(space, Int32(MNT_DETACH)) }
                mounted = false
            }
            try? directory.remove()
        }

        deinit { tearDown() }

        func open() throws -> UnionFileSystem {
            try UnionFileSystem(UnionConfiguration(
                lowers: [FilePath(lower)], upper: FilePath(upper), work: FilePath(work), whiteoutFormat: .overlay))
        }

        /// Writes `size` bytes (or until the tmpfs is full, when nil) into `space/name`.
        @discardableResult
        func fill(_ name: String, size: Int? = nil) throws -> Int {
            let fd = Glibc.open("\(space)/\(name)", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw HarnessError("create \(name)", errno: errno) }
            defer { Glibc.close(fd) }
            let chunk = [UInt8](repeating: 0xA5, count: 64 << 10)
            var written = 0
            while size.map({ written < $0 }) ?? true {
                let count = min(chunk.count, (size ?? Int.max) - written)
                let got = Glibc.write(fd, chunk, count)
                if got < 0 {
                    if size == nil && errno == ENOSPC { break }
                    throw HarnessError("write \(name)", errno: errno)
                }
                written += got
            }
            return written
        }

        /// Creates empty files `space/inodes/N` until the tmpfs has no inode left; returns how many.
        func exhaustInodes() throws -> Int {
            guard mkdir("\(space)/inodes", 0o755) == 0 else { throw HarnessError("mkdir inodes", errno: errno) }
            for index in 0..<100_000 {
                let fd = Glibc.open("\(space)/inodes/\(index)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
                if fd < 0 {
                    guard errno == ENOSPC else { throw HarnessError("create inodes/\(index)", errno: errno) }
                    return index
                }
                Glibc.close(fd)
            }
            throw HarnessError("the tmpfs never ran out of inodes")
        }

        func freeSpace() throws {
            try TemporaryDirectory.removeTree("\(space)/inodes")
            for name in ["filler", "filler2"] { unlink("\(space)/\(name)") }
        }

        func temporaries() -> [String]? { workLeftovers(work) }

        func upperHas(_ path: String) -> Bool {
            var info = stat()
            return lstat("\(upper)/\(path)", &info) == 0
        }

        func freeBytes() -> Int {
            var info = statvfs()
            guard statvfs(space, &info) == 0 else { return -1 }
            return Int(info.f_bavail) * Int(info.f_frsize)
        }
    }

    /// The merged tree: one line per object (path, kind, permissions, size, content digest for files).
    static func tree(_ union: UnionFileSystem) throws -> [String] {
        var lines: [String] = []
        func walk(_ path: String) throws {
            for entry in try union.contentsOfDirectory(FilePath(path)).sorted(by: { $0.name < $1.name }) {
                let child = path.isEmpty ? entry.name : "\(path)/\(entry.name)"
                let status = try union.status(FilePath(child))
                var line = "\(child) \(entry.kind) \(String(status.permissions, radix: 8))"
                if entry.kind == .regular {
                    let data = try readAll(union, child)
                    let digest = data.count > 4096 ? (same(data, bigData) ? "the lower big data" : "other data")
                        : "\(ContentDigest(data).hash)"
                    line += " size=\(status.size) data=\(data.count) \(digest)"
                }
                lines.append(line)
                if entry.kind == .directory { try walk(child) }
            }
        }
        try walk("")
        return lines
    }

    static func readAll(_ union: UnionFileSystem, _ path: String) throws -> [UInt8] {
        let file = try union.open(FilePath(path), .readOnly)
        defer { file.close() }
        var result: [UInt8] = []
        while true {
            let chunk = try file.read(count: 1 << 20, at: Int64(result.count))
            if chunk.isEmpty { return result }
            result += chunk
        }
    }

    static func appendByte(_ union: UnionFileSystem, _ path: String) throws {
        let file = try union.open(FilePath(path), .readWrite)
        defer { file.close() }
        _ = try file.write([0x21], at: Int64(bigSize))
    }

    @Test("a data copy-up that runs out of space: ENOSPC, lower content intact, no partial copy; works after freeing space",
          .timeLimit(.minutes(3)))
    func copyUpOutOfSpace() throws {
        // 24 MiB with a 12 MiB filler: the 16 MiB file fits only once the filler is gone.
        let scene = try Scene(tmpfsOptions: "size=24m")
        defer { scene.tearDown() }
        try scene.fill("filler", size: 12 << 20)
        let union = try scene.open()
        var closed = false
        defer { if !closed { union.close() } }
        let before = try Self.tree(union)
        let freeBefore = scene.freeBytes()

        #expect(failure { try Self.appendByte(union, "big") } == .noSpace, "write to a lower file")
        #expect(failure { try union.truncate("big", to: Int64(Self.bigSize + 4096)) } == .noSpace, "truncate up")
        #expect(failure { _ = try union.open("big", .writeOnly, options: [.append]) } == .noSpace, "open for append")

        #expect(try Self.tree(union) == before, "the merged view changed")
        #expect(Self.same(try Self.readAll(union, "big"), Self.bigData))
        #expect(try union.status("big").size == Int64(Self.bigSize))
        #expect(!scene.upperHas("big"), "a partial copy is in the upper")
        #expect(scene.temporaries() == [], "WORK/work keeps a temporary: \(scene.temporaries() ?? [])")
        let freeAfter = scene.freeBytes()
        #expect(freeAfter >= freeBefore - (64 << 10), "space leaked: \(freeBefore) free before, \(freeAfter) after")

        // A reopened union sees the same tree.
        union.close()
        closed = true
        do {
            let again = try scene.open()
            defer { again.close() }
            #expect(try Self.tree(again) == before)
        }

        // Space freed: the same copy-up succeeds, and survives a reopen.
        unlink("\(scene.space)/filler")
        let third = try scene.open()
        defer { third.close() }
        try Self.appendByte(third, "big")
        let expected = Self.bigData + [0x21]
        #expect(Self.same(try Self.readAll(third, "big"), expected))
        #expect(scene.upperHas("big"))
        #expect(scene.temporaries() == [])
        third.close()
        let fourth = try scene.open()
        defer { fourth.close() }
        #expect(Self.same(try Self.readAll(fourth, "big"), expected))
        #expect(try Self.tree(fourth).filter { !$0.hasPrefix("big ") } == before.filter { !$0.hasPrefix("big ") })
    }

    @Test("filling the data of a metadata-only copy-up runs out of space: ENOSPC, lower data still served",
          .timeLimit(.minutes(3)))
    func metacopyFillOutOfSpace() throws {
        let scene = try Scene(tmpfsOptions: "size=24m")
        defer { scene.tearDown() }
        try scene.fill("filler", size: 12 << 20)
        let union = try scene.open()
        var closed = false
        defer { if !closed { union.close() } }
        try union.setPermissions("big", 0o600)   // metadata-only copy-up: no data in the upper
        #expect(scene.upperHas("big"))
        #expect(failure { try Self.appendByte(union, "big") } == .noSpace)
        #expect(Self.same(try Self.readAll(union, "big"), Self.bigData), "after a failed fill")
        #expect(try union.status("big").size == Int64(Self.bigSize))
        #expect(try union.status("big").permissions == 0o600)
        #expect(scene.temporaries() == [])
        union.close()
        closed = true
        do {
            let again = try scene.open()
            defer { again.close() }
            #expect(Self.same(try Self.readAll(again, "big"), Self.bigData), "after a failed fill and a reopen")
            #expect(try again.status("big").permissions == 0o600)
        }
        unlink("\(scene.space)/filler")
        let third = try scene.open()
        defer { third.close() }
        try Self.appendByte(third, "big")
        #expect(Self.same(try Self.readAll(third, "big"), Self.bigData + [0x21]))
        #expect(try third.status("big").permissions == 0o600)
    }

    @Test("mkdir, create, unlink with a whiteout, rename and a small copy-up on a full upper: ENOSPC, nothing changes; all work after freeing space",
          .timeLimit(.minutes(3)))
    func metadataOutOfSpace() throws {
        let scene = try Scene(tmpfsOptions: "size=4m,nr_inodes=64")
        defer { scene.tearDown() }
        let union = try scene.open()
        var closed = false
        defer { if !closed { union.close() } }
        let before = try Self.tree(union)
        let upperBefore = try Self.rawTree(scene.upper)
        try scene.fill("filler")
        let spare = try scene.exhaustInodes()
        #expect(spare > 0)

        #expect(failure { try union.makeDirectory("newdir", permissions: 0o755) } == .noSpace, "mkdir")
        #expect(failure { try union.makeDirectory("etc/sub", permissions: 0o755) } == .noSpace, "mkdir in a lower dir")
        #expect(failure { _ = try union.open("new", .writeOnly, options: [.create]).close() } == .noSpace, "create")
        #expect(failure { _ = try union.open("etc/new", .writeOnly, options: [.create]).close() } == .noSpace,
                "create in a lower dir")
        #expect(failure { try union.removeFile("etc/a") } == .noSpace, "unlink of a lower file (whiteout)")
        #expect(failure { try union.removeFile("doc/readme") } == .noSpace, "unlink of a lower file (whiteout)")
        #expect(failure { try union.rename("etc/b", to: "etc/c") } == .noSpace, "rename of a lower file")
        #expect(failure { try union.rename("srv/site", to: "srv/old") } == .noSpace, "rename of a lower directory")
        #expect(failure { _ = try union.open("etc/b", .writeOnly, options: [.append]).close() } == .noSpace,
                "copy-up of a small file")

        #expect(try Self.tree(union) == before, "the merged view changed")
        #expect(scene.temporaries() == [], "WORK/work keeps a temporary: \(scene.temporaries() ?? [])")
        // Parents may have been copied up (a consistent state); no file, whiteout or temporary may have appeared.
        let upperAfter = try Self.rawTree(scene.upper)
        let unexpected = upperAfter.filter { !upperBefore.contains($0) && !$0.hasSuffix(" directory") }
        #expect(unexpected == [], "new non-directory entries in the upper: \(unexpected)")

        union.close()
        closed = true
        do {
            let again = try scene.open()
            defer { again.close() }
            #expect(try Self.tree(again) == before, "the tree after a reopen differs")
        }

        try scene.freeSpace()
        let third = try scene.open()
        defer { third.close() }
        try third.makeDirectory("newdir", permissions: 0o755)
        try third.makeDirectory("etc/sub", permissions: 0o755)
        try third.open("new", .writeOnly, options: [.create]).close()
        try third.removeFile("etc/a")
        try third.removeFile("doc/readme")
        try third.rename("etc/b", to: "etc/c")
        try third.rename("srv/site", to: "srv/old")
        let file = try third.open("etc/c", .writeOnly, options: [.append])
        _ = try file.write(Array("more\n".utf8), at: 6)
        file.close()
        let after = try Self.tree(third)
        #expect(scene.temporaries() == [])
        third.close()
        let fourth = try scene.open()
        defer { fourth.close() }
        #expect(try Self.tree(fourth) == after)
        #expect(try fourth.contentsOfDirectory("etc").map(\.name).sorted() == ["c", "sub"])
        #expect(try fourth.contentsOfDirectory("doc").isEmpty)
        #expect(try fourth.contentsOfDirectory("srv").map(\.name) == ["old"])
        #expect(try Self.readAll(fourth, "etc/c") == Array("bravo\nmore\n".utf8))
        #expect(try Self.readAll(fourth, "srv/old/index") == Array("<html>\n".utf8))
    }

    /// The raw upper directory: "path kind" lines (kind from lstat).
    static func rawTree(_ root: String) throws -> [String] {
        var lines: [String] = []
        func walk(_ relative: String) {
            let path = relative.isEmpty ? root : "\(root)/\(relative)"
            guard let directory = opendir(path) else { return }
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(directory)
            for name in names.sorted() {
                let child = relative.isEmpty ? name : "\(relative)/\(name)"
                var info = stat()
                guard lstat("\(root)/\(child)", &info) == 0 else { continue }
                let kind = FileKind(mode: info.st_mode).map { "\($0)" } ?? "?"
                lines.append("\(child) \(kind)")
                if info.st_mode & S_IFMT == S_IFDIR { walk(child) }
            }
        }
        walk("")
        return lines
    }
}
