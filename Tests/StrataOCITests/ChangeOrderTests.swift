import StrataOCI
import StrataSystem
import Testing

/// Changes are told apart and ordered by the bytes of their paths, as a layer orders its entries.
@Suite("changes of look-alike paths")
struct ChangeOrderTests {
    @Test("precomposed and decomposed names are two changes, in byte order, whatever order they came in")
    func lookAlikes() {
        let composed = Change(kind: .added, path: "/caf\u{E9}")  // c a f C3 A9
        let decomposed = Change(kind: .added, path: "/cafe\u{301}")  // c a f e CC 81
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
        #expect([composed, decomposed].sorted().map(\.path) == [decomposed.path, composed.path])
        #expect([decomposed, composed].sorted().map(\.path) == [decomposed.path, composed.path])
        let odd = Change(kind: .deleted, path: FileName.decode(Array("/x".utf8) + [0xFF]))
        let plain = Change(kind: .deleted, path: "/xy")
        #expect([odd, plain].sorted() == [plain, odd])
        #expect([Change(kind: .deleted, path: "/a"), Change(kind: .added, path: "/a")].sorted().map(\.kind) == [.added, .deleted])
    }
}
