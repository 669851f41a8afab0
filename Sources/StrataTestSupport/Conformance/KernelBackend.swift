import Glibc

/// Runs operations with plain syscalls on a kernel overlay mount (or on any directory tree).
///
/// The process umask is set to 0 once, so modes given to create/mkdir/mknod arrive unchanged, as they do
/// through Strata's API. Opening a fifo is never attempted (it would block): data operations on a fifo
/// give `.skipped`, and Strata's backend does the same.
public final class KernelBackend: Backend {
    public let name: String
    /// The merged root (the mount point).
    public let root: String
    public let upperDirectory: String
    private let overlay: KernelOverlay?
    private var finished = false

    /// Mounts `layers` at `mountPoint` with the given overlay options.
    public init(layers: BuiltLayers, mountPoint: String, options: String = KernelOverlay.featureOptions,
                name: String = "kernel") throws(HarnessError) {
        Self.clearUmask()
        self.overlay = try KernelOverlay(layers: layers, mountPoint: mountPoint, options: options)
        self.root = mountPoint
        self.upperDirectory = layers.upper
        self.name = name
    }

    /// Runs operations directly on `root` (no overlay): for testing the harness itself.
    public init(directory root: String, name: String = "directory") {
        Self.clearUmask()
        self.overlay = nil
        self.root = root
        self.upperDirectory = root
        self.name = name
    }

    /// A factory mounting each fixture copy at `scratch/merged` with `options`.
    public static func factory(options: String = KernelOverlay.featureOptions, name: String = "kernel") -> BackendFactory {
        BackendFactory(name: name) { layers, scratch throws(HarnessError) in
            let mountPoint = "\(scratch)/merged"
            guard mkdir(mountPoint, 0o755) == 0 else { throw .system("mkdir \(mountPoint)") }
            return try KernelBackend(layers: layers, mountPoint: mountPoint, options: options, name: name)
        }
    }

    private static func clearUmask() {
        umask(0)
    }

    private func absolute(_ path: String) -> String {
        path.isEmpty ? root : "\(root)/\(path)"
    }

    public func mergedSnapshot() throws(HarnessError) -> TreeSnapshot {
        try TreeSnapshot.directory(root, xattrs: .mergedView)
    }

    public func finish() throws(HarnessError) {
        guard !finished else { return }
        finished = true
        try overlay?.unmount()
    }

    deinit {
        try? overlay?.unmount()
    }

