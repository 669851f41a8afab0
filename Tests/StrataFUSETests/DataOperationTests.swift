import Foundation
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// copy_file_range, fallocate modes and SEEK_DATA/SEEK_HOLE through the mount, driven by real tools.
@Suite("data operations through the mount", .serialized, .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct DataOperationTests {
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
        let (status, output) = try runShortProgram(["python3", "-c", script])
        #expect(status == 0 && output.contains("ok"), "\(output)")
        let copy = try String(contentsOfFile: "\(layers.upper)/copy", encoding: .utf8)
        #expect(copy.utf8.count == 65536)
        #expect(copy.hasSuffix(String(content.suffix(16))))
    }

    @Test("with writeback_cache, writes, appends and write-only opens of lower files land in the upper")
    func writebackCache() throws {
        let directory = try TemporaryDirectory(prefix: "strata-fuse-writeback")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("log", "line 1\n"), .file("data", "abcdef")])])
            .build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let options = try MountOptions(options: [
            "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work),writeback_cache"
        ])
        #expect(options.writebackCache)
        let mount = try FUSEMount(options, at: merged)
        let script = """
            import os
            for i in range(2, 6):
                with open('\(merged)/log', 'a') as f: f.write(f'line {i}\\n')
            fd = os.open('\(merged)/data', os.O_WRONLY)
            os.pwrite(fd, b'XY', 2)
            os.close(fd)
            print(open('\(merged)/log').read().count('line'), open('\(merged)/data').read())
            """
        let (status, output) = try runShortProgram(["python3", "-c", script])
        try mount.unmount()
        #expect(status == 0, "\(output)")
        #expect(output.contains("5 abXYef"), "\(output)")
        #expect(try String(contentsOfFile: "\(layers.upper)/log", encoding: .utf8).hasSuffix("line 5\n"))
        #expect(try String(contentsOfFile: "\(layers.upper)/data", encoding: .utf8) == "abXYef")
        #expect(throws: StrataError.self) { try MountOptions(options: ["lowerdir=/tmp,writeback_cache"]) }
    }
}
