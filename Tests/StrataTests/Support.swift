import Glibc
import Strata
import StrataTestSupport
import Testing

/// A fixture materialised once and opened as an in-process union.
struct Stack {
    let directory: TemporaryDirectory
    let layers: BuiltLayers
    let union: UnionFileSystem

    init(
        _ fixture: LayerFixture, format: WhiteoutFormat = .overlay, readOnly: Bool = false,
        durability: Durability = .synchronous
    ) throws {
        directory = try TemporaryDirectory(prefix: "strata-unit")
        layers = try fixture.build(in: directory.path)
        union = try UnionFileSystem(
            UnionConfiguration(
                lowers: layers.lowers.map { FilePath($0) },
                upper: readOnly ? nil : FilePath(layers.upper),
                work: readOnly ? nil : FilePath(layers.work),
                whiteoutFormat: format, durability: durability))
    }

    /// A second union over the same layers, as after a restart (close `union` first).
    func reopen(format: WhiteoutFormat = .overlay) throws -> UnionFileSystem {
        try UnionFileSystem(UnionConfiguration(
            lowers: layers.lowers.map { FilePath($0) }, upper: FilePath(layers.upper), work: FilePath(layers.work),
            whiteoutFormat: format))
    }

    /// lstat of a path inside the upper directory itself (nil when absent).
    func upperStatus(_ path: String) -> FileStatus? {
        guard let root = try? openDirectory(layers.upper) else { return nil }
        defer { try? root.close() }
        return try? root.status(at: path)
    }

    /// An extended attribute of an upper-directory entry, read raw.
    func upperAttribute(_ name: String, of path: String) -> String? {
        guard let root = try? openDirectory(layers.upper) else { return nil }
        defer { try? root.close() }
        return (try? root.extendedAttribute(name, at: path)).map { String(decoding: $0, as: UTF8.self) }
    }

    func names(_ path: FilePath) throws -> [String] {
        try union.contentsOfDirectory(path).map(\.name).sorted()
    }

    func read(_ path: FilePath) throws -> String {
        let file = try union.open(path, .readOnly)
        defer { file.close() }
        return String(decoding: try file.read(count: 1 << 20, at: 0), as: UTF8.self)
    }

    func write(_ path: FilePath, _ text: String, options: FileDescriptor.OpenOptions = [.create, .truncate]) throws {
        let file = try union.open(path, .writeOnly, options: options)
        defer { file.close() }
        try file.write(Array(text.utf8), at: 0)
    }

    func close() {
        union.close()
        try? directory.remove()
    }
}

/// The errno a throwing call fails with, or nil when it succeeds.
func failure(_ body: () throws -> Void) -> Errno? {
    do {
        try body()
        return nil
    } catch let error as Errno {
        return error
    } catch {
        Issue.record("expected an Errno, got \(error)")
        return Errno(rawValue: -1)
    }
}
