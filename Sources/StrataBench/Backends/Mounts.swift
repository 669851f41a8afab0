import Foundation
import Glibc

/// The mount table, and taking mounts down under a time limit.
enum Mounts {
    struct Entry {
        var point: String
        var type: String
        var source: String
        var options: String
    }

    /// The entries of /proc/self/mountinfo.
    static func table() -> [Entry] {
        guard let data = FileManager.default.contents(atPath: "/proc/self/mountinfo") else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard let dash = fields.firstIndex(of: "-"), fields.count > dash + 3, fields.count > 5 else { return nil }
            return Entry(
                point: unescape(fields[4]), type: fields[dash + 1], source: fields[dash + 2],
                options: fields[5])
        }
    }

    /// Whether something is mounted at `path` (absolute, no trailing slash).
    static func isMounted(_ path: String) -> Bool {
        table().contains { $0.point == path }
    }

    /// The mount that holds `path`: the longest mount point that is a prefix of it.
    static func mountContaining(_ path: String) -> Entry? {
        table().filter { path == $0.point || path.hasPrefix($0.point == "/" ? "/" : $0.point + "/") }
            .max { $0.point.count < $1.point.count }
    }

    /// Waits until `path` is a mount point, at most `limit`; fails early when `server` ends first.
    static func waitForMount(_ path: String, server: Process?, limit: Duration) throws(BenchError) {
        let deadline = ContinuousClock.now + limit
        while !isMounted(path) {
            // A command that daemonizes exits with 0 before its mount appears.
            if let server, !server.isRunning, server.terminationStatus != 0 {
                throw BenchError("the server for \(path) ended with status \(server.terminationStatus) before mounting")
            }
            if ContinuousClock.now > deadline { throw BenchError("\(path) was not mounted within \(limit)") }
            usleep(2_000)
        }
    }

    /// Unmounts `path` (as root `umount`, else `fusermount3 -u`), detaching it lazily when that fails
    /// or takes longer than 20 s, then waits up to 10 s for `server` to end before killing it.
    static func unmount(_ path: String, server: Process?) {
        let root = geteuid() == 0
        if isMounted(path) {
            let normal = root ? ["umount", path] : ["fusermount3", "-u", path]
            let lazy = root ? ["umount", "-l", path] : ["fusermount3", "-u", "-z", path]
            let done = (try? Command.run(normal, limit: .seconds(20)).status) == 0
            if !done { _ = try? Command.run(lazy, limit: .seconds(20)) }
        }
        guard let server else { return }
        if Command.waitForExit(server, limit: .seconds(10)) { return }
        server.terminate()
        if Command.waitForExit(server, limit: .seconds(5)) { return }
        kill(server.processIdentifier, SIGKILL)
        _ = Command.waitForExit(server, limit: .seconds(5))
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
