import Foundation
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// copy_file_range, fallocate modes and SEEK_DATA/SEEK_HOLE through the mount, driven by real tools.
@Suite("data operations through the mount", .serialized, .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct DataOperationTests {
    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("copy_file_range from a lower file, hole punching, and hole-aware seeking")
    func dataOperations() throws {
        let directory = try TemporaryDirectory(prefix: "strata-fuse-data")
        defer { try? directory.remove() }
        let content = String(repeating: "0123456789abcdef", count: 4096)
        let layers = try LayerFixture(lowers: [Layer([.file("source", content)])])
            .build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let mount = try FUSEMount(layers: layers, at: merged)
        defer { try? mount.unmount() }
        let script = """
            import os
            src = os.open('\(merged)/source', os.O_RDONLY)
            dst = os.open('\(merged)/copy', os.O_WRONLY | os.O_CREAT, 0o644)
            done = 0
            while done < 65536:
                n = os.copy_file_range(src, dst, 65536 - done, done, done)
                assert n > 0
                done += n
            os.close(src); os.close(dst)
            fd = os.open('\(merged)/copy', os.O_RDWR)
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.fallocate(fd, 3, ctypes.c_long(8192), ctypes.c_long(16384)) == 0, ctypes.get_errno()
            assert os.pread(fd, 4, 8192) == b'\\0\\0\\0\\0'
            assert os.lseek(fd, 8192, os.SEEK_HOLE) == 8192
            assert os.lseek(fd, 8192, os.SEEK_DATA) == 24576
            os.close(fd)
            print('ok')
            """
        let (status, output) = try Self.run(["python3", "-c", script])
        #expect(status == 0 && output.contains("ok"), "\(output)")
        let copy = try String(contentsOfFile: "\(layers.upper)/copy", encoding: .utf8)
        #expect(copy.utf8.count == 65536)
        #expect(copy.hasSuffix(String(content.suffix(16))))
    }
}
