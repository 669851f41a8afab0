import Glibc

/// The few C entry points the Glibc module does not import: the `l*xattr` family (`<sys/xattr.h>` is
/// not part of the module), `renameat2` and `unshare` (`_GNU_SOURCE` declarations). They are looked up once with
/// `dlsym`, so the oracle side of the harness shares no code with the engine under test.
enum LinuxCalls {
    private typealias SetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias GetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    private typealias ListXattr = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int
    private typealias RemoveXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int32
    private typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private typealias Unshare = @convention(c) (Int32) -> Int32
    /// `syscall(2)` is variadic; on Linux (x86-64 SysV and AArch64 AAPCS64) integer and pointer arguments
    /// travel in the same registers either way, and glibc's `syscall` is an assembly stub that never
    /// uses `va_arg`, so a fixed prototype is safe for the one call made through it (openat2).
    private typealias Syscall5 = @convention(c) (Int, Int, UnsafeRawPointer?, UnsafeRawPointer?, Int) -> Int

    private static func symbol<T>(_ name: String, as type: T.Type) -> T {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else {
            fatalError("libc does not export \(name)")  // glibc >= 2.28 always does; nothing a test input can reach
        }
        return unsafeBitCast(pointer, to: type)
    }

    nonisolated(unsafe) private static let lsetxattrCall = symbol("lsetxattr", as: SetXattr.self)
    nonisolated(unsafe) private static let lgetxattrCall = symbol("lgetxattr", as: GetXattr.self)
    nonisolated(unsafe) private static let llistxattrCall = symbol("llistxattr", as: ListXattr.self)
    nonisolated(unsafe) private static let lremovexattrCall = symbol("lremovexattr", as: RemoveXattr.self)
    nonisolated(unsafe) private static let renameat2Call = symbol("renameat2", as: Renameat2.self)
    nonisolated(unsafe) private static let unshareCall = symbol("unshare", as: Unshare.self)
    nonisolated(unsafe) private static let syscallCall = symbol("syscall", as: Syscall5.self)

    /// Gives the calling thread a file-system context (root, working directory, umask) of its own:
    /// `unshare(CLONE_FS)`. Returns 0 or -1 with errno set.
    static func unshareFileSystemContext() -> Int32 {
        unshareCall(0x200)  // CLONE_FS
    }

    /// `SYS_openat2`: the same number on every architecture (added in Linux 5.6).
    static let SYS_openat2 = 437
    static let RESOLVE_NO_MAGICLINKS: UInt64 = 0x02
    static let RESOLVE_IN_ROOT: UInt64 = 0x10

    /// openat2(2): returns the descriptor, or -errno. Retried on EINTR, and on EAGAIN, which
    /// RESOLVE_IN_ROOT returns when any rename on the system races with a `..` step (tests run in
    /// parallel, so that happens).
    static func openat2(_ directory: Int32, _ path: String, flags: Int32, resolve: UInt64) -> Int32 {
        // struct open_how { __u64 flags; __u64 mode; __u64 resolve; }
        var how: (UInt64, UInt64, UInt64) = (UInt64(UInt32(bitPattern: flags)), 0, resolve)
        var attempts = 0
        while true {
            let result = path.withCString { name in
                withUnsafeBytes(of: &how) { raw in
                    syscallCall(SYS_openat2, Int(directory), UnsafeRawPointer(name), raw.baseAddress, raw.count)
                }
            }
            if result >= 0 { return Int32(result) }
            let code = errno
            attempts += 1
            if code == EINTR || (code == EAGAIN && attempts < 1000) { continue }
            return -code
        }
    }

    /// `O_PATH` is a `_GNU_SOURCE` constant.
    static let O_PATH: Int32 = 0o10000000
    static let XATTR_CREATE: Int32 = 1
    static let XATTR_REPLACE: Int32 = 2
    static let RENAME_NOREPLACE: UInt32 = 1
    static let RENAME_EXCHANGE: UInt32 = 2
    /// `UTIME_NOW` / `UTIME_OMIT` are macros Swift cannot import.
    static let UTIME_NOW: Int = (1 << 30) - 1
    static let UTIME_OMIT: Int = (1 << 30) - 2

