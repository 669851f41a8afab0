import Foundation
import Glibc
import Strata

/// One `strata bench` run: builds the fixture, measures every backend repetition by repetition
/// (rep 1 of each backend, then rep 2 …, so drift hits them alike), then the layer-scaling runs (rep 1
/// of every layer count, then rep 2 …), and returns the report. Every mount, server, loop device and
/// scratch directory it made is gone when `run` returns or throws, and when the process gets SIGINT or
/// SIGTERM.
public final class BenchRun {
    let options: BenchOptions
    let layout: FixtureLayout
    let log: (String) -> Void
    private let teardown = Teardown.shared
    private let recorder = Recorder()
    private var backends: [Backend] = []
    private var volume: FixtureVolume?
    private var builder: FixtureBuilder?
    private var scratchCounter = 0

    /// - Parameter log: receives one line per step (the progress on the terminal).
    public init(options: BenchOptions, log: @escaping (String) -> Void) {
        self.options = options
        self.layout = FixtureLayout(scale: options.scale, layers: options.layers, scalingLayers: options.scalingLayers)
        self.log = log
    }

    /// Whether SIGINT, SIGTERM or SIGHUP ended the run (everything is torn down by then).
    public static var wasInterrupted: Bool { Teardown.shared.isInterrupted }

    public func run() throws(BenchError) -> BenchReport {
        try options.validate()
        teardown.handleSignals()
        defer { teardown.runAll() }
        let pinning = try pin()
        backends = try selectBackends()
        log("backends: \(backends.map(\.name).joined(separator: ", "))")
        let volume = try FixtureVolume.prepare(
            in: options.directory, mode: options.fixtureFileSystem, size: volumeSize, teardown: teardown)
        self.volume = volume
        log("fixture file system: \(volume.description)")
        let builder = FixtureBuilder(layout: layout, root: "\(volume.root)/fixture")
        self.builder = builder
        let buildTime = try seconds { () throws(BenchError) in
            try builder.build { self.log("building \($0)") }
        }
        log(String(format: "fixture built in %.1f s (%d entries per stack)", buildTime, layout.totalEntries))

        for repetition in 1...options.repetitions {
            if backends.contains(where: \.isFUSE) { try probeFloor(repetition) }
            for backend in backends {
                log("[rep \(repetition)/\(options.repetitions)] \(backend.name)")
                runRepetition(backend, repetition)
            }
        }
        // Every layer count once per repetition, so that drift over the run hits the counts alike (their
        // ratio is the target), as it hits the backends alike above.
        if !options.scalingLayers.isEmpty {
            for repetition in 1...options.repetitions {
                for layers in options.scalingLayers {
                    for backend in backends where backend.runsScaling && (backend.kind != .plain || layers == 1) {
                        runScaling(backend, layers: layers, repetition: repetition)
                    }
                }
            }
        }
        return report(pinning: pinning, volume: volume)
    }

    // MARK: Set-up

    private var volumeSize: Int64 {
        let data = 4 * layout.bigFileSize
        let metadata = Int64(layout.totalEntries) * 3 * 8_192
        return max(256 << 20, data + metadata + (256 << 20))
    }

    /// Pins this process (every thread, and so every program it starts later) to one CPU.
    private func pin() throws(BenchError) -> String {
        guard let cpu = options.cpu else { return "not pinned (--no-pin)" }
        guard Command.exists("taskset") else {
            throw BenchError("taskset is not installed (util-linux); install it or run with --no-pin")
        }
        try Command.check(["taskset", "-a", "-p", "-c", "\(cpu)", "\(getpid())"])
        let allowed = ProcessUsage.allowedCPUs() ?? "?"
        guard allowed == "\(cpu)" else {
            throw BenchError("taskset did not pin the run to CPU \(cpu) (allowed: \(allowed))")
        }
        return "the run and every FUSE server pinned to CPU \(cpu) (taskset -a -c \(cpu))"
    }

    private func selectBackends() throws(BenchError) -> [Backend] {
        let isRoot = geteuid() == 0
        let hasFuseOverlayfs = Command.exists("fuse-overlayfs")
        let standard = Backend.standard(isRoot: isRoot, hasFuseOverlayfs: hasFuseOverlayfs)
        var chosen = standard
        if let names = options.backendNames {
            chosen = []
            for name in names {
                guard let backend = standard.first(where: { $0.name == name }) else {
                    let reason = name.hasPrefix("kernel") && !isRoot ? " (the kernel's overlayfs needs root)"
                        : name == "fuse-overlayfs" && !hasFuseOverlayfs ? " (fuse-overlayfs is not installed)" : ""
                    throw BenchError("unknown or unavailable backend '\(name)'\(reason); available: \(standard.map(\.name).joined(separator: ", "))")
                }
                chosen.append(backend)
            }
        }
        for argument in options.custom {
            let backend = try Backend.custom(argument)
            guard !chosen.contains(where: { $0.name == backend.name }) else {
                throw BenchError("--custom '\(argument)': the name \(backend.name) is already taken")
            }
            chosen.append(backend)
        }
        let needsStrata = chosen.contains { if case .strataMount = $0.kind { true } else { $0.isFUSE } }
        if needsStrata && !FileManager.default.isExecutableFile(atPath: options.strataExecutable) {
            throw BenchError("no strata executable at \(options.strataExecutable)")
        }
        guard !chosen.isEmpty else { throw BenchError("no backend to run") }
        return chosen
    }