    public func perform(_ operation: Operation) -> Outcome {
        switch operation {
        case .create(let path, let flags, let mode):
            if !flags.contains(.exclusive), isFifo(path) { return .skipped("fifo") }
            var oflags = O_CREAT | O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
            if flags.contains(.exclusive) { oflags |= O_EXCL }
            if flags.contains(.truncate) { oflags |= O_TRUNC }
            if flags.contains(.append) { oflags |= O_APPEND }
            let fd = open(absolute(path), oflags, mode_t(mode))
            if fd < 0 { return .failure(errno: errno) }
            close(fd)
            return .success

        case .write(let path, let offset, let data):
            if isFifo(path) { return .skipped("fifo") }
            return withDescriptor(path, O_WRONLY) { fd in
                let bytes = Array(data.utf8)
                let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                return written < 0 ? .failure(errno: errno) : .success
            }

        case .append(let path, let data):
            if isFifo(path) { return .skipped("fifo") }
            return withDescriptor(path, O_WRONLY | O_APPEND) { fd in
                let bytes = Array(data.utf8)
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                return written < 0 ? .failure(errno: errno) : .success
            }

        case .truncate(let path, let size):
            if isFifo(path) { return .skipped("fifo") }
            return withDescriptor(path, O_WRONLY) { fd in
                ftruncate(fd, off_t(size)) == 0 ? .success : .failure(errno: errno)
            }

        case .chmod(let path, let mode):
            return check(fchmodat(AT_FDCWD, absolute(path), mode_t(mode), AT_SYMLINK_NOFOLLOW))

        case .chown(let path, let uid, let gid):
            return check(lchown(absolute(path), uid ?? UInt32.max, gid ?? UInt32.max))

        case .utimens(let path, let access, let modification):
            var times = [Self.timespecFor(access), Self.timespecFor(modification)]
            return check(utimensat(AT_FDCWD, absolute(path), &times, AT_SYMLINK_NOFOLLOW))

        case .setxattr(let path, let name, let value, let mode):
            let flags: Int32
            switch mode {
            case .either: flags = 0
            case .create: flags = LinuxCalls.XATTR_CREATE
            case .replace: flags = LinuxCalls.XATTR_REPLACE
            }
            let code = LinuxCalls.setXattr(absolute(path), name, Array(value.utf8), flags: flags)
            return code == 0 ? .success : .failure(errno: code)

        case .removexattr(let path, let name):
            let code = LinuxCalls.removeXattr(absolute(path), name)
            return code == 0 ? .success : .failure(errno: code)

        case .unlink(let path):
            return check(unlink(absolute(path)))

        case .mkdir(let path, let mode):
            return check(mkdir(absolute(path), mode_t(mode)))

        case .rmdir(let path):
            return check(rmdir(absolute(path)))

        case .rename(let source, let destination, let mode):
            let flags: UInt32
            switch mode {
            case .plain: flags = 0
            case .noReplace: flags = LinuxCalls.RENAME_NOREPLACE
            case .exchange: flags = LinuxCalls.RENAME_EXCHANGE
            }
            let code = LinuxCalls.renameat2(absolute(source), absolute(destination), flags: flags)
            return code == 0 ? .success : .failure(errno: code)

        case .link(let existing, let new):
            return check(linkat(AT_FDCWD, absolute(existing), AT_FDCWD, absolute(new), 0))

        case .symlink(let path, let target):
            return check(symlink(target, absolute(path)))

        case .mkfifo(let path, let mode):
            return check(mknod(absolute(path), S_IFIFO | mode_t(mode & 0o7777), 0))

        case .read(let path):
            if isFifo(path) { return .skipped("fifo") }
            let fd = open(absolute(path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return .failure(errno: errno) }
            defer { close(fd) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if got < 0 { return .failure(errno: errno) }
                if got == 0 { return .bytes(bytes) }
                bytes += chunk.prefix(got)
            }

        case .stat(let path):
            do throws(HarnessError) {
                return .status(try TreeSnapshot.entryForPath(absolute(path), policy: .mergedView, withContent: false))
            } catch {
                return .failure(errno: error.errno ?? EIO)
            }

        case .list(let path):
            switch LinuxCalls.directoryEntries(absolute(path)) {
            case .success(let entries):
                return .listing(entries.map { ListingEntry(name: $0.name, kind: EntryKind(directoryType: $0.type)) }
                    .sorted { $0.name < $1.name })
            case .failure(let failure):
                return .failure(errno: failure.code)
            }
        }
    }

    private func isFifo(_ path: String) -> Bool {
        var info = stat()
        return lstat(absolute(path), &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
    }

    private func withDescriptor(_ path: String, _ flags: Int32, _ body: (Int32) -> Outcome) -> Outcome {
        let fd = open(absolute(path), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { return .failure(errno: errno) }
        defer { close(fd) }
        return body(fd)
    }

    private func check(_ result: Int32) -> Outcome {
        result == 0 ? .success : .failure(errno: errno)
    }

    static func timespecFor(_ value: TimeValue) -> timespec {
        switch value {
        case .seconds(let seconds, let nanoseconds): return timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))
        case .now: return timespec(tv_sec: 0, tv_nsec: LinuxCalls.UTIME_NOW)
        case .omit: return timespec(tv_sec: 0, tv_nsec: LinuxCalls.UTIME_OMIT)
        }
    }
}
