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

    func run() throws {
        try FUSEServer.unmount(mountPoint, detach: lazy)
    }
}