    /// A fresh upper, work directory and mount point for one mount.
    ///
    /// Every mount starts with nothing dirty: the writeback of what the run before left (gigabytes
    /// after a volatile 1 GiB copy-up, the removal of its scratch directory) would otherwise land in
    /// this mount's first passes, on whichever backend happened to come next.
    private func makeStack(base: String, lowers: [String], plainRoot: String, label: String) throws(BenchError) -> Stack {
        guard let volume else { throw BenchError("no fixture volume") }
        sync()
        scratchCounter += 1
        let scratch = "\(volume.root)/run/\(scratchCounter)-\(label)"
        try Command.check(["mkdir", "-p", "\(scratch)/upper", "\(scratch)/work", "\(scratch)/mnt"])
        return Stack(
            base: base, lowerNames: lowers, upper: "\(scratch)/upper", work: "\(scratch)/work",
            mountPoint: "\(scratch)/mnt", plainRoot: plainRoot)
    }

    /// Reads the metadata of the trees `backend` will read over `stack` (its lower layers, or the plain
    /// tree) into memory before it is mounted, as the method says ("union caches cold, lower file system
    /// warm"): without it a first pass found what the backends before it had left cached, which
    /// differed, and a backend's first lookups had been up to 1.4× slower for its place in the order
    /// alone. `du` reads every directory and the status of every entry, as a first pass does.
    private func warmTrees(of stack: Stack, for backend: Backend) throws(BenchError) {
        let trees = backend.kind == .plain ? [stack.plainRoot] : stack.lowers
        try Command.check(["du", "-s", "-x", "--apparent-size"] + trees, limit: .seconds(600))
    }

    private func removeScratch(_ stack: Stack) {
        let scratch = String(stack.upper.dropLast("/upper".count))
        _ = try? Command.run(["rm", "-rf", "--one-file-system", scratch], limit: .seconds(600))
    }

    // MARK: The FUSE floor

    /// Times `lstat` of missing names on the do-nothing FUSE file system: one round trip each.
    private func probeFloor(_ repetition: Int) throws(BenchError) {
        let stack = try makeStack(base: "/", lowers: [], plainRoot: "", label: "floor")
        defer { removeScratch(stack) }
        let process = try Command.start([options.strataExecutable, "bench-floor", stack.mountPoint])
        let point = stack.mountPoint
        let token = teardown.push("unmount \(point)") { Mounts.unmount(point, server: process) }
        defer { teardown.run(token) }
        try Mounts.waitForMount(point, server: process, limit: .seconds(30))
        let target = PathTarget(root: point)
        let names = (0..<max(2_000, layout.negativeCount / 5)).map { "floor\(repetition)-\($0)" }
        do {
            let cpuBefore = ProcessUsage.cpuSeconds(process.processIdentifier)
            let elapsed = try seconds { () throws(Errno) in
                for name in names where try target.status(name) != nil {
                    throw Errno.fileExists
                }
            }
            let micros = elapsed * 1e6 / Double(names.count)
            recorder.floor.append(micros)
            if let before = cpuBefore, let after = ProcessUsage.cpuSeconds(process.processIdentifier) {
                recorder.floorServerCPU.append((after - before) * 1e6 / Double(names.count))
            }
            log(String(format: "  FUSE floor: %.1f µs per round trip", micros))
        } catch {
            throw BenchError("the FUSE floor probe failed: \(error)")
        }
    }

    // MARK: One repetition of the main workloads

    private func runRepetition(_ backend: Backend, _ repetition: Int) {
        guard let builder else { return }
        let stack: Stack
        let mounted: Mounted
        do {
            if backend.kind == .plain { try builder.restorePlain() }
            stack = try makeStack(
                base: "\(builder.root)/main", lowers: (0..<layout.layers).map { "l\($0)" }, plainRoot: builder.plainRoot,
                label: backend.name)
            try warmTrees(of: stack, for: backend)
            mounted = try backend.mount(stack, strata: options.strataExecutable, teardown: teardown)
        } catch {
            recorder.failAll(backend.name, "\(error)")
            log("  \(backend.name): \(error)")
            return
        }
        defer {
            mounted.close()
            removeScratch(stack)
        }
        let session = RepetitionSession(
            backend: backend, target: mounted.target, server: mounted.server?.processIdentifier, layout: layout,
            token: "\(backend.name)-r\(repetition)", warmPasses: options.warmPasses, recorder: recorder, log: log)
        session.run()
    }

