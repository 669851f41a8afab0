import Glibc
import Synchronization

/// A fresh directory under `/tmp`, removed with everything in it by `remove()` or at the latest when the
/// object goes away.
///
/// Removal never follows a symlink, copes with trees that hold character devices (whiteouts), fifos and
/// read-only directories, and never descends into a file system mounted inside the tree: it detaches such
/// a mount first and leaves the directory alone if that fails.
public final class TemporaryDirectory: Sendable {
    public let path: String
    private let removed = Mutex(false)

    /// Creates `<parent>/<prefix>.XXXXXX` with mode 0755 (`parent` defaults to /tmp; /dev/shm keeps
    /// heavy create/remove churn off a root file system mounted with `discard`).
    public init(prefix: String = "strata-test", in parent: String = "/tmp") throws(HarnessError) {
        var template = Array("\(parent)/\(prefix).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard created else { throw .system("cannot create a temporary directory \(parent)/\(prefix).XXXXXX") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o755)
    }

    /// `path/name`, created as a directory.
    public func makeSubdirectory(_ name: String, permissions: UInt32 = 0o755) throws(HarnessError) -> String {
        let child = "\(path)/\(name)"
        guard mkdir(child, mode_t(permissions)) == 0 else { throw .system("mkdir \(child)") }
        return child
    }

    /// Removes the tree; calling it again does nothing.
    public func remove() throws(HarnessError) {
        let done = removed.withLock { done in
            defer { done = true }
            return done
        }
        if !done { try Self.removeTree(path) }
    }

    deinit {
        try? remove()
    }

    /// Removes `path` and everything below it, without following symlinks or crossing into mounts.
    public static func removeTree(_ path: String) throws(HarnessError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .system("lstat \(path)")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            guard unlink(path) == 0 || errno == ENOENT else { throw .system("unlink \(path)") }
            return
        }
        var parent = stat()
        if lstat("\(path)/..", &parent) == 0, parent.st_dev != info.st_dev {
            // A mount point left behind (a test that crashed before its unmount): detach, never descend.
            _ = umount2(path, Int32(MNT_DETACH))
            guard lstat(path, &info) == 0, lstat("\(path)/..", &parent) == 0, parent.st_dev == info.st_dev else {
                throw HarnessError("\(path) is still a mount point; not removing it")
            }
        }
        chmod(path, 0o700)  // a read-only directory (the overlay work dir is 000) must be emptied first
        let entries: [(name: String, type: UInt8)]
        switch LinuxCalls.directoryEntries(path) {
        case .success(let list): entries = list
        case .failure(let failure): throw HarnessError("cannot list \(path)", errno: failure.code)
        }
        for entry in entries {
            try removeTree("\(path)/\(entry.name)")
        }
        guard rmdir(path) == 0 || errno == ENOENT else { throw .system("rmdir \(path)") }
    }
}
