import StrataArchive
import StrataSystem
import StrataTestSupport
import SystemPackage
import Testing

/// Layer archives carry names as bytes: look-alike names and names that are not UTF-8 come back
/// exactly as written, link targets too.
@Suite("layer archives keep every name's bytes")
struct ArchiveNameTests {
    static let names = [
        "caf\u{E9}", "cafe\u{301}", "\u{212A}", "K", FileName.decode([0x78, 0xFF]), "d/" + FileName.decode([0xFE, 0x41]),
    ]

    @Test("written and read back, plain and gzip", arguments: [LayerCompression.none, .gzip])
    func roundTrip(compression: LayerCompression) throws {
        let directory = try TemporaryDirectory(prefix: "strata-archive-names")
        defer { try? directory.remove() }
        let path = directory.path + "/layer.tar"
        let output = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        let writer = try TarWriter(file: output, compression: compression)
        try writer.append(ArchiveEntry(path: "d", kind: .directory, permissions: 0o755))
        for name in Self.names {
            try writer.append(ArchiveEntry(
                path: name, kind: .regular, permissions: 0o644, extendedAttributes: [.init(name: "user.n", value: [1])]))
        }
        // Attribute names are bytes too; a literal "%" stays one.
        let oddAttributes: [ArchiveEntry.ExtendedAttribute] = [
            .init(name: "user." + FileName.decode([0xFF, 0x41]), value: [2]), .init(name: "user.100%", value: [3]),
        ]
        try writer.append(ArchiveEntry(path: "attributes", kind: .regular, permissions: 0o644, extendedAttributes: oddAttributes))
        let target = FileName.decode([0x74, 0xFB])
        try writer.append(ArchiveEntry(path: "link", kind: .symbolicLink, permissions: 0o777, linkTarget: target))
        try writer.append(ArchiveEntry(path: "hard", kind: .hardLink, permissions: 0o644, linkTarget: Self.names[4]))
        _ = try writer.finish()
        try output.close()

        let input = try FileDescriptor.open(path, .readOnly)
        defer { try? input.close() }
        let reader = try TarReader(file: input, compression: compression)
        defer { reader.close() }
        var entries: [ArchiveEntry] = []
        while let entry = try reader.nextEntry() { entries.append(entry) }
        let paths = entries.map { Array($0.path.utf8) }
        #expect(paths == (["d/"] + Self.names + ["attributes", "link", "hard"]).map { Array($0.utf8) })
        #expect(entries.first { $0.path == "attributes" }?.extendedAttributes == oddAttributes)
        for entry in entries where entry.kind == .regular && entry.path != "attributes" {
            #expect(entry.extendedAttributes == [.init(name: "user.n", value: [1])], "\(entry.path)")
        }
        #expect(entries.first { $0.path == "link" }.flatMap { $0.linkTarget.map { Array($0.utf8) } } == Array(target.utf8))
        #expect(entries.first { $0.path == "hard" }.flatMap { $0.linkTarget.map { Array($0.utf8) } } == Array(Self.names[4].utf8))
    }
}
