import Glibc
import Strata
import StrataTestSupport
import Testing

/// Names are bytes: two names that Swift's `String` calls equal (Unicode canonical equivalence) and
/// names that are not UTF-8 at all are distinct files, in the merged view and in the upper layer.
@Suite("names that are not UTF-8 or differ only in normalisation")
struct NameBytesTests {
    /// "café" precomposed and decomposed, the Kelvin sign and K, and two names that are not UTF-8.
    static let names: [[UInt8]] = [
        [0x63, 0x61, 0x66, 0xC3, 0xA9], [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81], [0xE2, 0x84, 0xAA], [0x4B],
        [0x78, 0xFF], [0x78, 0xFE],
    ]

    /// A lower layer holding `names`, each file containing its index, and a union over it.
    private func makeUnion(in directory: TemporaryDirectory) throws -> (UnionFileSystem, upper: String) {
        let lower = try directory.makeSubdirectory("lower")
        let upper = try directory.makeSubdirectory("upper")
        let work = try directory.makeSubdirectory("work")
        let root = try openDirectory(lower)
        defer { try? root.close() }
        for (index, name) in Self.names.enumerated() {
            let file = try root.open(at: FileName.decode(name), flags: O_WRONLY | O_CREAT, permissions: 0o644)
            _ = try file.write(Array("\(index)".utf8), at: 0)
            try file.close()
        }
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: [FilePath(lower)], upper: FilePath(upper), work: FilePath(work)))
        return (union, upper)
    }

    /// The path of a name's bytes.
    private func path(_ bytes: [UInt8]) -> FilePath {
        try! FileName.path(FileName.decode(bytes))
    }

    private func sortedBytes(_ names: [String]) -> [[UInt8]] {
        names.map { Array(FileName.bytes(of: $0) ?? []) }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test("each name lists, reads, copies up and goes away on its own")
    func distinctNames() throws {
        let directory = try TemporaryDirectory(prefix: "strata-names")
        defer { try? directory.remove() }
        let (union, upper) = try makeUnion(in: directory)
        defer { union.close() }
        let expected = Self.names.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(sortedBytes(try union.contentsOfDirectory("").map(\.name)) == expected)
        for (index, name) in Self.names.enumerated() {
            let file = try union.open(path(name), .readOnly)
            #expect(try file.read(count: 16, at: 0) == Array("\(index)".utf8), "\(name)")
            file.close()
        }
        // The path API takes paths as bytes too.
        let listed = try union.contentsOfDirectory("").map(\.name)
        for name in listed { #expect(try union.status(FileName.path(name)).size == 1, "\(name)") }

        // A copy-up of the decomposed name and of a non-UTF-8 name writes those bytes in the upper.
        for index in [1, 4] {
            let file = try union.open(path(Self.names[index]), .writeOnly, options: .append)
            _ = try file.write(Array("+".utf8), at: 0)
            file.close()
        }
        let upperRoot = try openDirectory(upper, pathOnly: false)
        defer { try? upperRoot.close() }
        #expect(
            try upperRoot.readDirectoryRecords().map { Array(FileName.bytes(of: $0.name) ?? []) }
                .sorted { $0.lexicographicallyPrecedes($1) } == [Self.names[1], Self.names[4]])
        let precomposed = try union.open(path(Self.names[0]), .readOnly)
        #expect(try precomposed.read(count: 16, at: 0) == Array("0".utf8))
        precomposed.close()

        // Removing one name leaves its look-alike.
        try union.removeFile(path(Self.names[2]))
        try union.removeFile(path(Self.names[5]))
        #expect(
            sortedBytes(try union.contentsOfDirectory("").map(\.name))
                == [Self.names[0], Self.names[1], Self.names[3], Self.names[4]].sorted { $0.lexicographicallyPrecedes($1) })
        #expect(try union.status(FilePath("K")).size == 1)
    }
}
