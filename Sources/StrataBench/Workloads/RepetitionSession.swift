import Foundation
import Strata

/// One repetition of one backend on a fresh mount: the first passes, the warm passes, the server's
/// CPU and memory, then the write workloads on the lower sets, then the correctness probes.
///
/// Write workloads `lstat` their targets first, untimed, so they time the change and not the lookup.
final class RepetitionSession {
    let backend: Backend
    let target: Target
    /// The FUSE server's process ID, when there is one to measure.
    let server: Int32?
    let layout: FixtureLayout
    /// Makes the missing names of this backend and repetition new to every layer.
    let token: String
    let warmPasses: Int
    let recorder: Recorder
    let log: (String) -> Void

    init(backend: Backend, target: Target, server: Int32?, layout: FixtureLayout, token: String, warmPasses: Int,
         recorder: Recorder, log: @escaping (String) -> Void) {
        self.backend = backend
        self.target = target
        self.server = server
        self.layout = layout
        self.token = token
        self.warmPasses = warmPasses
        self.recorder = recorder
        self.log = log
    }

    func run() {
        let tree = layout.treePaths
        let missing = layout.missingNames(token)
        let merged = layout.mergedPaths
        var walks = 0

        let cpuBefore = server.flatMap(ProcessUsage.cpuSeconds)
        measure(.lookupFirst, operations: tree.count) { () throws(Errno) in try self.expectPresent(tree) }
        if let server, let before = cpuBefore, let after = ProcessUsage.cpuSeconds(server) {
            recorder.serverCPU[backend.name, default: []].append((after - before) * 1e6 / Double(tree.count))
        }
        measure(.negativeFirst, operations: missing.count) { () throws(Errno) in try self.expectMissing(missing) }
        measure(.readdirFirst, operations: nil) { () throws(Errno) in try self.listMerged() }
        measure(.readFirst, operations: merged.count) { () throws(Errno) in
            for path in merged { try self.target.readSmall(path) }
        }
        measure(.walkFirst, operations: nil) { () throws(Errno) in try self.walkTree() }
        walks += 1
        recordResident(after: walks)
        for _ in 0..<warmPasses {
            measure(.lookupWarm, operations: tree.count) { () throws(Errno) in try self.expectPresent(tree) }
            measure(.negativeWarm, operations: missing.count) { () throws(Errno) in try self.expectMissing(missing) }
            measure(.readdirWarm, operations: nil) { () throws(Errno) in try self.listMerged() }
            measure(.readWarm, operations: merged.count) { () throws(Errno) in
                for path in merged { try self.target.readSmall(path) }
            }
            measure(.walkWarm, operations: nil) { () throws(Errno) in try self.walkTree() }
            walks += 1
        }
        if server != nil {
            while walks < 10 {
                _ = try? walkTree()
                walks += 1
            }
            recordResident(after: walks)
        }
        runWrites()
        probe()
    }

    // MARK: Writes

    private func runWrites() {
        let small = [UInt8](repeating: 0x62, count: FixtureLayout.smallFileSize)
        let creates = layout.createPaths
        prepare { () throws(Errno) in _ = try self.target.status("create") }
        measure(.create, operations: creates.count) { () throws(Errno) in
            for path in creates { try self.target.create(path, small) }
        }
        let unlinks = layout.unlinkPaths
        prepare { () throws(Errno) in try self.expectPresent(unlinks) }
        measure(.unlink, operations: unlinks.count) { () throws(Errno) in
            for path in unlinks { try self.target.unlink(path) }
        }
        let chmods = layout.chmodPaths
        prepare { () throws(Errno) in try self.expectPresent(chmods) }
        measure(.chmod, operations: chmods.count) { () throws(Errno) in
            for path in chmods { try self.target.chmod(path, 0o600) }
        }
        let copyUps = layout.copyUpPaths
        prepare { () throws(Errno) in try self.expectPresent(copyUps) }
        measure(.copyUpSmall, operations: copyUps.count) { () throws(Errno) in
            for path in copyUps { try self.target.append(path, [0x0a]) }
        }
        let renames = layout.renamePaths
        prepare { () throws(Errno) in try self.expectPresent(renames) }
        measure(.rename, operations: renames.count) { () throws(Errno) in
            for path in renames { try self.target.rename(path, to: FixtureLayout.renamed(path)) }
        }
        prepare { () throws(Errno) in try self.target.walk(FixtureLayout.removalRoot) }
        measure(.removeTree, operations: nil) { () throws(Errno) in try self.target.removeTree(FixtureLayout.removalRoot) }
        // Each 1 GiB copy-up starts with nothing dirty in the page cache (the writeback of what the
        // workloads before it, or the other copy-up, left would otherwise land in its time) and with
        // free memory the guest still holds (`PageCacheHeadroom`).
        prepare { () throws(Errno) in
            try self.expectPresent([FixtureLayout.bigAppendPath, FixtureLayout.bigOverwritePath])
            sync()
            PageCacheHeadroom.prepare(for: self.layout.bigFileSize)
        }
        measure(.bigAppend, operations: nil) { () throws(Errno) in try self.target.append(FixtureLayout.bigAppendPath, [0x0a]) }
        let page = [UInt8](repeating: 0x63, count: 4_096)
        prepare { () throws(Errno) in
            sync()
            PageCacheHeadroom.prepare(for: self.layout.bigFileSize)
        }
        measure(.bigOverwrite, operations: nil) { () throws(Errno) in
            try self.target.overwrite(FixtureLayout.bigOverwritePath, page, at: 0)
        }
    }

