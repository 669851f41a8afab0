import Strata
import StrataArchive
import StrataSystem
import SystemPackage

/// Writes tar layers from a union's merged view: the changes of a container (commit) or the whole
/// tree (export).
///
/// Output is deterministic: directories depth first, and within a directory the opaque marker first,
/// then whiteouts, then entries, each group sorted by name (order-dependent unpackers apply an opaque
/// marker when they meet it, so it must precede the directory's new children). Hard links inside the
/// layer stay hard links; `timestamp`, when set, replaces every modification time.
public struct LayerComposer {
    let union: UnionFileSystem
    let writer: TarWriter
    public var timestamp: TimeSpec?
    private var firstNameOfInode: [UInt64: String] = [:]
    public private(set) var entriesWritten = 0

    public init(union: UnionFileSystem, writer: TarWriter, timestamp: TimeSpec? = nil) {
        self.union = union
        self.writer = writer
        self.timestamp = timestamp
    }

    /// Writes the layer that turns the image into the container: `changes` computed against the image.
    public mutating func writeChanges(_ changes: ChangeSet) throws(StrataError) {
        // Paths as bytes (`NameKey`): two look-alike names are two entries.
        var entries: Set<NameKey> = []
        var whiteouts: Set<NameKey> = []
        let replaced = changes.replacedDirectories
        for change in changes.changes {
            let path = String(change.path.dropFirst())
            switch change.kind {
            case .deleted: whiteouts.insert(path)
            case .added, .changed: entries.insert(path)
            }
        }
        for directory in replaced {
            try collectTree(directory.string, into: &entries)
        }
        whiteouts = whiteouts.filter { path in !replaced.contains { Self.isInside(path.string, $0.string) } }
        for path in Array(entries) + Array(whiteouts) + Array(replaced) {
            var parent = Self.parent(of: path.string)
            while let current = parent, !current.isEmpty {
                entries.insert(current)
                parent = Self.parent(of: current)
            }
        }
        entries.remove(NameKey(""))
        try writeDirectory("", entries: entries, whiteouts: whiteouts, opaque: replaced)
    }

    /// Writes every entry of the merged view (a flattened image, like `docker export`).
    public mutating func writeTree() throws(StrataError) {
        var entries: Set<NameKey> = []
        try collectTree("", into: &entries)
        entries.remove(NameKey(""))
        try writeDirectory("", entries: entries, whiteouts: [], opaque: [])
    }

    private func collectTree(_ path: String, into entries: inout Set<NameKey>) throws(StrataError) {
        entries.insert(path)
        let children = try attempt(path) { () throws(Errno) in try union.contentsOfDirectory(FileName.path("/" + path)) }
        for child in children {
            let childPath = path.isEmpty ? child.name : path + "/" + child.name
            if child.kind == .directory {
                try collectTree(childPath, into: &entries)
            } else {
                entries.insert(childPath)
            }
        }
    }

