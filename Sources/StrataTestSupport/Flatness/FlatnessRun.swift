import Dispatch

/// A long run that must leave memory and descriptors where they were after a warm-up: many lookups of
/// the names of a lower tree, then many files created and removed (in batches, so the directory stays
/// small). The process measured is the one that serves the union: this one in-process, the `strata`
/// server through a mount.
///
/// Flat means: after the warm-up (the first tenth of each phase), resident memory grows by at most
/// `allowedGrowth` bytes and the number of open descriptors does not grow at all.
public struct FlatnessRun {
    /// What the run does to the union; every call must finish and leave nothing open.
    public struct Actions {
        public var lookUp: (String) throws -> Void
        public var create: (String) throws -> Void
        public var remove: (String) throws -> Void
        /// Resident bytes and open descriptors of the serving process.
        public var measure: () throws -> (resident: Int, descriptors: Int)

        public init(lookUp: @escaping (String) throws -> Void, create: @escaping (String) throws -> Void,
                    remove: @escaping (String) throws -> Void, measure: @escaping () throws -> (resident: Int, descriptors: Int)) {
            self.lookUp = lookUp
            self.create = create
            self.remove = remove
            self.measure = measure
        }
    }

    public struct Sample: Sendable, CustomStringConvertible {
        public var phase: String
        public var done: Int
        public var resident: Int
        public var descriptors: Int
        public var description: String { "\(phase) \(done): \(resident >> 10) KiB, \(descriptors) fds" }
    }

    /// The names the lookups cycle through: `d0/n0` … `d9/n99` (`buildLayers(in:)` makes them).
    public static let lowerNames = (0..<10).flatMap { d in (0..<100).map { "d\(d)/n\($0)" } }

    public var lookups: Int
    public var files: Int
    /// Resident growth allowed after the warm-up.
    public var allowedGrowth: Int
    public private(set) var samples: [Sample] = []

    public init(lookups: Int, files: Int, allowedGrowth: Int = 8 << 20) {
        self.lookups = lookups
        self.files = files
        self.allowedGrowth = allowedGrowth
    }

    /// Runs both phases, sampling ten times in each. Throws what an action throws.
    public mutating func run(_ actions: Actions) throws {
        let names = Self.lowerNames
        let lookupStep = max(1, lookups / 10)
        for index in 0..<lookups {
            if index % lookupStep == 0 { try sample("lookups", index, actions) }
            try actions.lookUp(names[index % names.count])
        }
        try sample("lookups", lookups, actions)
        let batch = 1_000
        let fileStep = max(batch, files / 10 / batch * batch)
        var done = 0
        while done < files {
            if done % fileStep == 0 { try sample("files", done, actions) }
            let count = min(batch, files - done)
            for index in 0..<count { try actions.create("churn/file\(done + index)") }
            for index in 0..<count { try actions.remove("churn/file\(done + index)") }
            done += count
        }
        try sample("files", files, actions)
    }

    private mutating func sample(_ phase: String, _ done: Int, _ actions: Actions) throws {
        let (resident, descriptors) = try actions.measure()
        samples.append(Sample(phase: phase, done: done, resident: resident, descriptors: descriptors))
    }

    /// What is not flat, one line per problem; empty when flat.
    public var problems: [String] {
        var found: [String] = []
        for phase in ["lookups", "files"] {
            let phaseSamples = samples.filter { $0.phase == phase }
            guard phaseSamples.count >= 3 else { continue }
            // The warm-up: the first sample after the start.
            let warm = phaseSamples[1]
            for later in phaseSamples.dropFirst(2) {
                if later.resident - warm.resident > allowedGrowth {
                    found.append("\(phase): resident memory grew by \((later.resident - warm.resident) >> 10) KiB "
                        + "between \(warm.done) and \(later.done) (allowed \(allowedGrowth >> 10) KiB)")
                }
                if later.descriptors > warm.descriptors {
                    found.append("\(phase): \(warm.descriptors) descriptors at \(warm.done), \(later.descriptors) at \(later.done)")
                }
            }
        }
        return found
    }
}

extension FlatnessRun {
    /// The layers the run expects, built in `directory`: one lower holding `lowerNames` (small files) and
    /// an empty `churn` directory, an empty upper and work directory.
    public static func buildLayers(in directory: String) throws(HarnessError) -> BuiltLayers {
        var entries: [FixtureEntry] = lowerNames.map { .file($0, "\($0)\n") }
        entries.append(.directory("churn"))
        return try LayerFixture(lowers: [Layer(entries)]).build(in: directory)
    }
}
