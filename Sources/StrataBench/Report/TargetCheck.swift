/// One target of the benchmark issue, checked against a report: the ratio it asks for, what was
/// measured, and whether it was met (nil when a backend it needs did not run).
public struct TargetCheck: Codable, Sendable {
    public var target: String
    public var measured: String
    public var met: Bool?

    /// Every target that the backends of `report` allow checking.
    static func evaluate(_ report: BenchReport) -> [TargetCheck] {
        var checks: [TargetCheck] = []
        let judge = Judge(report: report)
        // strata mount against the peers.
        checks.append(judge.speedup(.lookupFirst, "strata", over: "fuse-overlayfs", atLeast: 2.5,
                                    "strata mount, first lookup: ≥ 2.5× fuse-overlayfs"))
        if let floor = report.fuseFloorMicroseconds?.median, let kops = report.median(.lookupFirst, "strata") {
            let micros = 1_000 / kops
            checks.append(TargetCheck(
                target: "strata mount, first lookup: ≤ 1.1 FUSE round trips per path",
                measured: String(format: "%.1f µs per path = %.2f × the %.1f µs floor", micros, micros / floor, floor),
                met: micros <= 1.1 * floor))
        }
        if let cpu = report.servers.first(where: { $0.backend == "strata" })?.cpuMicrosecondsPerLookup?.median {
            let peer = report.servers.first { $0.backend == "fuse-overlayfs" }?.cpuMicrosecondsPerLookup?.median
            checks.append(TargetCheck(
                target: "strata mount, first lookup: ≤ 3 µs of server CPU per lookup",
                measured: String(format: "%.1f µs", cpu) + (peer.map { String(format: " (fuse-overlayfs %.1f µs)", $0) } ?? "")
                    + (report.fuseFloorServerCPUMicroseconds.map { String(format: "; the do-nothing server spends %.1f µs", $0.median) } ?? ""),
                met: cpu <= 3))
        }
        checks.append(judge.speedup(.negativeFirst, "strata", over: "kernel", atLeast: 1, "strata mount, first negative lookup: ≥ the kernel"))
        for workload in [Workload.lookupWarm, .negativeWarm, .walkWarm] {
            checks.append(judge.speedup(workload, "strata", over: "kernel", atLeast: 0.9, "strata mount, \(workload.rawValue): ≥ 0.9× the kernel"))
        }
        checks.append(judge.speedup(.readdirFirst, "strata", over: "kernel", atLeast: 0.5, "strata mount, merged listing, first: ≤ 2× the kernel's time"))
        if let warm = report.median(.readdirWarm, "strata") {
            checks.append(TargetCheck(
                target: "strata mount, merged listing, warm: ≤ 5 ms (at scale 1)",
                measured: String(format: "%.2f ms", warm), met: report.fixture.scale < 1 ? nil : warm <= 5))
        }
        checks.append(judge.speedup(.readWarm, "strata", over: "kernel", atLeast: 0.7, "strata mount, open+read+close warm: ≥ 0.7× the kernel"))
        checks.append(judge.speedup(.create, "strata", over: "kernel", atLeast: 0.5, "strata mount, create: ≥ 0.5× the kernel"))
        checks.append(judge.speedup(.unlink, "strata", over: "kernel", atLeast: 0.5, "strata mount, unlink of lower files: ≥ 0.5× the kernel"))
        checks.append(judge.speedup(.removeTree, "strata", over: "kernel", atLeast: 0.5, "strata mount, rm -rf of a lower tree: ≤ 2× the kernel's time"))
        checks.append(judge.speedup(.bigAppend, "strata", over: "kernel", atLeast: 1, "strata mount, 1 GiB copy-up (append): ≤ the kernel's time, both fsync"))
        checks.append(judge.speedup(.bigAppend, "strata-volatile", over: "kernel-volatile", atLeast: 1,
                                    "strata mount, 1 GiB copy-up (append): ≤ the kernel's time, both volatile"))
        checks.append(judge.speedup(.chmod, "strata-volatile", over: "kernel-metacopy-volatile", atLeast: 1,
                                    "strata mount, chmod of lower files: ≥ the kernel with metacopy=on, both volatile"))
        checks.append(contentsOf: judge.flat("strata", limit: 1.3, "strata mount"))
        checks.append(contentsOf: judge.memory())
        // The in-process API against the kernel.
        checks.append(judge.speedup(.lookupWarm, "api", over: "kernel", atLeast: 2, "API, warm lookup: ≥ 2× the kernel"))
        checks.append(judge.speedup(.negativeWarm, "api", over: "kernel", atLeast: 2, "API, warm negative lookup: ≥ 2× the kernel"))
        checks.append(judge.speedup(.negativeFirst, "api", over: "kernel", atLeast: 2, "API, first negative lookup: ≥ 2× the kernel"))
        checks.append(contentsOf: judge.flat("api", limit: 1.2, "API"))
        checks.append(judge.speedup(.readdirFirst, "api", over: "kernel", atLeast: 1, "API, merged listing, first: ≤ the kernel's time"))
        for workload in [Workload.chmod, .copyUpSmall, .bigAppend, .bigOverwrite] {
            checks.append(judge.speedup(workload, "api", over: "kernel-volatile", atLeast: 1, "API, \(workload.rawValue): ≥ the kernel with volatile"))
        }
        return checks.filter { $0.met != nil || !$0.measured.isEmpty }
    }
}