    private mutating func writeDirectory(_ directory: String, entries: Set<NameKey>, whiteouts: Set<NameKey>, opaque: Set<NameKey>) throws(StrataError) {
        // Children by parent, once: a layer of many entries stays linear. In byte order, so that the
        // same tree gives the same layer.
        func byParent(_ paths: Set<NameKey>) -> [NameKey: [String]] {
            var result: [NameKey: [String]] = [:]
            for path in paths {
                guard let parent = Self.parent(of: path.string) else { continue }
                let name = path.string.utf8.dropFirst(parent.isEmpty ? 0 : parent.utf8.count + 1)
                result[parent, default: []].append(String(decoding: name, as: UTF8.self))
            }
            return result.mapValues { $0.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
        }
        try write(directory, entries: byParent(entries), whiteouts: byParent(whiteouts), opaque: opaque)
    }

    private mutating func write(
        _ directory: String, entries: [NameKey: [String]], whiteouts: [NameKey: [String]], opaque: Set<NameKey>
    ) throws(StrataError) {
        let prefix = directory.isEmpty ? "" : directory + "/"
        let time = timestamp ?? TimeSpec(seconds: 0)
        if opaque.contains(directory) {
            try write(ArchiveEntry(path: prefix + PrivateNames.opaqueMarker, kind: .regular, permissions: 0, modification: time))
        }
        for name in whiteouts[directory] ?? [] {
            try write(ArchiveEntry(path: prefix + PrivateNames.whiteoutPrefix + name, kind: .regular, permissions: 0, modification: time))
        }
        for name in entries[directory] ?? [] {
            let path = prefix + name
            if try writeEntry(path) { try write(path, entries: entries, whiteouts: whiteouts, opaque: opaque) }
        }
    }

    /// Writes one merged entry; returns whether it is a directory.
    private mutating func writeEntry(_ path: String) throws(StrataError) -> Bool {
        let location = try attempt(path) { () throws(Errno) in try FileName.path("/" + path) }
        let status = try attempt(path) { () throws(Errno) in try union.status(location) }
        guard let kind = status.kind else { return false }
        let names = try attempt(path) { () throws(Errno) in try union.extendedAttributeNames(of: location) }
        var attributes: [ArchiveEntry.ExtendedAttribute] = []
        for name in names.sorted() {
            let value = try attempt(path) { () throws(Errno) in try union.extendedAttribute(name, of: location) }
            attributes.append(.init(name: name, value: value))
        }
        var entry = ArchiveEntry(
            path: kind == .directory ? path + "/" : path, kind: .regular, permissions: status.permissions,
            userID: status.user, groupID: status.group, modification: timestamp ?? status.modificationTime,
            extendedAttributes: attributes)
        switch kind {
        case .directory: entry.kind = .directory
        case .symbolicLink:
            entry.kind = .symbolicLink
            entry.linkTarget = try attempt(path) { () throws(Errno) in try union.readLink(location) }
        case .characterDevice, .blockDevice:
            entry.kind = kind == .characterDevice ? .characterDevice : .blockDevice
            entry.device = status.specialDevice
        case .fifo: entry.kind = .fifo
        case .socket: return false
        case .regular:
            if status.linkCount > 1 {
                if let first = firstNameOfInode[status.inode] {
                    entry.kind = .hardLink
                    entry.linkTarget = first
                    entry.extendedAttributes = []
                    try write(entry)
                    return false
                }
                firstNameOfInode[status.inode] = path
            }
            entry.size = status.size
            let file = try attempt(path) { () throws(Errno) in try union.open(location, .readOnly) }
            defer { file.close() }
            try wrap(path) { () throws(ArchiveError) in
                try writer.append(entry) { (offset, count) throws(ArchiveError) -> [UInt8] in
                    do throws(Errno) {
                        return try file.read(count: count, at: offset)
                    } catch {
                        throw ArchiveError("reading '/\(path)'", errno: error)
                    }
                }
            }
            entriesWritten += 1
            return false
        }
        try write(entry)
        return kind == .directory
    }

    private mutating func write(_ entry: ArchiveEntry) throws(StrataError) {
        try wrap(entry.path) { () throws(ArchiveError) in try writer.append(entry) }
        entriesWritten += 1
    }

    private func wrap(_ path: String, _ body: () throws(ArchiveError) -> Void) throws(StrataError) {
        do {
            try body()
        } catch {
            throw StrataError(.io, "writing the layer entry '/\(path)': \(error.message)", errno: error.errno)
        }
    }

    private func attempt<T>(_ path: String, _ body: () throws(Errno) -> T) throws(StrataError) -> T {
        try StrataError.io("reading '/\(path)' from the union", body)
    }

    /// The parent of a relative path, found at its last `/` byte (a `/` followed by a combining accent
    /// is one Character, and still a separator).
    static func parent(of path: String) -> String? {
        guard !path.isEmpty else { return nil }
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(decoding: path.utf8[..<slash], as: UTF8.self)
    }

    static func isInside(_ path: String, _ directory: String) -> Bool {
        directory.isEmpty ? !path.isEmpty : path.utf8.starts(with: (directory + "/").utf8)
    }
}
