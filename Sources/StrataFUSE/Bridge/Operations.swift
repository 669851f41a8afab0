import CFuse3
import Glibc
import Strata

/// The `fuse_lowlevel_ops` table: one `@convention(c)` trampoline per FUSE opcode. Each recovers its
/// `FUSEServer` from the session's userdata, calls the node API of `UnionFileSystem` and replies; a
/// failure replies the `Errno` the engine threw (the kernel's overlayfs would return the same).
///
/// FUSE node IDs are Strata's `NodeID`s (root = 1 = `FUSE_ROOT_ID`); the `st_ino` in every reply is the
/// union's inode number, so `stat` and `readdir` show the numbers the in-process API shows.
enum Operations {
    static var table: fuse_lowlevel_ops {
        var operations = fuse_lowlevel_ops()
        operations.`init` = { userdata, connection in unsafe Operations.initialize(userdata, connection) }
        operations.lookup = { request, parent, name in unsafe Operations.lookup(request, parent, name) }
        operations.forget = { request, node, count in unsafe Operations.forget(request, node, count) }
        operations.forget_multi = { request, count, forgets in unsafe Operations.forgetMany(request, count, forgets) }
        operations.getattr = { request, node, _ in unsafe Operations.getAttributes(request, node) }
        operations.setattr = { request, node, attributes, toSet, info in
            unsafe Operations.setAttributes(request, node, attributes, toSet, info)
        }
        operations.readlink = { request, node in unsafe Operations.readLink(request, node) }
        operations.mknod = { request, parent, name, mode, device in
            unsafe Operations.makeNode(request, parent, name, mode, device)
        }
        operations.mkdir = { request, parent, name, mode in unsafe Operations.makeDirectory(request, parent, name, mode) }
        operations.unlink = { request, parent, name in unsafe Operations.remove(request, parent, name, directory: false) }
        operations.rmdir = { request, parent, name in unsafe Operations.remove(request, parent, name, directory: true) }
        operations.symlink = { request, target, parent, name in
            unsafe Operations.makeSymbolicLink(request, target, parent, name)
        }
        operations.rename = { request, parent, name, newParent, newName, flags in
            unsafe Operations.rename(request, parent, name, newParent, newName, flags)
        }
        operations.link = { request, node, newParent, newName in unsafe Operations.link(request, node, newParent, newName) }
        operations.open = { request, node, info in unsafe Operations.open(request, node, info) }
        operations.read = { request, node, size, offset, info in unsafe Operations.read(request, node, size, offset, info) }
        operations.write = { request, node, buffer, size, offset, info in
            unsafe Operations.write(request, node, buffer, size, offset, info)
        }
        // No FLUSH: the first one is answered ENOSYS by libfuse and the kernel stops sending it, which
        // saves a round trip per close (nothing is buffered here; the kernel still writes back its
        // dirty pages at close under writeback_cache).
        operations.release = { request, _, info in unsafe Operations.release(request, info) }
        operations.fsync = { request, node, dataOnly, info in unsafe Operations.synchronize(request, node, dataOnly, info) }
        operations.opendir = { request, node, info in unsafe Operations.openDirectory(request, node, info) }
        operations.readdir = { request, node, size, offset, info in
            unsafe Operations.readDirectory(request, node, size, offset, info, plus: false)
        }
        operations.readdirplus = { request, node, size, offset, info in
            unsafe Operations.readDirectory(request, node, size, offset, info, plus: true)
        }
        // No RELEASEDIR handler: a directory handle holds nothing (libfuse answers it).
        operations.fsyncdir = { request, _, _, _ in unsafe fuse_reply_err(request, 0) }
        operations.statfs = { request, _ in unsafe Operations.fileSystemStatus(request) }
        operations.setxattr = { request, node, name, value, size, flags in
            unsafe Operations.setExtendedAttribute(request, node, name, value, size, flags)
        }
        operations.getxattr = { request, node, name, size in unsafe Operations.extendedAttribute(request, node, name, size) }
        operations.listxattr = { request, node, size in unsafe Operations.extendedAttributeNames(request, node, size) }
        operations.removexattr = { request, node, name in unsafe Operations.removeExtendedAttribute(request, node, name) }
        operations.access = { request, node, _ in unsafe Operations.access(request, node) }
        operations.create = { request, parent, name, mode, info in unsafe Operations.create(request, parent, name, mode, info) }
        operations.fallocate = { request, node, mode, offset, length, info in
            unsafe Operations.allocate(request, node, mode, offset, length, info)
        }
        operations.copy_file_range = { request, sourceNode, sourceOffset, source, node, offset, target, length, flags in
            unsafe Operations.copyRange(request, sourceNode, source, sourceOffset, node, target, offset, length, flags)
        }
        operations.lseek = { request, node, offset, whence, info in unsafe Operations.seek(request, node, offset, whence, info) }
        operations.destroy = { _ in }
        return operations
    }

