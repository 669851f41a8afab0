import Glibc
import Strata
import StrataTestSupport
import Testing

/// Faults around the layers and the mount point: a read-only upper or work directory, an upper or a lower
/// that disappears while mounted, a busy mount point, a server that stopped answering. Each gives a clear
/// error (or keeps serving what it still can) and nothing hangs: every program in the mount runs as a
/// child process with a time limit, and every mount is taken down.
@Suite(
    "faults: read-only or vanished layers, busy unmount", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct FaultTests {
    static let fixture = LayerFixture(lowers: [
        Layer([.file("a", "a\n"), .file("b", "b\n"), .file("dir/x", "x\n")])
    ])

    /// A directory bind-mounted read-only onto itself, unmounted by `release()` (and by the test's defer).
    struct ReadOnlyBind {
        let path: String
        init(_ path: String) throws {
            self.path = path
            guard mount(path, path, nil, UInt(MS_BIND), nil) == 0 else { throw HarnessError("bind \(path)", errno: errno) }
            guard mount(nil, path, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) == 0 else {
                let code = errno
                _ = umount2(path, Int32(MNT_DETACH))
                throw HarnessError("remount \(path) read-only", errno: code)
            }
        }
        func release() { _ = umount2(path, Int32(MNT_DETACH)) }
    }

    @Test("an upper directory on a read-only file system is refused when the union opens, as the kernel does")
    func readOnlyUpper() throws {
        let directory = try TemporaryDirectory(prefix: "strata-fault-ro")
        defer { try? directory.remove() }
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        let frozen = try directory.makeSubdirectory("frozen")
        let upper = try directory.makeSubdirectory("frozen/upper")
        let bind = try ReadOnlyBind(frozen)
        defer { bind.release() }
        let configuration = UnionConfiguration(
            lowers: [FilePath(layers.lowers[0])], upper: FilePath(upper), work: FilePath(layers.work))
        #expect {
            _ = try UnionFileSystem(configuration)
        } throws: { error in
            let text = "\(error)"
            return text.contains("read-only file system") && text.contains(upper)
        }
        // Through the command: a clear message, exit status 1, nothing mounted.
        let merged = try directory.makeSubdirectory("merged")
        let result = try RealProgramTests.spawnAndWait(
            RealProgramTests.strataExecutable,
            ["mount", "-o", "lowerdir=\(layers.lowers[0]),upperdir=\(upper),workdir=\(layers.work)", merged],
            scratch: directory.path)
        #expect(result.status != 0 && result.errorOutput.contains("read-only file system"), "\(result)")
        #expect(!MountTable.contains(merged))
    }

    @Test("a work directory on a read-only file system is refused with a message naming it")
    func readOnlyWork() throws {
        let directory = try TemporaryDirectory(prefix: "strata-fault-rowork")
        defer { try? directory.remove() }
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        let frozen = try directory.makeSubdirectory("frozen")
        let work = try directory.makeSubdirectory("frozen/work")
        let bind = try ReadOnlyBind(frozen)
        defer { bind.release() }
        #expect {
            _ = try UnionFileSystem(UnionConfiguration(
                lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(work)))
        } throws: { error in
            "\(error)".contains("work directory") && "\(error)".contains(work) && "\(error)".contains("Read-only")
        }
    }

    @Test("the upper directory removed while mounted: writes fail with an error, reads of lower files go on, no hang",
          .timeLimit(.minutes(3)))
    func upperVanishes() throws {
        try withServer { layers, merged, scratch, server in
            try RealProgramTests.write("\(merged)/new", "new\n")
            try TemporaryDirectory.removeTree(layers.upper)
            let append = try RealProgramTests.run("sh", ["-c", "echo more >> \"$1\"/a", "sh", merged], timeout: 10, scratch: scratch)
            #expect(append.status != 0 && !append.errorOutput.isEmpty, "\(append)")
            let mkdir = try RealProgramTests.run("mkdir", ["\(merged)/fresh"], timeout: 10, scratch: scratch)
            #expect(mkdir.status != 0, "\(mkdir)")
            #expect(try RealProgramTests.text("\(merged)/b") == "b\n")
            try server.unmount()
        }
    }

    @Test("a lower layer removed while mounted: its files fail with ENOENT, nothing hangs; a detached lower is still served",
          .timeLimit(.minutes(3)))
    func lowerVanishes() throws {
        try withServer { layers, merged, scratch, server in
            #expect(try RealProgramTests.text("\(merged)/a") == "a\n")
            try TemporaryDirectory.removeTree(layers.lowers[0])
            let listing = try RealProgramTests.run("ls", ["-la", merged, "\(merged)/dir"], timeout: 10, scratch: scratch)
            #expect(listing.status != 0 && listing.errorOutput.contains("No such file or directory"), "\(listing)")
            let read = try RealProgramTests.run("cat", ["\(merged)/b"], timeout: 10, scratch: scratch)
            #expect(read.status != 0, "\(read)")
            let copyUp = try RealProgramTests.run("sh", ["-c", "echo more >> \"$1\"/dir/x", "sh", merged], timeout: 10, scratch: scratch)
            #expect(copyUp.status != 0, "\(copyUp)")
            // New files still work: the upper is intact.
            try RealProgramTests.write("\(merged)/new", "new\n")
            #expect(try RealProgramTests.text("\(merged)/new") == "new\n")
            try server.unmount()
        }
        // A lower on a file system that is lazily detached while mounted: the server holds it, still served.
        let directory = try TemporaryDirectory(prefix: "strata-fault-detach")
        defer { try? directory.remove() }
        let lower = try directory.makeSubdirectory("lower")
        guard mount("tmpfs", lower, "tmpfs", 0, "size=4m") == 0 else { throw HarnessError("mount tmpfs", errno: errno) }
        var lowerMounted = true
        defer { if lowerMounted { _ = umount2(lower, Int32(MNT_DETACH)) } }
        try RealProgramTests.write("\(lower)/kept", "kept\n")
        let upper = try directory.makeSubdirectory("upper")
        let work = try directory.makeSubdirectory("work")
        let merged = try directory.makeSubdirectory("merged")
        let server = try StrataMountProcess(
            options: "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)", at: merged, log: "\(directory.path)/server")
        defer { server.kill() }
        #expect(umount2(lower, Int32(MNT_DETACH)) == 0)
        lowerMounted = false
        #expect(try RealProgramTests.text("\(merged)/kept") == "kept\n")
        try RealProgramTests.write("\(merged)/kept", "changed\n")
        #expect(try RealProgramTests.text("\(upper)/kept") == "changed\n")
        try server.unmount()
    }

    @Test("strata unmount of a busy mount fails at once with a message that says why and what to do; --lazy detaches it",
          .timeLimit(.minutes(3)))
    func busyUnmount() throws {
        try withServer { _, merged, scratch, server in
            // A process with its working directory in the mount keeps it busy.
            let holder = try ChildProcess("/bin/sh", ["-c", "cd \"$1\" && exec sleep 30", "sh", merged], log: "\(scratch)/holder")
            defer {
                holder.kill()
                _ = holder.reap(seconds: 10)
            }
            usleep(200_000)
            let busy = try RealProgramTests.spawnAndWait(
                RealProgramTests.strataExecutable, ["unmount", merged], timeout: 20, scratch: scratch)
            #expect(busy.status != 0, "\(busy)")
            #expect(busy.errorOutput.contains("in use") && busy.errorOutput.contains("--lazy"), "\(busy)")
            #expect(MountTable.contains(merged))
            #expect(try RealProgramTests.text("\(merged)/a") == "a\n", "the mount must go on working")
            let lazy = try RealProgramTests.spawnAndWait(
                RealProgramTests.strataExecutable, ["unmount", "--lazy", "--wait", "0", merged], timeout: 20, scratch: scratch)
            #expect(lazy.status == 0, "\(lazy)")
            #expect(!MountTable.contains(merged))
            holder.kill()
            _ = holder.reap(seconds: 10)
            try server.unmount()
        }
        let directory = try TemporaryDirectory(prefix: "strata-fault-notmounted")
        defer { try? directory.remove() }
        let plain = try directory.makeSubdirectory("plain")
        let notMounted = try RealProgramTests.spawnAndWait(
            RealProgramTests.strataExecutable, ["unmount", plain], timeout: 20, scratch: directory.path)
        #expect(notMounted.status != 0 && notMounted.errorOutput.contains("not a mount point"), "\(notMounted)")
    }

    @Test("strata unmount of a mount whose server stopped answering returns within --wait and says the server still runs",
          .timeLimit(.minutes(3)))
    func stoppedServer() throws {
        try withServer { _, merged, scratch, server in
            #expect(kill(server.pid, SIGSTOP) == 0)
            defer { _ = kill(server.pid, SIGCONT) }
            let result = try RealProgramTests.spawnAndWait(
                RealProgramTests.strataExecutable, ["unmount", "--wait", "2", merged], timeout: 20, scratch: scratch)
            #expect(result.status != 0 && result.errorOutput.contains("still running"), "\(result)")
            #expect(!MountTable.contains(merged))
            _ = kill(server.pid, SIGCONT)
            try server.unmount()
        }
    }

    /// The fixture built fresh, served by `strata mount -f`; the server is killed on every path.
    func withServer(_ body: (BuiltLayers, _ merged: String, _ scratch: String, StrataMountProcess) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "strata-fault")
        defer { try? directory.remove() }
        let layers = try Self.fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let scratch = try directory.makeSubdirectory("scratch")
        let server = try StrataMountProcess(
            options: "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work)", at: merged,
            log: "\(scratch)/server")
        defer { server.kill() }
        try body(layers, merged, scratch, server)
        #expect(!MountTable.contains(merged))
    }
}
