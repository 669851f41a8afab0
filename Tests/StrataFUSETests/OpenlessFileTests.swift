import Glibc
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// Files the kernel opens without an `OPEN` (the default `copyup=write`): reads and writes name the node,
/// the copy-up comes with the first write, and removed files stay readable and writable through the
/// descriptors that hold them — the behaviour of any file system, and of overlayfs.
@Suite("files opened without OPEN", .serialized, .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct OpenlessFileTests {
    static let fixture = LayerFixture(lowers: [
        Layer([
            .file("kept", "lower data\n"), .file("lower", "0123456789"), .file("trunc", "to be cut\n"),
            .file("many/placeholder", ""),
        ])
    ])

    /// Mounts a fresh copy of the fixture (plus `extra` lower entries), runs `script` (Python; `M` is the
    /// mount point, `UPPER` the upper directory), unmounts, and hands the output and the layers to `check`.
    private func run(
        copyUp: MountOptions.CopyUpPoint = .write, _ script: String, extra: [FixtureEntry] = [],
        check: (String, BuiltLayers) throws -> Void
    ) throws {
        let directory = try TemporaryDirectory(prefix: "strata-openless")
        defer { try? directory.remove() }
        let fixture = LayerFixture(lowers: [Layer(Self.fixture.lowers[0].entries + extra)])
        let layers = try fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let mount = try FUSEMount(layers: layers, at: merged, copyUp: copyUp)
        let result: (status: Int32, output: String)
        do {
            result = try runShortProgram(["python3", "-c", "import os\nM = '\(merged)'\nUPPER = '\(layers.upper)'\n" + script])
        } catch {
            try? mount.unmount()
            throw error
        }
        try mount.unmount()
        #expect(result.status == 0, "\(result.output)")
        // Whatever the script held open was closed when it ended: no unnamed copy or temporary remains.
        #expect(workLeftovers(layers.work) == [], "\(workLeftovers(layers.work) ?? [])")
        try check(result.output, layers)
    }

    @Test("an open for writing copies nothing up until the first write; copyup=open copies at the open")
    func copyUpAtFirstWrite() throws {
        let script = """
            fd = os.open(M + '/lower', os.O_RDWR)
            print('before', os.path.exists(UPPER + '/lower'))
            assert os.pread(fd, 4, 0) == b'0123'
            os.pwrite(fd, b'AB', 2)
            print('after', os.path.exists(UPPER + '/lower'))
            os.close(fd)
            print(open(M + '/lower').read())
            """
        for (point, before) in [(MountOptions.CopyUpPoint.write, "before False"), (.open, "before True")] {
            try run(copyUp: point, script) { (output, layers) throws in
                #expect(output.contains(before), "\(point): \(output)")
                #expect(output.contains("after True") && output.contains("01AB456789"), "\(point): \(output)")
                #expect(try String(contentsOfFile: "\(layers.upper)/lower", encoding: .utf8) == "01AB456789")
            }
        }
    }

    @Test("a descriptor opened before a copy-up reads the copied-up data, as overlayfs's does")
    func readerFollowsCopyUp() throws {
        try run("""
            reader = os.open(M + '/lower', os.O_RDONLY)
            assert os.pread(reader, 10, 0) == b'0123456789'
            os.truncate(M + '/lower', 3)
            os.truncate(M + '/lower', 6)
            # Past the kernel's page cache: the server must read the truncated upper copy.
            os.posix_fadvise(reader, 0, 0, os.POSIX_FADV_DONTNEED)
            print('cut', os.pread(reader, 10, 0))
            writer = os.open(M + '/lower', os.O_WRONLY)
            os.pwrite(writer, b'xyz', 0)
            os.close(writer)
            os.posix_fadvise(reader, 0, 0, os.POSIX_FADV_DONTNEED)
            print('read', os.pread(reader, 10, 0))
            """) { (output, _) throws in
            #expect(output.contains("cut b'012\\x00\\x00\\x00'"), "\(output)")
            #expect(output.contains("read b'xyz\\x00\\x00\\x00'"), "\(output)")
        }
    }

    @Test("open(O_TRUNC) of a lower file truncates it (a SETATTR without an OPEN)")
    func truncatingOpen() throws {
        try run("""
            fd = os.open(M + '/trunc', os.O_WRONLY | os.O_TRUNC)
            os.close(fd)
            print('size', os.stat(M + '/trunc').st_size, os.stat(UPPER + '/trunc').st_size)
            """) { (output, _) throws in
            #expect(output.contains("size 0 0"), "\(output)")
        }
    }

    @Test("a removed file stays readable and writable through an open descriptor; nothing is left behind",
          arguments: [MountOptions.CopyUpPoint.write, .open])
    func removedFilesStayUsable(copyUp: MountOptions.CopyUpPoint) throws {
        try run(copyUp: copyUp, """
            # A lower file opened for reading, then unlinked: its data stays readable.
            r = os.open(M + '/kept', os.O_RDONLY)
            os.unlink(M + '/kept')
            print('lower read', os.pread(r, 64, 0))
            # A lower file opened for writing but never written, then unlinked: the write lands in a
            # copy only this descriptor reaches, and fstat/ftruncate work on it.
            w = os.open(M + '/lower', os.O_RDWR)
            os.unlink(M + '/lower')
            os.pwrite(w, b'WW', 0)
            print('lower write', os.pread(w, 64, 0), os.fstat(w).st_size)
            os.ftruncate(w, 3)
            print('lower cut', os.pread(w, 64, 0), os.fstat(w).st_size, os.fstat(w).st_nlink)
            # A new file, written, reopened read-only, then replaced by a rename over it.
            n = os.open(M + '/new', os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(n, b'first'); os.close(n)
            n = os.open(M + '/new', os.O_RDONLY)
            with open(M + '/other', 'w') as f: f.write('second')
            os.rename(M + '/other', M + '/new')
            print('replaced', os.pread(n, 64, 0), open(M + '/new').read())
            os.close(r); os.close(w); os.close(n)
            print('gone', os.path.exists(M + '/kept'), os.path.exists(M + '/lower'))
            """) { (output, layers) throws in
            #expect(output.contains("lower read b'lower data\\n'"), "\(output)")
            #expect(output.contains("lower write b'WW23456789' 10"), "\(output)")
            #expect(output.contains("lower cut b'WW2' 3 0"), "\(output)")
            #expect(output.contains("replaced b'first' second"), "\(output)")
            #expect(output.contains("gone False False"), "\(output)")
            // The lower files are untouched.
            #expect(try String(contentsOfFile: "\(layers.lowers[0])/lower", encoding: .utf8) == "0123456789")
            #expect(try String(contentsOfFile: "\(layers.lowers[0])/kept", encoding: .utf8) == "lower data\n")
        }
    }

    @Test("more files read at once than the server keeps open: every one reads its own data")
    func manyOpenFiles() throws {
        let count = 700
        let extra = (0..<count).map { FixtureEntry.file("many/f\($0)", "file \($0)\n") }
        try run("""
            fds = [os.open(M + f'/many/f{i}', os.O_RDONLY) for i in range(\(count))]
            bad = 0
            for round in range(2):
                for i, fd in enumerate(fds):
                    if os.pread(fd, 64, 0) != f'file {i}\\n'.encode(): bad += 1
            # Drop the kernel's cached pages so that the second pass reaches the server again.
            for fd in fds: os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            for i, fd in enumerate(fds):
                if os.pread(fd, 64, 0) != f'file {i}\\n'.encode(): bad += 1
            print('bad', bad)
            """, extra: extra) { (output, _) throws in
            #expect(output.contains("bad 0"), "\(output)")
        }
    }
}
