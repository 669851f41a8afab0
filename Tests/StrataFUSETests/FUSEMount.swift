import Dispatch
import Glibc
import Strata
import StrataFUSE
import StrataTestSupport
import Synchronization

/// A union served by `FUSEServer` on a thread of the test process, always taken down with a time limit:
/// `umount`, then a lazy detach, then a bounded wait for the serving thread. A hung server fails the
/// test instead of hanging it, and never leaves a mount behind.
final class FUSEMount: Sendable {
    let mountPoint: String
    let upper: String?
    private let background: BackgroundServer
    private let unmounted = Mutex(false)

    init(_ options: MountOptions, at mountPoint: String) throws {
        self.mountPoint = mountPoint
        self.upper = options.union.upper?.string
        let server = try FUSEServer(options: options, mountPoint: mountPoint)
        background = try server.runInBackground()
    }

    /// Mounts one built copy of a fixture.
    convenience init(
        layers: BuiltLayers, at mountPoint: String, timeout: Double = 1, copyUp: MountOptions.CopyUpPoint = .write
    ) throws {
        var configuration = UnionConfiguration(
            lowers: layers.lowers.map { FilePath($0) }, upper: FilePath(layers.upper), work: FilePath(layers.work))
        configuration.whiteoutFormat = .overlay
        var options = MountOptions(union: configuration, entryTimeout: timeout, attributeTimeout: timeout)
        options.copyUp = copyUp
        try self.init(options, at: mountPoint)
    }

    /// Unmounts and waits for the server to release everything; a second call does nothing.
    func unmount(limit: Duration = .seconds(10)) throws(HarnessError) {
        let first = unmounted.withLock { (done: inout Bool) -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let target = mountPoint
        // EBUSY can be transient: tests run in parallel in this process, and a program another test starts
        // at that moment may briefly hold a descriptor of ours it inherited. Retry for a few seconds.
        let result = withTimeLimit(limit) { () -> Int32 in
            for _ in 0..<100 {
                if umount2(target, 0) == 0 { return 0 }
                if errno != EBUSY { return errno }
                usleep(50_000)
            }
            return EBUSY
        }
        var problem: String?
        if result != 0 {
            problem = "umount \(target) failed (\(result.map { "errno \($0)" } ?? "timed out")); detached it"
            _ = umount2(target, Int32(MNT_DETACH))
        }
        let background = self.background
        let finished = withTimeLimit(limit) { () -> String? in
            do throws(StrataError) {
                try background.wait()
                return nil
            } catch {
                return error.description
            }
        }
        switch finished {
        case nil: throw HarnessError("the FUSE server of \(target) did not stop within \(limit)")
        case let message??: throw HarnessError("the FUSE server of \(target) failed: \(message)")
        default: break
        }
        if let problem { throw HarnessError(problem) }
    }

    deinit {
        try? unmount()
    }

    /// Whether `path` is a mount point in /proc/self/mountinfo.
    static func isMounted(_ path: String) -> Bool {
        MountTable.contains(path)
    }
}

extension KernelBackend {
    /// A backend running plain syscalls on a `strata` FUSE mount of each fixture copy at `scratch/merged`.
    /// `copyUp: .open` copies up at an open for writing, as the kernel does (the default, at the first write).
    static func strataFUSE(
        timeout: Double = 1, name: String = "strata-fuse", copyUp: MountOptions.CopyUpPoint = .write
    ) -> BackendFactory {
        BackendFactory(name: name) { layers, scratch throws(HarnessError) in
            let mountPoint = "\(scratch)/merged"
            guard mkdir(mountPoint, 0o755) == 0 else { throw HarnessError("mkdir \(mountPoint)", errno: errno) }
            let mount: FUSEMount
            do {
                mount = try FUSEMount(layers: layers, at: mountPoint, timeout: timeout, copyUp: copyUp)
            } catch {
                throw HarnessError("strata FUSE mount at \(mountPoint): \(error)")
            }
            return KernelBackend(mountedAt: mountPoint, upperDirectory: layers.upper, name: name) { () throws(HarnessError) in
                try mount.unmount()
            }
        }
    }
}