    // MARK: Plumbing

    private static func server(_ request: fuse_req_t?) -> FUSEServer {
        unsafe Unmanaged<FUSEServer>.fromOpaque(fuse_req_userdata(request)!).takeUnretainedValue()
    }

    /// A name from the kernel, in the lossless form of `FileName` (bytes that are not UTF-8 escaped).
    private static func string(_ text: UnsafePointer<CChar>?) -> String {
        unsafe text.map { unsafe FileName.decode(cString: $0) } ?? ""
    }

    private static func reply(_ request: fuse_req_t?, _ error: Errno) {
        _ = unsafe fuse_reply_err(request, error.rawValue)
    }

    private static func succeed(_ request: fuse_req_t?) {
        _ = unsafe fuse_reply_err(request, 0)
    }

    /// Runs `body`; a thrown `Errno` becomes the reply. Without `default_permissions` the engine checks
    /// the rights of the request's caller (uid, gid, supplementary groups) instead of the kernel.
    private static func serve(_ request: fuse_req_t?, _ body: (FUSEServer) throws(Errno) -> Void) {
        let server = unsafe server(request)
        let caller = server.options.defaultPermissions ? nil : unsafe credentials(request)
        RequestContext.$caller.withValue(caller) {
            do throws(Errno) {
                try body(server)
            } catch {
                unsafe reply(request, error)
            }
        }
    }

    /// The uid, gid and supplementary groups of the process that made `request`.
    private static func credentials(_ request: fuse_req_t?) -> Credentials? {
        guard let context = unsafe fuse_req_ctx(request)?.pointee else { return nil }
        var groups = [gid_t](repeating: 0, count: 64)
        let count = unsafe groups.withUnsafeMutableBufferPointer { buffer in
            unsafe fuse_req_getgroups(request, Int32(buffer.count), buffer.baseAddress)
        }
        let supplementary = count > 0 ? Array(groups.prefix(Int(min(count, 64)))) : []
        return Credentials(user: context.uid, group: context.gid, supplementaryGroups: supplementary)
    }

    static func stat(_ status: FileStatus) -> Glibc.stat {
        var result = Glibc.stat()
        unsafe cfuse_fill_stat(
            &result, status.inode, status.mode, status.linkCount, status.user, status.group, status.specialDevice,
            status.size, status.blockSize, status.blocks,
            status.accessTime.seconds, status.accessTime.nanoseconds,
            status.modificationTime.seconds, status.modificationTime.nanoseconds,
            status.changeTime.seconds, status.changeTime.nanoseconds)
        return result
    }

    private static func entry(_ server: FUSEServer, _ node: NodeID?, _ status: FileStatus?) -> fuse_entry_param {
        var entry = fuse_entry_param()
        entry.ino = node?.rawValue ?? 0
        entry.generation = 0
        if let status { entry.attr = stat(status) }
        entry.attr_timeout = server.options.attributeTimeout
        entry.entry_timeout = server.options.entryTimeout
        return entry
    }

    private static func replyEntry(_ request: fuse_req_t?, _ server: FUSEServer, _ node: NodeID, _ status: FileStatus) {
        var parameters = entry(server, node, status)
        if unsafe fuse_reply_entry(request, &parameters) != 0 {
            // The request was interrupted: the kernel will not count this reference.
            server.union.forget(node, count: 1)
        }
    }

    /// The owner of an object a caller creates: the caller's user and group (the parent's group under a
    /// set-group-ID parent), or nil for the engine's default when the caller is this process's user.
    private static func owner(_ request: fuse_req_t?, _ server: FUSEServer, parent: NodeID) -> Ownership? {
        guard let context = unsafe fuse_req_ctx(request)?.pointee else { return nil }
        if context.uid == server.processUser && context.gid == server.processGroup { return nil }
        var group = context.gid
        if let status = try? server.union.attributes(of: parent), status.mode & 0o2000 != 0 {
            group = status.group
        }
        return Ownership(user: context.uid, group: group)
    }

