import ArgumentParser
import Foundation
import Strata
import StrataArchive
import StrataOCI
import Synchronization
import SystemPackage

/// The store option shared by the image commands.
struct StoreOptions: ParsableArguments {
    @Option(help: "The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata).")
    var store: String?

    func open() throws -> LayerStore {
        do {
            return try LayerStore(store.map { FilePath($0) })
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Picks a container from an id, an upper directory, or an image plus `--upper`.
struct ContainerSelection: ParsableArguments {
    @Argument(help: "A container id (or a unique prefix) or its upper directory, as `strata mount --image` printed.")
    var container: String

    func resolve(in store: LayerStore) throws -> ContainerRecord {
        do {
            return try store.container(container)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Renders unpack progress on a terminal (bytes and layers, one line rewritten); silent otherwise.
enum ProgressLine {
    static let enabled = isatty(2) != 0

    static func reporter() -> (@Sendable (UnpackProgress) -> Void)? {
        guard enabled else { return nil }
        // Ten updates a second at most, and always the first of each layer.
        let last = Mutex<(layer: Int, at: ContinuousClock.Instant)?>(nil)
        return { progress in
            let now = ContinuousClock.now
            let due = last.withLock { previous -> Bool in
                if let previous, previous.layer == progress.layer, now - previous.at < .milliseconds(100) { return false }
                previous = (progress.layer, now)
                return true
            }
            guard due else { return }
            let mebibytes = Double(progress.bytes) / 1_048_576
            let text = String(format: "\runpacking layer %d/%d %@ %.1f MiB", progress.layer + 1, progress.layers,
                              progress.diffID.short, mebibytes)
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    static func end() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func humanBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// `strata diff`: what a container changed against its image.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List what a container added (A), changed (C) and deleted (D), like docker diff.",
        discussion: "The container must not be mounted while it is compared.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var selection: ContainerSelection
    @Flag(help: "Print JSON: [{\"kind\": \"A|C|D\", \"path\": \"/…\"}].") var json = false

    func run() throws {
        let store = try storeOptions.open()
        let changes = try withContainer(selection.resolve(in: store), store: store) { container, base in
            try ChangeSet(merged: container.union, base: base).changes
        }
        if json {
            try printJSON(changes)
        } else {
            for change in changes { print("\(change.kind.rawValue) \(FileName.printable(change.path))") }
        }
    }
}

/// Opens a container and its image's base view for a read-only comparison.
func withContainer<T>(_ record: ContainerRecord, store: LayerStore,
                      _ body: (ImageContainer, UnionFileSystem) throws -> T) throws -> T {
    let container: ImageContainer
    let base: UnionFileSystem
    do {
        container = try ImageContainer.open(record, store: store, durability: .volatile)
        base = try container.base(store: store)
    } catch {
        throw ValidationError(error.description)
    }
    defer {
        base.close()
        container.close()
    }
    return try body(container, base)
}

/// `strata commit`: the container's changes as a new layer and image in the layout.
struct Commit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a container's upper into a new OCI layer and tag a new image with it.",
        discussion: """
            The layer holds what `strata diff` lists, with OCI whiteouts (.wh.NAME) and opaque markers, \
            entries sorted. The new config gets the layer's diffID and a history entry; the new manifest is \
            tagged in the container's image layout (or --layout).
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var selection: ContainerSelection
    @Option(help: "The tag of the new image.") var tag: String
    @Option(help: "Write into this layout instead of the container's image layout.") var layout: String?
    @Option(help: "Layer compression: gzip or none.") var compression = "gzip"
    @Option(help: "A fixed time (seconds since 1970) for every entry and the history: reproducible layers.")
    var timestamp: Int64?
    @Option(help: "The history entry's created_by.") var message = "strata commit"

    func run() throws {
        let store = try storeOptions.open()
        let record = try selection.resolve(in: store)
        var options = CommitOptions(tag: tag)
        guard let chosen = LayerCompression(rawValue: compression), chosen != .zstd else {
            throw ValidationError("--compression must be gzip or none, not '\(compression)'")
        }
        options.compression = chosen
        options.timestamp = timestamp
        options.createdBy = message
        let result = try withContainer(record, store: store) { container, base in
            do {
                let image = try ImageLayout(FilePath(record.layout)).resolve(ImageReference(layout: FilePath(record.layout), digest: record.manifest))
                let target = try layout.map { try ImageLayout(FilePath($0)) } ?? image.layout
                let changes = try ChangeSet(merged: container.union, base: base)
                return try target.commit(onto: image, options: options) { (writer) throws(StrataError) -> Int in
                    var composer = LayerComposer(union: container.union, writer: writer,
                                                 timestamp: timestamp.map { TimeSpec(seconds: $0) })
                    try composer.writeChanges(changes)
                    return composer.entriesWritten
                }
            } catch let error as StrataError {
                throw ValidationError(error.description)
            }
        }
        print("layer \(result.layer.digest) (diffID \(result.diffID), \(result.entries) entries, \(humanBytes(result.layer.size)))")
        print("image \(result.manifest.digest) tagged \(tag)")
    }
}

/// `strata export`: the merged view of an image or a container as one tar layer.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Flatten an image (LAYOUT[:TAG|@DIGEST]) or a container (--container ID) into one tar.")

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The image, unless --container is given.") var image: String?
    @Option(help: "A container id or upper directory.") var container: String?
    @Option(name: .shortAndLong, help: "The tar file to write.") var output: String
    @Option(help: "Compression: none or gzip.") var compression = "none"
    @Option(help: "A fixed modification time (seconds since 1970) for every entry.") var timestamp: Int64?
    @Option(help: "The platform to pick from a multi-platform image (os/arch[/variant]).") var platform: String?

    func run() throws {
        guard let chosen = LayerCompression(rawValue: compression), chosen != .zstd else {
            throw ValidationError("--compression must be gzip or none, not '\(compression)'")
        }
        let store = try storeOptions.open()
        let union: UnionFileSystem
        do {
            if let container {
                let record = try store.container(container)
                union = try ImageContainer.open(record, store: store, durability: .volatile).union
            } else {
                guard let image else { throw ValidationError("name an image or --container") }
                let reference = try ImageReference(parsing: image)
                let resolved = try ImageLayout(reference.layout).resolve(reference, platform: try platform.map(parsePlatform))
                let prepared = try store.prepare(resolved, progress: ProgressLine.reporter())
                ProgressLine.end()
                defer { prepared.lease.release() }
                union = try UnionFileSystem(UnionConfiguration(lowers: prepared.lowers))
            }
        } catch let error as StrataError {
            throw ValidationError(error.description)
        }
        defer { union.close() }
        let descriptor = try FileDescriptor.open(FilePath(output), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? descriptor.close() }
        do {
            let writer = try TarWriter(file: descriptor, compression: chosen)
            var composer = LayerComposer(union: union, writer: writer, timestamp: timestamp.map { TimeSpec(seconds: $0) })
            try composer.writeTree()
            let result = try writer.finish()
            print("\(output): \(composer.entriesWritten) entries, \(humanBytes(result.size)), diffID \(result.diffID)")
        } catch let error as StrataError {
            throw ValidationError(error.description)
        } catch let error as ArchiveError {
            throw ValidationError(error.description)
        }
    }
}

func parsePlatform(_ text: String) throws -> Platform {
    guard let platform = Platform(text) else { throw ValidationError("--platform wants os/arch[/variant], not '\(text)'") }
    return platform
}

/// `strata layers`: the store's layers and who uses them.
struct Layers: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the layers in the store and the images and containers that use them.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Print JSON.") var json = false

    struct Row: Encodable {
        var diffID: String
        var blob: String
        var entries: Int
        var dataBytes: Int64
        var tarSize: Int64
        var usedBy: [String]
    }

    func run() throws {
        let store = try storeOptions.open()
        let users = store.users()
        let rows = store.records().map {
            Row(diffID: $0.diffID.description, blob: $0.blob.description, entries: $0.entries, dataBytes: $0.dataBytes,
                tarSize: $0.tarSize, usedBy: (users[$0.diffID] ?? []).sorted())
        }
        if json { return try printJSON(rows) }
        print("DIFFID        ENTRIES  SIZE        USED BY")
        for row in rows {
            let id = String(row.diffID.dropFirst(7).prefix(12))
            let size = humanBytes(row.dataBytes)
            print("\(id)  \(String(row.entries).leftPadded(7))  \(size.rightPadded(10))  \(row.usedBy.isEmpty ? "-" : row.usedBy.joined(separator: ", "))")
        }
    }
}

/// `strata prune`: removes layers nothing uses.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove layers no image in an existing layout and no container uses; never one a mount holds.")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try storeOptions.open()
        let report: PruneReport
        do {
            report = try store.prune()
        } catch {
            throw ValidationError(error.description)
        }
        for layer in report.removed { print("removed \(layer.diffID)") }
        for layer in report.busy { print("kept \(layer.diffID) (in use by a mount)") }
        print("\(report.removed.count) layers removed, \(humanBytes(report.freedBytes)) freed")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
    func rightPadded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
