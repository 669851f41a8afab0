import Foundation

extension BenchReport {
    /// The report as text for a terminal or a Markdown file: the setup, the main table (median
    /// [min–max]), the speedups over the kernel and fuse-overlayfs, the servers, the layer scaling,
    /// the targets and any failed check.
    public var text: String {
        var lines: [String] = []
        lines.append("strata bench, \(date), Linux \(machine.kernel), \(machine.processors) CPUs")
        lines.append("fixture: \(fixture.layers) lower layers, scale \(fixture.scale), on \(fixture.fileSystem)")
        lines.append("\(pinning); \(repetitions) repetitions (fresh upper and mount each), \(warmPasses) warm passes")
        if let floor = fuseFloorMicroseconds {
            lines.append("FUSE floor (one bare round trip, do-nothing FUSE file system): \(format(floor)) µs"
                + (fuseFloorServerCPUMicroseconds.map { ", of which server CPU \(format($0)) µs" } ?? ""))
        }
        lines.append("")
        for backend in backends { lines.append("  \(backend.name): \(backend.summary)") }
        lines.append("")
        let names = backends.map(\.name)
        var rows = [["workload", "unit"] + names]
        for result in results {
            rows.append([result.workload.rawValue, result.unit.rawValue] + names.map { name in
                if let value = result.values[name] { return format(value) }
                return result.failures[name] == nil ? "–" : "FAILED"
            })
        }
        lines.append(contentsOf: Self.table(rows))
        for (peer, key) in [("kernel", \WorkloadResult.speedupOverKernel), ("fuse-overlayfs", \WorkloadResult.speedupOverFuseOverlayfs)]
        where names.contains(peer) {
            lines.append("")
            lines.append("speedup over \(peer) (> 1: faster), from the medians")
            var ratioRows = [["workload"] + names]
            for result in results {
                ratioRows.append([result.workload.rawValue] + names.map { result[keyPath: key][$0].map { String(format: "%.2f", $0) } ?? "–" })
            }
            lines.append(contentsOf: Self.table(ratioRows))
        }
        if !servers.isEmpty {
            lines.append("")
            var serverRows = [["server", "CPU µs per first lookup", "RSS KiB after 1 walk", "after 10 walks"]]
            for server in servers {
                serverRows.append([
                    server.backend, server.cpuMicrosecondsPerLookup.map(format) ?? "–",
                    server.residentKiBAfterOneWalk.map(format) ?? "–", server.residentKiBAfterTenWalks.map(format) ?? "–",
                ])
            }
            lines.append(contentsOf: Self.table(serverRows))
        }
        if !scaling.isEmpty {
            lines.append("")
            lines.append("first-pass lstat vs lower layers, µs per call (exist: name in the bottom layer / miss: never-seen name)")
            let layerCounts = Array(Set(scaling.map(\.layers))).sorted()
            var scalingRows = [["backend"] + layerCounts.map { "\($0)" }]
            for backend in names where scaling.contains(where: { $0.backend == backend }) {
                scalingRows.append([backend] + layerCounts.map { layers in
                    guard let row = scaling.first(where: { $0.backend == backend && $0.layers == layers }) else { return "" }
                    let exist = row.existMicroseconds.map { String(format: "%.3g", $0.median) } ?? "–"
                    let miss = row.missMicroseconds.map { String(format: "%.3g", $0.median) } ?? "–"
                    return "\(exist) / \(miss)"
                })
            }
            lines.append(contentsOf: Self.table(scalingRows))
        }
        if !targets.isEmpty {
            lines.append("")
            lines.append("targets")
            for check in targets {
                let verdict = check.met.map { $0 ? "met    " : "NOT MET" } ?? "n/a    "
                lines.append("  \(verdict) \(check.target): \(check.measured)")
            }
        }
        if !failedChecks.isEmpty {
            lines.append("")
            lines.append("FAILED CHECKS")
            lines.append(contentsOf: failedChecks.map { "  \($0)" })
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func format(_ statistics: Statistics) -> String {
        statistics.count == 1 ? Self.number(statistics.median)
            : "\(Self.number(statistics.median)) [\(Self.number(statistics.min))-\(Self.number(statistics.max))]"
    }

    static func number(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.3g", value)
    }

    /// Columns padded to their widest cell.
    static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            "  " + zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
    }
}
