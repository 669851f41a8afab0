import Dispatch
import Foundation
import Glibc
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// Real programs inside a `strata` FUSE mount: tar, git, make and a C compiler, sqlite3, cp, rm, mv, a shell
/// appending to a log, a shared writable mmap, a sparse 5 GiB file, a directory of 100,000 entries resumed
/// with seekdir; and the `strata` command itself: 100 mount/unmount cycles, an immediate remount, and a
/// background server that keeps none of its caller's descriptors.
///
/// Every test builds its own layers and its own mount (served on a thread of this process by `FUSEMount`).
/// The programs run as child processes (never this process inside the mount), with their working directory
/// outside the mount, and are killed after a time limit, so a hung request fails the test instead of hanging
/// CI. This process touches the mount only with short calls that close what they open before the unmount.
@Suite(
    "real programs inside strata mount", .serialized,
    .enabled(if: FUSEAvailability.isAvailable, "needs root and /dev/fuse"))
struct RealProgramTests {

    // MARK: tar

    @Test("tar: a tree of ~200 entries extracted into the mount and archived back out is the same tree",
          .timeLimit(.minutes(2)))
    func tarInAndOut() throws {
        let fixture = LayerFixture(lowers: [Layer([.file("README", "lower\n")])])
        try withMount(fixture) { scene in
            let source = "\(scene.scratch)/src"
            try scene.python(Self.generateTree, source)
            let original = "\(scene.scratch)/src.tar"
            let archived = "\(scene.scratch)/out.tar"
            // POSIX format: nanosecond times and user xattrs travel in the archive.
            let create = ["--format=posix", "--xattrs", "--xattrs-include=user.*", "--sort=name", "--numeric-owner", "-cf"]
            let extract = ["--xattrs", "--xattrs-include=user.*", "--numeric-owner", "-xpf"]
            try scene.check("tar", create + [original, "-C", source, "."])

            let target = "\(scene.merged)/extracted"
            #expect(mkdir(target, 0o755) == 0)
            try scene.check("tar", extract + [original, "-C", target])
            try scene.check("tar", create + [archived, "-C", target, "."])

            let before = try scene.check("tar", ["--full-time", "--numeric-owner", "-tvf", original]).output
            let after = try scene.check("tar", ["--full-time", "--numeric-owner", "-tvf", archived]).output
            #expect(before.split(separator: "\n").count >= 200, "the generated tree is smaller than planned")
            #expect(after == before, "tar tvf differs:\n\(Self.lineDifferences(before, after))")

            // The extracted tree seen through the mount, and the tree after a round trip out of it.
            try scene.check("diff", ["-r", "--no-dereference", source, target])
            let sourceListing = try scene.listing(source)
            let mountListing = try scene.listing(target)
            #expect(mountListing == sourceListing, "\(Self.lineDifferences(sourceListing, mountListing))")
            let back = "\(scene.scratch)/back"
            #expect(mkdir(back, 0o755) == 0)
            try scene.check("tar", extract + [archived, "-C", back])
            try scene.check("diff", ["-r", "--no-dereference", source, back])
            let backListing = try scene.listing(back)
            #expect(backListing == sourceListing, "\(Self.lineDifferences(sourceListing, backListing))")
        }
    }

    // MARK: git

    @Test("git init, add, commit, gc and fsck of a tree that lives partly in a lower layer",
          .timeLimit(.minutes(2)))
    func git() throws {
        let fixture = LayerFixture(lowers: [
            Layer([
                .file("proj/README.md", "# A project\n"),
                .file("proj/src/main.c", "int main(void) { return 0; }\n"),
                .file("proj/src/util.c", "int util(void) { return 1; }\n", mode: 0o600),
                .file("proj/tools/run.sh", "#!/bin/sh\necho run\n", mode: 0o755),
                .symlink("proj/latest", to: "src/main.c"),
            ]),
            Layer([.file("proj/docs/guide.md", "Read me.\n")]),
        ])
        try withMount(fixture) { scene in
            let repository = "\(scene.merged)/proj"
            let environment = [
                "HOME": scene.scratch, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                "GIT_AUTHOR_NAME": "Strata Test", "GIT_AUTHOR_EMAIL": "test@strata.invalid",
                "GIT_COMMITTER_NAME": "Strata Test", "GIT_COMMITTER_EMAIL": "test@strata.invalid",
                "GIT_AUTHOR_DATE": "2001-09-09T01:46:40Z", "GIT_COMMITTER_DATE": "2001-09-09T01:46:40Z",
            ]
            @discardableResult
            func git(_ arguments: [String]) throws -> ProgramResult {
                try scene.check("git", ["-c", "init.defaultBranch=main", "-c", "gc.auto=0", "-C", repository] + arguments,
                                environment: environment)
            }
            // git stores each object as a temporary file, link(2)s it to its name and unlinks the temporary
            // name; the next command reads the object by the new name.
            try git(["init", "-q"])
            try scene.check("sh", ["-c", "echo 'new file' > \"$1\"/new.txt", "sh", repository])
            try git(["add", "-A"])
            try git(["commit", "-q", "-m", "first commit"])
            #expect(try git(["status", "--porcelain"]).output == "")
            #expect(try git(["log", "--format=%s"]).output == "first commit\n")
            let files = try git(["ls-files"]).output
            #expect(files == "README.md\ndocs/guide.md\nlatest\nnew.txt\nsrc/main.c\nsrc/util.c\ntools/run.sh\n")

            // A change to a lower file (copy-up), a second commit, then a repack and a full check.
            try scene.check("sh", ["-c", "echo 'more' >> \"$1\"/src/util.c", "sh", repository])
            #expect(try git(["status", "--porcelain"]).output == " M src/util.c\n")
            try git(["commit", "-q", "-a", "-m", "second commit"])
            try git(["gc", "-q"])
            try git(["fsck", "--full", "--strict"])
            #expect(try git(["status", "--porcelain"]).output == "")
            #expect(try git(["log", "--format=%s"]).output == "second commit\nfirst commit\n")
            #expect(try git(["show", "HEAD:src/util.c"]).output == "int util(void) { return 1; }\nmore\n")

            try scene.mount.unmount()
            #expect(try Self.text("\(scene.layers.lowers[0])/proj/src/util.c") == "int util(void) { return 1; }\n")
            var info = stat()
            #expect(lstat("\(scene.layers.upper)/proj/.git/HEAD", &info) == 0)
            #expect(lstat("\(scene.layers.lowers[0])/proj/.git", &info) == -1)
        }
    }

    // MARK: make

    static let makefile = """
        CC ?= cc
        CFLAGS ?= -O0 -Wall -Werror
        OBJS = main.o util.o

        hello: $(OBJS)
        \t$(CC) -o $@ $(OBJS)

        %.o: %.c util.h
        \t$(CC) $(CFLAGS) -c -o $@ $<

        clean:
        \trm -f hello $(OBJS)

        """

