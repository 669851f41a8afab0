import Strata
import StrataTestSupport
import Testing

/// The README's embedding example, run as written against a matching fixture.
@Suite("README embedding example")
struct EmbeddingExampleTests {
    @Test("the README example runs and does what its comments say")
    func readmeExample() throws {
        let directory = try TemporaryDirectory(prefix: "strata-readme")
        defer { try? directory.remove() }
        let built = try LayerFixture(lowers: [
            Layer([.file("etc/hosts", "127.0.0.1 localhost\n"), .file("srv/site/index.html", "hi")]),
            Layer([.file("etc/motd", "hello"), .file("var/log/app.log", "boot\n")]),
        ]).build(in: directory.path)
        let options = "lowerdir=\(built.lowers[0]):\(built.lowers[1]),upperdir=\(built.upper),workdir=\(built.work)"

        let union = try UnionFileSystem(options: options)
        defer { union.close() }
        let names = try union.contentsOfDirectory("/etc").map(\.name).sorted()
        let log = try union.open("/var/log/app.log", .writeOnly, options: [.create, .append])
        try log.write(Array("started\n".utf8), at: 0)
        log.close()
        try union.removeFile("/etc/motd")
        try union.rename("/srv/site", to: "/srv/old-site")
        let layer = try union.origin(of: "/etc/hosts").top.layer

        #expect(names == ["hosts", "motd"])
        let reader = try union.open("/var/log/app.log", .readOnly)
        defer { reader.close() }
        #expect(try reader.read(count: 100, at: 0) == Array("boot\nstarted\n".utf8))
        #expect(try union.contentsOfDirectory("/etc").map(\.name) == ["hosts"])
        #expect(try union.contentsOfDirectory("/srv/old-site").map(\.name) == ["index.html"])
        #expect(layer == .lower(0))
    }
}
