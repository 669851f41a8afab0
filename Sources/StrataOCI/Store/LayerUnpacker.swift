import Foundation
import Strata
import StrataArchive
import StrataSystem
import SystemPackage

/// Unpacks one layer tar into an empty directory, following the OCI rules exactly.
///
/// - Whiteouts (`.wh.NAME`) and opaque markers (`.wh..wh..opq`) are collected while the stream is read
///   and applied at its end, so their position in the tar does not matter, and they never hide an entry
///   of the same layer (a whiteout over a directory of the same layer makes that directory opaque).
/// - They are stored in the union format `format` names: character device 0/0 and
///   `trusted.overlay.opaque` for `.overlay` (what the kernel's overlayfs and Strata's own mounts read
///   fastest), `.wh.` files for `.oci` (what an unprivileged user can create).
/// - Every path is resolved beneath the layer root with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`:
///   an entry written through a symbolic link, even one made earlier in the same layer, is refused, as
///   are `..`, absolute paths, hard links to anything but an earlier entry of the layer, whiteouts of
///   `.`/`..`, and private overlay xattrs (an image must not forge union markers).
/// - Owner, mode (set-ID and sticky bits included), times, xattrs (`security.capability` too), devices,
///   fifos and sparse files are kept. Directory times are set last, deepest first.
struct LayerUnpacker {
    /// An entry no sane layer has: a single file over 1 TiB or a path over PATH_MAX.
    static let sizeLimit: Int64 = 1 << 40
    static let pathLimit = 4096

    let root: FileDescriptor
    let format: WhiteoutFormat
    let privileged: Bool
    let layerName: String

    /// By path as bytes (`NameKey`): look-alike names are different entries.
    private(set) var created: [NameKey: ArchiveEntry.Kind] = [:]
    private(set) var implicitDirectories: Set<NameKey> = []
    private(set) var entryCount = 0
    private(set) var dataBytes: Int64 = 0
    private var whiteouts: [(path: [String], entry: String)] = []
    private var opaques: [(path: [String], entry: String)] = []
    private var directoryTimes: [(path: [String], time: TimeSpec)] = []

    /// The image's layers below this one, merged: where a directory this layer's tar never described takes
    /// its attributes from (as when the layer is applied onto its parent's tree), and where a write through
    /// a lower symbolic link is caught.
    let lowerView: UnionFileSystem?

    init(root: FileDescriptor, format: WhiteoutFormat, layerName: String, lowerView: UnionFileSystem? = nil) {
        self.root = root
        self.lowerView = lowerView
        self.format = format
        self.layerName = layerName
        privileged = geteuid() == 0
    }

    /// Reads every entry of `reader` into the root and applies the collected markers.
    mutating func unpack(_ reader: TarReader, progress: (Int64) -> Void) throws(StrataError) {
        while let entry = try read(reader) {
            entryCount += 1
            try place(entry, reader: reader)
            progress(reader.uncompressedSize)
        }
        do {
            try reader.finish()
        } catch {
            throw refuse("the layer stream is corrupt after its last entry: \(error)")
        }
        try applyMarkers()
        for (path, time) in directoryTimes.sorted(by: { $0.path.count > $1.path.count }) {
            try attempt("setting the times of '\(Self.join(path))'") { () throws(Errno) in
                try root.setTimes(at: path.isEmpty ? "" : Self.join(path), access: time, modification: time)
            }
        }
    }

    private func read(_ reader: TarReader) throws(StrataError) -> ArchiveEntry? {
        do {
            return try reader.nextEntry()
        } catch {
            throw refuse("the layer stream is corrupt or truncated: \(error)")
        }
    }

    // MARK: Entries

