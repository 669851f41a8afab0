import Glibc
import Strata

func processIdentifier() -> Int32 { getpid() }

/// The built-in example: three lower layers, as a small image would have them, plus empty upper
/// and work directories.
struct ExampleStack {
    var lowers: [FilePath]
    var upper: FilePath
    var work: FilePath

    /// Files of each layer, bottom layer first: (path, content); a path ending in "/" is a directory.
    static let layers: [[(String, String)]] = [
        [("bin/", ""), ("bin/old-tool", "#!/bin/sh\necho old\n"), ("etc/", ""), ("etc/motd", "Welcome to the base layer.\n"),
         ("etc/config", "mode=base\n")],
        [("bin/tool", "#!/bin/sh\necho tool\n"), ("etc/config", "mode=app\n"), ("srv/", ""), ("srv/index.html", "<h1>app</h1>\n")],
        [("srv/data.json", "{\"layer\": \"top\"}\n")],
    ]

    static func build(at root: String) throws -> ExampleStack {
        do throws(Errno) {
            try makeDirectory(root)
            let base = try openDirectory(root)
            defer { try? base.close() }
            var lowers: [FilePath] = []
            for (index, files) in layers.enumerated() {
                let name = "layer\(index)"
                try base.createDirectory(at: name, permissions: 0o755)
                let layer = try base.open(beneath: name, flags: O_PATH_DIRECTORY)
                defer { try? layer.close() }
                for (path, content) in files {
                    if path.hasSuffix("/") {
                        try? layer.createDirectory(at: String(path.dropLast()), permissions: 0o755)
                    } else {
                        let parts = path.split(separator: "/")
                        var parent = ""
                        for part in parts.dropLast() {
                            parent = parent.isEmpty ? String(part) : parent + "/" + part
                            try? layer.createDirectory(at: parent, permissions: 0o755)
                        }
                        let directory = try layer.open(beneath: parent.isEmpty ? "." : parent, flags: O_PATH_DIRECTORY)
                        defer { try? directory.close() }
                        let file = try directory.open(
                            at: String(parts.last!), flags: O_WRONLY | O_CREAT | O_EXCL, permissions: 0o755)
                        _ = try file.write(Array(content.utf8), at: 0)
                        try? file.close()
                    }
                }
                lowers.insert(FilePath(root + "/" + name), at: 0)
            }
            try base.createDirectory(at: "upper", permissions: 0o755)
            try base.createDirectory(at: "work", permissions: 0o755)
            return ExampleStack(lowers: lowers, upper: FilePath(root + "/upper"), work: FilePath(root + "/work"))
        } catch {
            throw FileSystemFailure(operation: "build the example in", path: root, errno: error)
        }
    }

    private static func makeDirectory(_ path: String) throws(Errno) {
        try FileDescriptor.currentWorkingDirectory.createDirectory(at: path, permissions: 0o755)
    }
}

private let O_PATH_DIRECTORY: Int32 = 0o10000000 | O_DIRECTORY

/// Prints a layer directory as it is on disk, markers included: what a union wrote.
enum UpperPrinter {
    static func print(_ root: String) throws {
        do {
            let directory = try openDirectory(root, pathOnly: false)
            defer { try? directory.close() }
            try walk(directory, prefix: "")
        } catch {
            throw FileSystemFailure(operation: "read", path: root, errno: error)
        }
    }

    private static func walk(_ directory: FileDescriptor, prefix: String) throws(Errno) {
        for record in try directory.readDirectoryRecords().sorted(by: { $0.name < $1.name }) {
            let status = try directory.status(at: record.name)
            let path = prefix + record.name
            var line = path
            switch status.kind {
            case .directory: line += "/"
            case .characterDevice where status.specialDevice == 0: line += "  (whiteout: char device 0/0)"
            case .regular where record.name.hasPrefix(".wh."): line += "  (OCI whiteout)"
            case .regular: line += "  \(status.size) bytes"
            default: break
            }
            let attributes = (try? directory.extendedAttributeNames(at: record.name)) ?? []
            if !attributes.isEmpty { line += "  xattrs: " + attributes.sorted().joined(separator: ", ") }
            Swift.print(line)
            if status.kind == .directory {
                let child = try directory.open(beneath: record.name, flags: O_RDONLY | O_DIRECTORY)
                defer { try? child.close() }
                try walk(child, prefix: path + "/")
            }
        }
    }
}
