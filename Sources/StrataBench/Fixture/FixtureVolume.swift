import Foundation
import Glibc

/// The file system the fixture, the uppers and the work directories live on.
///
/// As root, by default a dedicated ext4 in a sparse loop image (direct I/O, no online discard): a
/// root file system mounted with `discard` makes create, unlink and fsync times swing by 10× between
/// identical runs. Otherwise (or with `--fixture-fs here`) the file system of `--directory`, named in
/// the output so a reader knows what the figures stand on.
struct FixtureVolume {
    /// Where everything of the run goes.
    let root: String
    /// What it is, for the output: "ext4 on /dev/loop3 (loop image, rw,noatime,…)".
    let description: String

    /// Makes the run's directory under `directory`, with a loop-mounted ext4 of `size` bytes when
    /// `mode` asks for it (or `auto` and root). Registers its removal with `teardown`.
    static func prepare(in directory: String, mode: FixtureFileSystemMode, size: Int64, teardown: Teardown) throws(BenchError) -> FixtureVolume {
        let base = try makeTemporaryDirectory(in: directory)
        _ = teardown.push("remove \(base)") {
            // Whatever is still mounted below (a mount that was busy when its own unmount ran) goes first.
            for mount in Mounts.table().filter({ $0.point.hasPrefix(base + "/") }).sorted(by: { $0.point.count > $1.point.count }) {
                _ = try? Command.run(["umount", "-l", mount.point], limit: .seconds(20))
            }
            _ = try? Command.run(["rm", "-rf", "--one-file-system", base], limit: .seconds(600))
        }
        let useLoop: Bool
        switch mode {
        case .loop:
            guard geteuid() == 0 else { throw BenchError("--fixture-fs loop needs root (losetup and mount)") }
            useLoop = true
        case .auto: useLoop = geteuid() == 0 && Command.exists("losetup") && Command.exists("mkfs.ext4")
        case .here: useLoop = false
        }
        guard useLoop else {
            return FixtureVolume(root: base, description: describe(base, how: "the file system of \(directory)"))
        }
        let image = "\(base)/fixture.img"
        let mountPoint = "\(base)/fs"
        try Command.check(["truncate", "-s", "\(size)", image])
        // Direct I/O keeps the image's pages out of the page cache twice; tmpfs cannot do it.
        var direct = true
        var attach = try Command.run(["losetup", "--find", "--show", "--direct-io=on", image])
        if attach.status != 0 || attach.output.contains("direct") {
            if attach.status == 0 { _ = try? Command.run(["losetup", "-d", attach.output.split(separator: "\n").last.map(String.init) ?? ""]) }
            direct = false
            attach = try Command.run(["losetup", "--find", "--show", image])
        }
        guard attach.status == 0, let line = attach.output.split(separator: "\n").last, line.hasPrefix("/dev/") else {
            throw BenchError("losetup cannot attach \(image): \(attach.output)")
        }
        let device = String(line)
        _ = teardown.push("detach \(device)") { _ = try? Command.run(["losetup", "-d", device]) }
        try Command.check(
            ["mkfs.ext4", "-q", "-F", "-i", "8192", "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0", device],
            limit: .seconds(300))
        try Command.check(["mkdir", "-p", mountPoint])
        try Command.check(["mount", "-o", "noatime,nodiscard", device, mountPoint])
        _ = teardown.push("unmount \(mountPoint)") { Mounts.unmount(mountPoint, server: nil) }
        return FixtureVolume(
            root: mountPoint,
            description: describe(
                mountPoint, how: "a dedicated \(size >> 20) MiB loop image (\(direct ? "direct I/O" : "buffered"), no discard)"))
    }

    private static func makeTemporaryDirectory(in directory: String) throws(BenchError) -> String {
        let outcome = try Command.run(["mktemp", "-d", "\(directory)/strata-bench.XXXXXX"])
        guard outcome.status == 0 else {
            throw BenchError("cannot create a directory in \(directory): \(outcome.output)")
        }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// "ext4 (rw,noatime) on /dev/loop0, mounted at /…: how" from /proc/self/mountinfo.
    static func describe(_ path: String, how: String) -> String {
        guard let mount = Mounts.mountContaining(path) else { return "unknown file system (\(how))" }
        return "\(mount.type) (\(mount.options)) from \(mount.source) at \(mount.point): \(how)"
    }
}

/// Where the fixture goes: `loop` a dedicated ext4 loop image (root only), `here` the file system of
/// the directory given, `auto` the loop image when root, else here.
public enum FixtureFileSystemMode: String, Sendable, CaseIterable {
    case auto, loop, here
}
