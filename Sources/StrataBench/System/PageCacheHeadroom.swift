import Strata

/// Memory the guest still holds, handed to the kernel just before a timed copy-up.
///
/// On VMs that give free memory back to their host (virtio free page reporting, as on the
/// development VMs), a 1 GiB copy-up that lands on returned pages pays a host fault per page:
/// 2-4 s instead of 0.3 s, for the kernel's copy-up and Strata's alike, and which one lands there
/// is luck. Touching and freeing memory first puts recently used pages at the head of the free
/// lists, which the copy's page cache then takes (`populateAndReleaseMemory`).
enum PageCacheHeadroom {
    /// Populates and releases twice `bytes`, at most half the memory the kernel reports available;
    /// does nothing where that cannot be read. Never fails the run: the copy-up is only timed less
    /// evenly without it.
    static func prepare(for bytes: Int64) {
        guard let available = availableBytes() else { return }
        let size = min(2 * bytes, available / 2)
        guard size > 0 else { return }
        try? populateAndReleaseMemory(bytes: Int(size))
    }

    /// `MemAvailable` of /proc/meminfo, in bytes.
    private static func availableBytes() -> Int64? {
        guard let text = ProcessUsage.read("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }.map { $0 * 1_024 }
        }
        return nil
    }
}
