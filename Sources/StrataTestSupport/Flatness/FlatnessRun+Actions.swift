import Glibc
import Strata

extension FlatnessRun.Actions {
    /// The union in-process, through the path API: `status` for lookups, `open(.create)` + one write +
    /// close, `removeFile`. Measures this process.
    public static func inProcess(_ union: UnionFileSystem) -> Self {
        Self(
            lookUp: { name in _ = try union.status(FilePath(name)) },
            create: { name in
                let file = try union.open(FilePath(name), .writeOnly, options: [.create, .exclusiveCreate])
                defer { file.close() }
                try file.write(Array(name.utf8), at: 0)
            },
            remove: { name in try union.removeFile(FilePath(name)) },
            measure: { (try ProcessUsage.residentBytes(of: getpid()), try ProcessUsage.openDescriptors(of: getpid())) })
    }

    /// A mount at `root`, through plain system calls (`lstat`, `open(O_CREAT|O_EXCL)` + write + close,
    /// `unlink`). Measures the server `server`.
    public static func throughMount(_ root: String, server: pid_t) -> Self {
        Self(
            lookUp: { name in
                var info = stat()
                guard lstat("\(root)/\(name)", &info) == 0 else { throw HarnessError("lstat \(name)", errno: errno) }
            },
            create: { name in
                let descriptor = open("\(root)/\(name)", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard descriptor >= 0 else { throw HarnessError("create \(name)", errno: errno) }
                defer { close(descriptor) }
                let bytes = Array(name.utf8)
                guard write(descriptor, bytes, bytes.count) == bytes.count else { throw HarnessError("write \(name)", errno: errno) }
            },
            remove: { name in
                guard unlink("\(root)/\(name)") == 0 else { throw HarnessError("unlink \(name)", errno: errno) }
            },
            measure: {
                // The kernel sends RELEASE and FORGET without waiting: let the ones it queued for the files just
                // closed and removed reach the server (which frees their descriptors) before counting.
                var info = stat()
                _ = lstat("\(root)/.settle", &info)
                usleep(100_000)
                return (try ProcessUsage.residentBytes(of: server), try ProcessUsage.openDescriptors(of: server))
            })
    }
}
