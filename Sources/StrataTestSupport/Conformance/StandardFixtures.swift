/// Fixtures shared by the differential tests. All use only the kernel's formats (char 0/0 whiteouts,
/// `trusted.overlay.opaque=y`), so the kernel's overlayfs can serve as the oracle.
public enum StandardFixtures {
    /// Three lower layers and a populated upper, with every construct the rules talk about: a name in
    /// several layers, merged directories three deep, whiteouts of files and of a directory, opaque
    /// directories in a lower and in the upper, a file hiding a directory, lower hard links, symlinks,
    /// a fifo, set-id and read-only files, foreign owners, user.* xattrs on files and directories.
    public static let layered = LayerFixture(
        lowers: [
            Layer {  // lower0 (top)
                FixtureEntry.whiteout("a/b/c")
                FixtureEntry.file("h", "lower0 h\n", mode: 0o640, uid: 1000, gid: 1000)
                FixtureEntry.directory("m")
                FixtureEntry.whiteout("m/m1")
                FixtureEntry.directory("n", mode: 0o750, uid: 1234, gid: 1234)
                FixtureEntry.directory("n/n2")
                FixtureEntry.file("n/n2/deep", "deep in lower0\n", xattrs: ["user.a": "n2"])
                FixtureEntry.file("k/k2", "k2 from lower0\n")
                FixtureEntry.symlink("k/link", to: "../h")
            },
            Layer {  // lower1
                FixtureEntry.directory("a", mode: 0o775, xattrs: ["user.dir": "lower1"])
                FixtureEntry.file("a/f1", "lower1 a/f1 wins\n", uid: 1000, gid: 1000, xattrs: ["user.a": "from lower1"])
                FixtureEntry.file("a/g1", "only in lower1\n")
                FixtureEntry.whiteout("x")
                FixtureEntry.directory("d", opaque: .xattr)
                FixtureEntry.file("d/new", "in opaque d\n")
                FixtureEntry.file("e", "a file hides the directory e below\n")
                FixtureEntry.directory("m")
                FixtureEntry.file("m/m2", "m2\n")
                FixtureEntry.directory("k", mode: 0o700)
                FixtureEntry.file("k/k1", "k1 from lower1\n")
            },
            Layer {  // lower2 (bottom)
                FixtureEntry.directory("a", uid: 1000, gid: 1000, xattrs: ["user.dir": "lower2"])
                FixtureEntry.file("a/f1", "lower2 a/f1 (hidden)\n")
                FixtureEntry.directory("a/b", mode: 0o755, uid: 1000, gid: 1000)
                FixtureEntry.file("a/b/f2", "deep file\n", mode: 0o600, uid: 1000, gid: 1000, xattrs: ["user.b": "f2"])
                FixtureEntry.directory("a/b/c")
                FixtureEntry.file("a/b/c/f3", "deeper, whited out by lower0\n")
                FixtureEntry.directory("d")
                FixtureEntry.file("d/g", "hidden by the opaque d\n")
                FixtureEntry.directory("e")
                FixtureEntry.file("e/inner", "hidden by the file e\n")
                FixtureEntry.file("h", "lower2 h (hidden)\n")
                FixtureEntry.file("x", "whited out\n")
                FixtureEntry.file("big", bytes: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                FixtureEntry.file("hl1", "shared inode\n", uid: 1234, gid: 1234)
                FixtureEntry.hardLink("a/hl2", to: "hl1")
                FixtureEntry.symlink("s", to: "a/f1", uid: 1000, gid: 1000)
                FixtureEntry.symlink("sd", to: "a")
                FixtureEntry.fifo("p", mode: 0o640)
                FixtureEntry.directory("m")
                FixtureEntry.file("m/m1", "m1 whited out by lower0\n")
                FixtureEntry.file("ro", "read only\n", mode: 0o444, uid: 1234, gid: 1234, xattrs: ["user.k": "v", "user.a": "ro"])
                FixtureEntry.file("suid", "set-uid\n", mode: 0o4755, uid: 1000, gid: 1000)
            },
        ],
        upper: Layer {
            FixtureEntry.directory("m", mode: 0o755)
            FixtureEntry.file("m/up", "already in upper\n", xattrs: ["user.a": "upper"])
            FixtureEntry.whiteout("k/k1")
            FixtureEntry.directory("n", mode: 0o755, opaque: .xattr)
            FixtureEntry.file("n/fresh", "upper opaque n\n")
        }
    )
}
