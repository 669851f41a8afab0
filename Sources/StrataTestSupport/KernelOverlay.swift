import Dispatch
import Glibc
import Synchronization

/// A kernel overlayfs mount (`mount -t overlay` through mount(2)): the oracle of the differential tests.
///
/// The mount is always taken down: by `unmount()`, or at the latest when the object goes away; a busy
/// mount is detached (`umount2(MNT_DETACH)`). mount(2) and umount(2) run under a time limit so a wedged
/// kernel call fails the test instead of hanging it.
public final class KernelOverlay: Sendable {
    /// The features Strata reproduces: renaming lower directories, metadata-only copy-up and the index
    /// that keeps lower hard links together.
    public static let featureOptions = "redirect_dir=on,metacopy=on,index=on"
    /// The kernel's defaults on most distributions: lower directories cannot be renamed (EXDEV).
    public static let plainOptions = "redirect_dir=off,metacopy=off,index=off"

    public let mountPoint: String
    /// The full option string given to mount(2).
    public let options: String
    private let mounted = Mutex(true)
    private let timeout: Duration

    /// Mounts `lowers` (top first), `upper` and `work` at `mountPoint` with `extraOptions` appended.
    public init(lowers: [String], upper: String?, work: String?, mountPoint: String,
                extraOptions: String = featureOptions, timeout: Duration = .seconds(20)) throws(HarnessError) {
        var parts = ["lowerdir=" + lowers.map(Self.escape).joined(separator: ":")]
        if let upper { parts.append("upperdir=" + Self.escape(upper)) }
        if let work { parts.append("workdir=" + Self.escape(work)) }
        if !extraOptions.isEmpty { parts.append(extraOptions) }
        let options = parts.joined(separator: ",")
        self.mountPoint = mountPoint
        self.options = options
        self.timeout = timeout
        let result = withTimeLimit(timeout) { () -> Int32 in
            mount("overlay", mountPoint, "overlay", 0, options) == 0 ? 0 : Glibc.errno
        }
        switch result {
        case nil:
            // The call may still complete later; detach whatever it leaves behind.
            _ = umount2(mountPoint, Int32(MNT_DETACH))
            throw HarnessError("mount -t overlay \(mountPoint) did not finish within \(timeout)")
        case 0?:
            break
        case let code?:
            throw HarnessError("mount -t overlay -o \(options) \(mountPoint)", errno: code)
        }
    }

    /// Mounts one built copy of a fixture.
    public convenience init(layers: BuiltLayers, mountPoint: String, options: String = featureOptions) throws(HarnessError) {
        try self.init(lowers: layers.lowers, upper: layers.upper, work: layers.work, mountPoint: mountPoint, extraOptions: options)
    }

    /// Unmounts; a second call does nothing. Falls back to a lazy detach when the mount is busy or the
    /// unmount does not finish in time.
    public func unmount() throws(HarnessError) {
        let wasMounted = mounted.withLock { state in
            defer { state = false }
            return state
        }
        guard wasMounted else { return }
        let target = mountPoint
        let result = withTimeLimit(timeout) { () -> Int32 in
            umount2(target, 0) == 0 ? 0 : Glibc.errno
        }
        if result == 0 { return }
        guard umount2(target, Int32(MNT_DETACH)) == 0 else {
            throw .system("umount2(\(target), MNT_DETACH) after umount failed with \(result.map(ErrnoName.of) ?? "a timeout")")
        }
    }

    deinit {
        try? unmount()
    }

    // MARK: Availability

    public enum Availability: Sendable {
        case available
        case unavailable(reason: String)
    }

    /// Whether this process can mount an overlay at all (probed once, with the feature options). False
    /// only when the probe mount fails with EPERM (no CAP_SYS_ADMIN) or ENODEV (no overlay in the
    /// kernel); any other failure means the harness or the options are wrong, and the tests must fail.
    public static var isAvailable: Bool {
        if case .available = availability { return true }
        return false
    }

    /// Why the kernel overlay cannot be used, or nil.
    public static var unavailableReason: String? {
        if case .unavailable(let reason) = availability { return reason }
        return nil
    }

    public static let availability: Availability = probe()

    private static func probe() -> Availability {
        do {
            let directory = try TemporaryDirectory(prefix: "strata-overlay-probe")
            defer { try? directory.remove() }
            let lower = try directory.makeSubdirectory("lower")
            let upper = try directory.makeSubdirectory("upper")
            let work = try directory.makeSubdirectory("work")
            let merged = try directory.makeSubdirectory("merged")
            let overlay = try KernelOverlay(lowers: [lower], upper: upper, work: work, mountPoint: merged)
            try overlay.unmount()
            return .available
        } catch let error {
            if let code = error.errno, code == EPERM || code == ENODEV {
                let reason = "the kernel overlay cannot be mounted here (\(error)); kernel-differential tests are skipped"
                var standardError = StandardError()
                print("StrataTestSupport: \(reason)", to: &standardError)
                return .unavailable(reason: reason)
            }
            // Anything else is a harness or configuration failure: report available so the tests run
            // and fail loudly with the real error.
            return .available
        }
    }

    // MARK: Helpers

    /// lowerdir/upperdir values escape `:` `,` and `\` with a backslash.
    static func escape(_ path: String) -> String {
        var escaped = ""
        for character in path {
            if character == ":" || character == "," || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

}


/// `print(…, to: &standardError)`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        _ = string.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}