    @Test("make builds a C project whose sources are in a lower layer; the result runs", .timeLimit(.minutes(2)))
    func make() throws {
        let fixture = LayerFixture(lowers: [
            Layer([
                .file("proj/Makefile", Self.makefile),
                .file("proj/main.c", """
                    #include <stdio.h>
                    #include "util.h"
                    int main(void) { printf("hello from strata: %d\\n", twice(21)); return 0; }

                    """),
            ]),
            Layer([
                .file("proj/util.h", "int twice(int);\n"),
                .file("proj/util.c", "#include \"util.h\"\nint twice(int x) { return 2 * x; }\n"),
            ]),
        ])
        try withMount(fixture) { scene in
            let project = "\(scene.merged)/proj"
            let build = try scene.check("make", ["-C", project])
            #expect(build.output.contains("main.o") && build.output.contains("util.o"))
            #expect(try scene.check("\(project)/hello", []).output == "hello from strata: 42\n")
            // Up to date: the objects are newer than the lower sources.
            try scene.check("make", ["-q", "-C", project])
            // A touched source (a metadata copy-up) rebuilds only its object.
            try scene.check("touch", ["\(project)/util.c"])
            let rebuild = try scene.check("make", ["-C", project])
            #expect(rebuild.output.contains("util.o") && !rebuild.output.contains("main.c"), "\(rebuild)")
            #expect(try scene.check("\(project)/hello", []).output == "hello from strata: 42\n")

            try scene.mount.unmount()
            var info = stat()
            for name in ["hello", "main.o", "util.o"] {
                #expect(lstat("\(scene.layers.upper)/proj/\(name)", &info) == 0, "\(name) is not in the upper")
                #expect(lstat("\(scene.layers.lowers[0])/proj/\(name)", &info) == -1)
                #expect(lstat("\(scene.layers.lowers[1])/proj/\(name)", &info) == -1)
            }
            #expect(lstat("\(scene.layers.upper)/proj/hello", &info) == 0 && info.st_mode & 0o111 != 0)
        }
    }

    // MARK: sqlite3

    @Test("sqlite3: a new database with 1000 rows in a transaction, and a lower database changed in WAL mode",
          .timeLimit(.minutes(2)))
    func sqlite() throws {
        let fixture = LayerFixture(lowers: [Layer([.directory("data"), .directory("db")])])
        var lowerDatabase: [UInt8] = []
        try withMount(fixture, prepare: { layers, scratch in
            // A database made by the real program in the lower layer before the mount.
            let script = "\(scratch)/lower.sql"
            try Self.write(script, Self.sqlInserts(table: "t", rows: 200, create: true))
            let path = "\(layers.lowers[0])/db/lower.db"
            try Self.check(Self.run("sqlite3", [path], input: script, scratch: scratch))
            lowerDatabase = try Self.bytes(path)
        }) { scene in
            let created = "\(scene.merged)/data/new.db"
            let script = "\(scene.scratch)/new.sql"
            try Self.write(script, "PRAGMA journal_mode=DELETE;\n" + Self.sqlInserts(table: "t", rows: 1000, create: true))
            try scene.check("sqlite3", [created], input: script)
            #expect(try scene.check("sqlite3", [created, "PRAGMA integrity_check;"]).output == "ok\n")
            #expect(try scene.check("sqlite3", [created, "SELECT count(*), sum(id) FROM t;"]).output == "1000|500500\n")

            let lower = "\(scene.merged)/db/lower.db"
            let changes = "\(scene.scratch)/changes.sql"
            try Self.write(changes, """
                PRAGMA journal_mode=WAL;
                BEGIN;
                UPDATE t SET name = name || '!' WHERE id % 2 = 0;
                DELETE FROM t WHERE id > 150;
                COMMIT;
                """ + "\n" + Self.sqlInserts(table: "t", rows: 100, create: false, firstID: 1001))
            #expect(try scene.check("sqlite3", [lower], input: changes).output == "wal\n")
            #expect(try scene.check("sqlite3", [lower, "PRAGMA integrity_check;"]).output == "ok\n")
            let query = "SELECT count(*), sum(id), sum(name LIKE '%!') FROM t;"
            let expected = "250|\(150 * 151 / 2 + (1001...1100).reduce(0, +))|75\n"
            #expect(try scene.check("sqlite3", [lower, query]).output == expected)

            try scene.mount.unmount()
            #expect(try Self.bytes("\(scene.layers.lowers[0])/db/lower.db") == lowerDatabase, "the lower database changed")
            let upper = "\(scene.layers.upper)/db/lower.db"
            #expect(try scene.check("sqlite3", [upper, "PRAGMA integrity_check;"]).output == "ok\n")
            #expect(try scene.check("sqlite3", [upper, query]).output == expected)
            #expect(try scene.check("sqlite3", ["\(scene.layers.upper)/data/new.db", "SELECT count(*) FROM t;"]).output == "1000\n")
        }
    }

    // MARK: cp, rm, mv

    /// A tree spread over two lower layers: modes, owners, xattrs, nanosecond times, symlinks, a hard link.
    static let treeFixture = LayerFixture(lowers: [
        Layer([
            .directory("tree", mode: 0o750, uid: 1000, gid: 1000, xattrs: ["user.dir": "top"]),
            .file("tree/a", "a in the top layer\n", mode: 0o640, uid: 1000, gid: 100, xattrs: ["user.a": "1"]),
            .file("tree/run", "#!/bin/sh\n", mode: 0o755),
            .file("tree/sub/deep/f", String(repeating: "f", count: 70_000)),
            .file("tree/h1", "linked\n", mode: 0o604),
            .hardLink("tree/h2", to: "tree/h1"),
            .symlink("tree/to-a", to: "a"),
            .symlink("tree/dangling", to: "/nowhere/at/all"),
            .directory("tree/empty", mode: 0o700),
            .file("keep", "outside the tree\n"),
        ]),
        Layer([
            .file("tree/b", "b from below\n", mode: 0o600, uid: 2000, gid: 2000),
            .file("tree/sub/g", "g from below\n", xattrs: ["user.g": "below"]),
            .file("tree/a", "hidden by the top layer\n"),
            .directory("tree/x/y", mode: 0o711),
            .file("tree/x/y/z", ""),
        ]),
    ])

    @Test("cp -a of a lower tree to a new name: diff -r equal, same metadata", .timeLimit(.minutes(3)))
    func copyArchive() throws {
        try withMount(Self.treeFixture) { scene in
            try scene.check("cp", ["-a", "\(scene.merged)/tree", "\(scene.merged)/copy"])
            try scene.check("diff", ["-r", "--no-dereference", "\(scene.merged)/tree", "\(scene.merged)/copy"])
            let original = try scene.listing("\(scene.merged)/tree")
            let copy = try scene.listing("\(scene.merged)/copy")
            #expect(original.contains("h1 -rw----r-- 0:0 size=7 nlink=2"), "\(original)")
            #expect(copy == original, "\(Self.lineDifferences(original, copy))")
            try scene.mount.unmount()
            #expect(try scene.listing("\(scene.layers.upper)/copy") == original)
        }
    }

