import Dispatch
import Glibc

/// A child process in its own process group, started with `posix_spawn`: standard input from
/// `/dev/null`, standard output and error into `log.out` / `log.err`, no other descriptor of this process.
///
/// With `inherit`, that descriptor is handed down as descriptor 5 (3 and 4 are `/dev/null`).
/// `kill()` ends the whole group; `reap(seconds:)` waits with a limit, so a hung child fails a test
/// instead of hanging it. Kill and reap it on every path.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private var status: Int32?

    public init(_ executable: String, _ arguments: [String], log: String, inherit: Int32? = nil) throws(HarnessError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var firstClosed: Int32 = 3
        if let inherit {
            posix_spawn_file_actions_addopen(&actions, 3, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 4, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, inherit, 5)
            firstClosed = 6
        }
        guard let closeFrom = ChildProcess.addCloseFrom else {
            throw HarnessError("libc has no posix_spawn_file_actions_addclosefrom_np")
        }
        _ = closeFrom(&actions, firstClosed)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let copies: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        var vector = copies + [nil]
        var child: pid_t = 0
        let code = vector.withUnsafeMutableBufferPointer { pointers in
            posix_spawn(&child, executable, &actions, &attributes, pointers.baseAddress!, environ)
        }
        guard code == 0 else { throw HarnessError("cannot start \(executable)", errno: code) }
        pid = child
    }

    /// SIGKILL to the child's process group, unless it was reaped already.
    public func kill() {
        guard status == nil else { return }
        _ = Glibc.kill(-pid, SIGKILL)
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// The wait status if the child has exited (reaps it), else nil.
    public func exited() -> Int32? {
        if let status { return status }
        var value: Int32 = 0
        if waitpid(pid, &value, WNOHANG) == pid { status = value }
        return status
    }

    /// Waits up to `seconds` for the child to exit; nil if it is still running.
    public func reap(seconds: Double) -> Int32? {
        let deadline = DispatchTime.now() + seconds
        while exited() == nil {
            if DispatchTime.now() > deadline { return nil }
            usleep(2_000)
        }
        return status
    }

    /// The exit code of a child that exited normally, `128 + signal` for one a signal ended.
    public static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc >= 2.34; not in the Glibc module (a `_GNU_SOURCE` declaration).
    private static let addCloseFrom: AddCloseFrom? = {
        guard let handle = dlopen(nil, RTLD_NOW),
            let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}
