import ArgumentParser
import Strata
import StrataFUSE

/// `strata mount`: serves a union at a mount point through FUSE, in the background by default.
struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount a union with FUSE (the options of mount -t overlay and fuse-overlayfs).",
        discussion: """
            Returns once the mount is ready and keeps serving in the background; `strata unmount MOUNTPOINT` \
            (or fusermount3 -u, umount, SIGTERM) ends it.

            Options (-o, comma-separated, may repeat): lowerdir=TOP:…:BOTTOM, upperdir=U, workdir=W \
            (`\\:` and `\\,` escape), whiteout=overlay|oci, volatile, ro, rw, allow_other, allow_root, \
            default_permissions (the default), no_default_permissions, entry_timeout=S, attr_timeout=S, timeout=S, \
            and the mount flags nosuid, nodev, noexec, noatime, relatime, fsname=…, subtype=…. \
            Unknown or contradictory options are refused.
            """)

    @Option(name: .short, help: "Mount options: lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W[,allow_other][,ro]…")
    var options: [String] = []

    @Option(name: .customLong("lower"), help: "A lower layer directory; repeat it, top layer first.")
    var lowers: [String] = []

    @Option(help: "The upper (writable) layer directory.")
    var upper: String?

    @Option(help: "The work directory (same file system as the upper, not inside it).")
    var work: String?

    @Flag(name: .short, help: "Stay in the foreground.")
    var foreground = false

    @Flag(name: .short, help: "Log every FUSE request to standard error (implies -f).")
    var debug = false

    /// Set on the background process `strata mount` starts: serve, and report readiness on descriptor 3.
    @Flag(name: .customLong("foreground-child"), help: .hidden)
    var foregroundChild = false

    @Argument(help: "The directory to mount the union on.")
    var mountPoint: String

    func run() throws {
        let mountOptions: MountOptions
        do {
            mountOptions = try MountOptions(options: options, lowers: lowers, upper: upper, work: work, debug: debug)
        } catch {
            throw ValidationError(error.description)
        }
        if !foreground && !debug && !foregroundChild {
            // The server gets the mount point as an absolute path, so `strata unmount` can find it.
            let absolute = ServerProcesses.absolute(mountPoint)
            let arguments = CommandLine.arguments.dropFirst().map { $0 == mountPoint ? absolute : $0 }
            switch try Daemon.start(arguments: arguments + ["--foreground-child"]) {
            case .ready:
                return
            case .failed(let status):
                throw ExitCode(status == 0 ? 1 : status)
            }
        }
        if foregroundChild { Daemon.detachFromTerminal() }
        let server = try FUSEServer(options: mountOptions, mountPoint: mountPoint)
        if foregroundChild { Daemon.signalReady() }
        try server.run(handlingSignals: true)
    }
}
