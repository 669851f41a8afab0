import Glibc

/// The writable layer: its root and the work directory where copy-ups are built.
///
/// The work directory follows the kernel's layout: temporary objects live in `WORK/work`, which the
/// kernel also empties when it mounts, so the same upper and work pair can be handed to
/// `mount -t overlay` afterwards. Strata's hard-link index lives in `WORK/strata-index`.
struct UpperLayer: Sendable {
    let path: FilePath
    let root: FileDescriptor
    let device: UInt64
    let workPath: FilePath
    /// The work directory, opened for reading and held with an exclusive `flock` while the union is open.
    let work: FileDescriptor
    /// `WORK/work`: temporaries that become visible only by an atomic rename.
    let temporaries: FileDescriptor
    /// `WORK/strata-index`: one entry per copied-up lower hard-link group, named by its origin.
    let index: FileDescriptor
    let whiteouts: SharedWhiteout
    /// The owner an object made in `temporaries` gets: this process's user, and its group unless the
    /// directory is set-group-ID. A copy-up whose source has this owner needs no `chown`.
    let temporaryOwner: (user: UInt32, group: UInt32)
    /// Descriptors of upper directories by node (see `DirectoryCache`).
    let directories = DirectoryCache<NodeID>()

    static let temporariesName = "work"
    /// `ST_RDONLY` of `statvfs(3)`.
    static let readOnlyMountFlag: UInt64 = 1
    static let indexName = "strata-index"

    /// Opens and locks the work directory, then removes what an interrupted copy-up left behind.
    ///
    /// Leftovers are never visible in the merged view (they only ever reach the upper by a rename),
    /// so deleting them loses nothing that was acknowledged.
    init(root: FileDescriptor, path: FilePath, workPath: FilePath) throws(StrataError) {
        self.root = root
        self.path = path
        self.workPath = workPath
        do {
            self.device = try root.status().device
        } catch {
            throw StrataError(.io, "cannot read the upper directory", path: path, errno: error)
        }
        // As the kernel's overlayfs: a read-only upper is refused at mount time, not with EROFS at the
        // first write (for a read-only union, give no upperdir).
        if let status = try? root.fileSystemStatus(), status.flags & Self.readOnlyMountFlag != 0 {
            throw StrataError(
                .invalidLayer,
                "the upper directory is on a read-only file system; make it writable, or give no upperdir and workdir for a read-only union",
                path: path, errno: .readOnlyFileSystem)
        }
        let work: FileDescriptor
        do {
            // flock needs a real open descriptor; an O_PATH one fails with EBADF.
            work = try openDirectory(workPath.string, pathOnly: false)
        } catch {
            throw StrataError(.io, "cannot open the work directory", path: workPath, errno: error)
        }
        do {
            try Self.lock(work)
        } catch {
            try? work.close()
            if error == .wouldBlock || error == .resourceTemporarilyUnavailable {
                throw StrataError(.busy, "the work directory is in use by another union", path: workPath)
            }
            throw StrataError(.io, "cannot lock the work directory", path: workPath, errno: error)
        }
        var temporaries: FileDescriptor?
        do {
            try RecursiveRemoval.removeIfPresent(Self.temporariesName, in: work)
            try work.createDirectory(at: Self.temporariesName, permissions: 0o700)
            // Everything is built in here: a default ACL it inherited from the work directory would become
            // an access ACL of every copy-up and whiteout (granting what the lower file did not). The
            // kernel's overlay strips its work directory the same way.
            for name in [AccessControlList.defaultAttributeName, AccessControlList.attributeName] {
                do {
                    try work.removeExtendedAttribute(name, at: Self.temporariesName)
                } catch where error == .noData || error == .notSupported {
                }
            }
            let opened = try work.open(beneath: Self.temporariesName, flags: openPathDirectory)
            temporaries = opened
            do {
                try work.createDirectory(at: Self.indexName, permissions: 0o700)
            } catch where error == .fileExists {
            }
            self.index = try work.open(beneath: Self.indexName, flags: openPathDirectory)
            self.temporaries = opened
            self.whiteouts = SharedWhiteout(temporaries: opened)
            let status = try opened.status()
            self.temporaryOwner = (effectiveUserID, status.mode & 0o2000 != 0 ? status.group : effectiveGroupID)
        } catch {
            try? temporaries?.close()
            try? work.close()
            throw StrataError(.io, "cannot prepare the work directory", path: workPath, errno: error)
        }
        self.work = work
    }

    /// Takes the work directory's exclusive lock, retrying for about a second: a process that another
    /// thread is starting at this moment may hold a copy of a previous union's descriptor (and so its lock)
    /// between its fork and its exec.
    private static func lock(_ work: FileDescriptor) throws(Errno) {
        var attempt = 0
        while true {
            do {
                try work.lock(exclusive: true, wait: false)
                return
            } catch where (error == .wouldBlock || error == .resourceTemporarilyUnavailable) && attempt < 20 {
                attempt += 1
                usleep(50_000)
            }
        }
    }

    func close() {
        directories.close()
        try? temporaries.close()
        try? index.close()
        try? root.close()
        try? work.close()
    }
}