    /// Returns 0 or the errno.
    static func setXattr(_ path: String, _ name: String, _ value: [UInt8], flags: Int32) -> Int32 {
        let result = value.withUnsafeBytes { lsetxattrCall(path, name, $0.baseAddress, value.count, flags) }
        return result == 0 ? 0 : errno
    }

    static func removeXattr(_ path: String, _ name: String) -> Int32 {
        lremovexattrCall(path, name) == 0 ? 0 : errno
    }

    static func getXattr(_ path: String, _ name: String) -> Result<[UInt8], CallFailure> {
        while true {
            let size = lgetxattrCall(path, name, nil, 0)
            if size < 0 { return .failure(CallFailure(code: errno)) }
            var buffer = [UInt8](repeating: 0, count: max(size, 1))
            let got = buffer.withUnsafeMutableBytes { lgetxattrCall(path, name, $0.baseAddress, $0.count) }
            if got >= 0 { return .success(Array(buffer.prefix(got))) }
            if errno != ERANGE { return .failure(CallFailure(code: errno)) }
        }
    }

    static func listXattrs(_ path: String) -> Result<[String], CallFailure> {
        while true {
            let size = llistxattrCall(path, nil, 0)
            if size < 0 { return .failure(CallFailure(code: errno)) }
            if size == 0 { return .success([]) }
            var buffer = [CChar](repeating: 0, count: size)
            let got = buffer.withUnsafeMutableBufferPointer { llistxattrCall(path, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == ERANGE { continue }
                return .failure(CallFailure(code: errno))
            }
            let names = buffer.prefix(got).split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            return .success(names.sorted())
        }
    }

    static func renameat2(_ from: String, _ to: String, flags: UInt32) -> Int32 {
        renameat2Call(AT_FDCWD, from, AT_FDCWD, to, flags) == 0 ? 0 : errno
    }

    /// `makedev(3)` is a macro in glibc.
    static func makeDevice(major: UInt32, minor: UInt32) -> UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }

    /// `lstat`, or the errno.
    static func lstatus(_ path: String) -> Result<stat, CallFailure> {
        var info = stat()
        return lstat(path, &info) == 0 ? .success(info) : .failure(CallFailure(code: errno))
    }

    /// The names in a directory (without `.` and `..`), with their `d_type`; never follows a symlink.
    static func directoryEntries(_ path: String) -> Result<[(name: String, type: UInt8)], CallFailure> {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { return .failure(CallFailure(code: errno)) }
        guard let dir = fdopendir(fd) else {
            let code = errno
            close(fd)
            return .failure(CallFailure(code: code))
        }
        defer { closedir(dir) }
        var entries: [(name: String, type: UInt8)] = []
        errno = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { entries.append((name, entry.pointee.d_type)) }
            errno = 0
        }
        if errno != 0 { return .failure(CallFailure(code: errno)) }
        return .success(entries)
    }

    /// Reads a whole regular file without following a final symlink and without blocking on a fifo.
    static func readWholeFile(_ path: String) -> Result<[UInt8], CallFailure> {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { return .failure(CallFailure(code: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                return .failure(CallFailure(code: errno))
            }
            if got == 0 { return .success(bytes) }
            bytes += chunk.prefix(got)
        }
    }
}

/// An errno carried through `Result`.
struct CallFailure: Error {
    var code: Int32
}

extension LinuxCalls {
    private typealias Fallocate = @convention(c) (Int32, Int32, Int64, Int64) -> Int32
    nonisolated(unsafe) private static let fallocateCall: Fallocate = {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "fallocate64") ?? dlsym(handle, "fallocate") else {
            fatalError("libc does not export fallocate")  // glibc always does; nothing a test input can reach
        }
        return unsafeBitCast(pointer, to: Fallocate.self)
    }()

    /// fallocate(2) with any mode; 0 or -1 with `errno` set.
    static func fallocate(_ descriptor: Int32, mode: Int32, offset: Int64, length: Int64) -> Int32 {
        fallocateCall(descriptor, mode, offset, length)
    }
}
