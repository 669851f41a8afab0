import Glibc
import Strata
import SystemPackage

/// Runs operations through Strata's in-process path API (`UnionFileSystem`).
public final class StrataBackend: Backend {
    public let name: String
    public let fileSystem: UnionFileSystem
    public let upperDirectory: String
    private var finished = false

    public init(layers: BuiltLayers, whiteoutFormat: WhiteoutFormat = .overlay, durability: Durability = .synchronous,
                name: String = "strata") throws(HarnessError) {
        let configuration = UnionConfiguration(lowers: layers.lowers.map { FilePath($0) }, upper: FilePath(layers.upper),
                                               work: FilePath(layers.work), whiteoutFormat: whiteoutFormat, durability: durability)
        do {
            fileSystem = try UnionFileSystem(configuration)
        } catch {
            throw HarnessError("UnionFileSystem(\(configuration)): \(error)")
        }
        upperDirectory = layers.upper
        self.name = name
    }

    /// A factory opening each fixture copy with `UnionFileSystem`.
    public static func factory(durability: Durability = .synchronous, name: String = "strata") -> BackendFactory {
        BackendFactory(name: name) { layers, _ throws(HarnessError) in
            try StrataBackend(layers: layers, durability: durability, name: name)
        }
    }

    public func mergedSnapshot() throws(HarnessError) -> TreeSnapshot {
        try TreeSnapshot.union(fileSystem)
    }

    public func finish() throws(HarnessError) {
        guard !finished else { return }
        finished = true
        fileSystem.close()
    }

    deinit {
        if !finished { fileSystem.close() }
    }

    static func filePath(_ path: String) -> FilePath {
        FilePath(path.isEmpty ? "/" : path)
    }

    public func perform(_ operation: Operation) -> Outcome {
        do throws(Errno) {
            return try run(operation)
        } catch {
            return .failure(errno: error.rawValue)
        }
    }

    private func isFifo(_ path: String) -> Bool {
        (try? fileSystem.status(Self.filePath(path)).kind) == .fifo
    }

    private func run(_ operation: Operation) throws(Errno) -> Outcome {
        let fs = fileSystem
        let p = Self.filePath
        switch operation {
        case .create(let path, let flags, let mode):
            if !flags.contains(.exclusive), isFifo(path) { return .skipped("fifo") }
            var options: FileDescriptor.OpenOptions = [.create]
            if flags.contains(.exclusive) { options.insert(.exclusiveCreate) }
            if flags.contains(.truncate) { options.insert(.truncate) }
            if flags.contains(.append) { options.insert(.append) }
            let file = try fs.open(p(path), .writeOnly, options: options, permissions: mode)
            file.close()
            return .success
        case .write(let path, let offset, let data):
            if isFifo(path) { return .skipped("fifo") }
            let file = try fs.open(p(path), .writeOnly)
            defer { file.close() }
            _ = try file.write(Array(data.utf8), at: offset)
            return .success
        case .append(let path, let data):
            if isFifo(path) { return .skipped("fifo") }
            let file = try fs.open(p(path), .writeOnly, options: [.append])
            defer { file.close() }
            _ = try file.write(Array(data.utf8), at: 0)
            return .success
        case .truncate(let path, let size):
            if isFifo(path) { return .skipped("fifo") }
            try fs.truncate(p(path), to: size)
            return .success
        case .chmod(let path, let mode):
            try fs.setPermissions(p(path), mode)
            return .success
        case .chown(let path, let uid, let gid):
            try fs.setOwner(p(path), user: uid, group: gid)
            return .success
        case .utimens(let path, let access, let modification):
            try fs.setTimes(p(path), access: Self.timeSpec(access), modification: Self.timeSpec(modification))
            return .success
        case .setxattr(let path, let name, let value, let mode):
            let flags: XAttrFlags
            switch mode {
            case .either: flags = []
            case .create: flags = .create
            case .replace: flags = .replace
            }
            try fs.setExtendedAttribute(name, of: p(path), to: Array(value.utf8), flags: flags)
            return .success
        case .removexattr(let path, let name):
            try fs.removeExtendedAttribute(name, of: p(path))
            return .success
        case .unlink(let path):
            try fs.removeFile(p(path))
            return .success
        case .mkdir(let path, let mode):
            try fs.makeDirectory(p(path), permissions: mode)
            return .success
        case .rmdir(let path):
            try fs.removeDirectory(p(path))
            return .success
        case .rename(let source, let destination, let mode):
            let flags: RenameFlags
            switch mode {
            case .plain: flags = []
            case .noReplace: flags = .noReplace
            case .exchange: flags = .exchange
            }
            try fs.rename(p(source), to: p(destination), flags: flags)
            return .success
        case .link(let existing, let new):
            try fs.makeHardLink(p(new), to: p(existing))
            return .success
        case .symlink(let path, let target):
            try fs.makeSymbolicLink(p(path), target: target)
            return .success
        case .mkfifo(let path, let mode):
            try fs.makeNode(p(path), mode: UInt32(S_IFIFO) | (mode & 0o7777))
            return .success
        case .read(let path):
            if isFifo(path) { return .skipped("fifo") }
            let file = try fs.open(p(path), .readOnly)
            defer { file.close() }
            return .bytes(try Self.readAll(file))
        case .stat(let path):
            return .status(try Self.entry(fs, p(path), withContent: false))
        case .list(let path):
            let entries = try fs.contentsOfDirectory(p(path))
            return .listing(entries.map { ListingEntry(name: $0.name, kind: EntryKind($0.kind)) }.sorted { $0.name < $1.name })
        }
    }

