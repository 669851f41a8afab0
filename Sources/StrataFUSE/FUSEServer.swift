import CFuse3
import Glibc
import Strata
import Synchronization

/// One `strata mount`: a `UnionFileSystem` served to the kernel through a libfuse3 low-level session.
///
/// Life cycle: `init` opens the union, creates the session and mounts it (the mount point answers once
/// `run` is serving); `run` serves on libfuse's worker threads until the mount goes away (`unmount`,
/// `fusermount3 -u`, `umount`, or SIGINT/SIGTERM/SIGHUP when `run(handlingSignals: true)`), then takes the
/// mount down, flushes the upper layer and closes the union. Requests reach the node API of
/// `UnionFileSystem` through the trampolines of `Bridge/Operations.swift`.
///
/// The session pointer is not `Sendable`; it is set once in `init` and only libfuse's own calls use it.
public final class FUSEServer: @unchecked Sendable {
    public let union: UnionFileSystem
    public let options: MountOptions
    public let mountPoint: String
    let files = FileHandles()
    let listings = DirectoryListings()
    /// Set at `INIT` when the kernel lets `OPENDIR` go unanswered and the kernel checks permissions:
    /// directories are then listed without a handle (no `OPENDIR`/`RELEASEDIR` round trips).
    let listsWithoutOpening = Atomic<Bool>(false)
    /// Set at `INIT` when the kernel lets `OPEN` go unanswered and the kernel checks permissions (and
    /// copy-up is at the first write): files are then read and written by node (`UnionFileSystem.dataFile`).
    let filesWithoutOpening = Atomic<Bool>(false)
    /// Set at `INIT` when the kernel sends creation modes without the caller's umask (`FUSE_DONT_MASK`,
    /// asked for with POSIX ACLs): each creation then runs under the caller's umask (see
    /// `Operations.underCallerUmask`).
    let appliesCallerUmask = Atomic<Bool>(false)
    /// The server's own user and group: objects a caller with these creates need no `chown`.
    let processUser = geteuid()
    let processGroup = getegid()
    /// `struct fuse_session *`, set once by `init` (the userdata it carries is `self`).
    private var session: OpaquePointer!
    private let state = Mutex(State.mounted)
    /// The upper layer's directory, kept open to `syncfs` it when the mount ends.
    private let upperDirectory: Int32

    private enum State { case mounted, serving, finished }