    /// The flags of the server's own descriptor for a client's open. Never `O_DIRECT`: the kernel's FUSE
    /// client already bypasses its page cache for such an open, and the data of a `WRITE` sits in
    /// libfuse's buffer at no alignment `O_DIRECT` accepts (every write failed with `EINVAL`). With the
    /// writeback cache the kernel reads pages of files opened write-only and appends by itself:
    /// descriptors are opened read-write and without O_APPEND then (as libfuse's passthrough examples do).
    private static func openFlags(_ server: FUSEServer, _ flags: Int32) -> Int32 {
        let flags = flags & ~cfuse_O_DIRECT
        guard server.options.writebackCache else { return flags }
        var adjusted = flags & ~O_APPEND
        if adjusted & O_ACCMODE == O_WRONLY { adjusted = (adjusted & ~O_ACCMODE) | O_RDWR }
        return adjusted
    }

    /// The descriptor a file request works on: its handle's, or — for a file the kernel opened without
    /// an `OPEN` (handle 0) — the node's data file, kept alive by `DataFile` for the request's duration.
    /// `writing` brings the data up first (the copy-up an open for writing would have made).
    private static func withDescriptor<Result>(
        _ server: FUSEServer, _ node: fuse_ino_t, _ info: UnsafeMutablePointer<fuse_file_info>?, writing: Bool,
        _ body: (FileDescriptor) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        let handle = unsafe info?.pointee.fh ?? 0
        if handle != 0 {
            guard let descriptor = server.files.descriptor(handle) else { throw Errno.badFileDescriptor }
            return try body(descriptor)
        }
        let (file, copiedUp) = try server.union.dataFile(of: NodeID(rawValue: node), writing: writing)
        // A metadata-only copy filled in place has new times the kernel's attribute cache does not know.
        if copiedUp { server.invalidateAttributes(of: node) }
        return try withExtendedLifetime(file) { () throws(Errno) -> Result in try body(file.descriptor) }
    }

    // MARK: Session

    /// Serves FUSE `INIT`: asks for the kernel features that are safe for a union (see docs/semantics.md).
    static func initialize(_ userdata: UnsafeMutableRawPointer?, _ connection: UnsafeMutablePointer<fuse_conn_info>?) {
        guard let connection = unsafe connection else { return }
        func want(_ capability: Int32) {
            let bit = UInt32(bitPattern: capability)
            if unsafe connection.pointee.capable & bit != 0 { unsafe connection.pointee.want |= bit }
        }
        // Reads are answered from descriptors: splice them. Directory operations may arrive in parallel
        // (the engine serialises what must be). Readdirplus saves a lookup per entry of a listing.
        want(FUSE_CAP_SPLICE_WRITE)
        want(FUSE_CAP_SPLICE_MOVE)
        want(FUSE_CAP_READDIRPLUS)
        want(FUSE_CAP_READDIRPLUS_AUTO)
        want(FUSE_CAP_PARALLEL_DIROPS)
        want(FUSE_CAP_ASYNC_READ)
        unsafe connection.pointee.max_write = 1 << 20
        unsafe connection.pointee.max_readahead = 1 << 20
        unsafe connection.pointee.time_gran = 1
        guard let userdata = unsafe userdata else { return }
        let server = unsafe Unmanaged<FUSEServer>.fromOpaque(userdata).takeUnretainedValue()
        // With writeback_cache (an option) the kernel buffers writes; see `openFlags`.
        if server.options.writebackCache { want(FUSE_CAP_WRITEBACK_CACHE) }
        // POSIX ACLs: the kernel reads them with GETXATTR, caches them by node and applies them in its
        // permission checks (it drops them after a SETATTR or a SETXATTR of one); the upper file system
        // keeps them and the mode bits in step, as for any process.
        // With them, a new object under a directory with a default ACL inherits that ACL and the caller's
        // umask does not apply, as in the kernel's overlay: the kernel leaves the mode unmasked
        // (FUSE_DONT_MASK) and the upper file system, creating under the caller's umask, decides.
        if server.options.posixACL && server.options.defaultPermissions {
            want(FUSE_CAP_POSIX_ACL)
            want(FUSE_CAP_DONT_MASK)
            let granted = UInt32(bitPattern: FUSE_CAP_DONT_MASK)
            server.appliesCallerUmask.store(unsafe connection.pointee.want & granted != 0, ordering: .relaxed)
        }
        // Directories without OPENDIR when the kernel allows it and checks permissions itself (without
        // default_permissions, OPENDIR is where the caller's right to list is checked).
        let capable = unsafe connection.pointee.capable
        if server.options.defaultPermissions && capable & UInt32(bitPattern: FUSE_CAP_NO_OPENDIR_SUPPORT) != 0 {
            server.listsWithoutOpening.store(true, ordering: .relaxed)
        }
        // A process may hold a removed file open: its attributes (fstat, ftruncate) and, without OPEN,
        // its data are served from what the union keeps of it until the kernel forgets the node.
        server.union.keepsDataOfRemovedFiles = true
        // Regular files without OPEN too, unless copy-up is wanted at open (the server must see opens then).
        if server.options.defaultPermissions && server.options.copyUp == .write
            && capable & UInt32(bitPattern: FUSE_CAP_NO_OPEN_SUPPORT) != 0
        {
            server.filesWithoutOpening.store(true, ordering: .relaxed)
            // libfuse asks for atomic O_TRUNC by default: the truncation then rides on the OPEN, and
            // without OPEN the kernel would drop it. Without it the kernel sends a SETATTR of size 0.
            unsafe connection.pointee.want &= ~UInt32(bitPattern: FUSE_CAP_ATOMIC_O_TRUNC)
        }
    }

