import Strata

/// What the workloads run against: the merged view of one backend, as plain syscalls on a mount point
/// (`PathTarget`) or as calls of the in-process API (`UnionTarget`). Paths are relative to the root
/// of the view. Every call is one operation a program would make; errors are the `Errno` it would see.
protocol Target: AnyObject {
    /// `lstat`: the attributes, or nil for `ENOENT`.
    func status(_ path: String) throws(Errno) -> FileStatus?
    /// Names and whether each is a directory: `opendir`, `getdents64` to the end, `closedir`.
    func list(_ path: String) throws(Errno) -> [(name: String, isDirectory: Bool)]
    /// `open(O_RDONLY)`, one `read` of up to 4 KiB, `close`.
    func readSmall(_ path: String) throws(Errno)
    /// `open(O_WRONLY|O_CREAT|O_EXCL)`, `write`, `close`.
    func create(_ path: String, _ bytes: [UInt8]) throws(Errno)
    func unlink(_ path: String) throws(Errno)
    func removeDirectory(_ path: String) throws(Errno)
    func chmod(_ path: String, _ mode: UInt32) throws(Errno)
    /// `rename(2)` (renameat2 without flags).
    func rename(_ path: String, to newPath: String) throws(Errno)
    /// `open(O_WRONLY|O_APPEND)`, `write`, `close`: a data copy-up of a lower file.
    func append(_ path: String, _ bytes: [UInt8]) throws(Errno)
    /// `open(O_WRONLY)`, `pwrite` at `offset`, `close`.
    func overwrite(_ path: String, _ bytes: [UInt8], at offset: Int64) throws(Errno)
}

extension Target {
    /// `ls -lR`: lists every directory under `path` and `lstat`s every entry. Returns the entries seen.
    @discardableResult
    func walk(_ path: String) throws(Errno) -> Int {
        var seen = 0
        for entry in try list(path) {
            let child = "\(path)/\(entry.name)"
            guard let status = try status(child) else { throw Errno.noSuchFileOrDirectory }
            seen += 1
            if status.kind == .directory { seen += try walk(child) }
        }
        return seen
    }

    /// `rm -rf`: lists each directory, unlinks its files, recurses into its subdirectories, then
    /// removes it (as `rm` does with `d_type`, without a `stat` per entry).
    func removeTree(_ path: String) throws(Errno) {
        for entry in try list(path) {
            let child = "\(path)/\(entry.name)"
            if entry.isDirectory {
                try removeTree(child)
            } else {
                try unlink(child)
            }
        }
        try removeDirectory(path)
    }
}
