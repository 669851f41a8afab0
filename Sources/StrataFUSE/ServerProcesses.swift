import Glibc
import Strata

/// Finding the background process that serves a mount, so `strata unmount` can wait until it has
/// flushed and released its layers before it returns (a `strata mount` on the next line must find the
/// work directory free, and every written byte must be on disk).
public enum ServerProcesses {
    /// `path` made absolute against the current directory, without touching the file system at it
    /// (the mount's server may be hung). `.` and `..` components are resolved textually.
    public static func absolute(_ path: String) -> String {
        var components: [Substring] = []
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if unsafe getcwd(&buffer, buffer.count) != nil {
                let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                components = String(decoding: bytes, as: UTF8.self).split(separator: "/")
            }
        }
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// The `strata` and `strata-serve` processes (other than this one) whose arguments name
    /// `mountPoint` (absolute).
    public static func serving(_ mountPoint: String) -> [Int32] {
        guard let directory = unsafe opendir("/proc") else { return [] }
        defer { unsafe closedir(directory) }
        var found: [Int32] = []
        let me = getpid()
        while let entry = unsafe readdir(directory) {
            let name = unsafe withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != me else { continue }
            let arguments = commandLine(of: pid)
            guard let program = arguments.first,
                program.hasSuffix("strata") || program.hasSuffix("strata-serve") || program == "/proc/self/exe",
                arguments.dropFirst().contains(mountPoint)
            else { continue }
            found.append(pid)
        }
        return found
    }

    /// Waits until none of `processes` exists any more, for at most `seconds`. Returns false on timeout.
    public static func waitForExit(_ processes: [Int32], seconds: Double) -> Bool {
        let deadline = Double(time(nil)) + seconds
        var remaining = processes
        while true {
            remaining = remaining.filter { (kill($0, 0) == 0 || errno == EPERM) && !isZombie($0) }
            if remaining.isEmpty { return true }
            if Double(time(nil)) > deadline { return false }
            _ = usleep(20_000)
        }
    }

    /// An exited process its parent has not reaped yet (an orphaned server waits for init to do it).
    private static func isZombie(_ pid: Int32) -> Bool {
        let descriptor = unsafe open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = unsafe read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return true }
        // "pid (comm) S …": the state follows the last ')'.
        let text = buffer.prefix(count)
        guard let close = text.lastIndex(of: UInt8(ascii: ")")), close + 2 < text.endIndex else { return false }
        return text[close + 2] == UInt8(ascii: "Z")
    }

    private static func commandLine(of pid: Int32) -> [String] {
        let descriptor = unsafe open("/proc/\(pid)/cmdline", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = unsafe read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer.prefix(count)
        }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.isEmpty }
    }
}