    // MARK: Names

    static func lookup(_ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?) {
        let server = unsafe server(request)
        let caller = server.options.defaultPermissions ? nil : unsafe credentials(request)
        do {
            let (node, status) = try server.union.lookup(
                unsafe string(name), in: NodeID(rawValue: parent), as: caller)
            unsafe replyEntry(request, server, node, status)
        } catch where error == .noSuchFileOrDirectory && server.options.entryTimeout > 0 {
            // A negative entry: the kernel remembers the absence for the entry timeout.
            var parameters = entry(server, nil, nil)
            _ = unsafe fuse_reply_entry(request, &parameters)
        } catch {
            unsafe reply(request, error)
        }
    }

    static func forget(_ request: fuse_req_t?, _ node: fuse_ino_t, _ count: UInt64) {
        unsafe server(request).union.forget(NodeID(rawValue: node), count: count)
        unsafe fuse_reply_none(request)
    }

    static func forgetMany(_ request: fuse_req_t?, _ count: Int, _ forgets: UnsafeMutablePointer<fuse_forget_data>?) {
        let union = unsafe server(request).union
        if let forgets = unsafe forgets {
            for item in unsafe UnsafeBufferPointer(start: forgets, count: count) {
                union.forget(NodeID(rawValue: item.ino), count: item.nlookup)
            }
        }
        unsafe fuse_reply_none(request)
    }

    static func getAttributes(_ request: fuse_req_t?, _ node: fuse_ino_t) {
        unsafe serve(request) { (server) throws(Errno) in
            var status = Self.stat(try server.union.attributes(of: NodeID(rawValue: node)))
            _ = unsafe fuse_reply_attr(request, &status, server.options.attributeTimeout)
        }
    }

