import Dispatch
import Glibc

/// A `strata mount -f` server running as a child process, always taken down with a time limit:
/// `umount` (retried while busy), a bounded wait for the server to exit, then SIGKILL and a lazy detach.
///
/// A server in its own process can be measured (`/proc/PID/status`), killed, and cannot hang the test
/// process: once it is killed, every call blocked in the mount returns `ENOTCONN`.
public final class StrataMountProcess: @unchecked Sendable {
    public let mountPoint: String
    public let options: String
    private let child: ChildProcess
    private let log: String
    private var finished = false

    /// The `strata` executable built next to the running test bundle or program.
    public static var executable: String {
        let path = CommandLine.arguments[0]
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? "." : directory) + "/strata"
    }

    /// Runs `strata mount -f -o options mountPoint` and waits (up to `limit` seconds) until the mount is up.
    /// The server's output goes to `log.out` / `log.err`.
    public init(options: String, at mountPoint: String, log: String, limit: Double = 10) throws(HarnessError) {
        self.mountPoint = mountPoint
        self.options = options
        self.log = log
        let executable = Self.executable
        guard access(executable, X_OK) == 0 else { throw HarnessError("no strata binary at \(executable)") }
        child = try ChildProcess(executable, ["mount", "-f", "-o", options, mountPoint], log: log)
        let deadline = DispatchTime.now() + limit
        while !MountTable.contains(mountPoint) {
            if let status = child.exited() {
                finished = true
                throw HarnessError("strata mount -f exited with \(ChildProcess.exitCode(status)): \(errorOutput)")
            }
            guard DispatchTime.now() < deadline else {
                kill()
                throw HarnessError("\(mountPoint) not mounted within \(limit) s")
            }
            usleep(5_000)
        }
    }

    /// The server's process ID.
    public var pid: pid_t { child.pid }

    /// What the server wrote to standard error so far.
    public var errorOutput: String {
        (try? LinuxCalls.readWholeFile(log + ".err").get()).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Unmounts and waits for the server to exit; on failure kills it and detaches the mount, then throws.
    /// A second call does nothing.
    public func unmount(limit: Double = 10) throws(HarnessError) {
        guard !finished else { return }
        finished = true
        let target = mountPoint
        var problem: String?
        let result = withTimeLimit(.seconds(limit)) { () -> Int32 in
            for _ in 0..<100 {
                if umount2(target, 0) == 0 { return 0 }
                // Already unmounted (by the test, or lazily): only the server's exit is left to wait for.
                if errno == EINVAL && !MountTable.contains(target) { return 0 }
                if errno != EBUSY { return errno }
                usleep(50_000)
            }
            return EBUSY
        }
        if result != 0 {
            problem = "umount \(target) failed (\(result.map { ErrnoName.of($0) } ?? "timed out"))"
        }
        if problem == nil, child.reap(seconds: limit) == nil {
            problem = "the strata server of \(target) did not exit within \(limit) s after the unmount"
        } else if let status = child.exited(), ChildProcess.exitCode(status) != 0, problem == nil {
            problem = "the strata server of \(target) exited with \(ChildProcess.exitCode(status)): \(errorOutput)"
        }
        if problem != nil {
            child.kill()
            _ = umount2(target, Int32(MNT_DETACH))
            _ = child.reap(seconds: limit)
        }
        if let problem { throw HarnessError(problem) }
    }

    /// SIGKILL to the server, a lazy detach of its mount, and a bounded reap. For failure paths.
    public func kill() {
        finished = true
        child.kill()
        if MountTable.contains(mountPoint) { _ = umount2(mountPoint, Int32(MNT_DETACH)) }
        _ = child.reap(seconds: 10)
    }

    deinit {
        if !finished { try? unmount() }
    }
}

/// The mounts of this process's mount namespace.
public enum MountTable {
    /// Whether `path` (absolute, as the kernel shows it) is a mount point in `/proc/self/mountinfo`.
    public static func contains(_ path: String) -> Bool {
        guard let bytes = try? LinuxCalls.readWholeFile("/proc/self/mountinfo").get() else { return false }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 4, fields[4] == path { return true }
        }
        return false
    }
}

/// What a process uses, read from `/proc`: for flatness checks over long runs.
public enum ProcessUsage {
    /// The resident set size (`VmRSS` of `/proc/PID/status`) in bytes.
    public static func residentBytes(of pid: pid_t) throws(HarnessError) -> Int {
        let bytes: [UInt8]
        switch LinuxCalls.readWholeFile("/proc/\(pid)/status") {
        case .success(let read): bytes = read
        case .failure(let failure): throw HarnessError("cannot read /proc/\(pid)/status", errno: failure.code)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
        }
        throw HarnessError("no VmRSS in /proc/\(pid)/status")
    }

    /// The number of open descriptors (entries of `/proc/PID/fd`).
    public static func openDescriptors(of pid: pid_t) throws(HarnessError) -> Int {
        switch LinuxCalls.directoryEntries("/proc/\(pid)/fd") {
        case .success(let entries): return entries.count
        case .failure(let failure): throw HarnessError("cannot list /proc/\(pid)/fd", errno: failure.code)
        }
    }
}
