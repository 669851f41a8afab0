import ArgumentParser
import Strata

@main
struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "A copy-on-write union filesystem: read-only lower layers under one writable upper.",
        subcommands: [
            Demo.self, Tree.self, Origin.self, Mount.self, Unmount.self,
            Diff.self, Commit.self, Export.self, Layers.self, Prune.self, Inspect.self, Bench.self, BenchFloor.self,
        ])

    /// Also runs as a mount helper: `mount -t fuse.strata SOURCE MOUNTPOINT -o OPTIONS` makes mount.fuse3
    /// call `strata SOURCE MOUNTPOINT -o OPTIONS`, which is `strata mount -o OPTIONS MOUNTPOINT`.
    static func main() {
        main(helperArguments(Array(CommandLine.arguments.dropFirst())))
    }

    static func helperArguments(_ arguments: [String]) -> [String] {
        let commands: Set<String> = [
            "demo", "tree", "origin", "mount", "unmount", "diff", "commit", "export", "layers", "prune", "inspect",
            "bench", "bench-floor", "help",
        ]
        guard arguments.count >= 2, let source = arguments.first, !source.hasPrefix("-"), !commands.contains(source),
            !arguments[1].hasPrefix("-")
        else { return arguments }
        return ["mount"] + arguments.dropFirst(2) + [arguments[1]]
    }
}

/// The union options shared by the commands that open a stack.
struct StackOptions: ParsableArguments {
    @Option(name: .short, help: "Overlay options: lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W[,whiteout=oci][,volatile]")
    var options: String

    func open() throws -> UnionFileSystem {
        do {
            return try UnionFileSystem(options: options)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Prints `Errno` failures as the message a user can act on.
struct FileSystemFailure: Error, CustomStringConvertible {
    var operation: String
    var path: String
    var errno: Errno
    var description: String { "\(operation) '\(path)': \(errno)" }
}
