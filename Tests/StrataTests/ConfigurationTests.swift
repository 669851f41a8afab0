import Glibc
import Strata
import StrataTestSupport
import Testing

@Suite("configuration and setup")
struct ConfigurationTests {
    @Test("overlay options parse with escapes, top layer first")
    func parsesOptions() throws {
        let configuration = try UnionConfiguration(options: #"lowerdir=/a\:b:/c\,d:/e,upperdir=/u,workdir=/w,whiteout=oci,volatile"#)
        #expect(configuration.lowers == ["/a:b", "/c,d", "/e"])
        #expect(configuration.upper == "/u")
        #expect(configuration.work == "/w")
        #expect(configuration.whiteoutFormat == .oci)
        #expect(configuration.durability == .volatile)
    }

    @Test("unknown, empty and contradictory options are refused by name", arguments: [
        "lowerdir=/a,metacopy=on", "upperdir=/u,workdir=/w", "lowerdir=", "lowerdir=/a::/b", "lowerdir=/a,whiteout=aufs",
        "lowerdir=/a\\", "lowerdir=/a:/b\0/c", "lowerdir=/a,upperdir=/u\0,workdir=/w",
    ])
    func refusesBadOptions(options: String) {
        #expect(throws: StrataError.self) { try UnionConfiguration(options: options) }
    }

    @Test("upper without work, work inside upper, and a missing layer are clear errors")
    func refusesBadStacks() throws {
        let directory = try TemporaryDirectory(prefix: "strata-config")
        defer { try? directory.remove() }
        let lower = try directory.makeSubdirectory("lower")
        let upper = try directory.makeSubdirectory("upper")
        let inner = "\(upper)/work"
        mkdir(inner, 0o755)
        func failure(_ configuration: UnionConfiguration) -> StrataError? {
            do {
                _ = try UnionFileSystem(configuration)
                return nil
            } catch {
                return error
            }
        }
        let noWork = failure(UnionConfiguration(lowers: [FilePath(lower)], upper: FilePath(upper)))
        #expect(noWork?.code == .invalidOption)
        let nested = failure(UnionConfiguration(lowers: [FilePath(lower)], upper: FilePath(upper), work: FilePath(inner)))
        #expect(nested?.code == .invalidOption)
        #expect(nested?.description.contains("inside upperdir") == true)
        // As the kernel's overlayfs: at most 500 lower layers (merged entries keep layer numbers in 16 bits).
        let tooMany = failure(UnionConfiguration(lowers: Array(repeating: FilePath(lower), count: 501)))
        #expect(tooMany?.code == .invalidOption)
        #expect(tooMany?.description.contains("the limit is 500") == true)
        let missing = failure(UnionConfiguration(lowers: [FilePath("\(directory.path)/absent")]))
        #expect(missing?.code == .invalidLayer)
        #expect(missing?.errno == .noSuchFileOrDirectory)
        let overlapping = failure(
            UnionConfiguration(lowers: [FilePath(upper)], upper: FilePath(upper), work: FilePath(directory.path + "/lower")))
        #expect(overlapping?.code == .invalidOption)
    }

    @Test("upper and work on different filesystems are refused")
    func refusesCrossFilesystemWork() throws {
        let directory = try TemporaryDirectory(prefix: "strata-config")
        defer { try? directory.remove() }
        let lower = try directory.makeSubdirectory("lower")
        let upper = try directory.makeSubdirectory("upper")
        let work = "/dev/shm/strata-work-\(getpid())"
        mkdir(work, 0o755)
        defer { rmdir(work) }
        var upperStatus = stat()
        var workStatus = stat()
        stat(upper, &upperStatus)
        stat(work, &workStatus)
        try #require(upperStatus.st_dev != workStatus.st_dev, "/dev/shm and /tmp share a filesystem here")
        #expect(throws: StrataError.self) {
            try UnionFileSystem(UnionConfiguration(lowers: [FilePath(lower)], upper: FilePath(upper), work: FilePath(work)))
        }
    }

    @Test("a work directory in use by another union is busy")
    func workDirectoryIsExclusive() throws {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("a", "x")])]))
        defer { stack.close() }
        do {
            _ = try UnionFileSystem(
                UnionConfiguration(
                    lowers: stack.layers.lowers.map { FilePath($0) }, upper: FilePath(stack.layers.upper),
                    work: FilePath(stack.layers.work)))
            Issue.record("a second union on the same work directory opened")
        } catch {
            #expect(error.code == .busy)
        }
    }

    @Test("without an upper the union is read-only and lowers are never written")
    func readOnlyUnion() throws {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("a", "x"), .directory("d")])]), readOnly: true)
        defer { stack.close() }
        #expect(try stack.read("a") == "x")
        #expect(failure { try stack.union.removeFile("a") } == .readOnlyFileSystem)
        #expect(failure { try stack.union.makeDirectory("n", permissions: 0o755) } == .readOnlyFileSystem)
        #expect(failure { try stack.union.setPermissions("a", 0o600) } == .readOnlyFileSystem)
        #expect(failure { _ = try stack.union.open("a", .writeOnly) } == .readOnlyFileSystem)
        #expect(try stack.union.status("a").permissions == 0o644)
    }

    @Test("leftovers of an interrupted copy-up are removed when the stack opens")
    func workDirectoryRecovery() throws {
        let directory = try TemporaryDirectory(prefix: "strata-recovery")
        defer { try? directory.remove() }
        let layers = try LayerFixture(lowers: [Layer([.file("big", "data")])]).build(in: directory.path)
        mkdir("\(layers.work)/work", 0o700)
        mkdir("\(layers.work)/work/#strata.7", 0o500)
        let leftover = open("\(layers.work)/work/#strata.3", O_CREAT | O_WRONLY, 0o600)
        close(leftover)
        let union = try UnionFileSystem(
            UnionConfiguration(lowers: [FilePath(layers.lowers[0])], upper: FilePath(layers.upper), work: FilePath(layers.work)))
        defer { union.close() }
        let work = try openDirectory("\(layers.work)/work", pathOnly: false)
        defer { try? work.close() }
        #expect(try work.readDirectoryRecords().isEmpty)
        #expect(try union.contentsOfDirectory("").map(\.name) == ["big"])
    }
}
