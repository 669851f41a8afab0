import ArgumentParser
import Foundation
import Strata
import StrataFUSE
import StrataOCI
import SystemPackage

/// `strata mount`: serves a union at a mount point through FUSE, in the background by default.
struct Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount a union with FUSE (the options of mount -t overlay and fuse-overlayfs).",
        discussion: """
            Returns once the mount is ready and keeps serving in the background; `strata unmount MOUNTPOINT` \
            (or fusermount3 -u, umount, SIGTERM) ends it.

            Options (-o, comma-separated, may repeat): lowerdir=TOP:…:BOTTOM, upperdir=U, workdir=W \
            (`\\:` and `\\,` escape), whiteout=overlay|oci, volatile, ro, rw, allow_other, allow_root, \
            default_permissions (the default), no_default_permissions, acl (the default: POSIX ACLs enforced), \
            noacl, entry_timeout=S, attr_timeout=S, timeout=S, \
            writeback_cache, copyup=write|open (copy a lower file up at its first write, the default, or at an \
            open for writing as overlayfs does), and the mount flags nosuid, nodev, noexec, noatime, relatime, fsname=…, subtype=…. \
            Unknown or contradictory options are refused. Mounted by root, the mount is every user's and \
            honours set-user-ID files and devices, as mount -t overlay (allow_root, nosuid, nodev restrict it).
            """)

    @Option(name: .short, help: "Mount options: lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W[,allow_other][,ro]…")
    var options: [String] = []

    @Option(name: .customLong("lower"), help: "A lower layer directory; repeat it, top layer first.")
    var lowers: [String] = []

    @Option(help: "The upper (writable) layer directory.")
    var upper: String?

    @Option(help: "The work directory (same file system as the upper, not inside it).")
    var work: String?

    @Option(help: "Mount a container of this OCI image (LAYOUT[:TAG|@DIGEST]); its layers come from the store.")
    var image: String?

    @Option(help: "The layer store for --image (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata).")
    var store: String?

    @Option(help: "The platform to pick from a multi-platform image (os/arch[/variant]).")
    var platform: String?

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
        if let image { return try mountImage(image) }
        let mountOptions: MountOptions
        do {
            mountOptions = try MountOptions(options: options, lowers: lowers, upper: upper, work: work, debug: debug)
        } catch {
            throw ValidationError(error.description)
        }
        let server = Self.serverExecutable()
        if !foreground && !debug && !foregroundChild {
            // The server gets the mount point as an absolute path, so `strata unmount` can find it.
            let absolute = ServerProcesses.absolute(mountPoint)
            let start: Daemon.Start
            if let server {
                start = try Daemon.start(program: server, arguments: serverArguments(absolute, foregroundChild: true))
            } else {
                let arguments = CommandLine.arguments.dropFirst().map { $0 == mountPoint ? absolute : $0 }
                start = try Daemon.start(arguments: arguments + ["--foreground-child"])
            }
            switch start {
            case .ready:
                return
            case .failed(let status):
                throw ExitCode(status == 0 ? 1 : status)
            }
        }
        if !foregroundChild, let server {
            // In the foreground this process becomes the server: same process ID, same signals.
            try Daemon.replaceProcess(with: server, arguments: serverArguments(mountPoint, foregroundChild: false))
        }
        if foregroundChild { Daemon.detachFromTerminal() }
        let fuseServer = try FUSEServer(options: mountOptions, mountPoint: mountPoint)
        if foregroundChild { Daemon.signalReady() }
        try fuseServer.run(handlingSignals: true)
    }

    /// Prepares the image's layers in the store, registers a container and mounts it with plain
    /// `--lower/--upper/--work` arguments (the server never sees the image).
    private func mountImage(_ image: String) throws {
        guard lowers.isEmpty, !options.contains(where: { $0.contains("lowerdir=") }) else {
            throw ValidationError("--image gives the lower layers; do not give lowerdir= or --lower too")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: mountPoint)
        guard attributes?[.type] as? FileAttributeType == .typeDirectory else {
            throw ValidationError("the mount point '\(mountPoint)' is not a directory")
        }
        let prepared: PreparedImage
        let record: ContainerRecord
        let layerStore: LayerStore
        do {
            layerStore = try LayerStore(store.map { FilePath($0) })
            let reference = try ImageReference(parsing: image)
            let resolved = try ImageLayout(reference.layout).resolve(reference, platform: try platform.map(parsePlatform))
            prepared = try layerStore.prepare(resolved, progress: ProgressLine.reporter())
            ProgressLine.end()
            record = try layerStore.createContainer(for: prepared, upper: upper.map { FilePath($0) }, work: work.map { FilePath($0) })
        } catch let error as StrataError {
            throw ValidationError(error.description)
        }
        defer { prepared.lease.release() }
        print("container \(record.id)")
        print("upper \(record.upper)")
        var mount = self
        mount.image = nil
        mount.lowers = prepared.lowers.map(\.string)
        mount.upper = record.upper
        mount.work = record.work
        mount.mountPoint = ServerProcesses.absolute(mountPoint)
        // A container whose mount never started is not kept (unless the caller named its directories).
        let discard = { if upper == nil { layerStore.removeContainer(record) } }
        if !foreground && !debug {
            let start: Daemon.Start
            if let server = Self.serverExecutable() {
                start = try Daemon.start(
                    program: server, arguments: mount.serverArguments(mount.mountPoint, foregroundChild: true))
            } else {
                let arguments = ["mount"] + options.flatMap { ["-o", $0] } + mount.lowers.flatMap { ["--lower", $0] }
                    + ["--upper", record.upper, "--work", record.work, mount.mountPoint, "--foreground-child"]
                start = try Daemon.start(arguments: arguments)
            }
            switch start {
            case .ready: return
            case .failed(let status):
                discard()
                throw ExitCode(status == 0 ? 1 : status)
            }
        }
        do {
            try mount.run()
        } catch {
            discard()
            throw error
        }
    }

    /// `strata-serve` beside this executable: the serving process, without Foundation (see
    /// `ServeCommand`). Without it (only `strata` copied somewhere), this executable serves itself.
    static func serverExecutable() -> String? {
        guard let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let server = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("strata-serve").path
        return FileManager.default.isExecutableFile(atPath: server) ? server : nil
    }

    /// The arguments of `strata-serve` for this mount.
    func serverArguments(_ mountPoint: String, foregroundChild: Bool) -> [String] {
        ServeCommand.arguments(for: ServeCommand.Invocation(
            options: options, lowers: lowers, upper: upper, work: work, debug: debug,
            foregroundChild: foregroundChild, mountPoint: mountPoint))
    }
}
