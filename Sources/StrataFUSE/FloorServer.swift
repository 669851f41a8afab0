import CFuse3
import Glibc
import Strata

/// A FUSE filesystem that does nothing: an empty root directory whose every LOOKUP answers `ENOENT`,
/// uncached (no negative entry), on libfuse's single-threaded loop.
///
/// `strata bench` times `lstat` of missing names in it: each is exactly one bare FUSE round trip
/// (request, wake-up of the server, reply), the floor under any FUSE lookup on the machine. FUSE
/// figures are then read as multiples of it, which carries from one machine to another.
public enum FloorServer {
    /// Mounts the floor filesystem at `mountPoint` and serves it until it is unmounted or the process
    /// gets SIGINT, SIGTERM or SIGHUP. `ready` runs once the mount is in place.
    ///
    /// - Throws: `StrataError` when libfuse cannot create the session or mount it.
    public static func serve(mountPoint: String, ready: () -> Void) throws(StrataError) {
        var operations = fuse_lowlevel_ops()
        operations.lookup = { request, _, _ in _ = unsafe fuse_reply_err(request, ENOENT) }
        operations.getattr = { request, node, _ in unsafe FloorServer.replyRoot(request, node) }
        let arguments = ["strata-floor", "-o", "fsname=strata-floor,subtype=strata-floor"]
        let copies: [UnsafeMutablePointer<CChar>?] = arguments.map { unsafe strdup($0) }
        defer { for copy in copies { unsafe free(copy) } }
        var vector = copies + [nil]
        let session: OpaquePointer? = unsafe vector.withUnsafeMutableBufferPointer { (pointers) in
            var fuseArguments = unsafe fuse_args(argc: Int32(arguments.count), argv: pointers.baseAddress, allocated: 0)
            defer { unsafe fuse_opt_free_args(&fuseArguments) }
            return unsafe cfuse_session_new(&fuseArguments, &operations, nil)
        }
        guard let session else { throw StrataError(.io, "libfuse cannot create the floor session") }
        defer { unsafe fuse_session_destroy(session) }
        guard unsafe fuse_session_mount(session, mountPoint) == 0 else {
            throw StrataError(.io, "cannot mount the floor filesystem", path: FilePath(mountPoint))
        }
        defer { unsafe fuse_session_unmount(session) }
        guard unsafe fuse_set_signal_handlers(session) == 0 else {
            throw StrataError(.io, "cannot install the signal handlers")
        }
        defer { unsafe fuse_remove_signal_handlers(session) }
        ready()
        _ = unsafe fuse_session_loop(session)
    }

    /// GETATTR of the root (the only node): an empty directory owned by the server's user.
    private static func replyRoot(_ request: fuse_req_t?, _ node: fuse_ino_t) {
        guard node == FUSE_ROOT_ID else {
            _ = unsafe fuse_reply_err(request, ENOENT)
            return
        }
        var status = Glibc.stat()
        unsafe cfuse_fill_stat(
            &status, 1, S_IFDIR | 0o755, 2, getuid(), getgid(), 0, 0, 4096, 0, 0, 0, 0, 0, 0, 0)
        _ = unsafe fuse_reply_attr(request, &status, 0)
    }
}