    private mutating func place(_ entry: ArchiveEntry, reader: TarReader) throws(StrataError) {
        let components = try Self.components(of: entry.path, in: layerName)
        guard let name = components.last else {
            guard entry.kind == .directory else {
                throw refuse("entry '\(entry.path)' would change the type of the layer root")
            }
            try applyMetadata(entry, parent: root, name: "", path: [])
            return
        }
        let parentPath = Array(components.dropLast())
        if FileName.starts(name, with: PrivateNames.whiteoutPrefix) {
            try collectMarker(entry, name: name, parent: parentPath)
            return
        }
        guard entry.size >= 0, entry.size <= Self.sizeLimit else {
            throw refuse("entry '\(entry.path)' claims an absurd size of \(entry.size) bytes")
        }
        let parent = try directory(parentPath, for: entry.path)
        defer { try? parent.close() }
        let path = Self.join(components)
        if let existing = try? parent.status(at: name) {
            if entry.kind == .directory, existing.kind == .directory {
                try applyMetadata(entry, parent: parent, name: name, path: components)
                created[path] = .directory
                return
            }
            try attempt("replacing '\(path)'") { () throws(Errno) in
                try RecursiveRemoval.remove(name, in: parent, status: existing)
            }
            created = created.filter { !($0.key == NameKey(path) || $0.key.string.utf8.starts(with: (path + "/").utf8)) }
        }
        switch entry.kind {
        case .regular:
            let file = try attempt("creating '\(path)'") { () throws(Errno) -> FileDescriptor in
                try parent.open(at: name, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o600)
            }
            defer { try? file.close() }
            do {
                _ = try reader.writeData(to: file)
            } catch {
                throw refuse("the layer stream is corrupt or truncated in '\(path)': \(error)")
            }
            try attempt("sizing '\(path)'") { () throws(Errno) in try file.truncate(to: entry.size) }
            dataBytes += entry.size
        case .directory:
            try attempt("creating directory '\(path)'") { () throws(Errno) in
                try parent.createDirectory(at: name, permissions: 0o700)
            }
        case .symbolicLink:
            try attempt("creating symbolic link '\(path)'") { () throws(Errno) in
                try parent.createSymbolicLink(at: name, target: entry.linkTarget ?? "")
            }
        case .hardLink:
            try link(entry, name: name, parent: parent, path: path)
            created[path] = .regular
            return
        case .characterDevice, .blockDevice, .fifo:
            let type: UInt32 = entry.kind == .fifo ? 0o010000 : entry.kind == .characterDevice ? 0o020000 : 0o060000
            guard privileged || entry.kind == .fifo else {
                throw StrataError(.unsupported, "\(layerName): entry '\(path)' is a device, which only root can create")
            }
            try attempt("creating '\(path)'") { () throws(Errno) in
                try parent.createNode(at: name, mode: type | 0o600, device: entry.kind == .fifo ? 0 : entry.device)
            }
        case .socket:
            return
        }
        created[path] = entry.kind
        try applyMetadata(entry, parent: parent, name: name, path: components)
    }

    /// Links `entry` to an earlier entry of this layer (tar resolves hard links by path, in order).
    private mutating func link(_ entry: ArchiveEntry, name: String, parent: FileDescriptor, path: String) throws(StrataError) {
        let target = try Self.components(of: entry.linkTarget ?? "", in: layerName)
        let targetPath = Self.join(target)
        guard let kind = created[targetPath], kind != .directory, let targetName = target.last else {
            throw refuse("hard link '\(path)' points to '\(entry.linkTarget ?? "")', which is not an earlier file of this layer")
        }
        let targetParent = try directory(Array(target.dropLast()), for: entry.path)
        defer { try? targetParent.close() }
        try attempt("linking '\(path)' to '\(targetPath)'") { () throws(Errno) in
            try targetParent.createHardLink(from: targetName, to: parent, as: name)
        }
    }

    private mutating func applyMetadata(_ entry: ArchiveEntry, parent: FileDescriptor, name: String, path: [String]) throws(StrataError) {
        let shown = path.isEmpty ? "/" : Self.join(path)
        for attribute in entry.extendedAttributes {
            if PrivateNames.isPrivateAttribute(attribute.name) {
                throw refuse("entry '\(entry.path)' carries the xattr '\(attribute.name)', a union marker an image layer must not set")
            }
        }
        if privileged {
            try attempt("setting the owner of '\(shown)'") { () throws(Errno) in
                try parent.setOwner(at: name, user: entry.userID, group: entry.groupID)
            }
        }
        for attribute in entry.extendedAttributes {
            do {
                try parent.setExtendedAttribute(attribute.name, to: attribute.value, at: name)
            } catch where !privileged && (error == .notPermitted || error == .notSupported) {
                continue
            } catch {
                throw StrataError(.io, "\(layerName): cannot set xattr '\(attribute.name)' on '\(shown)'", errno: error)
            }
        }
        if entry.kind != .symbolicLink {
            // After chown, which clears set-user-ID and set-group-ID bits.
            try attempt("setting the mode of '\(shown)'") { () throws(Errno) in
                try parent.setPermissions(at: name, entry.permissions)
            }
        }
        if entry.kind == .directory {
            directoryTimes.append((path, entry.modification))
        } else {
            try attempt("setting the times of '\(shown)'") { () throws(Errno) in
                try parent.setTimes(at: name, access: entry.modification, modification: entry.modification)
            }
        }
    }

