import Glibc
import StrataTestSupport
import Testing

/// Memory and descriptors stay flat over a long run: the `StrataSoak flatness` program (lookups of a lower
/// tree's names, then files created and removed in batches) with short counts. In-process it measures
/// itself; through the mount it measures the `strata mount` server (`/proc/PID/status`, `/proc/PID/fd`),
/// mounted with `entry_timeout=0,attr_timeout=0` so that every lookup reaches the server.
/// The long run is `scripts/soak flatness` (a million lookups, 100,000 files).
@Suite(
    "flatness: memory and descriptors over a long run", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct FlatnessTests {
    static var soakExecutable: String { builtExecutable("StrataSoak") }

    @Test("in-process: 50,000 lookups and 5,000 files created and removed leave memory and descriptors flat",
          .timeLimit(.minutes(2)))
    func inProcess() throws {
        try runSoak(["flatness", "--lookups", "50000", "--files", "5000", "--allowed-growth", "4"])
    }

    @Test("through the mount: 10,000 lookups and 3,000 files created and removed leave the server flat",
          .timeLimit(.minutes(2)))
    func throughMount() throws {
        try runSoak(["flatness", "--lookups", "10000", "--files", "3000", "--allowed-growth", "4", "--through-mount"])
    }

    func runSoak(_ arguments: [String]) throws {
        let executable = Self.soakExecutable
        try #require(access(executable, X_OK) == 0, "no StrataSoak binary at \(executable)")
        let scratch = try TemporaryDirectory(prefix: "strata-flat")
        defer { try? scratch.remove() }
        let result = try RealProgramTests.spawnAndWait(executable, arguments, timeout: 100, scratch: scratch.path)
        print(result.output.split(separator: "\n").filter { $0.hasPrefix("flat") || $0.hasPrefix("NOT") }.joined(separator: "\n"))
        #expect(result.status == 0, "\(result)")
        #expect(result.output.contains("\nflat: "), "\(result)")
    }

    /// The kernel forgets the names it has not used lately (here: at once, with `drop_caches`); the
    /// server must forget them too, or its memory grows with every name ever looked up.
    @Test("a walk of 5 trees of 8,000 names each, the kernel's caches dropped after each: the server stays flat",
          .timeLimit(.minutes(2)))
    func forgottenNames() throws {
        let directory = try TemporaryDirectory(prefix: "strata-flat-names")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer()]).build(in: try directory.makeSubdirectory("layers"))
        for tree in 0..<5 {
            for sub in 0..<40 {
                let path = "\(layers.lowers[0])/t\(tree)/d\(sub)"
                guard mkdir("\(layers.lowers[0])/t\(tree)", 0o755) == 0 || errno == EEXIST, mkdir(path, 0o755) == 0 else {
                    throw HarnessError("mkdir \(path)", errno: errno)
                }
                for file in 0..<200 { close(open("\(path)/f\(file)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)) }
            }
        }
        let merged = try directory.makeSubdirectory("merged")
        let server = try StrataMountProcess(
            options: "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work),volatile", at: merged,
            log: "\(directory.path)/server")
        defer { server.kill() }
        var resident: [Int] = []
        for tree in 0..<5 {
            let walk = try RealProgramTests.run("find", ["\(merged)/t\(tree)"], timeout: 60, scratch: directory.path)
            #expect(walk.status == 0 && walk.output.split(separator: "\n").count == 8_041, "t\(tree)")
            try Self.dropKernelCaches()
            resident.append(try ProcessUsage.residentBytes(of: server.pid))
        }
        print("forgottenNames: server resident KiB after each tree: \(resident.map { $0 >> 10 })")
        // Warm after the second tree; 24,000 more names add about 15 MiB when they are all kept.
        #expect(resident.last! - resident[1] <= 6 << 20, "resident KiB \(resident.map { $0 >> 10 })")
        try server.unmount()
    }

    /// `echo 2 > /proc/sys/vm/drop_caches`: the kernel evicts unused dentries and inodes (FUSE sends
    /// FORGET for each); page caches stay.
    static func dropKernelCaches() throws {
        sync()
        let descriptor = open("/proc/sys/vm/drop_caches", O_WRONLY)
        guard descriptor >= 0 else { throw HarnessError("open drop_caches", errno: errno) }
        defer { close(descriptor) }
        guard write(descriptor, "2", 1) == 1 else { throw HarnessError("write drop_caches", errno: errno) }
        usleep(300_000)
    }
}