    @Test("rm -rf of a lower tree: gone from the merged view, a whiteout in the upper, lowers untouched",
          .timeLimit(.minutes(3)))
    func removeLowerTree() throws {
        try withMount(Self.treeFixture) { scene in
            let lowersBefore = try scene.layers.lowers.map { try scene.listing($0) }
            try scene.check("rm", ["-rf", "\(scene.merged)/tree"])
            var info = stat()
            #expect(lstat("\(scene.merged)/tree", &info) == -1 && errno == ENOENT)
            #expect(try scene.check("ls", ["-A", scene.merged]).output == "keep\n")
            try scene.mount.unmount()
            #expect(lstat("\(scene.layers.upper)/tree", &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFCHR && info.st_rdev == 0, "upper/tree is not a whiteout")
            #expect(try scene.check("ls", ["-A", scene.layers.upper]).output == "tree\n")
            #expect(try scene.layers.lowers.map { try scene.listing($0) } == lowersBefore)
        }
    }

    @Test("mv of a lower directory: contents follow, the old name is gone, also after a remount",
          .timeLimit(.minutes(3)))
    func moveLowerDirectory() throws {
        try withMount(Self.treeFixture) { scene in
            let before = try scene.listing("\(scene.merged)/tree")
            let lowersBefore = try scene.layers.lowers.map { try scene.listing($0) }
            try scene.check("mv", ["\(scene.merged)/tree", "\(scene.merged)/moved"])
            var info = stat()
            #expect(lstat("\(scene.merged)/tree", &info) == -1 && errno == ENOENT)
            let after = try scene.listing("\(scene.merged)/moved")
            #expect(after == before, "\(Self.lineDifferences(before, after))")
            #expect(try scene.check("ls", ["-A", scene.merged]).output == "keep\nmoved\n")
            try scene.mount.unmount()

            // The redirect is in the upper layer: a new mount of the same layers shows the same.
            let again = try FUSEMount(layers: scene.layers, at: scene.merged)
            do {
                #expect(lstat("\(scene.merged)/tree", &info) == -1 && errno == ENOENT)
                let remounted = try scene.listing("\(scene.merged)/moved")
                #expect(remounted == before, "\(Self.lineDifferences(before, remounted))")
            } catch {
                try? again.unmount()
                throw error
            }
            try again.unmount()
            #expect(try scene.layers.lowers.map { try scene.listing($0) } == lowersBefore)
        }
    }

    // MARK: Appending

    @Test("appending to a lower log file from many shell processes", .timeLimit(.minutes(3)))
    func appendToLowerLog() throws {
        let fixture = LayerFixture(lowers: [Layer([.file("var/log/app.log", "boot\n", mode: 0o640)])])
        try withMount(fixture) { scene in
            let log = "\(scene.merged)/var/log/app.log"
            var expected = "boot\n"
            for line in 1...40 {
                try scene.check("sh", ["-c", "echo \"line \(line)\" >> \"$1\"", "sh", log])
                expected += "line \(line)\n"
            }
            try scene.check("sh", ["-c", "for i in $(seq 1 300); do echo \"burst $i\" >> \"$1\"; done", "sh", log])
            expected += (1...300).map { "burst \($0)\n" }.joined()
            #expect(try scene.check("cat", [log]).output == expected)
            var info = stat()
            #expect(stat(log, &info) == 0 && Int(info.st_size) == expected.utf8.count)
            #expect(try Self.text(log) == expected)
            try scene.mount.unmount()
            #expect(try Self.text("\(scene.layers.upper)/var/log/app.log") == expected)
            #expect(try Self.text("\(scene.layers.lowers[0])/var/log/app.log") == "boot\n")
        }
    }

    // MARK: mmap

    @Test("a writable shared mmap of a lower file reaches the mount and the upper file", .timeLimit(.minutes(3)))
    func sharedMapping() throws {
        let original = (0..<65_536).map { UInt8($0 % 251) }
        let fixture = LayerFixture(lowers: [Layer([.file("data/blob.bin", bytes: original)])])
        try withMount(fixture) { scene in
            let path = "\(scene.merged)/data/blob.bin"
            try scene.python("""
                import mmap, sys
                with open(sys.argv[1], "r+b") as f:
                    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                    m[100:105] = b"HELLO"
                    m[4090:4106] = b"ACROSS-THE-PAGE!"
                    m[65533:65536] = b"END"
                    m.flush()
                    m.close()
                """, path)
            var expected = original
            for (offset, text) in [(100, "HELLO"), (4090, "ACROSS-THE-PAGE!"), (65533, "END")] {
                expected.replaceSubrange(offset..<offset + text.utf8.count, with: Array(text.utf8))
            }
            #expect(try Self.bytes(path) == expected, "read through the mount")
            #expect(try Self.bytes("\(scene.layers.upper)/data/blob.bin") == expected, "the upper file while mounted")
            // Another process reading through the mount sees the same bytes.
            let digest = "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())"
            #expect(try scene.python(digest, path).output == scene.python(digest, "\(scene.layers.upper)/data/blob.bin").output)
            try scene.mount.unmount()
            #expect(try Self.bytes("\(scene.layers.upper)/data/blob.bin") == expected, "the upper file after the unmount")
            #expect(try Self.bytes("\(scene.layers.lowers[0])/data/blob.bin") == original, "the lower file changed")
        }
    }

    // MARK: Large and sparse files

