import Strata
import StrataArchive

/// What one layer's tar leaves behind once it is read to the end, as far as the inspection needs it: the
/// final occupant of every path, the file data and the names that share it, and the markers.
///
/// Entries are taken in tar order with the unpacker's rules (a later entry of the same path replaces the
/// earlier one, and everything below it unless both are directories; a hard link joins the data of an
/// earlier file of the layer; a path written through a non-directory is refused), while markers are only
/// collected, because they act on the layers below and never on their own layer.
struct LayerContents {
    /// What a path of this layer is at the end of its tar.
    enum Occupant: Equatable {
        case directory
        /// A regular file, with the index of its data in `data`.
        case file(Int)
        /// A symbolic link, device or fifo: hides what is below it, carries no file data.
        case other
    }

    /// Regular-file data of the layer and the names that still show it within the layer.
    struct Data {
        var size: Int64
        /// In tar order; a name replaced later in the same tar is dropped.
        var names: [String]
    }

    let layerName: String
    /// By path as bytes (`NameKey`): look-alike names are different entries.
    private(set) var occupants: [NameKey: Occupant] = [:]
    private(set) var data: [Data] = []
    /// Paths a whiteout hides in the layers below (with everything below them).
    private(set) var whiteouts: [String] = []
    /// Directories whose content in the layers below is hidden.
    private(set) var opaques: [String] = []
    /// Directories the tar never described but wrote into, with the first entry that needed each: they
    /// must not be a non-directory in the layers below (see `Visibility.checkImplicitDirectories`).
    private(set) var implicitDirectories: [NameKey: String] = [:]
    private(set) var entryCount = 0
    private(set) var markerCount = 0
    private(set) var addedBytes: Int64 = 0

    init(layerName: String) {
        self.layerName = layerName
    }

    mutating func add(_ entry: ArchiveEntry) throws(StrataError) {
        entryCount += 1
        let components = try LayerUnpacker.components(of: entry.path, in: layerName)
        guard let name = components.last else {
            guard entry.kind == .directory else {
                throw refuse("entry '\(entry.path)' would change the type of the layer root")
            }
            return
        }
        let parent = Array(components.dropLast())
        if FileName.starts(name, with: PrivateNames.whiteoutPrefix) {
            markerCount += 1
            try collectMarker(name: name, parent: parent, entry: entry.path)
            return
        }
        guard entry.size >= 0, entry.size <= LayerUnpacker.sizeLimit else {
            throw refuse("entry '\(entry.path)' claims an absurd size of \(entry.size) bytes")
        }
        if let forged = entry.extendedAttributes.first(where: { PrivateNames.isPrivateAttribute($0.name) }) {
            throw refuse("entry '\(entry.path)' carries the xattr '\(forged.name)', a union marker an image layer must not set")
        }
        for depth in parent.indices {
            let ancestor = LayerUnpacker.join(Array(parent[...depth]))
            switch occupants[ancestor] {
            case nil:
                occupants[ancestor] = .directory
                implicitDirectories[ancestor] = entry.path
            case .directory: break
            case .file, .other:
                throw refuse("entry '\(entry.path)' is written through '\(ancestor)', which is not a directory")
            }
        }
        let path = LayerUnpacker.join(components)
        let occupant: Occupant
        switch entry.kind {
        case .directory: occupant = .directory
        case .regular: occupant = .file(data.count)
        case .hardLink: occupant = try linkTarget(of: entry, path: path)
        case .symbolicLink, .characterDevice, .blockDevice, .fifo: occupant = .other
        case .socket:
            // The unpacker drops sockets (a tar cannot restore one) after removing what was there.
            vacate(path)
            return
        }
        if let existing = occupants[path] {
            if existing == .directory, occupant == .directory {
                implicitDirectories[path] = nil  // described after all, whatever the order
                return
            }
            vacate(path)
        }
        switch occupant {
        case .file(let index) where index == data.count:
            data.append(Data(size: entry.size, names: [path]))
            addedBytes += entry.size
        case .file(let index):
            data[index].names.append(path)
        case .directory, .other:
            break
        }
        occupants[path] = occupant
    }

    /// A hard link's target must be an earlier non-directory of this layer (tar resolves links in order).
    private func linkTarget(of entry: ArchiveEntry, path: String) throws(StrataError) -> Occupant {
        let target = LayerUnpacker.join(try LayerUnpacker.components(of: entry.linkTarget ?? "", in: layerName))
        guard let occupant = occupants[target], occupant != .directory, target != path else {
            throw refuse("hard link '\(path)' points to '\(entry.linkTarget ?? "")', which is not an earlier file of this layer")
        }
        return occupant
    }

    /// Removes `path`, and everything below it when it is a directory, from the layer.
    private mutating func vacate(_ path: String) {
        guard let existing = occupants.removeValue(forKey: path) else { return }
        drop(path, from: existing)
        guard existing == .directory else { return }
        implicitDirectories[path] = nil
        let prefix = path + "/"
        for (below, occupant) in occupants where FileName.starts(below.string, with: prefix) {
            occupants[below] = nil
            implicitDirectories[below] = nil
            drop(below.string, from: occupant)
        }
    }

    private mutating func drop(_ path: String, from occupant: Occupant) {
        if case .file(let index) = occupant { data[index].names.removeAll { FileName.sameBytes($0, path) } }
    }

    private mutating func collectMarker(name: String, parent: [String], entry: String) throws(StrataError) {
        if FileName.sameBytes(name, PrivateNames.opaqueMarker) {
            opaques.append(LayerUnpacker.join(parent))
            return
        }
        if FileName.starts(name, with: PrivateNames.whiteoutPrefix + PrivateNames.whiteoutPrefix) { return }  // aufs bookkeeping
        let hidden = FileName.dropping(PrivateNames.whiteoutPrefix.utf8.count, bytesOf: name)
        guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
            throw refuse("whiteout '\(entry)' names '\(hidden)', which cannot be deleted")
        }
        whiteouts.append(LayerUnpacker.join(parent + [hidden]))
    }

    private func refuse(_ message: String) -> StrataError {
        StrataError(.invalidLayer, "\(layerName): \(message)")
    }
}
