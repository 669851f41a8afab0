import Glibc
import StrataTestSupport
import Testing

/// `O_DIRECT` reads and writes through the mount, of a new file and of a lower file (a copy-up), give
/// the kernel's overlay's results and leave the same bytes in the upper.
@Suite("O_DIRECT through the mount", .enabled(if: KernelOverlay.isAvailable && FUSEAvailability.isAvailable,
                                              "needs root, /dev/fuse and the kernel's overlay"))
struct DirectIOThroughMountTests {
    /// Writes and reads with O_DIRECT from page-aligned buffers; prints one line per call.
    static let script = """
        import hashlib, mmap, os, sys
        root, out = sys.argv[1], []
        def write(name, data, flags):
            fd = os.open(f"{root}/{name}", flags | os.O_WRONLY | os.O_DIRECT, 0o644)
            buffer = mmap.mmap(-1, len(data)); buffer.write(data)
            try: out.append(f"write {name} {os.pwrite(fd, buffer, 0)}")
            except OSError as error: out.append(f"write {name} errno {error.errno}")
            os.close(fd)
        def read(name, size):
            fd = os.open(f"{root}/{name}", os.O_RDONLY | os.O_DIRECT)
            buffer = mmap.mmap(-1, size)
            try:
                count = os.preadv(fd, [buffer], 0)
                out.append(f"read {name} {count} {hashlib.sha256(buffer[:count]).hexdigest()[:16]}")
            except OSError as error: out.append(f"read {name} errno {error.errno}")
            os.close(fd)
        write("new", b"n" * (1 << 20), os.O_CREAT | os.O_EXCL)
        read("new", 1 << 20)
        write("lower", b"o" * 4096, 0)
        read("lower", 1 << 16)
        print("\\n".join(out))
        """

    /// The script's lines, then a digest of each file as the upper holds it.
    static func exercise(_ merged: String, upper: String) throws -> [String] {
        let run = try runShortProgram(["python3", "-c", script, merged])
        var lines = run.output.split(separator: "\n").map(String.init)
        for name in ["new", "lower"] {
            lines.append("\(name): " + (try runShortProgram(["sha256sum", "\(upper)/\(name)"]).output.prefix(16)))
        }
        return lines
    }

    @Test("new and lower files written and read with O_DIRECT: the kernel's results", .timeLimit(.minutes(2)))
    func asTheKernel() throws {
        let directory = try TemporaryDirectory(prefix: "strata-direct-io")
        defer { try? directory.remove() }
        let mounts = KernelAndStrataMounts(
            LayerFixture(lowers: [Layer([.file("lower", String(repeating: "l", count: 1 << 16))])]))
        let results = try mounts.run(in: directory) { (merged, layers) in try Self.exercise(merged, upper: layers.upper) }
        #expect(results[1] == results[0])
        #expect(results[0].prefix(2).allSatisfy { !$0.contains("errno") }, "\(results[0])")
        #expect(results[0].first == "write new 1048576")
    }
}
