import FuzzSupport
import Glibc
@testable import StrataArchive
@testable import StrataOCI
import Strata

/// The archive reader and the layer unpacker on arbitrary bytes: the first byte picks the compression
/// (none, gzip, zstd) and the whiteout format, the rest is the blob. Every entry is read (headers and
/// data), then the same blob is unpacked into an empty directory. Any input must give entries or an
/// `ArchiveError` / `StrataError`, never a trap, and nothing may be written outside the directory.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzArchive(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = bytes(data, size)
    guard let first = input.first else { return 0 }
    let compression: LayerCompression = [.none, .gzip, .zstd][Int(first % 3)]
    let format: WhiteoutFormat = first & 0x80 == 0 ? .overlay : .oci
    let scratch = ScratchDirectory("strata-fuzz-archive")
    defer { scratch.remove() }
    let blobPath = "\(scratch.path)/blob"
    let fd = open(blobPath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    let blob = input.dropFirst()
    _ = blob.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let file = FileDescriptor(rawValue: fd)

    lseek(fd, 0, SEEK_SET)
    if let reader = try? TarReader(file: file, compression: compression) {
        while (try? reader.nextEntry()) != nil {
            _ = try? reader.readData(limit: 1 << 16)
        }
        _ = try? reader.finish()
        reader.close()
    }

    lseek(fd, 0, SEEK_SET)
    let rootPath = "\(scratch.path)/root"
    mkdir(rootPath, 0o755)
    let root = open(rootPath, O_RDONLY | O_DIRECTORY)
    guard root >= 0 else { return 0 }
    defer { close(root) }
    if let reader = try? TarReader(file: file, compression: compression) {
        var unpacker = LayerUnpacker(root: FileDescriptor(rawValue: root), format: format, layerName: "fuzz")
        _ = try? unpacker.unpack(reader) { _ in }
        reader.close()
    }
    // Nothing outside the layer root: the scratch directory holds only the blob and the root.
    var names: [String] = []
    if let directory = opendir(scratch.path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
    }
    if names.sorted() != ["blob", "root"] { fatalError("the unpacker wrote outside its root: \(names)") }
    return 0
}

// Last: the constants above are initialized in order, and this never returns.
runFuzzer(fuzzArchive)
