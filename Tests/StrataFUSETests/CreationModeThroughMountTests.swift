import Glibc
import StrataTestSupport
import Testing

/// New files, directories and nodes get the caller's umask through the mount, as through the kernel's
/// overlay, whatever umask the shell that ran `strata mount` had (the kernel applies the caller's before
/// the request reaches the server; the server's own must not take more bits).
@Suite("creation modes and umasks through the mount",
       .enabled(if: KernelOverlay.isAvailable && FUSEAvailability.isAvailable,
                "needs root, /dev/fuse and the kernel's overlay"))
struct CreationModeThroughMountTests {
    static let fixture = LayerFixture(lowers: [Layer([.file("d/lower", "l")])])
    static let paths = ["d/f", "d/sub", "d/pipe", "g", "top", "top/inner"]

    /// Creates each kind of object with wide modes under the calling thread's umask.
    private static func create(in root: String) throws {
        func check(_ result: Int32, _ what: String) throws {
            guard result >= 0 else { throw HarnessError("\(what) in \(root)", errno: errno) }
        }
        try check(close(try descriptor(open("\(root)/d/f", O_WRONLY | O_CREAT | O_EXCL, 0o666), "d/f")), "close")
        try check(mkdir("\(root)/d/sub", 0o777), "mkdir d/sub")
        try check(mknod("\(root)/d/pipe", S_IFIFO | 0o666, 0), "mknod d/pipe")
        try check(close(try descriptor(open("\(root)/g", O_WRONLY | O_CREAT | O_EXCL, 0o640), "g")), "close")
        try check(mkdir("\(root)/top", 0o775), "mkdir top")
        try check(close(try descriptor(open("\(root)/top/inner", O_RDWR | O_CREAT | O_EXCL, 0o777), "top/inner")), "close")
    }

    private static func descriptor(_ value: Int32, _ path: String) throws -> Int32 {
        guard value >= 0 else { throw HarnessError("open \(path)", errno: errno) }
        return value
    }

    /// "path mode" of each created path under `root`.
    private static func modes(under root: String) -> [String] {
        paths.map { (path) in
            var status = stat()
            guard lstat("\(root)/\(path)", &status) == 0 else { return "\(path) missing" }
            return "\(path) \(String(status.st_mode & 0o7777, radix: 8))"
        }
    }

    @Test("a server started under umask 022, callers with umasks 002, 000 and 077: the kernel's modes",
          .timeLimit(.minutes(2)), arguments: [mode_t(0o002), 0o000, 0o077])
    func asTheKernel(callerMask: mode_t) throws {
        let directory = try TemporaryDirectory(prefix: "strata-umask-mount")
        defer { try? directory.remove() }
        var mounts = KernelAndStrataMounts(Self.fixture)
        // The server inherits the umask of the thread that starts it.
        mounts.startStrata = { (start) in try withThreadUmask(0o022) { try start() } }
        let results = try mounts.run(in: directory) { (merged, layers) in
            try withThreadUmask(callerMask) { try Self.create(in: merged) }
            return Self.modes(under: merged) + Self.modes(under: layers.upper)
        }
        #expect(results[1] == results[0])
        // The kernel's own result shows the caller's umask at work (else the test proves nothing).
        #expect(results[0][0] == "d/f \(String(0o666 & ~callerMask, radix: 8))")
    }
}
