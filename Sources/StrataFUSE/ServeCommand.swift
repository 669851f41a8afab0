import CFuse3
import Glibc
import Strata

/// The serving process of a mount: what `strata mount` starts (the `strata-serve` executable).
///
/// A process of its own, built without Foundation and the image code, so that each mounted union
/// costs the memory of the union itself and not that of the command-line tool (libFoundation and ICU
/// alone are about 9 MB of resident pages per process).
///
/// Its arguments are made by `strata mount`, which has validated them already: `-o OPTIONS`
/// (repeatable), `--lower DIR` (repeatable, top first), `--upper DIR`, `--work DIR`, `-d` (log every
/// request), `--foreground-child` (detach, then report readiness on descriptor 3), and the mount point.
public enum ServeCommand {
    public struct Invocation: Equatable, Sendable {
        public var options: [String] = []
        public var lowers: [String] = []
        public var upper: String?
        public var work: String?
        public var debug = false
        public var foregroundChild = false
        public var mountPoint = ""

        public init(
            options: [String] = [], lowers: [String] = [], upper: String? = nil, work: String? = nil,
            debug: Bool = false, foregroundChild: Bool = false, mountPoint: String = ""
        ) {
            self.options = options
            self.lowers = lowers
            self.upper = upper
            self.work = work
            self.debug = debug
            self.foregroundChild = foregroundChild
            self.mountPoint = mountPoint
        }
    }

    /// The arguments `strata mount` passes for an invocation (without the program name).
    public static func arguments(for invocation: Invocation) -> [String] {
        var arguments = invocation.options.flatMap { ["-o", $0] } + invocation.lowers.flatMap { ["--lower", $0] }
        if let upper = invocation.upper { arguments += ["--upper", upper] }
        if let work = invocation.work { arguments += ["--work", work] }
        if invocation.debug { arguments.append("-d") }
        if invocation.foregroundChild { arguments.append("--foreground-child") }
        return arguments + [invocation.mountPoint]
    }

    public static func parse(_ arguments: [String]) throws(StrataError) -> Invocation {
        var invocation = Invocation()
        var mountPoint: String?
        var rest = arguments[...]
        func value(for flag: String) throws(StrataError) -> String {
            guard let value = rest.popFirst() else { throw StrataError(.invalidOption, "\(flag) needs a value") }
            return value
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "-o": invocation.options.append(try value(for: argument))
            case "--lower": invocation.lowers.append(try value(for: argument))
            case "--upper": invocation.upper = try value(for: argument)
            case "--work": invocation.work = try value(for: argument)
            case "-d": invocation.debug = true
            case "--foreground-child": invocation.foregroundChild = true
            case _ where argument.hasPrefix("-") || mountPoint != nil:
                throw StrataError(.invalidOption, "unexpected argument '\(argument)'")
            default: mountPoint = argument
            }
        }
        guard let mountPoint else { throw StrataError(.invalidOption, "no mount point given") }
        invocation.mountPoint = mountPoint
        return invocation
    }

    /// Serves the mount `arguments` describe until it goes away; the exit status.
    public static func run(_ arguments: [String]) -> Int32 {
        // Two malloc arenas (one per CPU of this kind of machine) instead of glibc's eight per CPU: the
        // request threads allocate little and briefly, and each extra arena keeps its own free pages
        // resident (about 0.5 MB less after a walk of 50,000 paths, measured).
        _ = cfuse_limit_malloc_arenas(2)
        // The kernel has applied each caller's umask to the modes it sends; the server's own would take
        // bits away a second time (libfuse's passthrough examples and fuse-overlayfs clear it too).
        _ = umask(0)
        do throws(StrataError) {
            let invocation = try parse(arguments)
            let options = try MountOptions(
                options: invocation.options, lowers: invocation.lowers, upper: invocation.upper,
                work: invocation.work, debug: invocation.debug)
            if invocation.foregroundChild { Daemon.detachFromTerminal() }
            let server = try FUSEServer(options: options, mountPoint: invocation.mountPoint)
            if invocation.foregroundChild {
                // As libfuse's daemonising does: a server in the background must not hold the directory
                // it was started from (which could then not be unmounted). The layers are open and the
                // mount point is absolute by now.
                _ = chdir("/")
                Daemon.signalReady()
            }
            try server.run(handlingSignals: true)
            return 0
        } catch {
            let message = "Error: \(error.description)\n"
            _ = unsafe message.withCString { unsafe write(2, $0, strlen($0)) }
            return 1
        }
    }
}
