import Dispatch
import Glibc

/// A data-integrity exerciser in the style of fsx: seeded random reads, writes, truncates up and down,
/// reads and writes through shared mappings, `fallocate` (allocate, keep-size, punch hole, zero range)
/// and metadata-only copy-ups, on files that start in a lower layer, with the union reopened or remounted
/// between phases. Every byte read is checked against an in-memory model of every file.
///
/// The operations come from the seed and the model alone, so the seed and the number of operations
/// replay a run exactly; a failure (`ExerciserFailure`) prints both and the operations that led to it.
public struct DataExerciser {
    public struct Settings: Sendable {
        public var seed: UInt64
        /// How many operations to run (the run also stops at `duration`, if given).
        public var operations: Int
        /// Stop after this many seconds even if `operations` are left (for soak runs).
        public var duration: Double?
        public var files = 4
        /// No operation makes a file larger than this.
        public var maximumSize = 256 << 10
        /// The largest single read, write or allocation.
        public var maximumTransfer = 48 << 10
        /// A remount (with full checks before and after) after every `phaseLength` operations.
        public var phaseLength = 250
        /// Whether to use `mmap` (off only where a target cannot map).
        public var usesMapping = true

        public init(seed: UInt64, operations: Int, duration: Double? = nil) {
            self.seed = seed
            self.operations = operations
            self.duration = duration
        }
    }

    /// What a run did: operations by kind, allocation modes the target refused with `EOPNOTSUPP`.
    public struct Report: Sendable, CustomStringConvertible {
        public var operations = 0
        public var counts: [String: Int] = [:]
        public var unsupported: Set<AllocationMode> = []
        public var seconds = 0.0

        public var description: String {
            let kinds = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let refused = unsupported.isEmpty ? "" : "; refused (EOPNOTSUPP): \(unsupported.map(\.rawValue).sorted())"
            return "\(operations) operations in \(String(format: "%.1f", seconds)) s (\(kinds))\(refused)"
        }
    }

    public let settings: Settings
    /// The expected content of every file.
    public private(set) var model: [[UInt8]]
    private var random: SplitMix64
    private var log: [ExerciserOperation] = []
    private var handles: [Int32?]
    private var report = Report()
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The name of file `index` in the union root.
    public static func fileName(_ index: Int) -> String { "f\(index)" }