    /// Opens the union and mounts it at `mountPoint`.
    ///
    /// - Throws: `StrataError` for a bad layer stack, options libfuse refuses, or a failed mount (no
    ///   `/dev/fuse`, no permission, a mount point that is not an empty-enough directory).
    public init(options: MountOptions, mountPoint: String) throws(StrataError) {
        Self.raiseDescriptorLimit()
        let union = try UnionFileSystem(options.union)
        self.union = union
        self.options = options
        self.mountPoint = mountPoint
        upperDirectory = options.union.upper.map { unsafe open($0.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } ?? -1

        var arguments = ["strata"]
        if options.debug { arguments.append("-d") }
        arguments += ["-o", options.kernelOptions.joined(separator: ",")]
        var operations = Operations.table
        let created: OpaquePointer? = unsafe Self.withArguments(arguments) { (fuseArguments) in
            unsafe cfuse_session_new(fuseArguments, &operations, Unmanaged<FUSEServer>.passUnretained(self).toOpaque())
        }
        guard let created else {
            union.close()
            if upperDirectory >= 0 { Glibc.close(upperDirectory) }
            throw StrataError(.invalidOption, "libfuse refused the mount options '\(options.kernelOptions.joined(separator: ","))'")
        }
        session = created
        guard unsafe fuse_session_mount(created, mountPoint) == 0 else {
            unsafe fuse_session_destroy(created)
            union.close()
            if upperDirectory >= 0 { Glibc.close(upperDirectory) }
            throw StrataError(.io, "cannot mount the union (see the message above)", path: FilePath(mountPoint))
        }
    }

    /// Serves requests on libfuse's worker threads until the mount goes away, then unmounts (if it is still
    /// mounted), flushes the upper layer and closes the union. Returns once everything is released.
    ///
    /// - Parameter handlingSignals: end the mount on SIGINT, SIGTERM and SIGHUP (for the `strata mount`
    ///   process; leave it off inside another program).
    public func run(handlingSignals: Bool = false) throws(StrataError) {
        let start = state.withLock { (state: inout State) -> Bool in
            guard state == .mounted else { return false }
            state = .serving
            return true
        }
        guard start else { throw StrataError(.busy, "the mount is already served or finished", path: FilePath(mountPoint)) }
        if handlingSignals {
            guard unsafe fuse_set_signal_handlers(session) == 0 else {
                finish()
                throw StrataError(.io, "cannot install the signal handlers")
            }
        }
        let result: Int32
        if let configuration = unsafe fuse_loop_cfg_create() {
            unsafe fuse_loop_cfg_set_clone_fd(configuration, 0)
            unsafe fuse_loop_cfg_set_max_threads(configuration, 16)
            result = unsafe cfuse_session_loop_mt(session, configuration)
            unsafe fuse_loop_cfg_destroy(configuration)
        } else {
            result = unsafe fuse_session_loop(session)
        }
        if handlingSignals { unsafe fuse_remove_signal_handlers(session) }
        finish()
        if result < 0 {
            throw StrataError(.io, "the FUSE session ended with an error", path: FilePath(mountPoint), errno: Errno(rawValue: -result))
        }
    }

    /// Raises the soft limit on open descriptors to the hard one (as fuse-overlayfs and libfuse's
    /// passthrough examples do): the server holds a descriptor per file its clients keep open, plus the
    /// data, layer-directory and upper-directory descriptors it caches, and 1,024 is soon reached.
    private static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard unsafe getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = unsafe setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Tells the kernel to forget the cached attributes of `node` (not its pages).
    func invalidateAttributes(of node: fuse_ino_t) {
        _ = unsafe fuse_lowlevel_notify_inval_inode(session, node, -1, 0)
    }

    /// Takes the mount down without serving it (a mount that `run` never served, or after it returned).
    public func close() {
        let idle = state.withLock { (state: inout State) -> Bool in state == .mounted }
        if idle { finish() }
    }

    private func finish() {
        let first = state.withLock { (state: inout State) -> Bool in
            defer { state = .finished }
            return state != .finished
        }
        guard first else { return }
        unsafe fuse_session_unmount(session)
        unsafe fuse_session_destroy(session)
        for descriptor in files.removeAll() { try? descriptor.close() }
        listings.removeAll()
        if upperDirectory >= 0 {
            if options.union.durability == .synchronous { _ = cfuse_sync_file_system(upperDirectory) }
            Glibc.close(upperDirectory)
        }
        union.close()
    }

    /// Serves on a new thread; `BackgroundServer.wait()` returns when the mount is gone.
    /// For tests and programs that mount and use the union in one process.
    public func runInBackground() throws(StrataError) -> BackgroundServer {
        try BackgroundServer(self)
    }

    /// Unmounts a Strata (or any FUSE) mount: `umount2` as root, else `fusermount3 -u`.
    /// The serving process then flushes the upper layer and exits.
    ///
    /// - Parameter detach: detach a busy mount lazily (`MNT_DETACH`, `fusermount3 -uz`).
    public static func unmount(_ mountPoint: String, detach: Bool = false) throws(StrataError) {
        if unsafe umount2(mountPoint, detach ? Int32(MNT_DETACH) : 0) == 0 { return }
        let code = Errno(rawValue: errno)
        switch code {
        case .notPermitted: break
        case .resourceBusy:
            throw StrataError(
                .busy, "cannot unmount: the mount is in use (a process has a file open or its working directory "
                    + "inside it); end those, or detach it now with --lazy", path: FilePath(mountPoint), errno: code)
        case .invalidArgument:
            throw StrataError(.invalidOption, "cannot unmount: not a mount point", path: FilePath(mountPoint), errno: code)
        case .noSuchFileOrDirectory:
            throw StrataError(.invalidOption, "cannot unmount: no such directory", path: FilePath(mountPoint), errno: code)
        default:
            throw StrataError(.io, "cannot unmount", path: FilePath(mountPoint), errno: code)
        }
        let status = try Spawn.run("fusermount3", ["-u"] + (detach ? ["-z"] : []) + [mountPoint])
        guard status == 0 else {
            throw StrataError(.io, "fusermount3 -u failed with status \(status)", path: FilePath(mountPoint))
        }
    }

    // MARK: Arguments

    /// Runs `body` with a `struct fuse_args` over C copies of `arguments`.
    private static func withArguments<Result>(
        _ arguments: [String], _ body: (UnsafeMutablePointer<fuse_args>) -> Result
    ) -> Result {
        let copies: [UnsafeMutablePointer<CChar>?] = arguments.map { unsafe strdup($0) }
        defer { for copy in copies { unsafe free(copy) } }
        var vector = copies + [nil]
        return unsafe vector.withUnsafeMutableBufferPointer { (pointers) in
            var fuseArguments = unsafe fuse_args(argc: Int32(arguments.count), argv: pointers.baseAddress, allocated: 0)
            defer { unsafe fuse_opt_free_args(&fuseArguments) }
            return unsafe body(&fuseArguments)
        }
    }
}

/// A `FUSEServer` serving on its own thread.
public final class BackgroundServer: @unchecked Sendable {
    public let server: FUSEServer
    private var thread: pthread_t
    private let joined = Mutex(false)
    private let failure = Mutex<StrataError?>(nil)

    fileprivate init(_ server: FUSEServer) throws(StrataError) {
        self.server = server
        thread = pthread_t()
        let box = Unmanaged.passRetained(Box(self))
        let created = unsafe pthread_create(&thread, nil, { (context) -> UnsafeMutableRawPointer? in
            let box = unsafe Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            do throws(StrataError) {
                try box.owner.server.run()
            } catch {
                box.owner.failure.withLock { $0 = error }
            }
            return nil
        }, unsafe box.toOpaque())
        guard created == 0 else {
            box.release()
            server.close()
            throw StrataError(.io, "cannot start the serving thread", errno: Errno(rawValue: created))
        }
    }

    /// Waits until the mount is gone and the server released everything; rethrows what `run` threw.
    public func wait() throws(StrataError) {
        let first = joined.withLock { (joined: inout Bool) -> Bool in
            defer { joined = true }
            return !joined
        }
        if first { _ = pthread_join(thread, nil) }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private final class Box {
        let owner: BackgroundServer
        init(_ owner: BackgroundServer) { self.owner = owner }
    }
}
