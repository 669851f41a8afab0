/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully determined by its seed on every platform
/// and toolchain, which is what a reproducible failure needs.
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0), by rejection so there is no modulo bias.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let limit = UInt64(bound)
        let threshold = (0 &- limit) % limit
        while true {
            let value = next()
            if value >= threshold { return Int(value % limit) }
        }
    }

    /// True with probability `percent`/100.
    public mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }

    public mutating func pick<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }
}

/// Generates random operation sequences over a fixture, biased toward the interesting cases: names that
/// exist (or are whited out, or hidden by an opaque directory) in lower layers, nested directories,
/// renames of lower directories, overwriting renames, names reused after removal.
///
/// The generator keeps only a rough model of the merged view (which paths probably exist, updated as if
/// every operation succeeded), to aim: about half of the operations hit a live name, the rest hit names
/// that exist only below a whiteout or an opaque directory, names created earlier, or fresh names. An
/// operation that fails (ENOENT, ENOTEMPTY, EXDEV…) is as useful as one that succeeds, because the errno
/// is compared too. The root itself is never removed or renamed (the kernel answers that about its
/// mount point, not about overlayfs).
public struct RandomSequenceGenerator: Sendable {
    private var random: SplitMix64
    /// Names present in some layer (including whiteouts, which hide a name below).
    private let layerPaths: [String]
    /// Directories present in some layer, plus "" (the root).
    private var directories: [String]
    /// Names created by earlier operations of this sequence.
    private var created: [String] = []
    /// A rough model of the merged view (path → is a directory), updated as if every operation succeeded.
    private var live: [String: Bool]
    private var liveList: [String]
    private let freshNames = ["n0", "n1", "n2", "d0", "d1", "x"]
    private let xattrNames = ["user.a", "user.b", "user.c"]
    private let modes: [UInt32] = [0o644, 0o600, 0o755, 0o700, 0o444, 0o000, 0o4755, 0o2775, 0o1777]
    private let ids: [UInt32] = [0, 1000, 1234, 65534]

    public init(fixture: LayerFixture, seed: UInt64) {
        random = SplitMix64(seed: seed)
        layerPaths = fixture.allPaths
        directories = [""] + fixture.allDirectories
        live = fixture.mergedPaths
        liveList = live.keys.sorted()
    }

    /// `count` operations.
    public mutating func generate(count: Int) -> [Operation] {
        (0..<count).map { _ in next() }
    }

    // MARK: Aiming

    private mutating func existingPath() -> String {
        let roll = random.below(100)
        if roll < 55, !liveList.isEmpty { return random.pick(liveList) }
        if roll < 80 || created.isEmpty { return random.pick(layerPaths) }
        if roll < 92 { return random.pick(created) }
        return freshPath()
    }

    /// A directory to remove, rename or list; never the root (whose rmdir/rename answer about the mount
    /// point, not about overlayfs).
    private mutating func directoryPath() -> String {
        let liveDirectories = liveList.filter { live[$0] == true }
        if random.chance(60), !liveDirectories.isEmpty { return random.pick(liveDirectories) }
        let candidate = random.chance(85) ? random.pick(directories) : existingPath()
        return candidate.isEmpty ? existingPath() : candidate
    }

    private mutating func freshPath() -> String {
        let liveDirectories = liveList.filter { live[$0] == true }
        let parent = random.chance(30) || liveDirectories.isEmpty ? random.pick(directories) : random.pick(liveDirectories)
        let name = random.pick(freshNames)
        return parent.isEmpty ? name : "\(parent)/\(name)"
    }

    // MARK: The rough model

    private mutating func modelAdd(_ path: String, directory: Bool) {
        if live[path] == nil { live[path] = directory; liveList = live.keys.sorted() }
    }

    private mutating func modelRemove(_ path: String) {
        guard live[path] != nil else { return }
        live = live.filter { $0.key != path && !$0.key.hasPrefix(path + "/") }
        liveList = live.keys.sorted()
    }

    private mutating func modelRename(_ source: String, _ destination: String, exchange: Bool) {
        guard live[source] != nil, !source.isEmpty, !destination.hasPrefix(source + "/") else { return }
        var moved: [String: Bool] = [:]
        for (path, isDirectory) in live {
            if path == source || path.hasPrefix(source + "/") {
                moved[destination + path.dropFirst(source.count)] = isDirectory
            } else if exchange, path == destination || path.hasPrefix(destination + "/") {
                moved[source + path.dropFirst(destination.count)] = isDirectory
            } else if !(path == destination || path.hasPrefix(destination + "/")) {
                moved[path] = isDirectory
            }
        }
        live = moved
        liveList = live.keys.sorted()
    }

    /// A destination for rename/link/symlink/create: an existing name (to replace) or a fresh one.
    private mutating func targetPath() -> String {
        random.chance(40) ? existingPath() : freshPath()
    }

    private mutating func remember(_ path: String, directory: Bool = false) {
        if !created.contains(path) { created.append(path) }
        if directory, !directories.contains(path) { directories.append(path) }
    }