    // MARK: Layer scaling

    private func runScaling(_ backend: Backend, layers: Int, repetition: Int) {
        guard let builder else { return }
        let names = layout.scalingStack(layers)
        let stack: Stack
        let mounted: Mounted
        do {
            stack = try makeStack(
                base: builder.scalingRoot, lowers: names, plainRoot: "\(builder.scalingRoot)/b", label: "\(backend.name)-L\(layers)")
            try warmTrees(of: stack, for: backend)
            mounted = try backend.mount(stack, strata: options.strataExecutable, teardown: teardown)
        } catch {
            recorder.scalingFailures.append("\(backend.name), \(layers) layers: \(error)")
            log("  \(backend.name), \(layers) layers: \(error)")
            return
        }
        defer {
            mounted.close()
            removeScratch(stack)
        }
        let target = mounted.target
        let existing = layout.scalingExistingPaths
        let missing = layout.missingNames(
            "\(backend.name)-L\(layers)-r\(repetition)", in: FixtureLayout.scalingDirectory, count: layout.scalingNames)
        do {
            let exist = try seconds { () throws(Errno) in
                for path in existing where try target.status(path) == nil { throw Errno.noSuchFileOrDirectory }
            }
            let miss = try seconds { () throws(Errno) in
                for path in missing where try target.status(path) != nil { throw Errno.fileExists }
            }
            let key = ScalingKey(backend: backend.name, layers: layers)
            recorder.scalingExist[key, default: []].append(exist * 1e6 / Double(existing.count))
            recorder.scalingMiss[key, default: []].append(miss * 1e6 / Double(missing.count))
            log(String(
                format: "  scaling %@ %d layers: exist %.2f µs, miss %.2f µs", backend.name, layers,
                exist * 1e6 / Double(existing.count), miss * 1e6 / Double(missing.count)))
        } catch {
            recorder.scalingFailures.append("\(backend.name), \(layers) layers: \(error)")
        }
    }

    // MARK: The report

    private func report(pinning: String, volume: FixtureVolume) -> BenchReport {
        let results = Workload.allCases.map { workload in
            recorder.result(workload, layout: layout, backends: backends)
        }
        let servers = backends.filter(\.hasServer).map { backend in
            BenchReport.ServerResult(
                backend: backend.name,
                cpuMicrosecondsPerLookup: Statistics(recorder.serverCPU[backend.name] ?? []),
                residentKiBAfterOneWalk: Statistics(recorder.residentOne[backend.name] ?? []),
                residentKiBAfterTenWalks: Statistics(recorder.residentTen[backend.name] ?? []))
        }
        var scaling: [BenchReport.ScalingResult] = []
        for backend in backends where backend.runsScaling {
            for layers in options.scalingLayers where backend.kind != .plain || layers == 1 {
                let key = ScalingKey(backend: backend.name, layers: layers)
                scaling.append(BenchReport.ScalingResult(
                    backend: backend.name, layers: layers, existMicroseconds: Statistics(recorder.scalingExist[key] ?? []),
                    missMicroseconds: Statistics(recorder.scalingMiss[key] ?? [])))
            }
        }
        var report = BenchReport(
            date: ISO8601DateFormatter().string(from: Date()),
            machine: .init(kernel: kernelRelease(), processors: ProcessInfo.processInfo.activeProcessorCount),
            fixture: .init(
                fileSystem: volume.description, scale: layout.scale, layers: layout.layers,
                treeEntries: layout.treeDirectories * 49, mergedEntries: layout.mergedEntries,
                negativeNames: layout.negativeCount, filesPerWriteSet: layout.setCount,
                removalTreeEntries: layout.removalEntries, bigFileMiB: Int(layout.bigFileSize >> 20),
                scalingNames: layout.scalingNames),
            pinning: pinning, repetitions: options.repetitions, warmPasses: options.warmPasses,
            backends: backends.map { .init(name: $0.name, summary: $0.summary, fuse: $0.isFUSE) },
            fuseFloorMicroseconds: Statistics(recorder.floor),
            fuseFloorServerCPUMicroseconds: Statistics(recorder.floorServerCPU), results: results, servers: servers, scaling: scaling,
            failedChecks: recorder.failedChecks + recorder.scalingFailures, targets: [])
        report.targets = TargetCheck.evaluate(report)
        return report
    }

    private func kernelRelease() -> String {
        (try? Command.run(["uname", "-r"]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "unknown"
    }
}
