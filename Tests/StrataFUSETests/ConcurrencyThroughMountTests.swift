import Dispatch
import Glibc
import Strata
import StrataTestSupport
import Testing

/// Many processes at once on one `strata mount` (a child process): parallel copy-ups of one file and of
/// different files, readers during a copy-up, parallel create/unlink/rename in one directory, and readdir
/// while entries change. The workers are separate processes (python3), started together at a barrier; the
/// end state is compared with a model, through the mount and again after a remount.
@Suite(
    "concurrency: many processes on one mount", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct ConcurrencyThroughMountTests {

    // MARK: Parallel copy-ups

    static let sharedSize = 4 << 20
    static let ownSize = 1 << 20
    static let writers = 8

    @Test("8 processes copy up the same lower file and 8 different ones at once: every write is kept",
          .timeLimit(.minutes(2)))
    func parallelCopyUps() throws {
        let shared = FullPattern.bytes(Self.sharedSize, salt: 1)
        let owns = (0..<Self.writers).map { FullPattern.bytes(Self.ownSize, salt: 10 + $0) }
        let fixture = LayerFixture(lowers: [
            Layer([.file("shared", bytes: shared)] + owns.enumerated().map { .file("own\($0.offset)", bytes: $0.element) })
        ])
        try withServer(fixture) { scene in
            let workers = try (0..<Self.writers).map { index in
                try scene.worker("copyup", "\(index)", log: "copyup\(index)")
            }
            try scene.start(workers)
            // Each writer put 4 KiB of its own byte into the shared file and appended a line to its own file.
            var expectedShared = shared
            for index in 0..<Self.writers {
                let offset = index * (512 << 10) + 100
                expectedShared.replaceSubrange(offset..<offset + 4096, with: repeatElement(UInt8(index + 1), count: 4096))
            }
            try scene.checkBoth { (root: String) throws in
                #expect(FullPattern.same(try RealProgramTests.bytes("\(root)/shared"), expectedShared),
                        "the shared file lost a write")
                for index in 0..<Self.writers {
                    var expected = owns[index]
                    expected.replaceSubrange(0..<1, with: [UInt8(ascii: "X")])
                    expected += Array("child \(index)\n".utf8)
                    #expect(FullPattern.same(try RealProgramTests.bytes("\(root)/own\(index)"), expected), "own\(index)")
                }
            }
        }
    }

    // MARK: Readers during a copy-up

    @Test("readers in 4 processes during the copy-up of a 32 MiB file see the old or the new content, never a mix",
          .timeLimit(.minutes(2)))
    func readersDuringCopyUp() throws {
        let old = FullPattern.bytes(32 << 20, salt: 3)
        var new = old
        new.replaceSubrange(16 << 20..<(16 << 20) + 4, with: Array("NEW!".utf8))
        let fixture = LayerFixture(lowers: [Layer([.file("big", bytes: old)])])
        try withServer(fixture) { scene in
            let oldDigest = try scene.digest(of: old)
            let newDigest = try scene.digest(of: new)
            let readers = try (0..<4).map { index in
                try scene.worker("reader", oldDigest, newDigest, log: "reader\(index)")
            }
            let writer = try scene.worker("writer", log: "writer")
            // Readers first, so some of them are mid-read when the copy-up starts.
            try scene.go()
            usleep(50_000)
            try scene.finish([writer])
            usleep(100_000)
            try scene.stop()
            try scene.finish(readers)
            for index in 0..<4 {
                let report = try scene.output("reader\(index)")
                print("readersDuringCopyUp: reader \(index): \(report)", terminator: "")
                #expect(report.contains("bad=0 ") && report.hasSuffix("last=new\n"), "reader \(index): \(report)")
            }
            try scene.checkBoth { (root: String) throws in
                #expect(FullPattern.same(try RealProgramTests.bytes("\(root)/big"), new))
            }
        }
    }

    // MARK: One directory, many processes

    static let workers = 6
    static let lowerNames = 180

    /// What worker `index` leaves in `d` (see `directoryScript`); every other name of `d` is untouched.
    static func expectedEntries() -> [String: String] {
        var entries: [String: String] = [:]
        for stable in 0..<50 { entries["stable_\(stable)"] = "stable \(stable)\n" }
        for name in 0..<lowerNames {
            switch name % 4 {
            case 0: break
            case 1: entries["renamed_\(name)"] = "lower \(name)\n"
            case 2: entries["lower_\(name)"] = "new \(name)\n"
            default: entries["lower_\(name)"] = "rewritten \(name)\n"
            }
        }
        for worker in 0..<workers {
            for created in stride(from: 1, to: 30, by: 2) { entries["created_\(worker)_\(created)"] = "created \(worker) \(created)\n" }
        }
        return entries
    }

    @Test("6 processes create, unlink and rename in one directory while 2 list it: the end state is the model's",
          .timeLimit(.minutes(2)))
    func oneDirectory() throws {
        var lower: [FixtureEntry] = (0..<50).map { .file("d/stable_\($0)", "stable \($0)\n") }
        lower += (0..<Self.lowerNames).map { .file("d/lower_\($0)", "lower \($0)\n") }
        for worker in 0..<Self.workers {
            lower += (0..<20).map { .file("d/sub_\(worker)/f\($0)", "sub \(worker) \($0)\n") }
            lower.append(.file("d/sub_\(worker)/deep/g", "deep\n"))
        }
        let fixture = LayerFixture(lowers: [Layer(lower)])
        try withServer(fixture) { scene in
            let listers = try (0..<2).map { index in try scene.worker("lister", log: "lister\(index)") }
            let workers = try (0..<Self.workers).map { index in
                try scene.worker("directory", "\(index)", "\(Self.workers)", "\(Self.lowerNames)", log: "worker\(index)")
            }
            try scene.go()
            try scene.finish(workers)
            try scene.stop()
            try scene.finish(listers)
            for index in 0..<2 {
                let report = try scene.output("lister\(index)")
                print("oneDirectory: lister \(index): \(report)", terminator: "")
                #expect(report.hasPrefix("errors=0 "), "lister \(index): \(report)")
            }
            for index in 0..<Self.workers {
                #expect(try scene.output("worker\(index)") == "done\n", "worker \(index)")
            }
            let expected = Self.expectedEntries()
            try scene.checkBoth { (root: String) throws in
                let names = try FileManagerFree.names("\(root)/d")
                let lost = Set(expected.keys).subtracting(names).sorted().prefix(10)
                let extra = Set(names).subtracting(expected.keys).sorted().prefix(10)
                #expect(names == expected.keys.sorted(), "lost: \(lost), resurrected or extra: \(extra)")
                for (name, content) in expected {
                    #expect((try? RealProgramTests.text("\(root)/d/\(name)")) == content, "d/\(name)")
                }
            }
        }
    }

    // MARK: The scene

    struct Scene {
        let directory: TemporaryDirectory
        let layers: BuiltLayers
        let merged: String
        let scratch: String
        let server: ServerSlot
        let options: String

        /// Starts `python3 -c script role arguments…` (waiting at the barrier) with the mount as argv[1].
        func worker(_ role: String, _ arguments: String..., log: String) throws -> ChildProcess {
            try ChildProcess("/usr/bin/python3", ["-c", ConcurrencyThroughMountTests.script, role, merged, scratch] + arguments,
                             log: "\(scratch)/\(log)")
        }

        func go() throws { try RealProgramTests.write("\(scratch)/go", "") }
        func stop() throws { try RealProgramTests.write("\(scratch)/stop", "") }

        /// Opens the barrier and waits for every worker to exit 0.
        func start(_ workers: [ChildProcess]) throws {
            try go()
            try finish(workers)
        }

        /// Waits (60 s at most) for each worker; each must exit 0.
        func finish(_ workers: [ChildProcess]) throws {
            for worker in workers {
                guard let status = worker.reap(seconds: 60) else {
                    for other in workers { other.kill() }
                    throw HarnessError("a worker did not finish within 60 s")
                }
                #expect(ChildProcess.exitCode(status) == 0, "a worker exited with \(ChildProcess.exitCode(status))")
            }
        }

        func output(_ log: String) throws -> String {
            try RealProgramTests.text("\(scratch)/\(log).out") + (try RealProgramTests.text("\(scratch)/\(log).err"))
        }

        /// The SHA-256 of `bytes`, as python's hashlib prints it.
        func digest(of bytes: [UInt8]) throws -> String {
            let path = "\(scratch)/digest-\(bytes.count)-\(bytes[bytes.count / 2 + 1])"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw HarnessError("create \(path)", errno: errno) }
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let result = try RealProgramTests.check(RealProgramTests.run("sha256sum", [path], scratch: scratch))
            return String(result.output.prefix(64))
        }

        /// Runs `check` on the mount, then remounts (a fresh server) and runs it again.
        func checkBoth(_ check: (String) throws -> Void) throws {
            try check(merged)
            try server.server?.unmount()
            server.server = nil
            server.server = try StrataMountProcess(options: options, at: merged, log: "\(scratch)/server2")
            try check(merged)
        }
    }

    func withServer(_ fixture: LayerFixture, _ body: (Scene) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "strata-concurrency")
        defer { try? directory.remove() }
        let layers = try fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let scratch = try directory.makeSubdirectory("scratch")
        let options = "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work),volatile"
        let slot = ServerSlot(try StrataMountProcess(options: options, at: merged, log: "\(scratch)/server"))
        defer { slot.server?.kill() }
        try body(Scene(directory: directory, layers: layers, merged: merged, scratch: scratch, server: slot, options: options))
        try slot.server?.unmount()
        slot.server = nil
        #expect(!MountTable.contains(merged))
    }

    /// The workers. argv: role, mount, scratch, arguments. Each waits for `scratch/go` first.
    static let script = """
        import hashlib, os, sys, time
        role, root, scratch = sys.argv[1], sys.argv[2], sys.argv[3]
        args = sys.argv[4:]
        while not os.path.exists(os.path.join(scratch, "go")):
            time.sleep(0.001)
        stop = os.path.join(scratch, "stop")
        if role == "copyup":
            i = int(args[0])
            fd = os.open(os.path.join(root, "shared"), os.O_RDWR)
            os.pwrite(fd, bytes([i + 1]) * 4096, i * 512 * 1024 + 100)
            os.close(fd)
            fd = os.open(os.path.join(root, f"own{i}"), os.O_WRONLY)
            os.pwrite(fd, b"X", 0)
            os.close(fd)
            with open(os.path.join(root, f"own{i}"), "ab") as f:
                f.write(f"child {i}\\n".encode())
        elif role == "writer":
            fd = os.open(os.path.join(root, "big"), os.O_WRONLY)
            os.pwrite(fd, b"NEW!", 16 << 20)
            os.close(fd)
        elif role == "reader":
            old, new = args
            counts = {"old": 0, "new": 0, "bad": 0}
            last = None
            bad = []
            while True:
                stopping = os.path.exists(stop)
                h = hashlib.sha256()
                with open(os.path.join(root, "big"), "rb") as f:
                    while True:
                        chunk = f.read(1 << 20)
                        if not chunk:
                            break
                        h.update(chunk)
                d = h.hexdigest()
                last = "old" if d == old else "new" if d == new else "bad"
                counts[last] += 1
                if last == "bad":
                    bad.append(os.stat(os.path.join(root, "big")).st_size)
                if stopping:
                    break
            print(f"old={counts['old']} new={counts['new']} bad={counts['bad']} sizes={bad[:5]} last={last}")
        elif role == "lister":
            errors, listings = 0, 0
            stable = {f"stable_{k}" for k in range(50)}
            problems = []
            while not os.path.exists(stop):
                names = os.listdir(os.path.join(root, "d"))
                listings += 1
                if len(names) != len(set(names)):
                    errors += 1
                    problems.append("duplicate names")
                missing = stable - set(names)
                if missing:
                    errors += 1
                    problems.append(f"missing {sorted(missing)[:3]}")
            print(f"errors={errors} listings={listings} {problems[:5]}")
        elif role == "directory":
            i, workers, count = int(args[0]), int(args[1]), int(args[2])
            d = os.path.join(root, "d")
            def put(name, text):
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            for k in range(i, count, workers):
                name = os.path.join(d, f"lower_{k}")
                if k % 4 == 0:
                    os.unlink(name)
                elif k % 4 == 1:
                    os.rename(name, os.path.join(d, f"renamed_{k}"))
                elif k % 4 == 2:
                    put(f"new_{k}", f"new {k}\\n")
                    os.unlink(name)
                    os.rename(os.path.join(d, f"new_{k}"), name)
                else:
                    put(f"lower_{k}", f"rewritten {k}\\n")
            for j in range(30):
                put(f"created_{i}_{j}", f"created {i} {j}\\n")
            for j in range(0, 30, 2):
                os.unlink(os.path.join(d, f"created_{i}_{j}"))
            for round in range(100):
                put(f"tmp_{i}", "churn")
                os.rename(os.path.join(d, f"tmp_{i}"), os.path.join(d, f"tmp2_{i}"))
                os.unlink(os.path.join(d, f"tmp2_{i}"))
            sub = os.path.join(d, f"sub_{i}")
            for name in os.listdir(sub):
                if name == "deep":
                    os.unlink(os.path.join(sub, "deep", "g"))
                    os.rmdir(os.path.join(sub, "deep"))
                else:
                    os.unlink(os.path.join(sub, name))
            os.rmdir(sub)
            print("done")
        """
}

/// Directory listing without Foundation's caches: the names of `path`, sorted, without `.` and `..`.
enum FileManagerFree {
    static func names(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw HarnessError("opendir \(path)", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// Bulk data that is not periodic with the page size, compared without a per-byte loop.
enum FullPattern {
    static func bytes(_ count: Int, salt: Int) -> [UInt8] {
        var block = (0..<4099).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ salt &* 7 &+ 1) }
        while block.count < count { block += block }
        return Array(block.prefix(count))
    }

    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count
            && (a.isEmpty || a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } })
    }
}