/// Reads ratios out of a report for `TargetCheck`.
private struct Judge {
    let report: BenchReport

    func speedup(_ workload: Workload, _ backend: String, over peer: String, atLeast limit: Double, _ target: String) -> TargetCheck {
        guard let value = report.median(workload, backend), let base = report.median(workload, peer) else {
            return TargetCheck(target: target, measured: "", met: nil)
        }
        let ratio = StrataBench.speedup(value, over: base, workload.unit)
        let unit = workload.unit.rawValue
        return TargetCheck(
            target: target,
            measured: String(format: "%.2f× (%.3g vs %.3g %@)", ratio, value, base, unit), met: ratio >= limit)
    }

    /// Layer scaling: the cost at the most layers measured against one layer, for names in the bottom
    /// layer and for missing names.
    func flat(_ backend: String, limit: Double, _ label: String) -> [TargetCheck] {
        let rows = report.scaling.filter { $0.backend == backend }
        guard let one = rows.first(where: { $0.layers == 1 }), let most = rows.max(by: { $0.layers < $1.layers }),
            most.layers > 1
        else { return [] }
        var checks: [TargetCheck] = []
        for (kind, low, high) in [
            ("bottom-layer names", one.existMicroseconds?.median, most.existMicroseconds?.median),
            ("missing names", one.missMicroseconds?.median, most.missMicroseconds?.median),
        ] {
            guard let low, let high, low > 0 else { continue }
            checks.append(TargetCheck(
                target: "\(label), first lookup of \(kind): \(most.layers) layers ≤ \(limit)× 1 layer",
                measured: String(format: "%.2f× (%.2f → %.2f µs)", high / low, low, high), met: high / low <= limit))
        }
        return checks
    }

    /// Server memory after one walk and after ten: at most fuse-overlayfs's, and flat.
    func memory() -> [TargetCheck] {
        guard let strata = report.servers.first(where: { $0.backend == "strata" }),
            let one = strata.residentKiBAfterOneWalk?.median, let ten = strata.residentKiBAfterTenWalks?.median
        else { return [] }
        var checks = [TargetCheck(
            target: "strata mount, server memory flat from 1 to 10 walks (≤ 1.1×)",
            measured: String(format: "%.0f → %.0f KiB", one, ten), met: ten <= 1.1 * one)]
        if let peer = report.servers.first(where: { $0.backend == "fuse-overlayfs" }),
            let peerOne = peer.residentKiBAfterOneWalk?.median, let peerTen = peer.residentKiBAfterTenWalks?.median
        {
            checks.append(TargetCheck(
                target: "strata mount, server memory after 1 and 10 walks: ≤ fuse-overlayfs",
                measured: String(format: "%.0f / %.0f KiB vs %.0f / %.0f KiB", one, ten, peerOne, peerTen),
                met: one <= peerOne && ten <= peerTen))
        }
        return checks
    }
}
