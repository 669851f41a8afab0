import StrataTestSupport
import Testing

/// A minimal sequence over `StandardFixtures.layered` that the random suite once found to differ from
/// the kernel, kept so that the difference stays fixed once fixed.
struct FoundSequence: Sendable, CustomTestStringConvertible {
    var rule: String
    var operations: [Operation]

    var testDescription: String { rule }
}

@Suite("sequences found by the random suite",
       .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct FoundSequenceTests {
    static let sequences: [FoundSequence] = [
        FoundSequence(rule: "a hard link to an upper file, then unlinking it, keeps the original listed",
                      operations: [.link("m/up", as: "d/d0"), .unlink("d/d0"), .list("m"), .read("m/up")]),
        FoundSequence(rule: "copy-up of a lower hard link keeps the parent's mtime",
                      operations: [.unlink("hl1"), .chmod("a/hl2", 0o700), .stat("a")]),
        FoundSequence(rule: "a change through another name of an indexed lower hard link keeps the parent's mtime",
                      operations: [.link("hl1", as: "d/n2"), .setxattr("a/hl2", name: "user.a", value: "v", .either), .stat("a")]),
        FoundSequence(rule: "unlinking one name of an upper hard link keeps the other names listed",
                      operations: [.create("k/n2", [.exclusive], mode: 0o755), .link("k/n2", as: "d/n2"), .unlink("d/n2"), .list("k")]),
        FoundSequence(rule: "copy-up of a lower hard link keeps the other name's link count and data",
                      operations: [.truncate("hl1", to: 0), .stat("a/hl2"), .unlink("hl1"), .read("a/hl2"), .stat("a/hl2")]),
        FoundSequence(rule: "listing a symlink does not follow it (ENOTDIR)",
                      operations: [.list("sd"), .symlink("dangling", target: "nowhere"), .list("dangling")]),
        FoundSequence(rule: "truncate of a symlink does not follow it (ELOOP, as open with O_NOFOLLOW)",
                      operations: [.truncate("s", to: 1)]),
        FoundSequence(rule: "user.* xattrs on a symlink or fifo: EPERM before anything else, and no copy-up",
                      operations: [.removexattr("sd", name: "user.c"), .setxattr("s", name: "user.a", value: "v", .either),
                                   .setxattr("p", name: "user.a", value: "v", .replace)]),
        FoundSequence(rule: "link(2) reports an existing new name (EEXIST) before a directory source (EPERM)",
                      operations: [.link("a", as: "ro")]),
        FoundSequence(rule: "rename onto an ancestor of the source is ENOTEMPTY, checked before the type",
                      operations: [.create("a/n1", [.exclusive], mode: 0o600), .rename("a/n1", to: "a", .plain)]),
        FoundSequence(rule: "utimensat with both times UTIME_OMIT succeeds without looking at the last name",
                      operations: [.utimens("missing", access: .omit, modification: .omit)]),
        FoundSequence(rule: "mkdir ignores the set-gid bit of the mode",
                      operations: [.mkdir("n/newdir", mode: 0o2775), .stat("n/newdir"), .mkdir("k/k1", mode: 0o2775), .stat("k/k1")]),
        FoundSequence(rule: "a new directory in a merged directory is opaque in the upper layer",
                      operations: [.mkdir("a/newdir", mode: 0o755)]),
        FoundSequence(rule: "a rename inside one directory records a relative redirect",
                      operations: [.rename("h", to: "h2", .plain), .rename("a/b", to: "a/b2", .plain)]),
        FoundSequence(rule: "a renamed lower file keeps its redirect after its data is copied up",
                      operations: [.rename("suid", to: "a/b/x", .plain), .truncate("a/b/x", to: 1)]),
    ]

    @Test("a sequence the random suite found gives the kernel's results", arguments: sequences)
    func sequence(_ found: FoundSequence) throws {
        try Differential.check(StandardFixtures.layered, found.operations)
    }
}
