import Foundation
import Glibc

/// CPU time and resident memory of a process, from /proc (the FUSE servers the run measures).
enum ProcessUsage {
    /// User plus system CPU time of every thread of `pid`, in seconds (`utime + stime` of
    /// /proc/PID/stat, in clock ticks).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state is field 3, utime field 14, stime field 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident set size of `pid` in KiB (`VmRSS` of /proc/PID/status).
    static func residentKiB(_ pid: Int32) -> Double? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Double($0) }
        }
        return nil
    }

    /// The CPUs this process may run on (`Cpus_allowed_list`).
    static func allowedCPUs() -> String? {
        guard let text = read("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return line.split(separator: "\t").last.map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
