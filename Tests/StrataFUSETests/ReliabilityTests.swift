import Dispatch
import Foundation
import Glibc
import Strata
import StrataTestSupport
import Testing

/// Crashes: `strata mount -f` runs as a child process and is killed with SIGKILL in the middle of a copy-up
/// of a 1 GiB file, of a rename of a lower directory, of an `rm -rf` of 2,000 lower files. The dead mount
/// is detached, the same layers are opened again in-process (which runs work-directory recovery), and every
/// name must be in its old or its new state: no half file, no stray entry, nothing left in `WORK/work`.
///
/// Every child runs in its own process group and is killed on every path; every mount is detached.
@Suite(
    "reliability: kill -9 of the mount server", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct ReliabilityTests {

    // MARK: Copy-up of a 1 GiB file

    static let chunk = 1 << 20
    static let bigChunks = 1024

    /// Chunk `index` of the big file: a fixed non-zero pattern stamped with its index.
    static func bigChunk(_ index: Int, _ base: [UInt8]) -> [UInt8] {
        var bytes = base
        withUnsafeBytes(of: UInt64(index).littleEndian) { stamp in
            for (offset, byte) in stamp.enumerated() { bytes[offset] = byte }
        }
        bytes[chunk - 1] = UInt8(truncatingIfNeeded: index &+ 0x41)
        return bytes
    }

    static let baseChunk: [UInt8] = {
        var block = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        while block.count < chunk { block += block }
        return Array(block.prefix(chunk))
    }()

    @Test("kill -9 during the copy-up of a 1 GiB file (append through the mount): old or new content after recovery",
          .timeLimit(.minutes(2)))
    func killDuringCopyUp() throws {
        let directory = try TemporaryDirectory(prefix: "strata-crash-copyup")
        defer { try? directory.remove() }
        let lower = try directory.makeSubdirectory("lower")
        // Real data, written with large writes (no holes, nothing a copy could skip).
        do {
            let fd = open("\(lower)/big", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw HarnessError("create big", errno: errno) }
            defer { close(fd) }
            for index in 0..<Self.bigChunks {
                let bytes = Self.bigChunk(index, Self.baseChunk)
                guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw HarnessError("write big", errno: errno) }
            }
        }
        let oldSize = Int64(Self.bigChunks * Self.chunk)
        var outcomes: [String] = []
        // -1: kill once the append has finished (the new content must survive the kill).
        for (round, delay) in [60, 150, -1].enumerated() {
            let (upper, work) = try Self.freshUpper(directory, round)
            let leftover = try Self.crash(
                lower: lower, upper: upper, work: work, merged: try directory.makeSubdirectory("merged\(round)"),
                scratch: directory.path, command: "echo x >> \"$1\"/big", delayMilliseconds: delay)
            let union = try Self.reopen(lower: lower, upper: upper, work: work)
            defer { union.close() }
            #expect(Self.temporaries(work) == [], "round \(round): WORK/work not empty after recovery")
            let size = try union.status("big").size
            #expect(size == oldSize || size == oldSize + 2, "round \(round): size \(size) is neither old nor new")
            // Every chunk byte for byte (a half copy would show zeros or a short file).
            let file = try union.open("big", .readOnly)
            defer { file.close() }
            var intact = true
            for index in 0..<Self.bigChunks {
                let got = try file.read(count: Self.chunk, at: Int64(index * Self.chunk))
                if !Self.same(got, Self.bigChunk(index, Self.baseChunk)) {
                    Issue.record("round \(round): chunk \(index) differs from the lower data")
                    intact = false
                    break
                }
            }
            let tail = try file.read(count: 16, at: oldSize)
            #expect(tail == [] || tail == Array("x\n".utf8), "round \(round): bytes after the old end: \(tail)")
            #expect(tail.count == Int(size - oldSize))
            // The upper holds nothing, or the complete new file (no metacopy mark, no temporary name).
            let upperEntries = try Self.rawTree(upper)
            #expect(upperEntries == [] || upperEntries == ["big regular"], "round \(round): upper holds \(upperEntries)")
            if upperEntries == ["big regular"] {
                var info = stat()
                #expect(lstat("\(upper)/big", &info) == 0 && (info.st_size == oldSize || info.st_size == oldSize + 2))
            }
            if delay < 0 { #expect(size == oldSize + 2, "the finished append was lost by the kill") }
            outcomes.append("delay \(delay) ms: \(size == oldSize ? "old" : "new") content, "
                + "temporary before recovery: \(leftover.isEmpty ? "none" : leftover.joined(separator: ","))\(intact ? "" : ", CORRUPT")")
        }
        print("killDuringCopyUp: " + outcomes.joined(separator: "; "))
    }

    // MARK: Rename of a lower directory

    static let movedTree = LayerFixture(lowers: [
        Layer((0..<10).flatMap { d in
            (0..<20).map { f in FixtureEntry.file("tree/d\(d)/f\(f)", "file \(d)/\(f)\n") }
        } + [.file("tree/top", "top\n"), .symlink("tree/link", to: "top"), .file("other", "other\n")])
    ])

    @Test("kill -9 during mv of a lower directory: after recovery it is under the old or the new name, complete",
          .timeLimit(.minutes(2)))
    func killDuringRename() throws {
        let directory = try TemporaryDirectory(prefix: "strata-crash-mv")
        defer { try? directory.remove() }
        let lower = try Self.movedTree.build(in: try directory.makeSubdirectory("layers")).lowers[0]
        let expected = try Self.hostTree(lower + "/tree")
        var outcomes: [String] = []
        for (round, delay) in [0, 5, 20, 60, 120].enumerated() {
            let (upper, work) = try Self.freshUpper(directory, round)
            _ = try Self.crash(
                lower: lower, upper: upper, work: work, merged: try directory.makeSubdirectory("merged\(round)"),
                scratch: directory.path, command: "mv \"$1\"/tree \"$1\"/moved", delayMilliseconds: delay)
            let union = try Self.reopen(lower: lower, upper: upper, work: work)
            defer { union.close() }
            #expect(Self.temporaries(work) == [], "round \(round): WORK/work not empty after recovery")
            let root = try union.contentsOfDirectory("").map(\.name).sorted()
            #expect(root == ["other", "tree"] || root == ["moved", "other"], "round \(round): root lists \(root)")
            let name = root.contains("moved") ? "moved" : "tree"
            #expect(try Self.mergedTree(union, name) == expected, "round \(round): \(name) is not the complete tree")
            #expect(try Self.mergedTree(union, "").count == expected.count + 2)
            // Every upper entry belongs to one of the two names (no temporary, no stray name).
            let stray = try Self.rawTree(upper).filter { !$0.hasPrefix("tree") && !$0.hasPrefix("moved") }
            #expect(stray == [], "round \(round): stray upper entries \(stray)")
            // The union goes on working: finish the rename if it had not happened.
            if name == "tree" { try union.rename("tree", to: "moved") }
            #expect(try Self.mergedTree(union, "moved") == expected)
            outcomes.append("delay \(delay) ms: \(name == "tree" ? "old" : "new") name")
        }
        print("killDuringRename: " + outcomes.joined(separator: "; "))
    }

    // MARK: rm -rf of 2,000 lower files

    static let junkTree = LayerFixture(lowers: [
        Layer((0..<20).flatMap { d in
            (0..<100).map { f in FixtureEntry.file("junk/d\(d)/f\(f)", "junk \(d)/\(f)\n") }
        } + [.file("keep", "keep\n")])
    ])

    @Test("kill -9 during rm -rf of 2,000 lower files: every file present and complete or absent, every entry stats",
          .timeLimit(.minutes(2)))
    func killDuringRemoval() throws {
        let directory = try TemporaryDirectory(prefix: "strata-crash-rm")
        defer { try? directory.remove() }
        let lower = try Self.junkTree.build(in: try directory.makeSubdirectory("layers")).lowers[0]
        let original = Dictionary(uniqueKeysWithValues: try Self.hostTree(lower + "/junk").map { ($0.path, $0) })
        var outcomes: [String] = []
        for (round, delay) in [30, 120].enumerated() {
            let (upper, work) = try Self.freshUpper(directory, round)
            _ = try Self.crash(
                lower: lower, upper: upper, work: work, merged: try directory.makeSubdirectory("merged\(round)"),
                scratch: directory.path, command: "rm -rf \"$1\"/junk", delayMilliseconds: delay)
            let union = try Self.reopen(lower: lower, upper: upper, work: work)
            defer { union.close() }
            #expect(Self.temporaries(work) == [], "round \(round): WORK/work not empty after recovery")
            #expect(try Self.readAll(union, "keep") == Array("keep\n".utf8))
            // `mergedTree` stats and reads every listed entry: a dangling one fails here.
            let remaining = (try? union.status("junk")) == nil ? [] : try Self.mergedTree(union, "junk")
            for entry in remaining {
                #expect(original[entry.path] == entry, "round \(round): \(entry) is not as in the lower layer")
            }
            // Upper: directories and whiteouts only (no partial file, no temporary).
            let unexpected = try Self.rawTree(upper).filter { !$0.hasSuffix(" directory") && !$0.hasSuffix(" characterDevice") }
            #expect(unexpected == [], "round \(round): unexpected upper entries \(unexpected.prefix(10))")
            // The union goes on working: the rest of the tree can be removed (no ENOTEMPTY, no resurrection).
            if (try? union.status("junk")) != nil { try Self.removeTree(union, "junk") }
            #expect(try union.contentsOfDirectory("").map(\.name) == ["keep"])
            let files = remaining.filter { $0.kind == "file" }.count
            outcomes.append("delay \(delay) ms: \(files) of 2000 files left")
        }
        print("killDuringRemoval: " + outcomes.joined(separator: "; "))
    }

    // MARK: The crash

    /// Mounts the layers with `strata mount -f` (a child process), waits for the mount, runs
    /// `sh -c command sh MERGED` in another child, kills the server with SIGKILL after `delayMilliseconds`,
    /// (a negative delay: once the command has finished) detaches the dead mount and reaps both children. Returns what
    /// `WORK/work` held before recovery, and the unnamed files there the server had open when it was killed.
    static func crash(lower: String, upper: String, work: String, merged: String, scratch: String, command: String,
                      delayMilliseconds: Int) throws -> [String] {
        let executable = RealProgramTests.strataExecutable
        try #require(access(executable, X_OK) == 0, "no strata binary at \(executable)")
        let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
        let server = try ChildProcess(executable, ["mount", "-f", "-o", options, merged], log: "\(scratch)/server")
        var writer: ChildProcess?
        defer {
            server.kill()
            writer?.kill()
            if FUSEMount.isMounted(merged) { _ = umount2(merged, Int32(MNT_DETACH)) }
            _ = writer?.reap(seconds: 10)
            _ = server.reap(seconds: 10)
        }
        let deadline = DispatchTime.now() + 10
        while !FUSEMount.isMounted(merged) {
            if let status = server.exited() {
                throw HarnessError("strata mount -f exited with \(status): \((try? RealProgramTests.text("\(scratch)/server.err")) ?? "")")
            }
            guard DispatchTime.now() < deadline else { throw HarnessError("\(merged) not mounted within 10 s") }
            usleep(5_000)
        }
        writer = try ChildProcess("/bin/sh", ["-c", command, "sh", merged], log: "\(scratch)/writer")
        if delayMilliseconds >= 0 {
            usleep(UInt32(delayMilliseconds * 1000))
        } else if writer?.reap(seconds: 60) == nil {
            throw HarnessError("`\(command)` did not finish within 60 s")
        }
        // A copy-up in flight builds its file unnamed (O_TMPFILE): only the server's descriptors show it.
        let unnamed = unnamedFiles(of: server.pid, in: work)
        server.kill()
        guard server.reap(seconds: 10) != nil else { throw HarnessError("the killed server did not exit") }
        let leftover = (temporaries(work) ?? []) + unnamed
        guard umount2(merged, Int32(MNT_DETACH)) == 0 || !FUSEMount.isMounted(merged) else {
            throw HarnessError("umount -l \(merged)", errno: errno)
        }
        // The writer sees ENOTCONN (or finished before the kill); it must end on its own.
        #expect(writer?.reap(seconds: 10) != nil, "the program in the mount did not end after the server died")
        #expect(!FUSEMount.isMounted(merged))
        return leftover
    }

    // MARK: Helpers

    static func freshUpper(_ directory: TemporaryDirectory, _ round: Int) throws -> (String, String) {
        (try directory.makeSubdirectory("upper\(round)"), try directory.makeSubdirectory("work\(round)"))
    }

    static func reopen(lower: String, upper: String, work: String) throws -> UnionFileSystem {
        try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(lower)], upper: FilePath(upper), work: FilePath(work), whiteoutFormat: .overlay))
    }

    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count
            && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
    }

    static func temporaries(_ work: String) -> [String]? { workLeftovers(work) }

    /// The unnamed (`O_TMPFILE`) files in `WORK/work` that process `pid` holds open, as "unnamed N".
    static func unnamedFiles(of pid: pid_t, in work: String) -> [String] {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return descriptors.compactMap { descriptor in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)"),
                target.hasPrefix("\(work)/work/#"), target.hasSuffix(" (deleted)")
            else { return nil }
            return "unnamed \(descriptor)"
        }.sorted()
    }

    /// The raw directory: "relative-path kind" lines from lstat, sorted.
    static func rawTree(_ root: String) throws -> [String] {
        var lines: [String] = []
        func walk(_ relative: String) throws {
            let path = relative.isEmpty ? root : "\(root)/\(relative)"
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                let child = relative.isEmpty ? name : "\(relative)/\(name)"
                var info = stat()
                guard lstat("\(root)/\(child)", &info) == 0 else { throw HarnessError("lstat \(child)", errno: errno) }
                lines.append("\(child) \(FileKind(mode: info.st_mode).map { "\($0)" } ?? "?")")
                if info.st_mode & S_IFMT == S_IFDIR { try walk(child) }
            }
        }
        try walk("")
        return lines
    }

    struct Entry: Hashable, CustomStringConvertible {
        var path: String
        var kind: String
        var content: String
        var description: String { "\(path) (\(kind)) \(content.debugDescription)" }
    }

    /// A host directory as entries relative to it: kind and content (file data, link target).
    static func hostTree(_ root: String) throws -> [Entry] {
        var entries: [Entry] = []
        for line in try rawTree(root) {
            let parts = line.split(separator: " ")
            let path = String(parts[0])
            let full = "\(root)/\(path)"
            switch parts[1] {
            case "regular": entries.append(Entry(path: path, kind: "file", content: try RealProgramTests.text(full)))
            case "directory": entries.append(Entry(path: path, kind: "directory", content: ""))
            case "symbolicLink":
                entries.append(Entry(path: path, kind: "symlink",
                                     content: try FileManager.default.destinationOfSymbolicLink(atPath: full)))
            default: entries.append(Entry(path: path, kind: String(parts[1]), content: ""))
            }
        }
        return entries.sorted { $0.path < $1.path }
    }

    /// The merged tree under `root`, relative to it: every listed entry is stat'ed and read.
    static func mergedTree(_ union: UnionFileSystem, _ root: String) throws -> [Entry] {
        var entries: [Entry] = []
        func walk(_ relative: String) throws {
            let path = [root, relative].filter { !$0.isEmpty }.joined(separator: "/")
            for item in try union.contentsOfDirectory(FilePath(path)) {
                let child = relative.isEmpty ? item.name : "\(relative)/\(item.name)"
                let full = [root, child].filter { !$0.isEmpty }.joined(separator: "/")
                let status = try union.status(FilePath(full))
                switch status.kind {
                case .regular?:
                    entries.append(Entry(path: child, kind: "file", content: String(decoding: try readAll(union, full), as: UTF8.self)))
                case .directory?:
                    entries.append(Entry(path: child, kind: "directory", content: ""))
                    try walk(child)
                case .symbolicLink?:
                    entries.append(Entry(path: child, kind: "symlink", content: try union.readLink(FilePath(full))))
                default:
                    entries.append(Entry(path: child, kind: status.kind.map { "\($0)" } ?? "?", content: ""))
                }
            }
        }
        try walk("")
        return entries.sorted { $0.path < $1.path }
    }

    static func readAll(_ union: UnionFileSystem, _ path: String) throws -> [UInt8] {
        let file = try union.open(FilePath(path), .readOnly)
        defer { file.close() }
        var result: [UInt8] = []
        while true {
            let chunk = try file.read(count: 1 << 16, at: Int64(result.count))
            if chunk.isEmpty { return result }
            result += chunk
        }
    }

    static func removeTree(_ union: UnionFileSystem, _ path: String) throws {
        for item in try union.contentsOfDirectory(FilePath(path)) {
            let child = "\(path)/\(item.name)"
            if item.kind == .directory { try removeTree(union, child) } else { try union.removeFile(FilePath(child)) }
        }
        try union.removeDirectory(FilePath(path))
    }
}