    // MARK: Markers

    private mutating func collectMarker(_ entry: ArchiveEntry, name: String, parent: [String]) throws(StrataError) {
        if FileName.sameBytes(name, PrivateNames.opaqueMarker) {
            opaques.append((parent, entry.path))
            return
        }
        // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
        if FileName.starts(name, with: PrivateNames.whiteoutPrefix + PrivateNames.whiteoutPrefix) { return }
        let hidden = FileName.dropping(PrivateNames.whiteoutPrefix.utf8.count, bytesOf: name)
        guard !hidden.isEmpty, hidden != ".", hidden != "..", !hidden.utf8.contains(UInt8(ascii: "/")) else {
            throw refuse("whiteout '\(entry.path)' names '\(hidden)', which cannot be deleted")
        }
        whiteouts.append((parent + [hidden], entry.path))
    }

    private mutating func applyMarkers() throws(StrataError) {
        // A marker below a non-directory of this same layer is moot (that entry already hides the whole
        // lower directory) and must not be written through it: umoci emits such whiteouts when a
        // directory became a file.
        let created = self.created
        let moot = { (path: [String]) -> Bool in
            (1..<max(path.count, 1)).contains { depth in
                if let kind = created[Self.join(Array(path[..<depth]))] { return kind != .directory }
                return false
            }
        }
        opaques.removeAll { moot($0.path + ["x"]) }
        whiteouts.removeAll { moot($0.path) }
        for (path, entry) in opaques {
            let directory = try directory(path, for: entry)
            defer { try? directory.close() }
            try markOpaque(directory, path: path)
        }
        for (path, entry) in whiteouts {
            let joined = Self.join(path)
            if let kind = created[joined] {
                // Same-layer content wins over the layer's own whiteout; for a directory the whiteout
                // still hides the lower directory's children.
                if kind == .directory {
                    let directory = try directory(path, for: entry)
                    defer { try? directory.close() }
                    try markOpaque(directory, path: path)
                }
                continue
            }
            let parent = try directory(Array(path.dropLast()), for: entry)
            defer { try? parent.close() }
            let name = path[path.count - 1]
            try attempt("creating the whiteout for '\(joined)'") { () throws(Errno) in
                switch format {
                case .overlay:
                    try parent.createNode(at: name, mode: 0o020000, device: 0)
                case .oci:
                    let file = try parent.open(at: PrivateNames.whiteoutPrefix + name, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0)
                    try? file.close()
                }
            }
        }
    }

    private func markOpaque(_ directory: FileDescriptor, path: [String]) throws(StrataError) {
        try attempt("marking '\(Self.join(path))' opaque") { () throws(Errno) in
            switch format {
            case .overlay:
                try directory.setExtendedAttribute("trusted.overlay.opaque", to: Array("y".utf8))
            case .oci:
                do throws(Errno) {
                    let file = try directory.open(at: PrivateNames.opaqueMarker, flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0)
                    try? file.close()
                } catch where error == .fileExists {}
            }
        }
    }

    // MARK: Paths

