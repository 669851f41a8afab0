import Glibc
import Strata
import StrataFUSE
import StrataTestSupport
import Testing

/// Names are bytes through the mount as through the kernel's overlay: look-alike names (Unicode
/// normalisation, the Kelvin sign) and names that are not UTF-8 list, read, copy up and go away one
/// by one, and the two uppers end up holding the same names.
@Suite("names that are not UTF-8 or differ only in normalisation, through the mount",
       .enabled(if: KernelOverlay.isAvailable, "the kernel overlay cannot be mounted here (needs root and overlayfs)"))
struct NameBytesThroughMountTests {
    static let names: [[UInt8]] = [
        [0x63, 0x61, 0x66, 0xC3, 0xA9], [0x63, 0x61, 0x66, 0x65, 0xCC, 0x81], [0xE2, 0x84, 0xAA], [0x4B],
        [0x78, 0xFF], [0x78, 0xFE],
    ]

    private static func sorted(_ names: [[UInt8]]) -> [[UInt8]] {
        names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// The names in a directory, as bytes.
    private static func list(_ path: String) throws -> [[UInt8]] {
        let directory = try openDirectory(path, pathOnly: false)
        defer { try? directory.close() }
        return sorted(try directory.readDirectoryRecords().map { FileName.bytes(of: $0.name) ?? [] })
    }

    /// The same steps on a mount point: what each read saw, then the names left.
    private static func exercise(_ mountPoint: String) throws -> [String] {
        var seen: [String] = []
        let root = try openDirectory(mountPoint)
        defer { try? root.close() }
        seen.append("\(try list(mountPoint))")
        for name in names {
            let file = try root.open(at: FileName.decode(name), flags: O_RDONLY)
            seen.append(String(decoding: try file.read(count: 16, at: 0), as: UTF8.self))
            try file.close()
        }
        for index in [1, 4] {
            let file = try root.open(at: FileName.decode(names[index]), flags: O_WRONLY | O_APPEND)
            _ = try file.write(Array("+".utf8), at: 0)
            try file.close()
        }
        try root.remove(at: FileName.decode(names[2]))
        try root.remove(at: FileName.decode(names[5]))
        let created = try root.open(at: FileName.decode([0x6E, 0xFD]), flags: O_WRONLY | O_CREAT, permissions: 0o644)
        try created.close()
        try root.createSymbolicLink(at: FileName.decode([0x6C, 0xFC]), target: FileName.decode([0x74, 0xFB]))
        seen.append(try root.readSymbolicLink(at: FileName.decode([0x6C, 0xFC])))
        for name in names where name != names[2] && name != names[5] {
            let file = try root.open(at: FileName.decode(name), flags: O_RDONLY)
            seen.append(String(decoding: try file.read(count: 16, at: 0), as: UTF8.self))
            try file.close()
        }
        seen.append("\(try list(mountPoint))")
        return seen
    }

    @Test("look-alike and non-UTF-8 names, as the kernel's overlay", .timeLimit(.minutes(2)))
    func asTheKernel() throws {
        let directory = try TemporaryDirectory(prefix: "strata-names-mount")
        defer { try? directory.remove() }
        let lower = try directory.makeSubdirectory("lower")
        let lowerRoot = try openDirectory(lower)
        for (index, name) in Self.names.enumerated() {
            let file = try lowerRoot.open(at: FileName.decode(name), flags: O_WRONLY | O_CREAT, permissions: 0o644)
            _ = try file.write(Array("\(index)".utf8), at: 0)
            try file.close()
        }
        try lowerRoot.close()

        var results: [[String]] = []
        var uppers: [[[UInt8]]] = []
        for side in ["kernel", "strata"] {
            let upper = try directory.makeSubdirectory("\(side)-upper")
            let work = try directory.makeSubdirectory("\(side)-work")
            let point = try directory.makeSubdirectory("\(side)-mount")
            if side == "kernel" {
                let mount = try KernelOverlay(lowers: [lower], upper: upper, work: work, mountPoint: point)
                defer { try? mount.unmount() }
                results.append(try Self.exercise(point))
            } else {
                let configuration = UnionConfiguration(lowers: [FilePath(lower)], upper: FilePath(upper), work: FilePath(work))
                let mount = try FUSEMount(MountOptions(union: configuration, entryTimeout: 1, attributeTimeout: 1), at: point)
                defer { try? mount.unmount() }
                results.append(try Self.exercise(point))
            }
            uppers.append(try Self.list(upper))
        }
        #expect(results[1] == results[0])
        #expect(uppers[1] == uppers[0])
        // The kernel's view holds every look-alike (the test would prove nothing if it did not).
        #expect(results[0][0] == "\(Self.sorted(Self.names))")
    }
}
