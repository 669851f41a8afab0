import FuzzSupport
import Glibc
import Strata

/// Names the layers use, nested a little, so merged directories, redirects and whiteouts meet.
let names = ["a", "b", "d", "d/a", "d/e", "d/e/f", "x", ".wh.a", ".wh.d", ".wh..wh..opq", "d/.wh.a", "d/.wh..wh..opq"]
/// The private xattrs every format reads, with values from the input.
let attributes = [
    "trusted.overlay.redirect", "trusted.overlay.metacopy", "trusted.overlay.nlink", "trusted.overlay.origin",
    "trusted.overlay.opaque", "trusted.overlay.whiteout", "trusted.overlay.strata.origin", "user.overlay.redirect",
    "user.overlay.metacopy", "user.overlay.nlink", "user.overlay.opaque", "user.overlay.whiteout",
    "user.overlay.strata.origin", "user.fuseoverlayfs.opaque",
]

/// Builds two lower layers and an upper from the input (entries of every kind, the whiteout and marker
/// files, private xattrs with arbitrary values), opens them as a union in either whiteout format, walks
/// the merged tree (list, stat, read, readlink, xattrs) and makes a few changes. Any input must give a
/// result or an errno, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzMarkers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = InputReader(bytes(data, size))
    let scratch = ScratchDirectory("strata-fuzz-markers")
    defer { scratch.remove() }
    let layers = ["lower0", "lower1", "upper"].map { "\(scratch.path)/\($0)" }
    for directory in layers + ["\(scratch.path)/work"] { mkdir(directory, 0o755) }
    let format: WhiteoutFormat = input.byte() & 1 == 0 ? .overlay : .oci
    for _ in 0..<Int(input.byte() % 12) where !input.isAtEnd {
        let layer = layers[Int(input.byte()) % layers.count]
        let path = "\(layer)/\(input.pick(names))"
        makeParents(of: path)
        switch input.byte() % 5 {
        case 0:
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd >= 0 {
                let content = input.slice(Int(input.byte() % 16))
                _ = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
        case 1: mkdir(path, 0o755)
        case 2: symlink(String(decoding: input.slice(Int(input.byte() % 12)), as: UTF8.self), path)
        case 3: mknod(path, S_IFCHR, 0)
        default: link("\(layer)/a", path)
        }
        let parent = String(path[..<path.lastIndex(of: "/")!])
        let leaf = String(path[path.index(after: path.lastIndex(of: "/")!)...])
        guard let directory = try? openDirectory(parent, pathOnly: false) else { continue }
        for _ in 0..<Int(input.byte() % 3) {
            let name = input.pick(attributes)
            try? directory.setExtendedAttribute(name, to: input.slice(Int(input.byte() % 24)), at: leaf)
        }
        try? directory.close()
    }
    let configuration = UnionConfiguration(
        lowers: [FilePath(layers[0]), FilePath(layers[1])], upper: FilePath(layers[2]),
        work: FilePath("\(scratch.path)/work"), whiteoutFormat: format)
    guard let union = try? UnionFileSystem(configuration) else { return 0 }
    defer { union.close() }
    walk(union, "")
    for _ in 0..<Int(input.byte() % 4) {
        let path = FilePath(input.pick(names))
        switch input.byte() % 6 {
        case 0: _ = try? union.removeFile(path)
        case 1: _ = try? union.removeDirectory(path)
        case 2: _ = try? union.rename(path, to: FilePath(input.pick(names)))
        case 3: _ = try? union.setPermissions(path, 0o600)
        case 4: if let file = try? union.open(path, .readWrite) { _ = try? file.write([1, 2], at: 0); file.close() }
        default: _ = try? union.makeHardLink(FilePath(input.pick(names)), to: path)
        }
    }
    walk(union, "")
    return 0
}

func makeParents(of path: String) {
    var parent = ""
    for component in path.split(separator: "/").dropLast() {
        parent += "/" + component
        mkdir(parent, 0o755)
    }
}

/// Lists, stats and reads everything under `path`, a few levels deep.
func walk(_ union: UnionFileSystem, _ path: String, depth: Int = 0) {
    guard depth < 4, let entries = try? union.contentsOfDirectory(FilePath(path)) else { return }
    for entry in entries {
        let child = path.isEmpty ? entry.name : "\(path)/\(entry.name)"
        guard let status = try? union.status(FilePath(child)) else { continue }
        _ = try? union.extendedAttributeNames(of: FilePath(child))
        switch status.kind {
        case .directory?: walk(union, child, depth: depth + 1)
        case .symbolicLink?: _ = try? union.readLink(FilePath(child))
        case .regular?:
            if let file = try? union.open(FilePath(child), .readOnly) {
                _ = try? file.read(count: 64, at: 0)
                file.close()
            }
        default: break
        }
    }
}

// Last: the constants above are initialized in order, and this never returns.
runFuzzer(fuzzMarkers)
