import ArgumentParser
import StrataFUSE

/// `strata unmount`: ends a `strata mount`.
struct Unmount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unmount a union mounted with `strata mount` (umount as root, else fusermount3 -u).")

    @Flag(name: [.short, .customLong("lazy")], help: "Detach a busy mount now; it goes away when no longer used.")
    var lazy = false

    @Argument(help: "The mount point.")
    var mountPoint: String

    @Option(help: "Seconds to wait for the server to flush and exit (0: do not wait).")
    var wait: Double = 60

    func run() throws {
        let absolute = ServerProcesses.absolute(mountPoint)
        let servers = ServerProcesses.serving(absolute)
        try FUSEServer.unmount(mountPoint, detach: lazy)
        // Return only once the server has synced the upper layer and released the work directory.
        if wait > 0 && !ServerProcesses.waitForExit(servers, seconds: wait) {
            throw ValidationError("unmounted, but the server \(servers) of \(absolute) is still running after \(wait) s")
        }
    }
}
