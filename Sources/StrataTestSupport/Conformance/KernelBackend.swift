import Glibc

/// Runs operations with plain syscalls on a kernel overlay mount (or on any directory tree).
///
/// Paths resolve the way Strata's path API promises: the parent directory is opened with
/// openat2(RESOLVE_IN_ROOT) below the merged root, so intermediate symlinks are followed but can never
/// leave the root (`..` at the root stays there, absolute targets start at the root), and the final
/// component is never followed (the operation runs on `/proc/self/fd/<parent>/<name>` with
/// O_NOFOLLOW / AT_SYMLINK_NOFOLLOW / l*xattr). A plain path on the mount point would instead let a
/// symlink like `../x` escape into the directory that holds the mount.
///
/// The process umask is set to 0 once, so modes given to create/mkdir/mknod arrive unchanged, as they do
/// through Strata's API. Opening a fifo is never attempted (it would block): data operations on a fifo
/// give `.skipped`, and Strata's backend does the same.
public final class KernelBackend: Backend {
    public let name: String
    /// The merged root (the mount point).
    public let root: String
    public let upperDirectory: String
    /// Takes the mount down (the kernel overlay's unmount, or a FUSE mount's).
    private let unmount: (() throws(HarnessError) -> Void)?
    private var finished = false
    /// O_PATH descriptor of the merged root, opened lazily (after the mount).
    private var rootDescriptor: Int32 = -1

    /// Mounts `layers` at `mountPoint` with the given overlay options.
    public init(layers: BuiltLayers, mountPoint: String, options: String = KernelOverlay.featureOptions,
                name: String = "kernel") throws(HarnessError) {
        Self.clearUmask()
        let overlay = try KernelOverlay(layers: layers, mountPoint: mountPoint, options: options)
        self.unmount = { () throws(HarnessError) in try overlay.unmount() }
        self.root = mountPoint
        self.upperDirectory = layers.upper
        self.name = name
    }

    /// Runs operations directly on `root` (no overlay): for testing the harness itself.
    public init(directory root: String, name: String = "directory") {
        Self.clearUmask()
        self.unmount = nil
        self.root = root
        self.upperDirectory = root
        self.name = name
    }

