import Foundation
import Glibc
import Strata

/// The directories of one union: lowers (absolute, top first, and relative to `base` for the
/// kernel's one-page option string), a fresh upper and work directory, and the mount point.
struct Stack {
    var base: String
    var lowerNames: [String]
    var upper: String
    var work: String
    var mountPoint: String
    /// For `Backend.Kind.plain`: the directory that holds the merged tree.
    var plainRoot: String

    var lowers: [String] { lowerNames.map { "\(base)/\($0)" } }
}

/// One backend mounted (or opened) over a `Stack`. `close()` takes it down; it runs at the latest
/// at teardown, on every path.
final class Mounted {
    let target: Target
    /// The FUSE server process, when there is one.
    let server: Process?
    private let teardownToken: Teardown.Token
    private let teardown: Teardown

    init(target: Target, server: Process?, teardown: Teardown, token: Teardown.Token) {
        self.target = target
        self.server = server
        self.teardown = teardown
        self.teardownToken = token
    }

    func close() {
        teardown.run(teardownToken)
    }
}

extension Backend {
    /// Mounts this backend over `stack` (the upper, work and mount point directories must exist).
    ///
    /// - Parameter strata: the `strata` executable, for `strata mount`.
    func mount(_ stack: Stack, strata: String, teardown: Teardown) throws(BenchError) -> Mounted {
        let point = stack.mountPoint
        switch kind {
        case .plain:
            return Mounted(target: PathTarget(root: stack.plainRoot), server: nil, teardown: teardown, token: teardown.push("plain") {})
        case .api(let volatile):
            let configuration = UnionConfiguration(
                lowers: stack.lowers.map { FilePath($0) }, upper: FilePath(stack.upper), work: FilePath(stack.work),
                durability: volatile ? .volatile : .synchronous)
            let union: UnionFileSystem
            do {
                union = try UnionFileSystem(configuration)
            } catch {
                throw BenchError("cannot open the union over \(stack.base): \(error)")
            }
            let token = teardown.push("close the union") { union.close() }
            return Mounted(target: UnionTarget(union), server: nil, teardown: teardown, token: token)
        case .kernel(let options):
            var all = "lowerdir=\(stack.lowerNames.joined(separator: ":")),upperdir=\(stack.upper),workdir=\(stack.work)"
            if !options.isEmpty { all += ",\(options)" }
            // Relative lower names (resolved against the working directory of mount(8)) keep 128
            // layers within the one page the kernel reads the options from.
            try Command.check(["mount", "-t", "overlay", "overlay", "-o", all, point], in: stack.base, limit: .seconds(30))
            let token = teardown.push("unmount \(point)") { Mounts.unmount(point, server: nil) }
            return Mounted(target: PathTarget(root: point), server: nil, teardown: teardown, token: token)
        case .fuseOverlayfs:
            let options = "lowerdir=\(stack.lowers.joined(separator: ":")),upperdir=\(stack.upper),workdir=\(stack.work)"
            return try serve(["fuse-overlayfs", "-f", "-o", options, point], stack: stack, teardown: teardown)
        case .strataMount(let volatile):
            var options = "lowerdir=\(stack.lowers.joined(separator: ":")),upperdir=\(stack.upper),workdir=\(stack.work)"
            if volatile { options += ",volatile" }
            return try serve([strata, "mount", "-f", "-o", options, point], stack: stack, teardown: teardown)
        case .custom(let template):
            let command = template
                .replacingOccurrences(of: "%L", with: stack.lowers.joined(separator: ":"))
                .replacingOccurrences(of: "%U", with: stack.upper)
                .replacingOccurrences(of: "%W", with: stack.work)
                .replacingOccurrences(of: "%M", with: point)
            // `exec`: a server that stays in the foreground is then the process the run measures.
            return try serve(["sh", "-c", "exec \(command)"], stack: stack, teardown: teardown)
        }
    }

    /// Starts a server, waits for its mount, and registers its unmount.
    private func serve(_ arguments: [String], stack: Stack, teardown: Teardown) throws(BenchError) -> Mounted {
        let point = stack.mountPoint
        let process = try Command.start(arguments)
        let token = teardown.push("unmount \(point)") { Mounts.unmount(point, server: process) }
        do {
            try Mounts.waitForMount(point, server: process, limit: .seconds(30))
        } catch {
            teardown.run(token)
            throw BenchError("\(name): \(error)")
        }
        // A template whose command daemonizes leaves no process of ours to measure.
        let server = process.isRunning ? process : nil
        return Mounted(target: PathTarget(root: point), server: server, teardown: teardown, token: token)
    }
}
