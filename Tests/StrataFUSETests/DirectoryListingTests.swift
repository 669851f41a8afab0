import Strata
import Testing

@testable import StrataFUSE

/// The cookies the mount hands the kernel as `d_off`: the kernel's listing cache may resume a listing
/// begun on one handle with another handle's `READDIR`, whose snapshot was taken at another time.
@Suite("directory listing cookies")
struct DirectoryListingTests {
    static func snapshot(_ names: [String]) -> [DirectoryEntry] {
        [DirectoryEntry(name: ".", inode: 1, kind: .directory), DirectoryEntry(name: "..", inode: 1, kind: .directory)]
            + names.enumerated().map { DirectoryEntry(name: $1, inode: UInt64($0 + 10), kind: .regular) }
    }

    @Test("`.` and `..` come first at 1 and 2; every cookie is larger than the one before")
    func order() {
        let listing = DirectoryListing(Self.snapshot((0..<5000).map { "name_\($0)" }))
        #expect(listing.entries.prefix(2).map(\.name) == [".", ".."])
        #expect(Array(listing.cookies.prefix(2)) == [1, 2])
        #expect(zip(listing.cookies, listing.cookies.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Set(listing.entries.map(\.name)).count == 5002)
        #expect(listing.index(after: 0) == 0)
        #expect(listing.index(after: 2) == 2)
        #expect(listing.index(after: listing.cookies.last!) == listing.entries.count)
    }

    @Test("a name's cookie does not depend on the other names of the snapshot")
    func cookieOfName() {
        let small = DirectoryListing(Self.snapshot(["a", "b", "c"]))
        let large = DirectoryListing(Self.snapshot((0..<1000).map { "x\($0)" } + ["a", "b", "c"]))
        for name in ["a", "b", "c"] {
            let inSmall = small.cookies[small.entries.firstIndex { $0.name == name }!]
            let inLarge = large.cookies[large.entries.firstIndex { $0.name == name }!]
            #expect(inSmall == inLarge, "\(name)")
        }
    }

    @Test("a listing resumed in a later snapshot neither repeats nor skips a name both snapshots hold")
    func resumedAcrossSnapshots() {
        let before = (0..<2000).map { "f\($0)" }
        // Between the snapshots: every third name removed, 500 created, 100 renamed.
        var after = before.enumerated().filter { $0.offset % 3 != 0 }.map(\.element)
        after += (0..<500).map { "new\($0)" }
        after = after.map { $0.hasPrefix("f1") && $0.count == 4 ? "renamed_\($0)" : $0 }
        let first = DirectoryListing(Self.snapshot(before))
        let second = DirectoryListing(Self.snapshot(after))
        let inBoth = Set(before).intersection(after)
        for split in [0, 1, 2, 3, 17, 500, 1001, 1999, 2001] {
            let head = first.entries.prefix(split).map(\.name)
            let resumeAfter = split == 0 ? 0 : first.cookies[split - 1]
            let tail = second.entries[second.index(after: resumeAfter)...].map(\.name)
            let listed = head + tail
            #expect(listed.count == Set(listed).count, "split \(split): a name came twice")
            #expect(inBoth.isSubset(of: listed), "split \(split): a name held by both snapshots was skipped")
            #expect(listed.filter { $0 == "." }.count == 1 && listed.filter { $0 == ".." }.count == 1)
        }
    }

    @Test("listings are shared per directory node: new at offset 0, dropped at the end, bounded")
    func sharedListings() throws {
        let listings = DirectoryListings()
        var taken = 0
        func take(_ names: [String]) -> () throws(Errno) -> DirectoryListing {
            { () throws(Errno) in
                taken += 1
                return DirectoryListing(Self.snapshot(names))
            }
        }
        let node = NodeID(rawValue: 7)
        let first = try listings.listing(node, fresh: true, take: take(["a", "b"]))
        // A reader resuming (offset ≠ 0) reads the node's listing, whoever took it.
        let resumed = try listings.listing(node, fresh: false, take: take(["x"]))
        #expect(resumed.entries.map(\.name) == first.entries.map(\.name) && taken == 1)
        // Offset 0 takes a new one; the end of a listing drops it, so the next reader takes one again.
        _ = try listings.listing(node, fresh: true, take: take(["a", "b", "c"]))
        #expect(taken == 2)
        listings.finished(node)
        let after = try listings.listing(node, fresh: false, take: take(["a"]))
        #expect(taken == 3 && after.entries.map(\.name) == [".", "..", "a"])
        // Bounded: the oldest node's listing goes first.
        for raw in 100..<(100 + UInt64(DirectoryListings.capacity)) {
            _ = try listings.listing(NodeID(rawValue: raw), fresh: true, take: take(["n"]))
        }
        let before = taken
        _ = try listings.listing(node, fresh: false, take: take(["again"]))
        #expect(taken == before + 1)
    }
}
