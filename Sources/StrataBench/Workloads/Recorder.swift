/// The measurements of a run as they come in, keyed by workload and backend.
final class Recorder {
    var samples: [Workload: [String: [Double]]] = [:]
    var failures: [Workload: [String: String]] = [:]
    var floor: [Double] = []
    var floorServerCPU: [Double] = []
    var serverCPU: [String: [Double]] = [:]
    var residentOne: [String: [Double]] = [:]
    var residentTen: [String: [Double]] = [:]
    var scalingExist: [ScalingKey: [Double]] = [:]
    var scalingMiss: [ScalingKey: [Double]] = [:]
    var scalingFailures: [String] = []
    var failedChecks: [String] = []

    func add(_ workload: Workload, _ backend: String, _ value: Double) {
        samples[workload, default: [:]][backend, default: []].append(value)
    }

    func fail(_ workload: Workload, _ backend: String, _ reason: String) {
        failures[workload, default: [:]][backend] = reason
    }

    /// The backend could not be mounted: every workload of the repetition failed.
    func failAll(_ backend: String, _ reason: String) {
        for workload in Workload.allCases { fail(workload, backend, reason) }
    }

    func result(_ workload: Workload, layout: FixtureLayout, backends: [Backend]) -> BenchReport.WorkloadResult {
        var values: [String: Statistics] = [:]
        for (backend, list) in samples[workload] ?? [:] {
            values[backend] = Statistics(list)
        }
        var overKernel: [String: Double] = [:]
        var overFuse: [String: Double] = [:]
        for backend in backends.map(\.name) {
            guard let value = values[backend]?.median else { continue }
            if let kernel = values["kernel"]?.median { overKernel[backend] = speedup(value, over: kernel, workload.unit) }
            if let fuse = values["fuse-overlayfs"]?.median { overFuse[backend] = speedup(value, over: fuse, workload.unit) }
        }
        return BenchReport.WorkloadResult(
            workload: workload, title: workload.title(layout), unit: workload.unit, values: values,
            speedupOverKernel: overKernel, speedupOverFuseOverlayfs: overFuse, failures: failures[workload] ?? [:])
    }
}

/// > 1: `value` is that many times faster than `peer`.
func speedup(_ value: Double, over peer: Double, _ unit: Workload.Unit) -> Double {
    guard value > 0, peer > 0 else { return 0 }
    return unit.higherIsBetter ? value / peer : peer / value
}

struct ScalingKey: Hashable {
    var backend: String
    var layers: Int
}
