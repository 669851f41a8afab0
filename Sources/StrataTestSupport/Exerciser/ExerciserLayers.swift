import Foundation
import Strata

/// The layers a data-exerciser run starts from: two lower layers holding the files, an empty upper and
/// work directory, all inside one temporary directory.
public struct ExerciserLayers: Sendable {
    public let lowers: [String]
    public let upper: String
    public let work: String
    /// The files' starting contents.
    public let initial: [[UInt8]]

    public init(in directory: TemporaryDirectory, settings: DataExerciser.Settings) throws(HarnessError) {
        lowers = [try directory.makeSubdirectory("lower0"), try directory.makeSubdirectory("lower1")]
        upper = try directory.makeSubdirectory("upper")
        work = try directory.makeSubdirectory("work")
        initial = try DataExerciser.makeLowerFiles(in: lowers, settings: settings)
    }

    /// The union in-process (overlay whiteout format).
    public var configuration: UnionConfiguration {
        UnionConfiguration(
            lowers: lowers.map { FilePath($0) }, upper: FilePath(upper), work: FilePath(work), whiteoutFormat: .overlay)
    }

    /// The same layers as `strata mount -o` options.
    public var mountOptions: String {
        "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
    }
}

/// The seeds and length of the CI runs of the exerciser; `STRATA_EXERCISER_SEED` and
/// `STRATA_EXERCISER_OPS` replay one seed with any number of operations.
public enum ExerciserEnvironment {
    public static var seeds: [UInt64] {
        ProcessInfo.processInfo.environment["STRATA_EXERCISER_SEED"].flatMap(UInt64.init).map { [$0] } ?? [1, 2, 3]
    }

    public static var operations: Int {
        ProcessInfo.processInfo.environment["STRATA_EXERCISER_OPS"].flatMap(Int.init) ?? 1_000
    }
}
