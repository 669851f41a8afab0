import Foundation
import Strata
import StrataArchive
import StrataSystem
import SystemPackage

/// An image the store has prepared: where it came from and which layers it uses.
public struct ImageRecord: Codable, Sendable, Hashable {
    public var layout: String
    public var reference: String
    public var manifest: ContentDigest
    public var diffIDs: [ContentDigest]

    /// Whether the layout still holds the image (a deleted layout releases its layers to `prune`).
    var isPresent: Bool {
        FileManager.default.fileExists(atPath: FilePath(layout).appending("blobs/sha256/\(manifest.hex)").string)
    }
}

/// A container: one writable upper over an image's layers.
public struct ContainerRecord: Codable, Sendable, Hashable {
    public var id: String
    public var image: String
    public var layout: String
    public var manifest: ContentDigest
    public var diffIDs: [ContentDigest]
    public var upper: String
    public var work: String

    /// Whether its upper directory still exists (a container removed by hand releases its layers).
    var isPresent: Bool { FileManager.default.fileExists(atPath: upper) }
}

/// What `prune` did.
public struct PruneReport: Sendable {
    public var removed: [LayerRecord] = []
    /// Unreferenced layers left because a process has them open or a mount is starting on them.
    public var busy: [LayerRecord] = []
    public var freedBytes: Int64 = 0
}

extension LayerStore {
    func remember(_ image: ResolvedImage) throws(StrataError) {
        let record = ImageRecord(layout: image.layout.path.string, reference: image.reference.description,
                                 manifest: image.manifestDescriptor.digest, diffIDs: image.layers.map(\.diffID))
        try write(record, to: root.appending("images/\(record.manifest.hex).json"))
    }

    /// The images the store has prepared.
    public func imageRecords() -> [ImageRecord] {
        read(ImageRecord.self, in: root.appending("images"))
    }

