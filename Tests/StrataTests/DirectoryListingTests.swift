import Glibc
import StrataTestSupport
import Testing

@testable import Strata

@Suite("merged directory listings")
struct DirectoryListingTests {
    @Test("a listing is the union of every layer, upper first, without duplicates or markers")
    func unionWithoutDuplicates() throws {
        let stack = try Stack(LayerFixture(lowers: [
            Layer([.file("d/a", "1"), .whiteout("d/b"), .file("d/c", "3")]),
            Layer([.file("d/a", "old"), .file("d/b", "2"), .file("d/e", "5")]),
        ]))
        defer { stack.close() }
        try stack.write("d/new", "n")
        let names = try stack.union.contentsOfDirectory("d").map(\.name)
        #expect(names.first == "new", "upper entries come first")
        #expect(names.sorted() == ["a", "c", "e", "new"])
        let snapshot = try stack.union.directorySnapshot(of: try stack.union.lookup("d", in: .root).node)
        #expect(snapshot.prefix(2).map(\.name) == [".", ".."])
    }

    @Test("a snapshot is per handle: later changes do not move its entries")
    func snapshotPerHandle() throws {
        let stack = try Stack(LayerFixture(lowers: [Layer([.file("d/a", "1"), .file("d/b", "2")])]))
        defer { stack.close() }
        let directory = try stack.union.lookup("d", in: .root).node
        let before = try stack.union.directorySnapshot(of: directory)
        try stack.union.removeFile("d/a")
        try stack.write("d/c", "3")
        #expect(before.map(\.name).sorted() == [".", "..", "a", "b"])
        #expect(try stack.union.directorySnapshot(of: directory).map(\.name).sorted() == [".", "..", "b", "c"])
    }

    @Test("a directory of 100,000 merged entries lists completely and resumes at any offset")
    func largeDirectory() throws {
        let count = 50_000
        let directory = try TemporaryDirectory(prefix: "strata-large")
        defer { try? directory.remove() }
        // Built with plain creat(2): the fixture DSL's per-entry metadata is not needed here.
        var lowers: [FilePath] = []
        for (layer, prefix) in ["top", "bottom"].enumerated() {
            let big = try directory.makeSubdirectory("lower\(layer)") + "/big"
            mkdir(big, 0o755)
            for index in 0..<count { close(creat("\(big)/\(prefix)\(index)", 0o644)) }
            lowers.append(FilePath(directory.path + "/lower\(layer)"))
        }
        _ = try directory.makeSubdirectory("upper")
        _ = try directory.makeSubdirectory("work")
        let union = try UnionFileSystem(UnionConfiguration(
            lowers: lowers, upper: FilePath(directory.path + "/upper"), work: FilePath(directory.path + "/work")))
        defer { union.close() }
        let node = try union.lookup("big", in: .root).node
        let snapshot = try union.directorySnapshot(of: node)
        #expect(snapshot.count == 2 * count + 2)
        #expect(Set(snapshot.map(\.name)).count == snapshot.count)
        // A second handle lists the same entries at the same offsets, so resuming at offset i (as a
        // FUSE readdir continuation does) yields exactly the tail from i; a change keeps the order.
        let second = try union.directorySnapshot(of: node)
        for offset in [0, 1, 2, 77_777, 2 * count + 1] {
            #expect(Array(second[offset...]) == Array(snapshot[offset...]))
        }
        try union.removeFile("big/top7")
        try union.setPermissions("big/bottom9", 0o600)
        let after = try union.directorySnapshot(of: node)
        #expect(after == snapshot.filter { $0.name != "top7" })
    }

    @Test("listing order placed by slots is the sorted order, and sparse or shared orders fall back to a sort")
    func placedOrderIsSortedOrder() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            var orders: [Int64] = []
            let ranks = Int.random(in: 1...6, using: &generator)
            for rank in 0..<ranks {
                let count = Int.random(in: 0...50, using: &generator)
                // Some positions removed, as after unlinks; a few rounds far apart (sparse).
                let stride = round % 10 == 0 ? 100 : 1
                for position in 0..<count where Bool.random(using: &generator) || rank > 0 {
                    orders.append(MergedDirectory.order(rank: rank, position: position * stride))
                }
            }
            orders.shuffle(using: &generator)
            let expected = orders.indices.sorted { orders[$0] < orders[$1] }
            if let placed = MergedDirectory.placeInOrder(orders) {
                #expect(placed.map { orders[$0] } == expected.map { orders[$0] })
            } else {
                #expect(round % 10 == 0, "only sparse orders are refused")
            }
        }
        let shared = [MergedDirectory.order(rank: 1, position: 3), MergedDirectory.order(rank: 1, position: 3)]
        #expect(MergedDirectory.placeInOrder(shared) == nil, "two names with one order are never dropped")
        #expect(MergedDirectory.placeInOrder([]) == [])
    }

    @Test("a merged table left far too large by names repeated in every layer is compacted")
    func repeatedNamesLeaveACompactTable() throws {
        let names = (0..<40).map { "d\($0)" }
        let layer = Layer(names.map { FixtureEntry.directory("top/\($0)") })
        let stack = try Stack(LayerFixture(lowers: Array(repeating: layer, count: 8)))
        defer { stack.close() }
        #expect(try stack.union.contentsOfDirectory("top").count == 40)
        let (count, capacity) = try stack.union.withEngine { (engine) throws(Errno) -> (Int, Int) in
            let node = try engine.resolve("top")
            let entries = engine.nodes[node]?.directory?.entries ?? [:]
            return (entries.count, entries.capacity)
        }
        #expect(count == 40)
        #expect(capacity <= 4 * count + 16, "sized for 320 layer entries, holding 40 names: \(capacity)")
    }
}