    /// Opens (creating what is missing, as 0755 root-owned directories) the directory `path` beneath the
    /// root, refusing any symbolic link on the way.
    private mutating func directory(_ path: [String], for entry: String) throws(StrataError) -> FileDescriptor {
        var current: FileDescriptor
        do {
            current = try root.duplicate()
        } catch {
            throw StrataError(.io, "\(layerName): cannot reopen the layer root", errno: error)
        }
        for (depth, component) in path.enumerated() {
            let next: FileDescriptor
            do {
                next = try current.open(beneath: component, flags: O_RDONLY | O_DIRECTORY)
            } catch where error == .noSuchFileOrDirectory {
                let implicit = Array(path[...depth])
                do {
                    try current.createDirectory(at: component, permissions: 0o755)
                    try current.setPermissions(at: component, 0o755)
                    next = try current.open(beneath: component, flags: O_RDONLY | O_DIRECTORY)
                } catch {
                    try? current.close()
                    throw StrataError(.io, "\(layerName): cannot create directory '\(Self.join(implicit))'", errno: error)
                }
                implicitDirectories.insert(Self.join(implicit))
                created[Self.join(implicit)] = .directory
                do throws(StrataError) {
                    try inheritLowerAttributes(next, path: implicit, for: entry)
                } catch {
                    try? next.close()
                    try? current.close()
                    throw error
                }
            } catch {
                try? current.close()
                let where_ = Self.join(Array(path[...depth]))
                if error == .tooManySymbolicLinkLevels {
                    throw refuse("entry '\(entry)' is written through the symbolic link '\(where_)'")
                }
                if error == .notDirectory {
                    throw refuse("entry '\(entry)' is written through '\(where_)', which is not a directory")
                }
                throw StrataError(.io, "\(layerName): cannot open directory '\(where_)'", errno: error)
            }
            try? current.close()
            current = next
        }
        return current
    }

    /// Gives a directory the tar never described the attributes the image's lower layers have for it
    /// (mode, owner, xattrs, mtime), so that the layer does not change them in the merged view; refuses
    /// it when a lower layer has a symbolic link or a file there.
    private mutating func inheritLowerAttributes(_ directory: FileDescriptor, path: [String], for entry: String) throws(StrataError) {
        guard let lowerView else { return }
        guard let location = try? FileName.path("/" + Self.join(path)), let status = try? lowerView.status(location) else {
            return
        }
        guard status.kind == .directory else {
            let what = status.kind == .symbolicLink ? "the symbolic link" : "the non-directory"
            throw refuse("entry '\(entry)' is written through \(what) '\(Self.join(path))' of a lower layer")
        }
        try attempt("copying the lower attributes of '\(Self.join(path))'") { () throws(Errno) in
            if privileged { try directory.setOwner(user: status.user, group: status.group) }
            for name in (try? lowerView.extendedAttributeNames(of: location)) ?? [] {
                if let value = try? lowerView.extendedAttribute(name, of: location) {
                    try? directory.setExtendedAttribute(name, to: value)
                }
            }
            try directory.setPermissions(status.permissions)
        }
        directoryTimes.append((path, status.modificationTime))
    }

    /// The components of an archive path: a leading `./` and `.` components dropped; absolute paths,
    /// `..`, malformed names and over-long paths refused. Split at `/` bytes, not Characters: a `/`
    /// followed by a combining accent is one Character, and still a separator to the kernel.
    static func components(of raw: String, in layer: String) throws(StrataError) -> [String] {
        guard raw.utf8.count <= pathLimit else {
            throw StrataError(.unsafePath, "\(layer): entry '\(FileName.printable(String(raw.prefix(80))))…' has a path longer than \(pathLimit) bytes")
        }
        guard raw.utf8.first != UInt8(ascii: "/") else {
            throw StrataError(.unsafePath, "\(layer): entry '\(FileName.printable(raw))' has an absolute path")
        }
        // The reader's names escape bytes that are not UTF-8 (`FileName`); anything else holding NUL is not a name.
        guard FileName.bytes(of: raw) != nil else {
            throw StrataError(.unsafePath, "\(layer): entry '\(FileName.printable(raw))' has a NUL byte in its path")
        }
        var result: [String] = []
        for name in FileName.components(of: raw) {
            if name == "." { continue }
            guard name != ".." else {
                throw StrataError(.unsafePath, "\(layer): entry '\(FileName.printable(raw))' escapes the layer root with '..'")
            }
            guard (FileName.bytes(of: name)?.count ?? 256) <= 255 else {
                throw StrataError(.unsafePath, "\(layer): entry '\(FileName.printable(raw))' has a name longer than 255 bytes")
            }
            result.append(name)
        }
        return result
    }

    static func join(_ components: [String]) -> String { components.joined(separator: "/") }

    private func refuse(_ message: String) -> StrataError {
        StrataError(.unsafePath, "\(layerName): \(message)")
    }

    private func attempt<T>(_ what: String, _ body: () throws(Errno) -> T) throws(StrataError) -> T {
        try StrataError.io("\(layerName): \(what) failed", body)
    }
}
