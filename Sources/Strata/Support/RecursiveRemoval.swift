/// Removes a tree under a directory descriptor without ever following a symlink.
///
/// Used for the work directory's leftovers, for upper directories that held only markers, and by the
/// image layer store for partial layers.
/// Directories without write or search permission are made accessible first, so a copy-up that
/// crashed halfway through a mode-0555 directory can still be cleaned.
public enum RecursiveRemoval {
    public static func removeIfPresent(_ name: String, in parent: FileDescriptor) throws(Errno) {
        let status: FileStatus
        do {
            status = try parent.status(at: name)
        } catch where error == .noSuchFileOrDirectory {
            return
        }
        try remove(name, in: parent, status: status)
    }

    public static func remove(_ name: String, in parent: FileDescriptor, status: FileStatus) throws(Errno) {
        guard status.kind == .directory else {
            try parent.remove(at: name)
            return
        }
        if status.permissions & 0o700 != 0o700 {
            try parent.setPermissions(at: name, 0o700)
        }
        try removeContents(of: name, in: parent)
        try parent.remove(at: name, directory: true)
    }

    /// Empties the directory `name` inside `parent`, leaving the directory itself.
    public static func removeContents(of name: String, in parent: FileDescriptor) throws(Errno) {
        let directory = try parent.open(beneath: name, flags: openReadOnlyDirectory)
        defer { try? directory.close() }
        for record in try directory.readDirectoryRecords() {
            // A listed non-directory goes without a status read (a directory full of whiteouts is the
            // common case); only directories need one, for their permissions.
            if let kind = FileKind(directoryType: record.type), kind != .directory {
                do {
                    try directory.remove(at: record.name)
                    continue
                } catch where error == .isDirectory {
                    // Replaced by a directory since it was listed.
                }
            }
            let status = try directory.status(at: record.name)
            try remove(record.name, in: directory, status: status)
        }
    }
}