    private mutating func text() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let length = random.chance(10) ? 0 : 1 + random.below(12)
        return String((0..<length).map { _ in alphabet[random.below(alphabet.count)] })
    }

    private mutating func time() -> TimeValue {
        switch random.below(10) {
        case 0: return .now
        case 1: return .omit
        default: return .seconds(1_100_000_000 + Int64(random.below(1000)) * 3600, nanoseconds: Int64(random.below(1_000_000_000)))
        }
    }

    // MARK: Operations

    public mutating func next() -> Operation {
        let roll = random.below(100)
        switch roll {
        case 0..<7:
            var flags: CreateFlags = []
            if random.chance(30) { flags.insert(.exclusive) }
            if random.chance(30) { flags.insert(.truncate) }
            if random.chance(15) { flags.insert(.append) }
            let path = targetPath()
            remember(path)
            modelAdd(path, directory: false)
            return .create(path, flags, mode: random.pick([0o644, 0o600, 0o755, 0o4755, 0o2755]))
        case 7..<15:
            return .write(existingPath(), at: Int64(random.chance(30) ? 0 : random.below(24)), text())
        case 15..<19:
            return .append(existingPath(), text())
        case 19..<24:
            return .truncate(existingPath(), to: Int64(random.pick([0, 0, 1, 3, 7, 20, 70])))
        case 24..<29:
            return .chmod(existingPath(), random.pick(modes))
        case 29..<32:
            let uid: UInt32? = random.chance(80) ? random.pick(ids) : nil
            let gid: UInt32? = random.chance(60) ? random.pick(ids) : nil
            return .chown(existingPath(), uid: uid, gid: gid)
        case 32..<36:
            return .utimens(existingPath(), access: time(), modification: time())
        case 36..<41:
            return .setxattr(existingPath(), name: random.pick(xattrNames), value: text(),
                             random.pick([XattrMode.either, .either, .create, .replace]))
        case 41..<43:
            return .removexattr(existingPath(), name: random.pick(xattrNames))
        case 43..<50:
            let path = existingPath()
            if live[path] == false { modelRemove(path) }
            return .unlink(path)
        case 50..<56:
            let path = random.chance(70) ? freshPath() : existingPath()
            remember(path, directory: true)
            modelAdd(path, directory: true)
            return .mkdir(path, mode: random.pick([0o755, 0o700, 0o2775, 0o1777]))
        case 56..<61:
            let path = directoryPath()
            if live[path] == true, !live.keys.contains(where: { $0.hasPrefix(path + "/") }) { modelRemove(path) }
            return .rmdir(path)
        case 61..<74:
            // Half of the renames move a directory, most of them one that exists in a lower layer.
            var source = random.chance(50) ? directoryPath() : (random.chance(50) && !liveList.isEmpty ? random.pick(liveList) : existingPath())
            // The kernel's merged root is a mount point, whose rename gives EXDEV/EBUSY for reasons of
            // the mount, not of overlayfs: never rename the root.
            if source.isEmpty { source = freshPath() }
            var destination = targetPath()
            if destination.isEmpty { destination = freshPath() }
            if random.chance(8) { destination = source.isEmpty ? destination : "\(source)/\(random.pick(freshNames))" }
            let mode = random.pick([RenameMode.plain, .plain, .plain, .noReplace, .exchange])
            remember(destination, directory: directories.contains(source))
            if mode != .noReplace || live[destination] == nil { modelRename(source, destination, exchange: mode == .exchange) }
            return .rename(source, to: destination, mode)
        case 74..<78:
            let new = targetPath()
            remember(new)
            modelAdd(new, directory: false)
            return .link(existingPath(), as: new)
        case 78..<81:
            let path = targetPath()
            remember(path)
            modelAdd(path, directory: false)
            return .symlink(path, target: random.chance(50) ? existingPath() : "../\(random.pick(freshNames))")
        case 81..<83:
            let path = freshPath()
            remember(path)
            modelAdd(path, directory: false)
            return .mkfifo(path, mode: random.pick([0o644, 0o600]))
        case 83..<89:
            return .read(existingPath())
        case 89..<94:
            return .stat(random.chance(10) ? "" : existingPath())
        default:
            return .list(random.chance(10) ? "" : directoryPath())
        }
    }
}

/// Delta debugging (Zeller's ddmin, complement-only variant): removes chunks of halving size, then
/// single operations, keeping each removal after which the sequence still fails.
public enum Shrinker {
    /// The shortest sequence found for which `stillFails` is true; `operations` itself must fail.
    /// At most `maxAttempts` calls of `stillFails`.
    public static func shrink(_ operations: [Operation], maxAttempts: Int = 300,
                              stillFails: ([Operation]) -> Bool) -> [Operation] {
        var current = operations
        var attempts = 0
        var granularity = 2
        while current.count >= 2, attempts < maxAttempts {
            let chunk = (current.count + granularity - 1) / granularity
            var reduced = false
            var start = 0
            while start < current.count, attempts < maxAttempts {
                var candidate = current
                candidate.removeSubrange(start..<min(start + chunk, current.count))
                attempts += 1
                if !candidate.isEmpty, stillFails(candidate) {
                    current = candidate
                    reduced = true
                    // Same start: the next chunk slid into this place.
                } else {
                    start += chunk
                }
            }
            if reduced {
                granularity = max(granularity - 1, 2)
            } else if chunk == 1 {
                break
            } else {
                granularity = min(granularity * 2, current.count)
            }
        }
        return current
    }
}
