/// The opened layers of one union: lower roots, the upper root and the work directory.
///
/// Opening validates the overlayfs rules (upper and work on one filesystem, neither inside the other,
/// no layer inside the upper), takes an exclusive lock on the work directory so two unions never share
/// an upper, and removes what an interrupted copy-up left in the work directory.
struct LayerStack: Sendable {
    let lowers: [LowerLayer]
    let upper: UpperLayer?
    let format: WhiteoutFormat
    let durability: Durability
    /// Maps each distinct `st_dev` of the layers to the high bits that keep inode numbers unique
    /// (the kernel's `xino` scheme). Empty when every layer sits on one filesystem.
    let inodeNamespaces: [UInt64: UInt64]
    /// The `st_dev` the union reports for every object.
    let device: UInt64
    let lowerDirectories = DirectoryCache<LowerDirectory>()

    static let inodeNamespaceShift: UInt64 = 56
    /// As the kernel's overlayfs (`OVL_MAX_STACK`); merged entries store layer numbers in 16 bits.
    static let maximumLowerLayers = 500

    init(_ configuration: UnionConfiguration) throws(StrataError) {
        guard !configuration.lowers.isEmpty else {
            throw StrataError(.invalidOption, "at least one lower layer is required")
        }
        guard configuration.lowers.count <= Self.maximumLowerLayers else {
            throw StrataError(
                .invalidOption,
                "too many lower layers (\(configuration.lowers.count)); the limit is \(Self.maximumLowerLayers), as the kernel's")
        }
        var lowers: [LowerLayer] = []
        var opened: [FileDescriptor] = []
        do throws(StrataError) {
            for (index, path) in configuration.lowers.enumerated() {
                let root = try Self.openLayer(path, role: "lower layer \(index)")
                opened.append(root)
                let status = try Self.stat(root, path: path)
                lowers.append(LowerLayer(index: index, path: path, root: root, device: status.device))
            }
            var upper: UpperLayer?
            switch (configuration.upper, configuration.work) {
            case (nil, nil):
                upper = nil
            case (.some, nil):
                throw StrataError(.invalidOption, "upperdir needs a workdir on the same filesystem")
            case (nil, .some):
                throw StrataError(.invalidOption, "workdir given without upperdir")
            case (.some(let upperPath), .some(let workPath)):
                let root = try Self.openLayer(upperPath, role: "upper directory")
                opened.append(root)
                let work = try Self.openLayer(workPath, role: "work directory")
                opened.append(work)
                try Self.validate(upper: root, upperPath: upperPath, work: work, workPath: workPath, lowers: lowers)
                upper = try UpperLayer(root: root, path: upperPath, workPath: workPath)
                opened.removeLast()
                try? work.close()
            }
            self.lowers = lowers
            self.upper = upper
        } catch {
            for descriptor in opened { try? descriptor.close() }
            throw error
        }
        self.format = configuration.whiteoutFormat
        self.durability = configuration.durability
        var devices: [UInt64] = []
        if let upper { devices.append(upper.device) }
        for lower in lowers where !devices.contains(lower.device) { devices.append(lower.device) }
        if devices.count > 1 {
            var namespaces: [UInt64: UInt64] = [:]
            for (index, device) in devices.enumerated() { namespaces[device] = UInt64(index) }
            self.inodeNamespaces = namespaces
        } else {
            self.inodeNamespaces = [:]
        }
        self.device = devices[0]
    }

    /// The union-wide inode number of an object that has `inode` on filesystem `device`.
    func unionInode(device: UInt64, inode: UInt64) -> UInt64 {
        guard let namespace = inodeNamespaces[device] else { return inode }
        return (inode & ((1 << Self.inodeNamespaceShift) - 1)) | (namespace << Self.inodeNamespaceShift)
    }

    func lowerDevice(_ layer: Int) -> UInt64 { lowers[layer].device }

    func close() {
        lowerDirectories.close()
        for lower in lowers { try? lower.root.close() }
        upper?.close()
    }

    private static func openLayer(_ path: FilePath, role: String) throws(StrataError) -> FileDescriptor {
        do {
            return try openDirectory(path.string)
        } catch {
            throw StrataError(.invalidLayer, "\(role) cannot be opened as a directory", path: path, errno: error)
        }
    }

    private static func stat(_ descriptor: FileDescriptor, path: FilePath) throws(StrataError) -> FileStatus {
        do {
            return try descriptor.status()
        } catch {
            throw StrataError(.io, "cannot read the attributes of a layer", path: path, errno: error)
        }
    }

    private static func canonicalPath(_ descriptor: FileDescriptor, path: FilePath) throws(StrataError) -> String {
        do {
            return try descriptor.currentPath()
        } catch {
            throw StrataError(.io, "cannot resolve the real path of a layer", path: path, errno: error)
        }
    }

    private static func isInside(_ inner: String, _ outer: String) -> Bool {
        inner == outer || inner.hasNamePrefix(outer == "/" ? "/" : outer + "/")
    }

    private static func validate(
        upper: FileDescriptor, upperPath: FilePath, work: FileDescriptor, workPath: FilePath, lowers: [LowerLayer]
    ) throws(StrataError) {
        let upperStatus = try stat(upper, path: upperPath)
        let workStatus = try stat(work, path: workPath)
        guard upperStatus.device == workStatus.device else {
            throw StrataError(
                .invalidOption, "workdir must be on the same filesystem as upperdir '\(upperPath)'", path: workPath)
        }
        let upperReal = try canonicalPath(upper, path: upperPath)
        let workReal = try canonicalPath(work, path: workPath)
        if isInside(workReal, upperReal) {
            throw StrataError(.invalidOption, "workdir must not be inside upperdir '\(upperReal)'", path: workPath)
        }
        if isInside(upperReal, workReal) {
            throw StrataError(.invalidOption, "upperdir must not be inside workdir '\(workReal)'", path: upperPath)
        }
        for lower in lowers {
            let lowerReal = try canonicalPath(lower.root, path: lower.path)
            if isInside(lowerReal, upperReal) || isInside(upperReal, lowerReal) {
                throw StrataError(
                    .invalidOption, "lower layer \(lower.index) overlaps upperdir '\(upperReal)'", path: lower.path)
            }
            if isInside(lowerReal, workReal) || isInside(workReal, lowerReal) {
                throw StrataError(
                    .invalidOption, "lower layer \(lower.index) overlaps workdir '\(workReal)'", path: lower.path)
            }
        }
    }
}