    /// The containers made by `createContainer`.
    public func containerRecords() -> [ContainerRecord] {
        let base = root.appending("containers")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.string)) ?? []
        return names.sorted().compactMap { name in
            FileManager.default.contents(atPath: base.appending("\(name)/container.json").string)
                .flatMap { try? JSONDecoder().decode(ContainerRecord.self, from: $0) }
        }
    }

    /// Registers a container over `prepared`. Without `upper`, a fresh upper and work directory are made
    /// under `STORE/containers/<id>/`; a given `upper` needs a `work` on the same filesystem.
    public func createContainer(for prepared: PreparedImage, upper: FilePath? = nil, work: FilePath? = nil) throws(StrataError) -> ContainerRecord {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<6).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
        let directory = root.appending("containers/\(id)")
        let chosenUpper: FilePath
        let chosenWork: FilePath
        switch (upper, work) {
        case (nil, nil):
            chosenUpper = directory.appending("upper")
            chosenWork = directory.appending("work")
        case (.some(let upper), .some(let work)):
            chosenUpper = absolute(upper)
            chosenWork = absolute(work)
        default:
            throw StrataError(.invalidOption, "--upper and --work go together")
        }
        do {
            for path in [directory, chosenUpper, chosenWork] {
                try FileManager.default.createDirectory(atPath: path.string, withIntermediateDirectories: true)
            }
        } catch {
            throw StrataError(.io, "cannot create the container's directories", path: directory)
        }
        let record = ContainerRecord(
            id: id, image: prepared.image.reference.description, layout: prepared.image.layout.path.string,
            manifest: prepared.image.manifestDescriptor.digest, diffIDs: prepared.layers.map(\.diffID),
            upper: chosenUpper.string, work: chosenWork.string)
        try write(record, to: directory.appending("container.json"))
        return record
    }

    /// Forgets a container and removes its directory under the store (with its upper and work, when they
    /// live there; directories the caller chose elsewhere are left alone).
    public func removeContainer(_ record: ContainerRecord) {
        try? FileManager.default.removeItem(atPath: root.appending("containers/\(record.id)").string)
    }

    /// The container with this id (or unique id prefix), or whose upper directory is `name`.
    public func container(_ name: String) throws(StrataError) -> ContainerRecord {
        let all = containerRecords()
        let wantedUpper = absolute(FilePath(name)).lexicallyNormalized().string
        if let byUpper = all.first(where: { FilePath($0.upper).lexicallyNormalized().string == wantedUpper }) { return byUpper }
        let matches = all.filter { $0.id.hasPrefix(name) }
        guard matches.count == 1 else {
            throw StrataError(.invalidOption, matches.isEmpty
                ? "no container '\(name)' in the store (give its id or its upper directory)"
                : "'\(name)' names \(matches.count) containers; give more of the id", path: root)
        }
        return matches[0]
    }

    /// The lower directories of a container, top first, after checking the store still has them.
    public func lowers(of container: ContainerRecord) throws(StrataError) -> [FilePath] {
        for diffID in container.diffIDs where record(diffID) == nil {
            throw StrataError(.invalidLayer, "layer \(diffID) of container \(container.id) is no longer in the store", path: root)
        }
        return container.diffIDs.reversed().map(layerRoot)
    }

    /// Which present images and containers use each layer.
    public func users() -> [ContentDigest: [String]] {
        var result: [ContentDigest: [String]] = [:]
        for image in imageRecords() where image.isPresent {
            for diffID in image.diffIDs { result[diffID, default: []].append(image.reference) }
        }
        for container in containerRecords() where container.isPresent {
            for diffID in container.diffIDs { result[diffID, default: []].append("container \(container.id)") }
        }
        return result
    }

    /// Removes every layer no present image or container uses, except those a process holds open (a
    /// mount or an in-process union) or a mount is starting on. Records of vanished images go too.
    public func prune() throws(StrataError) -> PruneReport {
        var report = PruneReport()
        let used = users()
        let open = openLayerDirectories()
        for record in records() where used[record.diffID] == nil {
            let lock = try? openDirectory(root.appending("locks").string)
            let layerLock = try? lock?.open(at: record.diffID.hex, flags: O_RDONLY | O_CREAT, permissions: 0o600)
            try? lock?.close()
            defer { try? layerLock?.close() }
            guard let layerLock, (try? layerLock.lock(exclusive: true, wait: false)) != nil, !open.contains(record.diffID.hex) else {
                report.busy.append(record)
                continue
            }
            let layers = try self.open(root.appending("layers"))
            let staging = try self.open(root.appending("staging"))
            defer {
                try? layers.close()
                try? staging.close()
            }
            let doomed = "\(record.diffID.hex).pruned"
            try io("removing layer \(record.diffID)", root.appending("layers")) { () throws(Errno) in
                try RecursiveRemoval.removeIfPresent(doomed, in: staging)
                try layers.rename(record.diffID.hex, to: staging, as: doomed)
                try RecursiveRemoval.removeIfPresent(doomed, in: staging)
            }
            report.removed.append(record)
            report.freedBytes += record.dataBytes
        }
        for image in imageRecords() where !image.isPresent {
            try? FileManager.default.removeItem(atPath: root.appending("images/\(image.manifest.hex).json").string)
        }
        return report
    }

    /// Layer directories some process has a descriptor open in (scanned from /proc/*/fd).
    private func openLayerDirectories() -> Set<String> {
        let prefix = root.appending("layers").string + "/"
        var result: Set<String> = []
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in processes where pid.allSatisfy(\.isNumber) {
            let fdDirectory = "/proc/\(pid)/fd"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                      target.hasPrefix(prefix) else { continue }
                result.insert(String(target.dropFirst(prefix.count).prefix(while: { $0 != "/" })))
            }
        }
        return result
    }

    func absolute(_ path: FilePath) -> FilePath {
        path.isAbsolute ? path : FilePath(currentDirectoryPath()).pushing(path)
    }

    func write<T: Encodable>(_ value: T, to path: FilePath) throws(StrataError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(value),
              (try? data.write(to: URL(fileURLWithPath: path.string), options: .atomic)) != nil else {
            throw StrataError(.io, "cannot write a store record", path: path)
        }
    }

    func read<T: Decodable>(_ type: T.Type, in directory: FilePath) -> [T] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.string)) ?? []
        return names.sorted().filter { $0.hasSuffix(".json") }.compactMap { name in
            FileManager.default.contents(atPath: directory.appending(name).string).flatMap { try? JSONDecoder().decode(type, from: $0) }
        }
    }
}
