import ArgumentParser
import Strata

/// Builds a small layered tree and walks through what a union does with it.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a three-layer example, show the merged view, copy a file up, delete one, print the upper.")

    @Option(help: "Directory to build the example in (default: a new one under /tmp).")
    var directory: String?

    @Option(help: "Whiteout format to write: overlay (kernel-compatible, needs root) or oci.")
    var whiteout: String?

    func run() throws {
        let root = directory ?? "/tmp/strata-demo-\(processIdentifier())"
        let example = try ExampleStack.build(at: root)
        var configuration = UnionConfiguration(lowers: example.lowers, upper: example.upper, work: example.work)
        if let whiteout {
            guard let format = WhiteoutFormat(rawValue: whiteout) else {
                throw ValidationError("--whiteout must be 'overlay' or 'oci'")
            }
            configuration.whiteoutFormat = format
        }
        let union: UnionFileSystem
        do {
            union = try UnionFileSystem(configuration)
        } catch {
            throw ValidationError(error.description)
        }
        defer { union.close() }
        print("Layers (top first): \(example.lowers.map(\.string).joined(separator: " : "))")
        print("Upper: \(example.upper)   Work: \(example.work)   Whiteouts: \(configuration.whiteoutFormat)\n")
        print("== merged view ==")
        try TreePrinter(union: union).print("")

        print("\n== append to etc/motd (a lower file: copied up first) ==")
        try step("append", "etc/motd") { () throws(Errno) in
            let file = try union.open("etc/motd", .writeOnly, options: .append)
            defer { file.close() }
            try file.write(Array("appended through the union\n".utf8), at: 0)
        }
        try show(union, "etc/motd")

        print("\n== delete bin/old-tool (a lower file: a whiteout takes its place) ==")
        try step("unlink", "bin/old-tool") { () throws(Errno) in try union.removeFile("bin/old-tool") }
        print("bin/ now lists: \(try union.contentsOfDirectory("bin").map(\.name).sorted())")

        print("\n== chmod etc/config 600 (metadata-only copy-up: the data stays in the lower) ==")
        try step("chmod", "etc/config") { () throws(Errno) in try union.setPermissions("etc/config", 0o600) }
        let origin = try union.origin(of: "etc/config")
        print("etc/config: top \(origin.top.layer), data from \(origin.dataSource.map { "\($0.layer)" } ?? "upper")")

        print("\n== upper directory (what the union changed) ==")
        try UpperPrinter.print(example.upper.string)
    }

    private func step(_ operation: String, _ path: String, _ body: () throws(Errno) -> Void) throws {
        do {
            try body()
        } catch {
            throw FileSystemFailure(operation: operation, path: path, errno: error)
        }
    }

    private func show(_ union: UnionFileSystem, _ path: FilePath) throws {
        let file = try union.open(path, .readOnly)
        defer { file.close() }
        let bytes = try file.read(count: 1 << 16, at: 0)
        print("\(path):")
        print(String(decoding: bytes, as: UTF8.self), terminator: "")
    }
}
