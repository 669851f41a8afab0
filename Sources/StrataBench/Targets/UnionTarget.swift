import Strata

/// The in-process API: the same operations as calls on a `UnionFileSystem`, no kernel crossing.
final class UnionTarget: Target {
    let union: UnionFileSystem

    init(_ union: UnionFileSystem) {
        self.union = union
    }

    func status(_ path: String) throws(Errno) -> FileStatus? {
        do {
            return try union.status(FilePath(path))
        } catch .noSuchFileOrDirectory {
            return nil
        }
    }

    func list(_ path: String) throws(Errno) -> [(name: String, isDirectory: Bool)] {
        try union.contentsOfDirectory(FilePath(path)).map { ($0.name, $0.kind == .directory) }
    }

    func readSmall(_ path: String) throws(Errno) {
        let file = try union.open(FilePath(path), .readOnly)
        defer { file.close() }
        _ = try file.read(count: 4_096, at: 0)
    }

    func create(_ path: String, _ bytes: [UInt8]) throws(Errno) {
        let file = try union.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate])
        defer { file.close() }
        _ = try file.write(bytes, at: 0)
    }

    func unlink(_ path: String) throws(Errno) {
        try union.removeFile(FilePath(path))
    }

    func removeDirectory(_ path: String) throws(Errno) {
        try union.removeDirectory(FilePath(path))
    }

    func chmod(_ path: String, _ mode: UInt32) throws(Errno) {
        try union.setPermissions(FilePath(path), mode)
    }

    func rename(_ path: String, to newPath: String) throws(Errno) {
        try union.rename(FilePath(path), to: FilePath(newPath))
    }

    func append(_ path: String, _ bytes: [UInt8]) throws(Errno) {
        let file = try union.open(FilePath(path), .writeOnly, options: .append)
        defer { file.close() }
        _ = try file.write(bytes, at: 0)
    }

    func overwrite(_ path: String, _ bytes: [UInt8], at offset: Int64) throws(Errno) {
        let file = try union.open(FilePath(path), .writeOnly)
        defer { file.close() }
        _ = try file.write(bytes, at: offset)
    }
}