    static func readAll(_ file: UnionFile) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try file.read(count: 65536, at: Int64(bytes.count))
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    static func timeSpec(_ value: TimeValue) -> TimeSpec {
        switch value {
        case .seconds(let seconds, let nanoseconds): return TimeSpec(seconds: seconds, nanoseconds: nanoseconds)
        case .now: return .now
        case .omit: return .omit
        }
    }

    /// The snapshot entry of one merged path, read through the API.
    static func entry(_ fs: UnionFileSystem, _ path: FilePath, withContent: Bool) throws(Errno) -> SnapshotEntry {
        let status = try fs.status(path)
        var xattrs: [String: [UInt8]] = [:]
        for name in try fs.extendedAttributeNames(of: path) {
            do throws(Errno) {
                xattrs[name] = try fs.extendedAttribute(name, of: path)
            } catch where error == .noData {
                continue
            }
        }
        var entry = SnapshotEntry(mode: status.mode, uid: status.user, gid: status.group, size: status.size,
                                  rdev: status.specialDevice, linkCount: status.linkCount,
                                  mtimeSeconds: status.modificationTime.seconds, mtimeNanoseconds: status.modificationTime.nanoseconds,
                                  xattrs: xattrs)
        switch entry.kind {
        case .regular where withContent:
            let file = try fs.open(path, .readOnly)
            defer { file.close() }
            entry.content = ContentDigest(try readAll(file))
        case .symlink:
            entry.symlinkTarget = try fs.readLink(path)
        default:
            break
        }
        return entry
    }
}

extension EntryKind {
    init(_ kind: FileKind) {
        switch kind {
        case .regular: self = .regular
        case .directory: self = .directory
        case .symbolicLink: self = .symlink
        case .characterDevice: self = .characterDevice
        case .blockDevice: self = .blockDevice
        case .fifo: self = .fifo
        case .socket: self = .socket
        }
    }
}

extension TreeSnapshot {
    /// Walks a `UnionFileSystem` through its public API (status, contentsOfDirectory, readLink, open/read,
    /// extendedAttributeNames/extendedAttribute) into the same model as `directory(_:xattrs:)`.
    public static func union(_ fs: UnionFileSystem) throws(HarnessError) -> TreeSnapshot {
        var snapshot = TreeSnapshot()
        try walkUnion(fs, relative: "", into: &snapshot)
        return snapshot
    }

    private static func walkUnion(_ fs: UnionFileSystem, relative: String, into snapshot: inout TreeSnapshot) throws(HarnessError) {
        let path = StrataBackend.filePath(relative)
        let entry: SnapshotEntry
        do throws(Errno) {
            entry = try StrataBackend.entry(fs, path, withContent: true)
        } catch {
            if relative.isEmpty { throw HarnessError("strata: reading the root failed", errno: error.rawValue) }
            // Listed but unreadable: an engine inconsistency, recorded as a difference, not a harness failure.
            snapshot.entries[relative] = .unreadable(ErrnoName.of(error.rawValue))
            return
        }
        snapshot.entries[relative] = entry
        guard entry.kind == .directory else { return }
        let children: [DirectoryEntry]
        do throws(Errno) {
            children = try fs.contentsOfDirectory(path)
        } catch {
            snapshot.entries[relative]?.failure = "readdir: \(ErrnoName.of(error.rawValue))"
            return
        }
        for child in children.map(\.name).sorted() {
            try walkUnion(fs, relative: relative.isEmpty ? child : "\(relative)/\(child)", into: &snapshot)
        }
    }
}