    /// Creates the starting files, spread over the lower layers `directories` (file `i` in directory
    /// `i % count`): seeded random sizes and data, with holes, one empty. Returns their contents, the
    /// model's starting point.
    public static func makeLowerFiles(in directories: [String], settings: Settings) throws(HarnessError) -> [[UInt8]] {
        var random = SplitMix64(seed: settings.seed ^ 0x5EED_F11E)
        var contents: [[UInt8]] = []
        for index in 0..<settings.files {
            let size = index == 0 ? 0 : random.below(settings.maximumSize + 1)
            var content = [UInt8](repeating: 0, count: size)
            let path = "\(directories[index % directories.count])/\(fileName(index))"
            let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw .system("create \(path)") }
            defer { close(descriptor) }
            guard ftruncate(descriptor, off_t(size)) == 0 else { throw .system("ftruncate \(path)") }
            // A few extents of data; what lies between stays a hole.
            for _ in 0..<(size == 0 ? 0 : 1 + random.below(4)) {
                let offset = random.below(size)
                let count = min(size - offset, 1 + random.below(settings.maximumTransfer))
                let bytes = ExerciserOperation.bytes(pattern: random.next(), offset: offset, count: count)
                content.replaceSubrange(offset..<offset + count, with: bytes)
                guard pwrite(descriptor, bytes, count, off_t(offset)) == count else { throw .system("write \(path)") }
            }
            contents.append(content)
        }
        return contents
    }

    /// - Parameter initial: the files' contents as `makeLowerFiles` made them.
    public init(settings: Settings, initial: [[UInt8]]) {
        self.settings = settings
        model = initial
        random = SplitMix64(seed: settings.seed)
        handles = Array(repeating: nil, count: initial.count)
    }

    /// Runs the operations on `target`, then closes every handle and checks every file in full.
    public mutating func run(_ target: some ExerciserTarget) throws(ExerciserFailure) -> Report {
        let start = DispatchTime.now()
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        defer { closeAll() }
        for index in 0..<settings.operations {
            if let duration = settings.duration, elapsed() > duration { break }
            let operation = index % settings.phaseLength == settings.phaseLength - 1 ? .remount : nextOperation()
            log.append(operation)
            do throws(HarnessError) {
                try perform(operation, on: target)
            } catch {
                throw failure("\(operation): \(error)")
            }
            report.operations += 1
            report.counts[operation.kind, default: 0] += 1
        }
        closeAll()
        do throws(HarnessError) {
            try verifyAll(target, when: "at the end")
        } catch {
            throw failure("\(error)")
        }
        report.seconds = elapsed()
        return report
    }

    private func failure(_ message: String) -> ExerciserFailure {
        ExerciserFailure(seed: settings.seed, operations: log.count, message: message, log: log)
    }

    // MARK: Choosing

    private mutating func nextOperation() -> ExerciserOperation {
        let file = random.below(model.count)
        let size = model[file].count
        let limit = settings.maximumSize
        func span(from offset: Int) -> Int { min(limit - offset, 1 + random.below(settings.maximumTransfer)) }
        let roll = random.below(100)
        switch roll {
        case 0..<22:
            let offset = random.below(size + 64)
            return .read(file: file, offset: offset, count: 1 + random.below(settings.maximumTransfer))
        case 22..<42:
            let offset = random.below(limit)
            return .write(file: file, offset: offset, count: span(from: offset), pattern: random.next())
        case 42..<50 where settings.usesMapping && size > 0:
            let offset = random.below(size)
            return .mapRead(file: file, offset: offset, count: min(size - offset, 1 + random.below(settings.maximumTransfer)))
        case 50..<58 where settings.usesMapping:
            let offset = random.below(limit)
            return .mapWrite(file: file, offset: offset, count: span(from: offset), pattern: random.next())
        case 58..<65:
            // Mostly near the current size, sometimes to zero or the limit.
            let size = random.chance(20) ? random.pick([0, limit]) : random.below(limit + 1)
            return .truncate(file: file, size: size)
        case 65..<70:
            return .truncatePath(file: file, size: random.below(limit + 1))
        case 70..<80:
            let offset = random.below(limit)
            return .allocate(file: file, mode: random.pick(AllocationMode.allCases), offset: offset, length: span(from: offset))
        case 80..<83:
            return .changeMode(file: file, mode: random.pick([0o644, 0o600, 0o664, 0o640]))
        case 83..<90:
            return .closeHandle(file: file)
        default:
            return .checkSize(file: file)
        }
    }

    // MARK: Doing

    private mutating func perform(_ operation: ExerciserOperation, on target: some ExerciserTarget) throws(HarnessError) {
        switch operation {
        case let .read(file, offset, count):
            let got = try withReadable(file, target) { (descriptor) throws(HarnessError) in
                try Self.readFully(descriptor, count: count, at: offset)
            }
            try compare(got, file: file, offset: offset, count: count)
        case let .write(file, offset, count, pattern):
            let bytes = ExerciserOperation.bytes(pattern: pattern, offset: offset, count: count)
            let descriptor = try writable(file, target)
            var done = 0
            while done < count {
                let wrote = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
                guard wrote > 0 else { throw .system("pwrite") }
                done += wrote
            }
            store(bytes, file: file, at: offset)
        case let .mapRead(file, offset, count):
            let got = try withReadable(file, target) { (descriptor) throws(HarnessError) in
                try mapped(descriptor, offset: offset, count: count, writable: false) { Array($0) }
            }
            try compare(got, file: file, offset: offset, count: count)
        case let .mapWrite(file, offset, count, pattern):
            let descriptor = try writable(file, target)
            if offset + count > model[file].count {
                guard ftruncate(descriptor, off_t(offset + count)) == 0 else { throw .system("ftruncate before mapping") }
                resize(file, to: offset + count)
            }
            let bytes = ExerciserOperation.bytes(pattern: pattern, offset: offset, count: count)
            try mapped(descriptor, offset: offset, count: count, writable: true) { (memory) throws(HarnessError) in
                memory.copyBytes(from: bytes)
            }
            store(bytes, file: file, at: offset)
        case let .truncate(file, size):
            guard ftruncate(try writable(file, target), off_t(size)) == 0 else { throw .system("ftruncate") }
            resize(file, to: size)
        case let .truncatePath(file, size):
            try target.truncate(Self.fileName(file), to: size)
            resize(file, to: size)
        case let .allocate(file, mode, offset, length):
            let descriptor = try writable(file, target)
            if LinuxCalls.fallocate(descriptor, mode: mode.flags, offset: Int64(offset), length: Int64(length)) != 0 {
                guard errno == EOPNOTSUPP else { throw .system("fallocate") }
                report.unsupported.insert(mode)
                return
            }
            let end = offset + length
            switch mode {
            case .allocate: if end > model[file].count { resize(file, to: end) }
            case .keepSize: break
            case .punchHole: zero(file, from: offset, to: min(end, model[file].count))
            case .zeroRange:
                if end > model[file].count { resize(file, to: end) }
                zero(file, from: offset, to: end)
            }
        case let .changeMode(file, mode):
            try target.changeMode(Self.fileName(file), mode)
        case let .closeHandle(file):
            if let descriptor = handles[file] { close(descriptor) }
            handles[file] = nil
        case let .checkSize(file):
            let size = try target.size(Self.fileName(file))
            guard size == model[file].count else { throw HarnessError("stat says \(size) bytes, the model \(model[file].count)") }
        case .remount:
            closeAll()
            try verifyAll(target, when: "before the remount")
            try target.remount()
            try verifyAll(target, when: "after the remount")
        }
    }

    private func withReadable<T>(_ file: Int, _ target: some ExerciserTarget,
                                 _ body: (Int32) throws(HarnessError) -> T) throws(HarnessError) -> T {
        if let descriptor = handles[file] { return try body(descriptor) }
        let descriptor = try target.open(Self.fileName(file), flags: O_RDONLY)
        defer { close(descriptor) }
        return try body(descriptor)
    }

    private mutating func writable(_ file: Int, _ target: some ExerciserTarget) throws(HarnessError) -> Int32 {
        if let descriptor = handles[file] { return descriptor }
        let descriptor = try target.open(Self.fileName(file), flags: O_RDWR)
        handles[file] = descriptor
        return descriptor
    }

    private mutating func closeAll() {
        for case let descriptor? in handles { close(descriptor) }
        handles = Array(repeating: nil, count: handles.count)
    }

    /// Maps the pages around `offset..<offset+count` shared and runs `body` on exactly that range;
    /// a writable mapping is synced (`MS_SYNC`) before it is unmapped.
    private func mapped<T>(_ descriptor: Int32, offset: Int, count: Int, writable: Bool,
                           _ body: (UnsafeMutableRawBufferPointer) throws(HarnessError) -> T) throws(HarnessError) -> T {
        let start = offset / pageSize * pageSize
        let length = offset + count - start
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let memory = mmap(nil, length, protection, MAP_SHARED, descriptor, off_t(start)), memory != MAP_FAILED else {
            throw .system("mmap \(length) bytes at \(start)")
        }
        defer { munmap(memory, length) }
        let result = try body(UnsafeMutableRawBufferPointer(start: memory + (offset - start), count: count))
        if writable && msync(memory, length, MS_SYNC) != 0 { throw .system("msync") }
        return result
    }

    // MARK: The model

    private mutating func store(_ bytes: [UInt8], file: Int, at offset: Int) {
        if offset + bytes.count > model[file].count { resize(file, to: offset + bytes.count) }
        model[file].replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    private mutating func resize(_ file: Int, to size: Int) {
        if size < model[file].count {
            model[file].removeSubrange(size...)
        } else {
            model[file].append(contentsOf: repeatElement(0, count: size - model[file].count))
        }
    }

    private mutating func zero(_ file: Int, from start: Int, to end: Int) {
        guard start < end else { return }
        model[file].replaceSubrange(start..<end, with: repeatElement(0, count: end - start))
    }

    private func compare(_ got: [UInt8], file: Int, offset: Int, count: Int) throws(HarnessError) {
        let content = model[file]
        let expected = offset >= content.count ? [] : Array(content[offset..<min(offset + count, content.count)])
        if got.count == expected.count
            && got.withUnsafeBytes({ a in expected.withUnsafeBytes { b in got.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, got.count) == 0 } })
        {
            return
        }
        guard got.count == expected.count else {
            throw HarnessError("got \(got.count) bytes, the model has \(expected.count) (file size \(content.count))")
        }
        let first = got.indices.first { got[$0] != expected[$0] } ?? 0
        let wrong = zip(got, expected).filter { $0 != $1 }.count
        throw HarnessError("\(wrong) bytes differ, the first at offset \(offset + first): got "
            + "\(got[first..<min(first + 8, got.count)].map { String($0) }), expected "
            + "\(expected[first..<min(first + 8, expected.count)].map { String($0) })")
    }

    /// Every file's size and whole content, through fresh read-only opens.
    private func verifyAll(_ target: some ExerciserTarget, when: String) throws(HarnessError) {
        for file in model.indices {
            let name = Self.fileName(file)
            let size = try target.size(name)
            guard size == model[file].count else {
                throw HarnessError("\(when): \(name) has \(size) bytes, the model \(model[file].count)")
            }
            let descriptor = try target.open(name, flags: O_RDONLY)
            defer { close(descriptor) }
            let got = try Self.readFully(descriptor, count: model[file].count + 1, at: 0)
            do throws(HarnessError) {
                try compare(got, file: file, offset: 0, count: model[file].count + 1)
            } catch {
                throw HarnessError("\(when): \(name): \(error)")
            }
        }
    }

    static func readFully(_ descriptor: Int32, count: Int, at offset: Int) throws(HarnessError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            guard got >= 0 else { throw .system("pread") }
            if got == 0 { break }
            done += got
        }
        return Array(buffer.prefix(done))
    }
}

extension ExerciserOperation {
    /// The operation's name, for counts.
    var kind: String { String(description.prefix { $0 != " " }) }
}

/// A data-integrity failure: the seed, how many operations ran (the last one failed), what was wrong,
/// and the operations that led there. Replay with the same seed and number of operations.
public struct ExerciserFailure: Error, CustomStringConvertible, Sendable {
    public var seed: UInt64
    public var operations: Int
    public var message: String
    public var log: [ExerciserOperation]

    public var description: String {
        let shown = log.suffix(60)
        return """
            data exerciser failed: seed \(seed), operation \(operations): \(message)
            replay: seed \(seed), \(operations) operations (the full log has \(log.count) lines)
            last \(shown.count) operations:
            \(shown.enumerated().map { "  \(log.count - shown.count + $0.offset + 1): \($0.element)" }.joined(separator: "\n"))
            """
    }

    /// The whole operation log, one numbered line per operation.
    public var fullLog: String {
        log.enumerated().map { "\($0.offset + 1): \($0.element)" }.joined(separator: "\n") + "\n"
    }
}
