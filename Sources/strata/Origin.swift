import ArgumentParser
import Strata

/// Explains where a merged path comes from.
struct Origin: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show which layer a path comes from and what it hides.")
    @OptionGroup var stack: StackOptions
    @Argument(help: "A path inside the union.") var path: String

    func run() throws {
        let union = try stack.open()
        defer { union.close() }
        let origin: Provenance
        do {
            origin = try union.origin(of: FilePath(path))
        } catch {
            throw FileSystemFailure(operation: "origin", path: path, errno: error)
        }
        print("\(path): from \(origin.top.layer) at '\(origin.top.path)'")
        for copy in origin.merged { print("  merges \(copy.layer) '\(copy.path)'") }
        if let data = origin.dataSource { print("  data (metadata-only copy-up) from \(data.layer) '\(data.path)'") }
        for copy in origin.hidden { print("  hides \(copy.layer) '\(copy.path)'") }
    }
}
