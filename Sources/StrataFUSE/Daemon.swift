import CFuse3
import Glibc
import Strata

/// Running `strata mount` in the background the safe way for a Swift program: no `fork` (the runtime
/// may already have threads), but a re-execution of this executable that reports on a pipe when its
/// mount is ready.
///
/// The parent runs `Daemon.start(arguments:)`: it spawns `/proc/self/exe` with the given arguments in a
/// new session, the pipe's write end as descriptor 3, and waits. The child mounts, calls
/// `Daemon.signalReady()` (one byte on descriptor 3, then its standard streams go to `/dev/null`) and
/// serves. If the child fails before that, the parent sees the pipe close and returns its exit status;
/// the child's message has already reached the shared standard error.
public enum Daemon {
    /// The descriptor on which a child started by `start(arguments:)` reports readiness.
    public static let readyDescriptor: Int32 = 3

    /// The result of starting a background server.
    public enum Start: Sendable, Equatable {
        /// The mount is ready; `process` serves it.
        case ready(process: Int32)
        /// The child ended before the mount was ready, with this exit status.
        case failed(status: Int32)
    }

    /// Runs `program` (by default this executable again) with `arguments` (not including the program
    /// name) and waits until it reports readiness or ends.
    public static func start(program: String = "/proc/self/exe", arguments: [String]) throws(StrataError) -> Start {
        var ends: [Int32] = [-1, -1]
        guard unsafe pipe(&ends) == 0 else {
            throw StrataError(.io, "cannot create the readiness pipe", errno: Errno(rawValue: errno))
        }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(readEnd) }
        let child: Int32
        do {
            child = try Spawn.start(program, arguments, searchPath: false, readyPipe: writeEnd)
        } catch {
            close(writeEnd)
            throw error
        }
        close(writeEnd)
        var byte: UInt8 = 0
        var got: Int
        repeat {
            got = unsafe read(readEnd, &byte, 1)
        } while got < 0 && errno == EINTR
        if got == 1 { return .ready(process: child) }
        return .failed(status: Spawn.wait(child))
    }

    /// In the child: starts a new session so the terminal's signals do not reach it.
    /// Replaces this process with `program` (the foreground `strata mount` becoming its server, same
    /// process ID and signals); returns only by throwing.
    public static func replaceProcess(with program: String, arguments: [String]) throws(StrataError) -> Never {
        let copies: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { unsafe strdup($0) }
        var vector = copies + [nil]
        _ = unsafe vector.withUnsafeMutableBufferPointer { unsafe execv(program, $0.baseAddress!) }
        let failure = Errno(rawValue: errno)
        for copy in copies { unsafe free(copy) }
        throw StrataError(.io, "cannot start \(program)", errno: failure)
    }

    public static func detachFromTerminal() {
        _ = setsid()
    }

    /// In the child: reports that the mount is ready and sends standard input, output and error to
    /// `/dev/null` (nobody reads them any more). Does nothing when not started by `start(arguments:)`.
    public static func signalReady() {
        var byte: UInt8 = 1
        guard unsafe write(readyDescriptor, &byte, 1) == 1 else { return }
        close(readyDescriptor)
        let null = unsafe open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { return }
        for descriptor: Int32 in 0...2 { _ = dup2(null, descriptor) }
        close(null)
    }
}

/// posix_spawn and waitpid.
enum Spawn {
    /// Runs `program` with `arguments` and returns its exit status (128 + signal if killed).
    static func run(_ program: String, _ arguments: [String]) throws(StrataError) -> Int32 {
        wait(try start(program, arguments, searchPath: true, readyPipe: nil))
    }

    /// Starts `program`; `readyPipe` becomes the child's descriptor 3.
    static func start(_ program: String, _ arguments: [String], searchPath: Bool, readyPipe: Int32?) throws(StrataError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        unsafe posix_spawn_file_actions_init(&actions)
        defer { unsafe posix_spawn_file_actions_destroy(&actions) }
        if let readyPipe { unsafe posix_spawn_file_actions_adddup2(&actions, readyPipe, Daemon.readyDescriptor) }
        // Nothing of the caller's beyond the standard streams (and the readiness pipe) reaches the child.
        _ = unsafe cfuse_spawn_close_from(&actions, readyPipe == nil ? 3 : Daemon.readyDescriptor + 1)
        let copies: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { unsafe strdup($0) }
        defer { for copy in copies { unsafe free(copy) } }
        var vector = copies + [nil]
        var child: pid_t = 0
        let code = unsafe vector.withUnsafeMutableBufferPointer { (pointers) -> Int32 in
            searchPath
                ? unsafe posix_spawnp(&child, program, &actions, nil, pointers.baseAddress!, environ)
                : unsafe posix_spawn(&child, program, &actions, nil, pointers.baseAddress!, environ)
        }
        guard code == 0 else {
            throw StrataError(.io, "cannot start \(program)", errno: Errno(rawValue: code))
        }
        return child
    }

    /// Waits for `child` and returns its exit status (128 + signal if killed).
    static func wait(_ child: Int32) -> Int32 {
        var status: Int32 = 0
        while unsafe waitpid(child, &status, 0) < 0 {
            if errno != EINTR { return 127 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
