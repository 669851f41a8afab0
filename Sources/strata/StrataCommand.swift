import ArgumentParser
import Strata

@main
struct StrataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "A copy-on-write union filesystem: read-only lower layers under one writable upper.",
        subcommands: [Demo.self, Tree.self, Origin.self, Mount.self, Unmount.self])
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
