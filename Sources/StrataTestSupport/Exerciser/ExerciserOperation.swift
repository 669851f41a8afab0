/// One step of the data exerciser. Its description is the line of the operation log a failure prints;
/// the whole run is reproduced by the seed and the number of operations.
public enum ExerciserOperation: Sendable, Hashable, CustomStringConvertible {
    /// `pread` on the file's open read-write handle, or on a fresh read-only open.
    case read(file: Int, offset: Int, count: Int)
    /// `pwrite` of `count` bytes made from `pattern`; opens the file read-write (a copy-up) if needed.
    case write(file: Int, offset: Int, count: Int, pattern: UInt64)
    /// A shared read-only mapping of the range, read through memory.
    case mapRead(file: Int, offset: Int, count: Int)
    /// A shared writable mapping, written through memory and `msync`ed; the file is first extended with
    /// `ftruncate` if the range passes its end.
    case mapWrite(file: Int, offset: Int, count: Int, pattern: UInt64)
    /// `ftruncate` on the read-write handle.
    case truncate(file: Int, size: Int)
    /// `truncate(2)` by path (the union's own truncate in-process).
    case truncatePath(file: Int, size: Int)
    /// `fallocate(2)` on the read-write handle.
    case allocate(file: Int, mode: AllocationMode, offset: Int, length: Int)
    /// `chmod` by path: a metadata-only copy-up for a file still in a lower layer.
    case changeMode(file: Int, mode: UInt32)
    /// Closes the file's read-write handle; the next write opens it again.
    case closeHandle(file: Int)
    /// `stat` by path: the size must be the model's.
    case checkSize(file: Int)
    /// Every handle closed, the whole of every file checked, the union reopened (or remounted) and every
    /// file checked again.
    case remount

    public var description: String {
        switch self {
        case let .read(file, offset, count): "read f\(file) @\(offset) +\(count)"
        case let .write(file, offset, count, pattern): "write f\(file) @\(offset) +\(count) pattern \(pattern)"
        case let .mapRead(file, offset, count): "mapread f\(file) @\(offset) +\(count)"
        case let .mapWrite(file, offset, count, pattern): "mapwrite f\(file) @\(offset) +\(count) pattern \(pattern)"
        case let .truncate(file, size): "ftruncate f\(file) \(size)"
        case let .truncatePath(file, size): "truncate f\(file) \(size)"
        case let .allocate(file, mode, offset, length): "fallocate f\(file) \(mode) @\(offset) +\(length)"
        case let .changeMode(file, mode): "chmod f\(file) 0\(String(mode, radix: 8))"
        case let .closeHandle(file): "close f\(file)"
        case let .checkSize(file): "stat f\(file)"
        case .remount: "remount"
        }
    }

    /// The bytes a write with `pattern` puts at `offset`: a function of both, so a byte in the wrong place
    /// shows.
    static func bytes(pattern: UInt64, offset: Int, count: Int) -> [UInt8] {
        var random = SplitMix64(seed: pattern &+ UInt64(offset))
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = random.next()
            for _ in 0..<8 where index < count {
                result[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return result
    }
}

/// The `fallocate(2)` modes the exerciser uses.
public enum AllocationMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Mode 0: allocates; a range past the end grows the file (with zeros).
    case allocate
    /// `FALLOC_FL_KEEP_SIZE`: allocates, never changes size or data.
    case keepSize
    /// `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`: zeros inside the file, size unchanged.
    case punchHole
    /// `FALLOC_FL_ZERO_RANGE`: zeros, growing the file if the range passes its end.
    case zeroRange

    public var description: String { rawValue }

    /// The `mode` argument of `fallocate(2)`.
    public var flags: Int32 {
        switch self {
        case .allocate: 0
        case .keepSize: 0x01
        case .punchHole: 0x01 | 0x02
        case .zeroRange: 0x10
        }
    }
}
