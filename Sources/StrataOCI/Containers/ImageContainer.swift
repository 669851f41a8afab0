import Strata
import StrataArchive
import SystemPackage

/// A writable container view of an image, in process: the image's layers from the store under one
/// upper directory, as a `UnionFileSystem` (no kernel, no mount).
public final class ImageContainer: Sendable {
    public let record: ContainerRecord
    public let union: UnionFileSystem

    private init(record: ContainerRecord, union: UnionFileSystem) {
        self.record = record
        self.union = union
    }

    /// Makes a new container of `reference`: unpacks what the store lacks, registers the container
    /// (a fresh upper under the store unless `upper` and `work` are given) and opens its union.
    public static func create(
        _ reference: ImageReference, store: LayerStore, upper: FilePath? = nil, work: FilePath? = nil,
        platform: Platform? = nil, durability: Durability = .synchronous,
        progress: (@Sendable (UnpackProgress) -> Void)? = nil
    ) throws(StrataError) -> ImageContainer {
        let image = try ImageLayout(reference.layout).resolve(reference, platform: platform)
        let prepared = try store.prepare(image, progress: progress)
        defer { prepared.lease.release() }
        let record = try store.createContainer(for: prepared, upper: upper, work: work)
        return try open(record, store: store, durability: durability)
    }

    /// Opens an existing container (its upper must not be in use by a mount).
    public static func open(_ record: ContainerRecord, store: LayerStore, durability: Durability = .synchronous) throws(StrataError) -> ImageContainer {
        let lowers = try store.lowers(of: record)
        do {
            let union = try UnionFileSystem(UnionConfiguration(
                lowers: lowers, upper: FilePath(record.upper), work: FilePath(record.work),
                whiteoutFormat: store.format, durability: durability))
            return ImageContainer(record: record, union: union)
        } catch where error.code == .busy {
            throw StrataError(.busy, "container \(record.id) is in use (mounted?); unmount it first", path: FilePath(record.upper))
        }
    }

    /// The image's layers alone, read-only: what the container started from.
    public func base(store: LayerStore) throws(StrataError) -> UnionFileSystem {
        try UnionFileSystem(UnionConfiguration(lowers: store.lowers(of: record)))
    }

    public func close() { union.close() }
}