    static func setAttributes(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ attributes: UnsafeMutablePointer<Glibc.stat>?, _ toSet: Int32,
        _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            guard let wanted = unsafe attributes?.pointee else { throw Errno.invalidArgument }
            var changes = AttributeChanges()
            if toSet & cfuse_SET_ATTR_MODE != 0 { changes.mode = wanted.st_mode & 0o7777 }
            if toSet & cfuse_SET_ATTR_UID != 0 { changes.user = wanted.st_uid }
            if toSet & cfuse_SET_ATTR_GID != 0 { changes.group = wanted.st_gid }
            if toSet & cfuse_SET_ATTR_SIZE != 0 { changes.size = Int64(wanted.st_size) }
            if toSet & cfuse_SET_ATTR_ATIME_NOW != 0 {
                changes.accessTime = .now
            } else if toSet & cfuse_SET_ATTR_ATIME != 0 {
                changes.accessTime = TimeSpec(seconds: Int64(wanted.st_atim.tv_sec), nanoseconds: Int64(wanted.st_atim.tv_nsec))
            }
            if toSet & cfuse_SET_ATTR_MTIME_NOW != 0 {
                changes.modificationTime = .now
            } else if toSet & cfuse_SET_ATTR_MTIME != 0 {
                changes.modificationTime = TimeSpec(seconds: Int64(wanted.st_mtim.tv_sec), nanoseconds: Int64(wanted.st_mtim.tv_nsec))
            }
            // One time without the other: the engine leaves a nil time alone (UTIME_OMIT).
            if changes.accessTime != nil || changes.modificationTime != nil {
                changes.accessTime = changes.accessTime ?? .omit
                changes.modificationTime = changes.modificationTime ?? .omit
            }
            var status = Self.stat(try server.union.setAttributes(of: NodeID(rawValue: node), changes))
            _ = unsafe fuse_reply_attr(request, &status, server.options.attributeTimeout)
        }
    }

    static func readLink(_ request: fuse_req_t?, _ node: fuse_ino_t) {
        unsafe serve(request) { (server) throws(Errno) in
            let target = try server.union.readLink(NodeID(rawValue: node))
            guard unsafe FileName.withCString(target, { unsafe fuse_reply_readlink(request, $0) }) != nil else {
                throw Errno.ioError
            }
        }
    }

    /// Runs a creation of `mode` under the caller's umask when the kernel left it to the server
    /// (`appliesCallerUmask`): the thread's own umask is the caller's for the call, then 0 again, and
    /// the upper file system applies it or the parent's default ACL, as it does for the kernel's
    /// overlay. Where the thread cannot have a umask of its own, the mode is masked here instead.
    private static func underCallerUmask<Result>(
        _ request: fuse_req_t?, _ server: FUSEServer, mode: mode_t, _ body: (mode_t) throws(Errno) -> Result
    ) throws(Errno) -> Result {
        guard server.appliesCallerUmask.load(ordering: .relaxed), let mask = unsafe fuse_req_ctx(request)?.pointee.umask,
            mask != 0
        else { return try body(mode) }
        guard cfuse_set_thread_umask(mask) == 0 else { return try body(mode & ~mask) }
        defer { _ = cfuse_set_thread_umask(0) }
        let outcome = RequestContext.$umaskIsCallers.withValue(true) { () -> Swift.Result<Result, Errno> in
            do throws(Errno) { return .success(try body(mode)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }

    static func makeNode(
        _ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ mode: mode_t, _ device: dev_t
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            let parent = NodeID(rawValue: parent)
            let owner = unsafe owner(request, server, parent: parent)
            let (node, status) = try unsafe underCallerUmask(request, server, mode: mode) { (mode) throws(Errno) in
                try server.union.makeNode(unsafe string(name), in: parent, mode: mode, device: UInt64(device), owner: owner)
            }
            unsafe replyEntry(request, server, node, status)
        }
    }

    static func makeDirectory(_ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ mode: mode_t) {
        unsafe serve(request) { (server) throws(Errno) in
            let parent = NodeID(rawValue: parent)
            let owner = unsafe owner(request, server, parent: parent)
            let (node, status) = try unsafe underCallerUmask(request, server, mode: mode) { (mode) throws(Errno) in
                try server.union.makeDirectory(unsafe string(name), in: parent, permissions: mode & 0o7777, owner: owner)
            }
            unsafe replyEntry(request, server, node, status)
        }
    }

    static func makeSymbolicLink(
        _ request: fuse_req_t?, _ target: UnsafePointer<CChar>?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            let parent = NodeID(rawValue: parent)
            let (node, status) = try server.union.makeSymbolicLink(
                unsafe string(name), in: parent, target: unsafe string(target),
                owner: unsafe owner(request, server, parent: parent))
            unsafe replyEntry(request, server, node, status)
        }
    }

    static func remove(_ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?, directory: Bool) {
        unsafe serve(request) { (server) throws(Errno) in
            try server.union.remove(unsafe string(name), in: NodeID(rawValue: parent), directory: directory)
            unsafe succeed(request)
        }
    }

    static func rename(
        _ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ newParent: fuse_ino_t,
        _ newName: UnsafePointer<CChar>?, _ flags: UInt32
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            try server.union.rename(
                unsafe string(name), in: NodeID(rawValue: parent), to: unsafe string(newName), in: NodeID(rawValue: newParent),
                flags: RenameFlags(rawValue: flags))
            unsafe succeed(request)
        }
    }

    static func link(_ request: fuse_req_t?, _ node: fuse_ino_t, _ newParent: fuse_ino_t, _ newName: UnsafePointer<CChar>?) {
        unsafe serve(request) { (server) throws(Errno) in
            let node = NodeID(rawValue: node)
            let status = try server.union.link(node, to: NodeID(rawValue: newParent), as: unsafe string(newName))
            unsafe replyEntry(request, server, node, status)
        }
    }

    // MARK: Files

    static func open(_ request: fuse_req_t?, _ node: fuse_ino_t, _ info: UnsafeMutablePointer<fuse_file_info>?) {
        unsafe serve(request) { (server) throws(Errno) in
            // The kernel takes ENOSYS as "no OPEN needed": this open and every later one succeed without a
            // round trip (nor a RELEASE), with handle 0 and the page cache kept; requests then name nodes.
            if server.filesWithoutOpening.load(ordering: .relaxed) { throw Errno.noFunction }
            guard let info = unsafe info else { throw Errno.invalidArgument }
            let flags = unsafe info.pointee.flags
            let opened = try server.union.openFile(NodeID(rawValue: node), flags: openFlags(server, flags) | O_CLOEXEC)
            let descriptor = opened.descriptor
            let handle = server.files.insert(descriptor)
            unsafe info.pointee.fh = handle
            // Lower data never changes while mounted: the page cache may outlive this open. A write-open
            // copies the file up first and opens without keep_cache, which drops the cached pages.
            if opened.readsLowerLayer && flags & O_ACCMODE == O_RDONLY { unsafe info.pointee.keep_cache = 1 }
            if unsafe fuse_reply_open(request, info) != 0 {
                _ = server.files.remove(handle)
                try? descriptor.close()
            } else if opened.copiedUp {
                // A metadata-only upper file got its data in place: its mtime changed under the kernel's
                // attribute cache, which this open reply cannot update. Drop the cached attributes.
                server.invalidateAttributes(of: node)
            }
        }
    }

    static func create(
        _ request: fuse_req_t?, _ parent: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ mode: mode_t,
        _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            guard let info = unsafe info else { throw Errno.invalidArgument }
            let parent = NodeID(rawValue: parent)
            let flags = openFlags(server, unsafe info.pointee.flags) | O_CLOEXEC
            let owner = unsafe owner(request, server, parent: parent)
            let (node, status, descriptor) = try unsafe underCallerUmask(request, server, mode: mode) { (mode) throws(Errno) in
                try server.union.createFile(unsafe string(name), in: parent, flags: flags, permissions: mode & 0o7777, owner: owner)
            }
            let handle = server.files.insert(descriptor)
            unsafe info.pointee.fh = handle
            var parameters = entry(server, node, status)
            if unsafe fuse_reply_create(request, &parameters, info) != 0 {
                _ = server.files.remove(handle)
                try? descriptor.close()
                server.union.forget(node, count: 1)
            }
        }
    }

    /// Serves FUSE `READ` straight from the descriptor: libfuse splices it to the kernel when it can.
    static func read(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ size: Int, _ offset: off_t, _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            try unsafe withDescriptor(server, node, info, writing: false) { (descriptor) throws(Errno) in
                _ = unsafe cfuse_reply_fd_data(request, descriptor.rawValue, size, offset)
            }
        }
    }

    static func write(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ buffer: UnsafePointer<CChar>?, _ size: Int, _ offset: off_t,
        _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            let handle = unsafe info?.pointee.fh ?? 0
            let flags = unsafe info?.pointee.flags ?? 0
            let written = try unsafe withDescriptor(server, node, info, writing: true) { (descriptor) throws(Errno) -> Int in
                var written = 0
                while written < size {
                    let count = unsafe pwrite(
                        descriptor.rawValue, buffer.map { unsafe $0 + written }, size - written, offset + off_t(written))
                    if count < 0 {
                        if errno == EINTR { continue }
                        if written > 0 { break }
                        throw Errno(rawValue: errno)
                    }
                    if count == 0 { break }
                    written += count
                }
                // A file opened with O_SYNC/O_DSYNC without an OPEN: its descriptor here is not, so sync.
                if handle == 0 && flags & O_DSYNC != 0 {
                    if flags & O_SYNC == O_SYNC { try descriptor.synchronize() } else { try descriptor.synchronizeData() }
                }
                return written
            }
            _ = unsafe fuse_reply_write(request, written)
        }
    }

    static func release(_ request: fuse_req_t?, _ info: UnsafeMutablePointer<fuse_file_info>?) {
        let server = unsafe server(request)
        if let handle = unsafe info?.pointee.fh, let descriptor = server.files.remove(handle) {
            try? descriptor.close()
        }
        unsafe succeed(request)
    }

    static func synchronize(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ dataOnly: Int32, _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            try unsafe withDescriptor(server, node, info, writing: false) { (descriptor) throws(Errno) in
                if dataOnly != 0 { try descriptor.synchronizeData() } else { try descriptor.synchronize() }
            }
            unsafe succeed(request)
        }
    }

    static func allocate(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ mode: Int32, _ offset: off_t, _ length: off_t,
        _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            // Every mode (allocation, hole punching, zeroing) on the upper copy the handle writes to.
            try unsafe withDescriptor(server, node, info, writing: true) { (descriptor) throws(Errno) in
                try descriptor.allocate(mode: mode, offset: Int64(offset), length: Int64(length))
            }
            unsafe succeed(request)
        }
    }

    /// Serves FUSE `COPY_FILE_RANGE`: the copy runs between the two files' descriptors, so the upper
    /// filesystem can share extents or copy in the kernel; the kernel falls back to read/write on errors.
    static func copyRange(
        _ request: fuse_req_t?, _ sourceNode: fuse_ino_t, _ source: UnsafeMutablePointer<fuse_file_info>?,
        _ sourceOffset: off_t, _ node: fuse_ino_t, _ target: UnsafeMutablePointer<fuse_file_info>?, _ offset: off_t,
        _ length: Int, _ flags: Int32
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            guard flags == 0 else { throw Errno.invalidArgument }
            let copied = try unsafe withDescriptor(server, node, target, writing: true) { (output) throws(Errno) in
                try unsafe withDescriptor(server, sourceNode, source, writing: false) { (input) throws(Errno) in
                    try output.copyRange(
                        from: input, sourceOffset: Int64(sourceOffset), offset: Int64(offset), count: Int64(length))
                }
            }
            _ = unsafe fuse_reply_write(request, Int(copied))
        }
    }

    /// Serves FUSE `LSEEK` (`SEEK_DATA`/`SEEK_HOLE`; the kernel handles the other whences itself).
    static func seek(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ offset: off_t, _ whence: Int32,
        _ info: UnsafeMutablePointer<fuse_file_info>?
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            let result = try unsafe withDescriptor(server, node, info, writing: false) { (descriptor) throws(Errno) in
                // errno read here: releasing a data file after the body may overwrite it.
                let result = lseek(descriptor.rawValue, offset, whence)
                guard result >= 0 else { throw Errno(rawValue: errno) }
                return result
            }
            _ = unsafe fuse_reply_lseek(request, result)
        }
    }

    // MARK: Directories

    static func openDirectory(_ request: fuse_req_t?, _ node: fuse_ino_t, _ info: UnsafeMutablePointer<fuse_file_info>?) {
        unsafe serve(request) { (server) throws(Errno) in
            // The kernel takes ENOSYS as "no OPENDIR needed" and sends none again: a round trip less
            // per listing, and no RELEASEDIR.
            if server.listsWithoutOpening.load(ordering: .relaxed) { throw Errno.noFunction }
            guard let info = unsafe info else { throw Errno.invalidArgument }
            // The caller's right to list (without default_permissions); the listing itself is the
            // directory's, shared by its readers (`DirectoryListings`), so the handle carries nothing.
            try server.union.openDirectory(NodeID(rawValue: node))
            unsafe info.pointee.fh = 0
            // The kernel may keep the listing: every change to a directory reaches it through this
            // mount, and it drops its copy when the directory's version or mtime moved.
            unsafe info.pointee.cache_readdir = 1
            unsafe info.pointee.keep_cache = 1
            _ = unsafe fuse_reply_open(request, info)
        }
    }

    /// Serves FUSE `READDIR` and `READDIRPLUS` from the directory's listing (a new one at offset 0),
    /// resuming after the cookie `offset`. Each entry `READDIRPLUS` returns with attributes is a lookup
    /// the kernel will forget, as for `LOOKUP`; `.` and `..` go without.
    static func readDirectory(
        _ request: fuse_req_t?, _ directory: fuse_ino_t, _ size: Int, _ offset: off_t,
        _ info: UnsafeMutablePointer<fuse_file_info>?, plus: Bool
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            let directory = NodeID(rawValue: directory)
            let listing = try server.listings.listing(directory, fresh: offset == 0) { () throws(Errno) in
                DirectoryListing(try server.union.directorySnapshot(of: directory))
            }
            let entries = listing.entries
            var buffer = [CChar](repeating: 0, count: size)
            var used = 0
            var index = listing.index(after: UInt64(max(0, offset)))
            unsafe buffer.withUnsafeMutableBufferPointer { (bytes) in
                while index < entries.count {
                    let item = entries[index]
                    let next = off_t(listing.cookies[index])
                    let remaining = size - used
                    let needed: Int
                    if plus {
                        var parameters = entry(server, nil, nil)
                        var looked: NodeID?
                        if item.name != "." && item.name != "..",
                            let (node, status) = try? server.union.lookup(item.name, in: directory)
                        {
                            looked = node
                            parameters = entry(server, node, status)
                        } else {
                            parameters.attr.st_ino = UInt(item.inode)
                            parameters.attr.st_mode = Self.typeBits(item.kind)
                        }
                        // Listed names come from `FileName.decode`: their escapes are well formed.
                        needed = unsafe FileName.withCString(item.name) {
                            unsafe fuse_add_direntry_plus(request, bytes.baseAddress! + used, remaining, $0, &parameters, next)
                        } ?? 0
                        if needed > remaining, let looked {
                            server.union.forget(looked, count: 1)
                        }
                    } else {
                        var status = Glibc.stat()
                        status.st_ino = UInt(item.inode)
                        status.st_mode = Self.typeBits(item.kind)
                        needed = unsafe FileName.withCString(item.name) {
                            unsafe fuse_add_direntry(request, bytes.baseAddress! + used, remaining, $0, &status, next)
                        } ?? 0
                    }
                    if needed > remaining { break }
                    used += needed
                    index += 1
                }
            }
            // An empty reply at the end ends the listing: the kernel asks no further.
            if used == 0 && index >= entries.count { server.listings.finished(directory) }
            _ = unsafe fuse_reply_buf(request, buffer, used)
        }
    }

    static func typeBits(_ kind: FileKind) -> mode_t {
        switch kind {
        case .regular: S_IFREG
        case .directory: S_IFDIR
        case .symbolicLink: S_IFLNK
        case .characterDevice: S_IFCHR
        case .blockDevice: S_IFBLK
        case .fifo: S_IFIFO
        case .socket: S_IFSOCK
        }
    }

    // MARK: File system

    static func fileSystemStatus(_ request: fuse_req_t?) {
        unsafe serve(request) { (server) throws(Errno) in
            let status = try server.union.fileSystemStatus()
            var result = statvfs()
            result.f_bsize = UInt(status.blockSize)
            result.f_frsize = UInt(status.fragmentSize)
            result.f_blocks = fsblkcnt_t(status.blocks)
            result.f_bfree = fsblkcnt_t(status.freeBlocks)
            result.f_bavail = fsblkcnt_t(status.availableBlocks)
            result.f_files = fsfilcnt_t(status.files)
            result.f_ffree = fsfilcnt_t(status.freeFiles)
            result.f_favail = fsfilcnt_t(status.availableFiles)
            result.f_fsid = UInt(status.fileSystemID)
            result.f_flag = UInt(status.flags)
            result.f_namemax = UInt(status.maximumNameLength)
            _ = unsafe fuse_reply_statfs(request, &result)
        }
    }

    static func access(_ request: fuse_req_t?, _ node: fuse_ino_t) {
        // With default_permissions the kernel has checked already; without it every caller has the
        // mounting process's rights. Either way: the node must exist.
        unsafe serve(request) { (server) throws(Errno) in
            _ = try server.union.attributes(of: NodeID(rawValue: node))
            unsafe succeed(request)
        }
    }

    // MARK: Extended attributes

    static func setExtendedAttribute(
        _ request: fuse_req_t?, _ node: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?,
        _ size: Int, _ flags: Int32
    ) {
        unsafe serve(request) { (server) throws(Errno) in
            let bytes: [UInt8] = unsafe value.map { unsafe Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            try server.union.setExtendedAttribute(
                unsafe string(name), of: NodeID(rawValue: node), to: bytes, flags: XAttrFlags(rawValue: flags))
            unsafe succeed(request)
        }
    }

    static func extendedAttribute(_ request: fuse_req_t?, _ node: fuse_ino_t, _ name: UnsafePointer<CChar>?, _ size: Int) {
        unsafe serve(request) { (server) throws(Errno) in
            let value = try server.union.extendedAttribute(unsafe string(name), of: NodeID(rawValue: node))
            try unsafe replySized(request, value, size)
        }
    }

    static func extendedAttributeNames(_ request: fuse_req_t?, _ node: fuse_ino_t, _ size: Int) {
        unsafe serve(request) { (server) throws(Errno) in
            let names = try server.union.extendedAttributeNames(of: NodeID(rawValue: node))
            var list: [UInt8] = []
            for name in names { list += (FileName.bytes(of: name) ?? Array(name.utf8)) + [0] }
            try unsafe replySized(request, list, size)
        }
    }

    /// The xattr protocol: size 0 asks for the length, a too small buffer is `ERANGE`.
    private static func replySized(_ request: fuse_req_t?, _ bytes: [UInt8], _ size: Int) throws(Errno) {
        if size == 0 {
            _ = unsafe fuse_reply_xattr(request, bytes.count)
        } else if bytes.count > size {
            throw Errno.outOfRange
        } else {
            _ = unsafe bytes.withUnsafeBytes { unsafe fuse_reply_buf(request, $0.baseAddress, $0.count) }
        }
    }

    static func removeExtendedAttribute(_ request: fuse_req_t?, _ node: fuse_ino_t, _ name: UnsafePointer<CChar>?) {
        unsafe serve(request) { (server) throws(Errno) in
            try server.union.removeExtendedAttribute(unsafe string(name), of: NodeID(rawValue: node))
            unsafe succeed(request)
        }
    }
}
