/// The data part of a copy-up, done without the engine lock.
///
/// Copying a large file under the lock would stop every lookup of the union for as long as the copy
/// takes. So an operation that needs a file's data in the upper layer (a write-open, a truncate) first
/// asks the engine for a plan under the lock, copies the bytes with the lock released — into a
/// new copy target (`CopyTarget`), or in place into a metadata-only upper file whose metacopy mark
/// keeps readers on the lower data meanwhile — and then finishes under the lock. A per-node gate
/// (`UnionFileSystem.copyUpGates`) makes concurrent copy-ups of one file do the work once.
struct DataCopyPlan: Sendable {
    enum Work: Sendable {
        /// A lower file with no upper copy: its data goes into a new copy target (see `CopyTarget`).
        case fresh(CopyTarget)
        /// A metadata-only upper file: its data is filled in place.
        case fill
    }

    let node: NodeID
    let work: Work
    /// The lower data, opened read-only.
    let source: FileDescriptor
    /// `fresh`: the new copy target, open for writing. `fill`: the upper file, open for writing.
    let target: FileDescriptor
    let size: Int64
    /// Whether the source may have holes to keep (`FileStatus.mayHaveHoles`).
    let sparse: Bool
    let durability: Durability

    /// Copies the data and syncs it. Runs without the engine lock; closes nothing.
    func copyData() throws(Errno) {
        try DataCopy.copy(from: source, to: target, size: size, sparse: sparse)
        if durability == .synchronous { try target.synchronize() }
    }

    func closeDescriptors() {
        try? source.close()
        try? target.close()
    }
}

extension Engine {
    /// The size of the lower data node `id` still needs in the upper layer (a regular file not up yet,
    /// or up as metadata only), or nil when there is none to copy.
    func pendingDataSize(_ id: NodeID) throws(Errno) -> Int64? {
        let record = try record(id)
        guard record.kind == .regular && (!record.inUpper || record.metacopy) && layers.upper != nil else { return nil }
        return record.lowerStatus?.size ?? 0
    }

    /// Whether `size` bytes are copied up under the engine lock (a fraction of a millisecond) rather
    /// than by a `DataCopyPlan` without it: small copies that end in no `fsync`.
    func copiesUnderLock(_ size: Int64) -> Bool {
        size <= Self.lockedCopyLimit && layers.durability != .synchronous
    }

    /// Whether an open of node `id` with `flags` makes the node's data copy-up itself, under the engine
    /// lock (it is small and not synced), and so keeps the copy's descriptor (`open`); false when there is
    /// nothing to copy or the copy is for `copyDataUp`, without the lock, before the open.
    func copiesWhenOpening(_ id: NodeID, flags: Int32) throws(Errno) -> Bool {
        guard Self.opensForWriting(flags), let size = try pendingDataSize(id) else { return false }
        return copiesUnderLock(Self.bytesKept(of: size, limit: Self.dataKept(openedWith: flags)))
    }

    /// Files up to this size are copied up under the engine lock when nothing is synced; larger ones,
    /// and every copy that ends in an `fsync`, without it (`DataCopyPlan`).
    static let lockedCopyLimit: Int64 = 256 << 10

    /// The bytes of a `size`-byte file a copy-up copies when a truncation to `limit` follows (nil: all).
    static func bytesKept(of size: Int64, limit: Int64?) -> Int64 {
        min(size, max(limit ?? size, 0))
    }

    /// How much of a file's data an open with `flags` keeps: none with `O_TRUNC`, so its copy-up
    /// copies none (the limit of `copyUp(_:withData:dataLimit:)`).
    static func dataKept(openedWith flags: Int32) -> Int64? {
        flags & openTruncate != 0 ? 0 : nil
    }

    /// What copying node `id`'s data up involves, or nil when its data is already in the upper layer
    /// (or it has none to copy). Opens the descriptors the copy needs; the caller must finish or abandon
    /// the plan. With `dataLimit` no byte at or past it is copied (a truncation to that size follows).
    mutating func dataCopyPlan(_ id: NodeID, dataLimit: Int64? = nil) throws(Errno) -> DataCopyPlan? {
        let record = try record(id)
        guard record.kind == .regular, !record.inUpper || record.metacopy else { return nil }
        _ = try upperLayer()
        guard let source = record.lowerObject, let status = record.lowerStatus else { throw Errno.ioError }
        let data = try withLowerDirectory(source.directory) { (directory) throws(Errno) in
            try directory.open(at: source.name, flags: openReadOnly)
        }
        do throws(Errno) {
            if record.inUpper {
                let target = try withUpperObject(id) { (directory, name) throws(Errno) in
                    try directory.open(at: name, flags: openWriteOnly)
                }
                var targetSize: Int64
                do throws(Errno) {
                    targetSize = try target.status().size
                    if let limit = dataLimit, limit < targetSize {
                        // Cut first, as `completeMetacopy` does: a crash never leaves a tail of zeros.
                        try target.truncate(to: max(limit, 0))
                        targetSize = max(limit, 0)
                    }
                } catch {
                    try? target.close()
                    throw error
                }
                let size = min(targetSize, status.size)
                return DataCopyPlan(
                    node: id, work: .fill, source: data, target: target, size: size, sparse: status.mayHaveHoles,
                    durability: layers.durability)
            }
            let (copyTarget, target) = try makeFileTarget()
            return DataCopyPlan(
                node: id, work: .fresh(copyTarget), source: data, target: target,
                size: Self.bytesKept(of: status.size, limit: dataLimit),
                sparse: status.mayHaveHoles, durability: layers.durability)
        } catch {
            try? data.close()
            throw error
        }
    }

    /// Completes a copy-up whose data `plan` copied: a fresh copy gets its metadata and its name
    /// (parents first); a filled metadata-only file loses its metacopy mark. If another path
    /// finished the copy-up meanwhile, the prepared data is discarded.
    mutating func finishDataCopy(_ plan: DataCopyPlan) throws(Errno) {
        defer { plan.closeDescriptors() }
        let record = try record(plan.node)
        switch plan.work {
        case .fresh(let target):
            guard !record.inUpper else {
                // Copied up meanwhile (metadata only, say): fill that copy instead, under the lock.
                discard(target)
                try copyUp(plan.node, withData: true)
                return
            }
            try copyUp(plan.node, withData: true, prebuilt: target)
        case .fill:
            guard record.inUpper && record.metacopy else { return }
            try withUpperObject(plan.node) { (directory, name) throws(Errno) in
                for namespace in MetadataAttributes.all {
                    try? directory.removeExtendedAttribute(namespace.metacopy, at: name)
                }
            }
            nodes[plan.node]?.metacopy = false
        }
    }

    /// Drops a plan that will not be finished (its copy failed).
    func abandonDataCopy(_ plan: DataCopyPlan) {
        plan.closeDescriptors()
        if case .fresh(let target) = plan.work { discard(target) }
    }
}
