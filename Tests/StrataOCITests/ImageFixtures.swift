import Foundation
import Glibc
import Strata
import StrataOCI
import StrataTestSupport

/// Images the tests share, built by umoci.
enum ImageFixtures {
    /// Three layers covering what an unpacker must keep: owners, modes with set-ID and sticky bits,
    /// xattrs (security.capability too), hard links, symbolic links, devices, fifos, a sparse file,
    /// odd names and a long path; then changes, deletions and a replaced directory.
    static func rich(in directory: String) throws -> UmociImage {
        let image = try UmociImage(in: directory, tag: "rich")
        try image.addLayer(createdBy: "ADD base") { root in
            try root.write("etc/hosts", "127.0.0.1 localhost\n")
            try root.write("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
            try root.hardLink("etc/passwd-link", to: "etc/passwd")
            try root.write("bin/tool", "#!/bin/sh\necho tool\n", permissions: 0o4755)
            try root.makeDirectory("tmp")
            try check(chmod(root.absolute("tmp"), 0o1777) == 0, "chmod tmp")
            try check(chown(root.absolute("etc/hosts"), 1000, 1000) == 0, "chown hosts")
            try root.symbolicLink("etc/localtime", to: "/usr/share/zoneinfo/UTC")
            try root.symbolicLink("escape", to: "../../../../etc/shadow")
            try root.makeDirectory("dev")
            try check(mknod(root.absolute("dev/null"), S_IFCHR | 0o666, dev_t(0x103)) == 0, "mknod")
            try check(mkfifo(root.absolute("dev/pipe"), 0o600) == 0, "mkfifo")
            try root.write("odd/with space and ünïcödé", "odd\n")
            try root.write("odd/-dash", "dash\n")
            let long = (0..<12).map { "directory-\($0)-" + String(repeating: "x", count: 40) }.joined(separator: "/")
            try root.write("deep/\(long)/leaf", "deep\n")
            try root.write("data/sparse", [])
            try check(truncate(root.absolute("data/sparse"), 64 << 20) == 0, "truncate")
            try root.write("app/config/a.conf", "a\n")
            try root.write("app/config/b.conf", "b\n")
            try root.write("secret.txt", "hunter2\n")
            try root.write("srv/www/index.html", "<p>\n")
            try root.write("srv/www/old.html", "<p>old\n")
            try check(chmod(root.absolute("srv/www"), 0o750) == 0 && chown(root.absolute("srv/www"), 1000, 1001) == 0, "srv")
            try setXattr(root.absolute("etc/hosts"), "user.origin", "layer1")
            try setXattr(root.absolute("bin/tool"), "security.capability",
                         hex: "0100000200040000000000000000000000000000")
        }
        try image.addLayer(createdBy: "RUN change") { root in
            try root.write("etc/hosts", "127.0.0.1 localhost changed\n")
            try root.remove("secret.txt")
            try root.remove("app/config")
            try root.write("app/config/c.conf", "c\n")
            try check(chmod(root.absolute("etc/passwd"), 0o600) == 0, "chmod passwd")
            try root.hardLink("etc/passwd-second", to: "etc/passwd")
            // umoci writes no header for srv/www here: the directory's attributes must come from below.
            try root.remove("srv/www/old.html")
        }
        try image.addLayer(createdBy: "RUN cleanup") { root in
            try root.remove("odd")
            try root.write("odd", "now a file\n")
            try root.write("data/new", "new\n")
        }
        return image
    }

    static func check(_ condition: Bool, _ what: String) throws {
        guard condition else { throw HarnessError(what, errno: errno) }
    }

    static func setXattr(_ path: String, _ name: String, _ value: String) throws {
        let (status, output) = try runShortProgram(["setfattr", "-h", "-n", name, "-v", value, path])
        guard status == 0 else { throw HarnessError("setfattr \(name) \(path): \(output)") }
    }

    static func setXattr(_ path: String, _ name: String, hex: String) throws {
        let (status, output) = try runShortProgram(["setfattr", "-h", "-n", name, "-v", "0x" + hex, path])
        guard status == 0 else { throw HarnessError("setfattr \(name) \(path): \(output)") }
    }

    /// Writes a tar with Python's tarfile, which writes whatever names and links it is told: the
    /// hostile layers no real tool would make. `entries` is Python code run with `tar` open for writing.
    static func pythonTar(_ path: String, _ entries: String) throws {
        let script = """
            import io, sys, tarfile
            tar = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
            def file(name, data=b"x", **kw):
                info = tarfile.TarInfo(name); info.size = len(data)
                for k, v in kw.items(): setattr(info, k, v)
                tar.addfile(info, io.BytesIO(data))
            def entry(name, type, linkname="", **kw):
                info = tarfile.TarInfo(name); info.type = type; info.linkname = linkname
                for k, v in kw.items(): setattr(info, k, v)
                tar.addfile(info)
            \(entries.split(separator: "\n").joined(separator: "\n"))
            tar.close()
            """
        let (status, output) = try runShortProgram(["python3", "-c", script, path])
        guard status == 0 else { throw HarnessError("python tar: \(output)") }
    }

    /// The inode groups of a tree's regular files with several links: sets of relative paths.
    static func hardLinkGroups(_ root: String) throws -> Set<Set<String>> {
        var byInode: [UInt64: Set<String>] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink > 1 else { continue }
            byInode[UInt64(info.st_ino), default: []].insert(relative)
        }
        return Set(byInode.values.filter { $0.count > 1 })
    }

    /// A snapshot without the root entry (an image's root directory is the container's upper root).
    static func withoutRoot(_ snapshot: TreeSnapshot) -> TreeSnapshot {
        var copy = snapshot
        copy.entries.removeValue(forKey: "")
        return copy
    }
}
