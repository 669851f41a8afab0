import Glibc
import Strata

/// A merged view reached through the kernel: a mount point (kernel overlayfs, any FUSE server) or a
/// plain directory. Each call is the syscall a program would make on the absolute path.
final class PathTarget: Target {
    let root: String
    private let here = FileDescriptor.currentWorkingDirectory

    init(root: String) {
        self.root = root
    }

    private func absolute(_ path: String) -> String { "\(root)/\(path)" }

    func status(_ path: String) throws(Errno) -> FileStatus? {
        do {
            return try here.status(at: absolute(path))
        } catch .noSuchFileOrDirectory {
            return nil
        }
    }

    func list(_ path: String) throws(Errno) -> [(name: String, isDirectory: Bool)] {
        let directory = try here.open(at: absolute(path), flags: O_RDONLY | O_DIRECTORY)
        defer { try? directory.close() }
        return try directory.readDirectoryRecords().map { ($0.name, $0.type == UInt8(DT_DIR)) }
    }

    func readSmall(_ path: String) throws(Errno) {
        let file = try here.open(at: absolute(path), flags: O_RDONLY)
        defer { try? file.close() }
        _ = try file.read(count: 4_096, at: 0)
    }

    func create(_ path: String, _ bytes: [UInt8]) throws(Errno) {
        let file = try here.open(at: absolute(path), flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
        defer { try? file.close() }
        _ = try file.write(bytes, at: 0)
    }

    func unlink(_ path: String) throws(Errno) {
        try here.remove(at: absolute(path))
    }

    func removeDirectory(_ path: String) throws(Errno) {
        try here.remove(at: absolute(path), directory: true)
    }

    func chmod(_ path: String, _ mode: UInt32) throws(Errno) {
        try here.setPermissions(at: absolute(path), mode)
    }

    func rename(_ path: String, to newPath: String) throws(Errno) {
        try here.rename(absolute(path), to: here, as: absolute(newPath))
    }

    func append(_ path: String, _ bytes: [UInt8]) throws(Errno) {
        let file = try here.open(at: absolute(path), flags: O_WRONLY | O_APPEND)
        defer { try? file.close() }
        _ = try file.append(bytes)
    }

    func overwrite(_ path: String, _ bytes: [UInt8], at offset: Int64) throws(Errno) {
        let file = try here.open(at: absolute(path), flags: O_WRONLY)
        defer { try? file.close() }
        _ = try file.write(bytes, at: offset)
    }
}
