import ArgumentParser
import Strata

/// Prints the merged view of a stack.
struct Tree: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the merged tree of a layer stack.")
    @OptionGroup var stack: StackOptions

    func run() throws {
        let union = try stack.open()
        defer { union.close() }
        try TreePrinter(union: union).print("")
    }
}

/// Renders a merged tree, one entry per line, with type, mode, size and the layer each comes from.
struct TreePrinter {
    let union: UnionFileSystem

    func print(_ path: String, depth: Int = 0) throws {
        let entries: [DirectoryEntry]
        do {
            entries = try union.contentsOfDirectory(FilePath(path))
        } catch {
            throw FileSystemFailure(operation: "list", path: path, errno: error)
        }
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            let child = path.isEmpty ? entry.name : path + "/" + entry.name
            let status: FileStatus
            let origin: Provenance
            do {
                status = try union.status(FileName.path(child))
                origin = try union.origin(of: FileName.path(child))
            } catch {
                throw FileSystemFailure(operation: "stat", path: FileName.printable(child), errno: error)
            }
            var line = String(repeating: "  ", count: depth) + FileName.printable(entry.name)
            if entry.kind == .directory { line += "/" }
            if entry.kind == .symbolicLink, let target = try? union.readLink(FileName.path(child)) {
                line += " -> \(FileName.printable(target))"
            }
            let mode = String(status.permissions, radix: 8)
            let size = entry.kind == .regular ? " \(status.size)B" : ""
            Swift.print("\(line)  [\(mode)\(size), \(origin.top.layer)]")
            if entry.kind == .directory { try print(child, depth: depth + 1) }
        }
    }
}
