/// Median and range of repeated measurements of one figure.
public struct Statistics: Codable, Sendable, Hashable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// How many measurements: repetitions, or repetitions × warm passes.
    public var count: Int

    public init?(_ samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        count = sorted.count
    }
}

/// Seconds taken by `body`, on the monotonic clock.
func seconds<E: Error>(_ body: () throws(E) -> Void) throws(E) -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    let (whole, fraction) = elapsed.components
    return Double(whole) + Double(fraction) * 1e-18
}