    /// Runs operations on a mount someone else made (a FUSE mount of `upperDirectory`'s union, say);
    /// `unmount` takes it down at `finish()` or when the backend goes away, and must be safe to call twice.
    public init(mountedAt root: String, upperDirectory: String, name: String,
                unmount: @escaping () throws(HarnessError) -> Void) {
        Self.clearUmask()
        self.unmount = unmount
        self.root = root
        self.upperDirectory = upperDirectory
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

    /// Resolves everything but the last component of `path` inside the root (openat2 RESOLVE_IN_ROOT)
    /// and runs `body` with a path that reaches the last component without following it, or returns the
    /// errno of the resolution.
    private func resolving(_ path: String, _ body: (String) -> Outcome) -> Outcome {
        if rootDescriptor < 0 {
            rootDescriptor = open(root, LinuxCalls.O_PATH | O_DIRECTORY | O_CLOEXEC)
            if rootDescriptor < 0 { return .failure(errno: errno) }
        }
        var components = path.split(separator: "/").map(String.init)
        guard let name = components.popLast() else { return body("/proc/self/fd/\(rootDescriptor)/.") }
        if components.isEmpty { return body("/proc/self/fd/\(rootDescriptor)/\(name)") }
        let parent = LinuxCalls.openat2(rootDescriptor, components.joined(separator: "/"), flags: LinuxCalls.O_PATH | O_DIRECTORY | O_CLOEXEC,
                                        resolve: LinuxCalls.RESOLVE_IN_ROOT | LinuxCalls.RESOLVE_NO_MAGICLINKS)
        if parent < 0 { return .failure(errno: -parent) }
        defer { close(parent) }
        return body("/proc/self/fd/\(parent)/\(name)")
    }

    private func resolving(_ first: String, _ second: String, _ body: (String, String) -> Outcome) -> Outcome {
        resolving(first) { a in resolving(second) { b in body(a, b) } }
    }

    public func mergedSnapshot() throws(HarnessError) -> TreeSnapshot {
        try TreeSnapshot.directory(root, xattrs: .mergedView)
    }

    public func finish() throws(HarnessError) {
        guard !finished else { return }
        finished = true
        if rootDescriptor >= 0 {
            close(rootDescriptor)
            rootDescriptor = -1
        }
        try unmount?()
    }

    deinit {
        if rootDescriptor >= 0 { close(rootDescriptor) }
        if !finished { try? unmount?() }
    }

    public func perform(_ operation: Operation) -> Outcome {
        switch operation {
        case .rename(let source, let destination, _):
            return resolving(source, destination) { from, to in run(operation, from, to) }
        case .link(let existing, let new):
            // linkat(2) looks the existing name up completely before it looks at the new name's parent,
            // so a missing source is ENOENT even when the new parent is not a directory.
            return resolving(existing) { from in
                var info = stat()
                if lstat(from, &info) != 0 { return .failure(errno: errno) }
                return resolving(new) { to in run(operation, from, to) }
            }
        default:
            return resolving(operation.paths[0]) { resolved in run(operation, resolved, "") }
        }
    }

    /// Runs `operation` on already resolved paths (`path` for its first path, `second` for the second).
    private func run(_ operation: Operation, _ path: String, _ second: String) -> Outcome {
        switch operation {
        case .create(_, let flags, let mode):
            if !flags.contains(.exclusive), isFifo(path) { return .skipped("fifo") }
            var oflags = O_CREAT | O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
            if flags.contains(.exclusive) { oflags |= O_EXCL }
            if flags.contains(.truncate) { oflags |= O_TRUNC }
            if flags.contains(.append) { oflags |= O_APPEND }
            let fd = open(path, oflags, mode_t(mode))
            if fd < 0 { return .failure(errno: errno) }
            close(fd)
            return .success

        case .write(_, let offset, let data):
            if isFifo(path) { return .skipped("fifo") }
            return withDescriptor(path, O_WRONLY) { fd in
                let bytes = Array(data.utf8)
                let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                return written < 0 ? .failure(errno: errno) : .success
            }

        case .append(_, let data):
            if isFifo(path) { return .skipped("fifo") }
            return withDescriptor(path, O_WRONLY | O_APPEND) { fd in
                let bytes = Array(data.utf8)
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                return written < 0 ? .failure(errno: errno) : .success
            }

        case .truncate(_, let size):
            if isFifo(path) { return .skipped("fifo") }
            return withDescriptor(path, O_WRONLY) { fd in
                ftruncate(fd, off_t(size)) == 0 ? .success : .failure(errno: errno)
            }

        case .chmod(_, let mode):
            return check(fchmodat(AT_FDCWD, path, mode_t(mode), AT_SYMLINK_NOFOLLOW))

        case .chown(_, let uid, let gid):
            return check(lchown(path, uid ?? UInt32.max, gid ?? UInt32.max))

        case .utimens(_, let access, let modification):
            var times = [Self.timespecFor(access), Self.timespecFor(modification)]
            return check(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW))

        case .setxattr(_, let name, let value, let mode):
            let flags: Int32
            switch mode {
            case .either: flags = 0
            case .create: flags = LinuxCalls.XATTR_CREATE
            case .replace: flags = LinuxCalls.XATTR_REPLACE
            }
            let code = LinuxCalls.setXattr(path, name, Array(value.utf8), flags: flags)
            return code == 0 ? .success : .failure(errno: code)

        case .removexattr(_, let name):
            let code = LinuxCalls.removeXattr(path, name)
            return code == 0 ? .success : .failure(errno: code)

        case .unlink:
            return check(unlink(path))

        case .mkdir(_, let mode):
            return check(mkdir(path, mode_t(mode)))

        case .rmdir:
            return check(rmdir(path))

        case .rename(_, _, let mode):
            let flags: UInt32
            switch mode {
            case .plain: flags = 0
            case .noReplace: flags = LinuxCalls.RENAME_NOREPLACE
            case .exchange: flags = LinuxCalls.RENAME_EXCHANGE
            }
            let code = LinuxCalls.renameat2(path, second, flags: flags)
            return code == 0 ? .success : .failure(errno: code)

        case .link:
            return check(linkat(AT_FDCWD, path, AT_FDCWD, second, 0))

        case .symlink(_, let target):
            return check(symlink(target, path))

        case .mkfifo(_, let mode):
            return check(mknod(path, S_IFIFO | mode_t(mode & 0o7777), 0))

        case .read:
            if isFifo(path) { return .skipped("fifo") }
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
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

        case .stat:
            do throws(HarnessError) {
                return .status(try TreeSnapshot.entryForPath(path, policy: .mergedView, withContent: false))
            } catch {
                return .failure(errno: error.errno ?? EIO)
            }

        case .list:
            switch LinuxCalls.directoryEntries(path) {
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
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
    }

    private func withDescriptor(_ path: String, _ flags: Int32, _ body: (Int32) -> Outcome) -> Outcome {
        let fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
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