    /// Checks that the writes did what they should have: a harness that measures a failing backend
    /// measures nothing.
    private func probe() {
        var problems: [String] = []
        func check(_ condition: @autoclosure () throws(Errno) -> Bool, _ what: String) {
            do {
                if try !condition() { problems.append(what) }
            } catch {
                problems.append("\(what): \(error)")
            }
        }
        let creates = layout.createPaths
        check(try target.status(creates[0])?.size == Int64(FixtureLayout.smallFileSize), "\(creates[0]) was created with 100 bytes")
        check(try target.status(creates[creates.count - 1]) != nil, "\(creates[creates.count - 1]) was created")
        check(try target.status(layout.unlinkPaths[0]) == nil, "\(layout.unlinkPaths[0]) is gone")
        check(try target.status(layout.chmodPaths[0])?.permissions == 0o600, "\(layout.chmodPaths[0]) has mode 0600")
        check(
            try target.status(layout.copyUpPaths[0])?.size == Int64(FixtureLayout.copyUpFileSize + 1),
            "\(layout.copyUpPaths[0]) grew by one byte")
        let renamed = layout.renamePaths[0]
        check(try target.status(renamed) == nil, "\(renamed) is gone")
        check(
            try target.status(FixtureLayout.renamed(renamed))?.size == Int64(FixtureLayout.smallFileSize),
            "\(FixtureLayout.renamed(renamed)) has its data")
        check(try target.status(FixtureLayout.removalRoot) == nil, "\(FixtureLayout.removalRoot) is gone")
        check(
            try target.status(FixtureLayout.bigAppendPath)?.size == layout.bigFileSize + 1,
            "\(FixtureLayout.bigAppendPath) grew by one byte")
        check(
            try target.status(FixtureLayout.bigOverwritePath)?.size == layout.bigFileSize,
            "\(FixtureLayout.bigOverwritePath) kept its size")
        let fillers = backend.kind == .plain ? 1 : layout.layers
        check(try target.list("create").count == creates.count + fillers, "create/ lists the new files and the fillers")
        for problem in problems {
            recorder.failedChecks.append("\(token): \(problem)")
            log("  CHECK FAILED \(token): \(problem)")
        }
    }

    // MARK: Pieces

    private func expectPresent(_ paths: [String]) throws(Errno) {
        for path in paths where try target.status(path) == nil {
            throw Errno.noSuchFileOrDirectory
        }
    }

    private func expectMissing(_ paths: [String]) throws(Errno) {
        for path in paths where try target.status(path) != nil {
            throw Errno.fileExists
        }
    }

    private func listMerged() throws(Errno) {
        let count = try target.list(FixtureLayout.mergedDirectory).count
        // The fillers of the other sets live elsewhere: the merged directory holds its entries only.
        guard count == layout.mergedEntries else { throw Errno.ioError }
    }

    private func walkTree() throws(Errno) {
        let count = try target.walk("tree")
        guard count == layout.treeDirectories * 49 else { throw Errno.ioError }
    }

    private func recordResident(after walks: Int) {
        guard let server, let resident = ProcessUsage.residentKiB(server) else { return }
        if walks == 1 {
            recorder.residentOne[backend.name, default: []].append(resident)
        } else {
            recorder.residentTen[backend.name, default: []].append(resident)
        }
    }

    /// Untimed preparation; a failure is reported and the run goes on.
    private func prepare(_ body: () throws(Errno) -> Void) {
        do { try body() } catch { log("  \(backend.name): preparing a write workload failed: \(error)") }
    }

    /// Times `body`: kops/s over `operations`, or milliseconds for the whole when nil.
    private func measure(_ workload: Workload, operations: Int?, _ body: () throws(Errno) -> Void) {
        do {
            let elapsed = try seconds(body)
            let value = operations.map { Double($0) / elapsed / 1_000 } ?? elapsed * 1_000
            recorder.add(workload, backend.name, value)
            log(String(format: "  %@ %@: %.3g %@", backend.name, workload.rawValue, value, workload.unit.rawValue))
        } catch {
            recorder.fail(workload, backend.name, "\(error)")
            log("  \(backend.name) \(workload.rawValue) FAILED: \(error)")
        }
    }
}