    @Test("a sparse 5 GiB file: data beyond 4 GiB reads back, holes stay holes; a sparse lower file copies up sparse",
          .timeLimit(.minutes(2)))
    func largeSparseFiles() throws {
        let fixture = LayerFixture(lowers: [Layer([.directory("images")])])
        let gib: Int64 = 1 << 30
        try withMount(fixture, prepare: { layers, scratch in
            // A 2 GiB lower file with 4 KiB of data at 0 and at 1 GiB, made by real programs.
            let path = "\(layers.lowers[0])/images/lower.img"
            try Self.check(Self.run("truncate", ["-s", "2G", path], scratch: scratch))
            try Self.check(Self.run("python3", ["-c", """
                import sys
                with open(sys.argv[1], "r+b") as f:
                    f.write(b"head" * 1024)
                    f.seek(1 << 30)
                    f.write(b"mid!" * 1024)
                """, path], scratch: scratch))
        }) { scene in
            let big = "\(scene.merged)/images/big.img"
            try scene.check("truncate", ["-s", "5G", big])
            try scene.python("""
                import sys
                with open(sys.argv[1], "r+b") as f:
                    f.seek((4 << 30) + 12345); f.write(b"beyond-4-GiB")
                    f.seek((5 << 30) - 7); f.write(b"the-end")
                """, big)
            let readBack = try scene.python("""
                import os, sys
                fd = os.open(sys.argv[1], os.O_RDONLY)
                print(os.fstat(fd).st_size)
                print(os.pread(fd, 12, (4 << 30) + 12345).decode())
                print(os.pread(fd, 7, (5 << 30) - 7).decode())
                print(os.pread(fd, 1 << 20, (4 << 30) + (1 << 29)) == bytes(1 << 20))
                print(os.lseek(fd, 0, os.SEEK_DATA) // 4096 * 4096 == (4 << 30) + 12345 // 4096 * 4096)
                print(os.lseek(fd, (4 << 30) + 12345, os.SEEK_HOLE) < (5 << 30))
                os.close(fd)
                """, big)
            #expect(readBack.output == "\(5 * gib)\nbeyond-4-GiB\nthe-end\nTrue\nTrue\nTrue\n")
            #expect(try Self.pread(big, count: 12, at: 4 * gib + 12345) == Array("beyond-4-GiB".utf8))
            #expect(try Self.pread(big, count: 7, at: 5 * gib - 7) == Array("the-end".utf8))
            #expect(try Self.pread(big, count: 4096, at: 4 * gib + 65536) == [UInt8](repeating: 0, count: 4096))

            // The sparse lower file, changed through the mount (a copy-up).
            let copied = "\(scene.merged)/images/lower.img"
            try scene.python("""
                import sys
                with open(sys.argv[1], "r+b") as f:
                    f.seek(1); f.write(b"X")
                """, copied)
            #expect(try Self.pread(copied, count: 8, at: 0) == Array("hXadhead".utf8))
            #expect(try Self.pread(copied, count: 8, at: gib) == Array("mid!mid!".utf8))
            #expect(try Self.pread(copied, count: 4096, at: gib / 2) == [UInt8](repeating: 0, count: 4096))

            try scene.mount.unmount()
            var info = stat()
            #expect(lstat("\(scene.layers.upper)/images/big.img", &info) == 0 && Int64(info.st_size) == 5 * gib)
            #expect(Int64(info.st_blocks) * 512 < 16 << 20, "upper big.img uses \(Int64(info.st_blocks) * 512) bytes")
            #expect(lstat("\(scene.layers.upper)/images/lower.img", &info) == 0 && Int64(info.st_size) == 2 * gib)
            #expect(Int64(info.st_blocks) * 512 < 16 << 20,
                    "the copied-up sparse file uses \(Int64(info.st_blocks) * 512) bytes: its holes were filled")
            let du = try scene.check("du", ["-k", "\(scene.layers.upper)/images/lower.img"]).output
            #expect((Int(du.split(separator: "\t").first ?? "") ?? .max) < 16 * 1024, "du: \(du)")
        }
    }

    // MARK: 100,000 entries

    @Test("a lower directory of 100,000 entries: ls -f counts them, seekdir/telldir resume, each entry exactly once",
          .timeLimit(.minutes(2)))
    func hugeDirectory() throws {
        let count = 100_000
        let fixture = LayerFixture(lowers: [Layer([.directory("many")])])
        try withMount(fixture, prepare: { layers, scratch in
            try Self.check(Self.run("python3", ["-c", """
                import os, sys
                d = sys.argv[1]
                for i in range(int(sys.argv[2])):
                    os.close(os.open(f"{d}/entry-{i:06d}", os.O_CREAT | os.O_WRONLY, 0o644))
                """, "\(layers.lowers[0])/many", String(count)], scratch: scratch))
        }) { scene in
            let directory = "\(scene.merged)/many"
            let listed = try scene.check("sh", ["-c", "ls -f \"$1\" | wc -l", "sh", directory]).output
            #expect(listed.trimmingCharacters(in: .whitespacesAndNewlines) == String(count + 2))
            let resumed = try scene.python(Self.seekdirScript, directory, String(count))
            #expect(resumed.output == "ok\n", "\(resumed)")
        }
    }

    /// Reads a directory through libc's opendir/readdir (ctypes), half of it, telldir, the rest, seekdir back,
    /// the rest again; then rewinddir and all of it again. Prints `ok` or what went wrong.
    static let seekdirScript = """
        import ctypes, sys
        path, count = sys.argv[1], int(sys.argv[2])
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        class Dirent(ctypes.Structure):
            _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64), ("d_reclen", ctypes.c_ushort),
                        ("d_type", ctypes.c_ubyte), ("d_name", ctypes.c_char * 256)]
        libc.opendir.restype = ctypes.c_void_p
        libc.opendir.argtypes = [ctypes.c_char_p]
        libc.readdir.restype = ctypes.POINTER(Dirent)
        libc.readdir.argtypes = [ctypes.c_void_p]
        libc.telldir.restype = ctypes.c_long
        libc.telldir.argtypes = [ctypes.c_void_p]
        libc.seekdir.restype = None
        libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
        libc.rewinddir.restype = None
        libc.rewinddir.argtypes = [ctypes.c_void_p]
        libc.closedir.argtypes = [ctypes.c_void_p]
        d = libc.opendir(path.encode())
        if not d:
            sys.exit(f"opendir: errno {ctypes.get_errno()}")
        def read(limit=None):
            names = []
            while limit is None or len(names) < limit:
                ctypes.set_errno(0)
                entry = libc.readdir(d)
                if not entry:
                    if ctypes.get_errno():
                        sys.exit(f"readdir: errno {ctypes.get_errno()}")
                    break
                names.append(entry.contents.d_name.decode())
            return names
        problems = []
        first = read((count + 2) // 2)
        middle = libc.telldir(d)
        rest = read(1000)
        later = libc.telldir(d)
        rest += read()
        libc.seekdir(d, middle)
        again = read()
        libc.seekdir(d, later)
        tail = read()
        libc.rewinddir(d)
        whole = read()
        libc.closedir(d)
        names = first + rest
        expected = {".", ".."} | {f"entry-{i:06d}" for i in range(count)}
        if len(names) != count + 2:
            problems.append(f"{len(names)} entries read, {count + 2} expected")
        if len(set(names)) != len(names):
            problems.append(f"{len(names) - len(set(names))} duplicates")
        if set(names) != expected:
            problems.append(f"missing {sorted(expected - set(names))[:5]}, unexpected {sorted(set(names) - expected)[:5]}")
        if again != rest:
            problems.append(f"after seekdir to the middle: {len(again)} entries, first {again[:3]}, expected {len(rest)}, first {rest[:3]}")
        if tail != rest[1000:]:
            problems.append(f"after seekdir further on: {len(tail)} entries, expected {len(rest) - 1000}")
        if whole != names:
            problems.append(f"after rewinddir: {len(whole)} entries, not the same sequence")
        print("ok" if not problems else "\\n".join(problems))
        """

    // MARK: The strata command

    /// The `strata` executable next to the test bundle.
    static var strataExecutable: String { builtExecutable("strata") }

    /// What the tests of the `strata` command start from: the executable, a one-file lower layer with its
    /// upper and work directories, an empty mount point and a scratch directory outside it.
    struct CommandFixture {
        let executable = RealProgramTests.strataExecutable
        let directory: TemporaryDirectory
        let layers: BuiltLayers
        let merged: String
        let scratch: String

        init(_ prefix: String) throws {
            try #require(access(executable, X_OK) == 0, "no strata binary at \(executable)")
            directory = try TemporaryDirectory(prefix: prefix)
            layers = try LayerFixture(lowers: [Layer([.file("hello", "hello\n")])])
                .build(in: try directory.makeSubdirectory("layers"))
            merged = try directory.makeSubdirectory("merged")
            scratch = try directory.makeSubdirectory("scratch")
        }

        /// The mount options of the fixture's union, with `extra` appended (`",volatile"`).
        func options(_ extra: String = "") -> String {
            "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work)" + extra
        }

        /// Mounts the fixture with `strata mount` (started through `launcher`, such as `prlimit …`, when
        /// given) and runs `body` with the one process serving it; `body` unmounts. The mount is taken
        /// down lazily on every path.
        func withServer(options: String, launcher: [String] = [], _ body: (Int32) throws -> Void) throws {
            let command = launcher + [executable, "mount", "-o", options, merged]
            let mountResult = try RealProgramTests.spawnAndWait(
                command[0], Array(command.dropFirst()), timeout: 30, scratch: scratch)
            defer { _ = try? RealProgramTests.spawnAndWait(executable, ["unmount", "--lazy", merged], scratch: scratch) }
            try RealProgramTests.check(mountResult)
            try #require(FUSEMount.isMounted(merged))
            let servers = ServerProcesses.serving(merged)
            try #require(servers.count == 1, "serving processes: \(servers)")
            try body(servers[0])
        }
    }

    @Test("strata mount / strata unmount 100 times: no mount, process or descriptor left", .timeLimit(.minutes(3)))
    func commandLoop() throws {
        let fixture = try CommandFixture("strata-cli-loop")
        defer { try? fixture.directory.remove() }
        let (executable, merged, scratch) = (fixture.executable, fixture.merged, fixture.scratch)
        let (directory, layers) = (fixture.directory, fixture.layers)
        // volatile: each unmount would otherwise sync the whole upper file system (about 1.5 s on this
        // VM's root ext4); durability is the subject of `remountAtOnce`, not of this loop.
        let options = fixture.options(",volatile")

        // One program run first: Foundation keeps a few descriptors for child processes once it has started one.
        try Self.check(Self.run("true", [], scratch: scratch))
        let descriptorsBefore = Self.openDescriptors()
        var mounted = false
        defer { if mounted { _ = try? Self.spawnAndWait(executable, ["unmount", "--lazy", merged], scratch: scratch) } }
        for round in 0..<100 {
            try Self.check(Self.spawnAndWait(executable, ["mount", "-o", options, merged], timeout: 30, scratch: scratch))
            mounted = true
            try #require(FUSEMount.isMounted(merged), "round \(round): not mounted after strata mount returned")
            #expect(try Self.text("\(merged)/hello") == "hello\n", "round \(round)")
            try Self.write("\(merged)/round-\(round)", "written in round \(round)\n")
            try Self.check(Self.spawnAndWait(executable, ["unmount", merged], timeout: 30, scratch: scratch))
            mounted = false
            try #require(!FUSEMount.isMounted(merged), "round \(round): still mounted after strata unmount")
            // `strata unmount` returns once the server has exited: nothing may be left of it.
            try #require(Self.waitForNoProcess(mentioning: merged, seconds: 1), "round \(round): the server did not exit")
        }
        #expect(try Self.mountInfo().filter { $0.contains(directory.path) } == [], "mounts left behind")
        // The servers end on their own after the unmount: give the last ones a moment.
        var leftover = ""
        for _ in 0..<100 {
            leftover = try Self.run("pgrep", ["-a", "-f", merged], scratch: scratch).output
            if leftover.isEmpty { break }
            usleep(100_000)
        }
        #expect(leftover == "", "strata processes left behind")
        // Every write of every round is in the upper layer.
        for round in 0..<100 {
            #expect(try Self.text("\(layers.upper)/round-\(round)") == "written in round \(round)\n")
        }
        // Descriptors: other suites may run in parallel and open their own; look again for a while before
        // calling a difference a leak, and name the descriptors that stayed.
        var descriptorsAfter = Self.openDescriptors()
        for _ in 0..<50 where descriptorsAfter.count > descriptorsBefore.count {
            usleep(100_000)
            descriptorsAfter = Self.openDescriptors()
        }
        let added = descriptorsAfter.filter { descriptorsBefore[$0.key] != $0.value }
        #expect(descriptorsAfter.count <= descriptorsBefore.count,
                "\(descriptorsBefore.count) descriptors before, \(descriptorsAfter.count) after; new: \(added)")
        #expect(added.values.filter { $0.contains(directory.path) || $0 == "/dev/fuse" } == [])
    }

    /// `strata unmount` returns when the kernel has let go of the mount; the server then flushes the upper
    /// layer and releases the layers. A script that mounts the same layers again on the next line must not
    /// find them still taken (overlayfs and `umount` then `mount` work that way).
    @Test("strata unmount, then at once strata mount of the same layers, after a large write", .timeLimit(.minutes(3)))
    func remountAtOnce() throws {
        let executable = Self.strataExecutable
        try #require(access(executable, X_OK) == 0, "no strata binary at \(executable)")
        let directory = try TemporaryDirectory(prefix: "strata-cli-remount")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("hello", "hello\n")])])
            .build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let scratch = try directory.makeSubdirectory("scratch")
        let options = "lowerdir=\(layers.lowers[0]),upperdir=\(layers.upper),workdir=\(layers.work)"
        defer {
            if FUSEMount.isMounted(merged) { _ = try? Self.spawnAndWait(executable, ["unmount", "--lazy", merged], scratch: scratch) }
            _ = Self.waitForNoProcess(mentioning: merged, seconds: 20)
        }
        try Self.check(Self.spawnAndWait(executable, ["mount", "-o", options, merged], scratch: scratch))
        // Enough dirty data that the server's final flush takes a moment.
        try Self.check(Self.run("dd", ["if=/dev/zero", "of=\(merged)/big", "bs=1M", "count=256", "status=none"], scratch: scratch))
        try Self.check(Self.spawnAndWait(executable, ["unmount", merged], scratch: scratch))
        let again = try Self.spawnAndWait(executable, ["mount", "-o", options, merged], scratch: scratch)
        #expect(again.status == 0, "\(again)")
        if FUSEMount.isMounted(merged) {
            var info = stat()
            #expect(stat("\(merged)/big", &info) == 0 && info.st_size == 256 << 20)
            try Self.check(Self.spawnAndWait(executable, ["unmount", merged], scratch: scratch))
        }
    }

    /// The background server must not keep descriptors it inherited (other than 0-2, which it points at
    /// /dev/null): a caller that waits for the end of a pipe it handed down, as Foundation's `Process` does
    /// to notice that its child exited, would wait as long as the mount lasts.
    @Test("the background server of strata mount keeps none of its caller's descriptors", .timeLimit(.minutes(3)))
    func daemonDropsInheritedDescriptors() throws {
        let fixture = try CommandFixture("strata-cli-fds")
        defer { try? fixture.directory.remove() }
        let (executable, merged, scratch, options) = (fixture.executable, fixture.merged, fixture.scratch, fixture.options())

        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var readEnd = ends[0]
        defer { if readEnd >= 0 { close(readEnd) } }
        let mountResult: ProgramResult
        do {
            defer { close(ends[1]) }
            mountResult = try Self.spawnAndWait(
                executable, ["mount", "-o", options, merged], inherit: ends[1], timeout: 30, scratch: scratch)
        }
        defer { _ = try? Self.spawnAndWait(executable, ["unmount", "--lazy", merged], scratch: scratch) }
        try Self.check(mountResult)
        try #require(FUSEMount.isMounted(merged))
        // Our write end is closed and `strata mount` has exited: only the server could still hold it.
        var poll = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        let ready = Glibc.poll(&poll, 1, 3000)
        var byte: UInt8 = 0
        let ended = ready == 1 && read(readEnd, &byte, 1) == 0
        close(readEnd)
        readEnd = -1
        #expect(ended, "the strata server still holds a descriptor its caller handed down (fd 5 of `strata mount`)")
        try Self.check(Self.spawnAndWait(executable, ["unmount", merged], timeout: 30, scratch: scratch))
        #expect(!FUSEMount.isMounted(merged))
    }

    /// `strata mount` leaves the serving to `strata-serve`, built without Foundation, so that each mount
    /// costs the memory of its union rather than that of the command-line tool.
    @Test("the server strata mount starts is strata-serve, which maps no Foundation library", .timeLimit(.minutes(3)))
    func serverWithoutFoundation() throws {
        let fixture = try CommandFixture("strata-cli-serve")
        defer { try? fixture.directory.remove() }
        let (executable, merged, scratch) = (fixture.executable, fixture.merged, fixture.scratch)
        try fixture.withServer(options: fixture.options()) { (server) throws in
            let commandLine = try String(contentsOfFile: "/proc/\(server)/cmdline", encoding: .utf8)
            #expect(commandLine.split(separator: "\0").first?.hasSuffix("/strata-serve") == true, "\(commandLine)")
            let maps = try String(contentsOfFile: "/proc/\(server)/maps", encoding: .utf8)
            #expect(!maps.contains("libFoundation"), "the server maps Foundation")
            #expect(try String(contentsOfFile: "\(merged)/hello", encoding: .utf8) == "hello\n")
            try Self.check(Self.spawnAndWait(executable, ["unmount", merged], timeout: 30, scratch: scratch))
        }
        #expect(!FUSEMount.isMounted(merged))
    }

    /// The background server, started from a directory with relative layer paths and umask 077, serves
    /// those layers, holds no reference to that directory (it could not be unmounted otherwise) and has
    /// umask 0 (the kernel applies each caller's).
    @Test("the background server leaves its caller's directory and umask behind", .timeLimit(.minutes(3)))
    func serverLeavesCallerDirectory() throws {
        let fixture = try CommandFixture("strata-cli-cwd")
        defer { try? fixture.directory.remove() }
        let (executable, merged, scratch) = (fixture.executable, fixture.merged, fixture.scratch)
        let base = fixture.directory.path + "/"
        func relative(_ path: String) -> String { path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path }
        let options = "lowerdir=\(relative(fixture.layers.lowers[0])),upperdir=\(relative(fixture.layers.upper))"
            + ",workdir=\(relative(fixture.layers.work)),volatile"
        let launcher = ["/bin/sh", "-c", "cd \"$0\" && umask 077 && exec \"$@\"", fixture.directory.path]
        try fixture.withServer(options: options, launcher: launcher) { (server) throws in
            let directory = try FileDescriptor.currentWorkingDirectory.readSymbolicLink(at: "/proc/\(server)/cwd")
            #expect(directory == "/")
            let status = try String(contentsOfFile: "/proc/\(server)/status", encoding: .utf8)
            #expect(status.split(separator: "\n").contains("Umask:\t0000"), "\(status)")
            #expect(try String(contentsOfFile: "\(merged)/hello", encoding: .utf8) == "hello\n")
            try Self.write("\(merged)/new", "new\n")
            var written = stat()
            #expect(lstat("\(fixture.layers.upper)/new", &written) == 0)
            try Self.check(Self.spawnAndWait(executable, ["unmount", merged], timeout: 30, scratch: scratch))
        }
        #expect(!FUSEMount.isMounted(merged))
    }

    /// A server under a low descriptor limit (a hard limit it cannot raise) gives back the data
    /// descriptors it caches when the kernel refuses a new one, and goes on serving: files held open by
    /// the hundred read and write their own data.
    @Test("a server with few descriptors gives back the ones it caches: 400 files held open read and write",
          .timeLimit(.minutes(3)))
    func fewDescriptors() throws {
        let fixture = try CommandFixture("strata-cli-nofile")
        defer { try? fixture.directory.remove() }
        let (executable, merged, scratch) = (fixture.executable, fixture.merged, fixture.scratch)
        let count = 400
        for index in 0..<count {
            let path = "\(fixture.layers.lowers[0])/f\(index)"
            try #require(FileManager.default.createFile(atPath: path, contents: Data("file \(index)\n".utf8)))
        }
        let prlimit = try #require(Self.executablePath("prlimit"), "prlimit (util-linux) is not installed")
        try fixture.withServer(options: fixture.options(",volatile"), launcher: [prlimit, "--nofile=128:128"]) {
            (server) throws in
            let limits = try String(contentsOfFile: "/proc/\(server)/limits", encoding: .utf8)
            let openFiles = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }
            #expect(openFiles?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "128",
                    "\(openFiles ?? "no limit line")")
            let result = try Self.run(
                "python3", ["-c", Self.manyFilesScript, merged, String(count)], timeout: 120, scratch: scratch)
            #expect(result.status == 0 && result.output.contains("bad 0"), "\(result)")
            try Self.check(Self.spawnAndWait(executable, ["unmount", merged], timeout: 30, scratch: scratch))
        }
        #expect(!FUSEMount.isMounted(merged))
        #expect(try String(contentsOfFile: "\(fixture.layers.upper)/f2", encoding: .utf8) == "Wile 2\n")
    }

    /// Opens N files of the mount M read-write at once, reads each, writes half, drops their cached
    /// pages, reads each again; prints the count of wrong reads.
    static let manyFilesScript = """
            import os, sys
            M, N = sys.argv[1], int(sys.argv[2])
            fds = [os.open(f'{M}/f{i}', os.O_RDWR) for i in range(N)]
            bad = 0
            for i, fd in enumerate(fds):
                if os.pread(fd, 64, 0) != f'file {i}\\n'.encode(): bad += 1
            for i, fd in enumerate(fds[::2]):
                os.pwrite(fd, b'W', 0)
            for fd in fds: os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            for i, fd in enumerate(fds):
                want = (f'Wile {i}\\n' if i % 2 == 0 else f'file {i}\\n').encode()
                if os.pread(fd, 64, 0) != want: bad += 1
            for fd in fds: os.close(fd)
            print('bad', bad)
            """

    // MARK: The scene

    /// One fixture built in a fresh directory, mounted; `scratch` is a directory outside the mount.
    struct Scene {
        let directory: TemporaryDirectory
        let layers: BuiltLayers
        let merged: String
        let scratch: String
        let mount: FUSEMount

        /// Runs `program` and fails (throws) unless it exits 0.
        @discardableResult
        func check(_ program: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
                   timeout: Double = 180) throws -> ProgramResult {
            try RealProgramTests.check(RealProgramTests.run(
                program, arguments, input: input, environment: environment, timeout: timeout, scratch: scratch))
        }

        /// Runs a python3 script with arguments; it must exit 0.
        @discardableResult
        func python(_ script: String, _ arguments: String...) throws -> ProgramResult {
            try check("python3", ["-c", script] + arguments)
        }

        /// A line per object under `root` (sorted, root first): type and mode, owner, size and link count
        /// (not for directories), mtime in nanoseconds, link target, user xattrs.
        func listing(_ root: String) throws -> String {
            try python(RealProgramTests.listingScript, root).output
        }
    }

    static let listingScript = """
        import os, stat, sys
        root = sys.argv[1]
        def line(path, rel):
            st = os.lstat(path)
            parts = [rel, stat.filemode(st.st_mode), f"{st.st_uid}:{st.st_gid}"]
            if not stat.S_ISDIR(st.st_mode):
                parts += [f"size={st.st_size}", f"nlink={st.st_nlink}"]
            parts.append(f"mtime={st.st_mtime_ns}")
            if stat.S_ISLNK(st.st_mode):
                parts.append("-> " + os.readlink(path))
            else:
                names = sorted(n for n in os.listxattr(path, follow_symlinks=False) if n.startswith("user."))
                parts += [f"{n}={os.getxattr(path, n, follow_symlinks=False)!r}" for n in names]
            return " ".join(parts)
        lines = [line(root, ".")]
        for directory, subdirectories, files in os.walk(root):
            subdirectories.sort()
            for name in sorted(subdirectories + files):
                path = os.path.join(directory, name)
                lines.append(line(path, os.path.relpath(path, root)))
        print("\\n".join(lines))
        """

    /// Builds a tree of ~200 objects at argv[1]: nested directories, files of many sizes and modes
    /// (set-id bits included), other owners, symlinks (relative, absolute, dangling, to directories),
    /// hard links, odd names, fixed nanosecond times.
    static let generateTree = """
        import os, random, sys
        root = sys.argv[1]
        rnd = random.Random(7)
        os.mkdir(root)
        files = []
        for d in range(8):
            for s in range(4):
                directory = os.path.join(root, f"dir{d}", f"sub {s}")
                os.makedirs(directory)
                for f in range(5):
                    path = os.path.join(directory, f"file{f}.txt")
                    with open(path, "wb") as out:
                        out.write(rnd.randbytes(rnd.choice([0, 1, 100, 4096, 5000, 70000])))
                    if f == 3:
                        os.chown(path, 1000, 2000)
                    if f == 4:
                        os.setxattr(path, "user.origin", f"{d}/{s}".encode())
                    os.chmod(path, rnd.choice([0o644, 0o600, 0o755, 0o640, 0o444, 0o4755, 0o2711]))
                    files.append(path)
        with open(os.path.join(root, "big.bin"), "wb") as out:
            out.write(rnd.randbytes(3 << 20))
        with open(os.path.join(root, "dir0", "n\\u00e4me with spaces & 'quotes'"), "w") as out:
            out.write("odd name\\n")
        os.mkdir(os.path.join(root, "private"), 0o700)
        os.mkdir(os.path.join(root, "sticky"))
        os.chmod(os.path.join(root, "sticky"), 0o1777)
        os.mkdir(os.path.join(root, "empty"))
        os.setxattr(os.path.join(root, "empty"), "user.kind", b"empty directory")
        os.chown(os.path.join(root, "private"), 1234, 1234)
        for i in range(10):
            target = files[i * 7]
            os.link(target, os.path.join(os.path.dirname(files[i * 7 + 3]), f"hard{i}"))
        for i in range(12):
            target = os.path.relpath(files[i * 11], os.path.join(root, "dir7"))
            os.symlink(target, os.path.join(root, "dir7", f"rel{i}"))
        os.symlink("/etc/hostname-that-is-not-there", os.path.join(root, "dangling"))
        os.symlink("/usr", os.path.join(root, "absolute"))
        os.symlink("dir3/sub 1", os.path.join(root, "to-directory"))
        os.lchown(os.path.join(root, "to-directory"), 1000, 1000)
        base = 1_000_000_000_000_000_000
        for i, (directory, subdirectories, names) in enumerate(sorted(os.walk(root, topdown=False), reverse=True)):
            for j, name in enumerate(sorted(subdirectories + names)):
                t = base + (i * 1000 + j) * 1_000_003_007
                os.utime(os.path.join(directory, name), ns=(t, t), follow_symlinks=False)
            t = base + i * 999_999_999_937
            os.utime(directory, ns=(t, t))
        """

    /// Builds the fixture, runs `prepare` on the built layers (before the mount), mounts, runs `body`, and
    /// always unmounts (and checks the mount is gone).
    func withMount(_ fixture: LayerFixture, prepare: (BuiltLayers, _ scratch: String) throws -> Void = { _, _ in },
                   _ body: (Scene) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "strata-programs")
        defer { try? directory.remove() }
        let layers = try fixture.build(in: try directory.makeSubdirectory("layers"))
        let merged = try directory.makeSubdirectory("merged")
        let scratch = try directory.makeSubdirectory("scratch")
        try prepare(layers, scratch)
        let mount = try FUSEMount(layers: layers, at: merged)
        let scene = Scene(directory: directory, layers: layers, merged: merged, scratch: scratch, mount: mount)
        do {
            try body(scene)
        } catch {
            try? mount.unmount()
            throw error
        }
        try mount.unmount()
        #expect(!FUSEMount.isMounted(merged))
    }

    // MARK: Running programs

    struct ProgramResult: CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var errorOutput: String

        var description: String {
            "`\(command)` exited with \(status)\n--- stdout\n\(output.suffix(3000))\n--- stderr\n\(errorOutput.suffix(3000))"
        }
    }

    /// Fails (throws) unless `result` is exit status 0.
    @discardableResult
    static func check(_ result: ProgramResult) throws -> ProgramResult {
        guard result.status == 0 else { throw HarnessError("\(result)") }
        return result
    }

    /// Runs `program` (a path, or a name looked up in PATH) as a child process with its working directory
    /// `scratch`, standard input from the file `input` (or /dev/null), standard output and error into files in
    /// `scratch`. After `timeout` seconds its process group is killed and this throws.
    static func run(_ program: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
                    timeout: Double = 180, scratch: String) throws -> ProgramResult {
        guard let executable = executablePath(program) else {
            throw HarnessError("'\(program)' is not installed (scripts/setup installs what the tests need)")
        }
        let command = ([program] + arguments).map { $0.count > 120 ? String($0.prefix(60)) + "…" : $0 }
            .joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: scratch)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let name = "\(scratch)/.run-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: name + ".out", contents: nil),
            FileManager.default.createFile(atPath: name + ".err", contents: nil),
            let output = FileHandle(forWritingAtPath: name + ".out"),
            let errorOutput = FileHandle(forWritingAtPath: name + ".err")
        else { throw HarnessError("cannot create the output files \(name).*") }
        let standardInput = input.flatMap { FileHandle(forReadingAtPath: $0) }
        if input != nil && standardInput == nil { throw HarnessError("cannot open \(input!)") }
        defer {
            try? output.close()
            try? errorOutput.close()
            try? standardInput?.close()
            unlink(name + ".out")
            unlink(name + ".err")
        }
        process.standardOutput = output
        process.standardError = errorOutput
        process.standardInput = standardInput ?? FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            // Foundation starts each child in its own process group: end the program and what it started.
            kill(-process.processIdentifier, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
            _ = finished.wait(timeout: .now() + 10)
            throw HarnessError("`\(command)` did not finish within \(Int(timeout)) s; killed it")
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProgramResult(
            command: command, status: status,
            output: String(decoding: try bytes(name + ".out"), as: UTF8.self),
            errorOutput: String(decoding: try bytes(name + ".err"), as: UTF8.self))
    }

    static func executablePath(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where access("\(directory)/\(program)", X_OK) == 0 {
            return "\(directory)/\(program)"
        }
        return nil
    }

    /// Runs `executable` the way a shell does, with posix_spawn and waitpid: standard input /dev/null, output
    /// and errors into files in `scratch`, no other descriptor of this process (but `inherit`, as descriptor
    /// 5, when given), in its own process group, killed after `timeout` seconds. For `strata mount`, whose
    /// background server outlives it: Foundation's `Process` notices a child's exit by the end of a socket it
    /// hands down, which that server would inherit.
    static func spawnAndWait(_ executable: String, _ arguments: [String], inherit: Int32? = nil, timeout: Double = 30,
                             scratch: String) throws -> ProgramResult {
        let command = ([executable] + arguments).joined(separator: " ")
        let name = "\(scratch)/.spawn-\(UUID().uuidString)"
        defer {
            unlink(name + ".out")
            unlink(name + ".err")
        }
        let child = try ChildProcess(executable, arguments, log: name, inherit: inherit)
        guard let status = child.reap(seconds: timeout) else {
            child.kill()
            _ = child.reap(seconds: 10)
            throw HarnessError("`\(command)` did not finish within \(Int(timeout)) s; killed it")
        }
        return ProgramResult(
            command: command, status: ChildProcess.exitCode(status),
            output: String(decoding: try bytes(name + ".out"), as: UTF8.self),
            errorOutput: String(decoding: try bytes(name + ".err"), as: UTF8.self))
    }

    // MARK: Files (short calls; nothing stays open)

    static func bytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open \(path)", errno: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = read(fd, &chunk, chunk.count)
            guard got >= 0 else { throw HarnessError("read \(path)", errno: errno) }
            if got == 0 { return result }
            result += chunk.prefix(got)
        }
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    static func pread(_ path: String, count: Int, at offset: Int64) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open \(path)", errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let got = Glibc.pread(fd, &buffer, count, off_t(offset))
        guard got >= 0 else { throw HarnessError("pread \(path) at \(offset)", errno: errno) }
        return Array(buffer.prefix(got))
    }

    static func write(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError("create \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw HarnessError("write \(path)", errno: errno) }
    }

    /// Waits until no process but this one has `text` in its command line; false after `seconds`.
    static func waitForNoProcess(mentioning text: String, seconds: Double) -> Bool {
        let deadline = DispatchTime.now() + seconds
        while !processes(mentioning: text).isEmpty {
            if DispatchTime.now() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// Process IDs (not this process) whose command line contains `text`.
    static func processes(mentioning text: String) -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let me = getpid()
        return names.compactMap { Int32($0) }.filter { pid in
            guard pid != me, let line = try? bytes("/proc/\(pid)/cmdline") else { return false }
            return String(decoding: line.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Descriptor number → what it refers to, for this process.
    static func openDescriptors() -> [Int32: String] {
        var result: [Int32: String] = [:]
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return result }
        for name in names {
            guard let number = Int32(name) else { continue }
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)")) ?? "?"
            result[number] = target
        }
        return result
    }

    static func mountInfo() throws -> [String] {
        try String(decoding: bytes("/proc/self/mountinfo"), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    // MARK: Small helpers

    /// A SQL script: optionally the table, then `rows` inserts in one transaction.
    static func sqlInserts(table: String, rows: Int, create: Bool, firstID: Int = 1) -> String {
        var script = create ? "CREATE TABLE \(table)(id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB);\n" : ""
        script += "BEGIN;\n"
        for id in firstID..<firstID + rows {
            script += "INSERT INTO \(table) VALUES (\(id), 'row \(id)', randomblob(\(id % 300)));\n"
        }
        return script + "COMMIT;\n"
    }

    /// The lines only in `a` (-) and only in `b` (+), for failure messages.
    static func lineDifferences(_ a: String, _ b: String) -> String {
        let left = a.split(separator: "\n", omittingEmptySubsequences: false)
        let right = b.split(separator: "\n", omittingEmptySubsequences: false)
        let onlyLeft = left.filter { !right.contains($0) }.prefix(20).map { "- \($0)" }
        let onlyRight = right.filter { !left.contains($0) }.prefix(20).map { "+ \($0)" }
        return (onlyLeft + onlyRight).joined(separator: "\n")
    }
}
