import Glibc
import Strata

/// Where the data exerciser runs: the union in-process or a mount of it. Files are named by their
/// name in the union root. Descriptors it returns belong to the exerciser, which closes them.
public protocol ExerciserTarget: AnyObject {
    /// Opens the file with `open(2)` flags (a write-open copies a lower file up).
    func open(_ name: String, flags: Int32) throws(HarnessError) -> Int32
    /// `truncate(2)` by name.
    func truncate(_ name: String, to size: Int) throws(HarnessError)
    /// `chmod(2)` by name.
    func changeMode(_ name: String, _ mode: UInt32) throws(HarnessError)
    /// The size `stat(2)` reports.
    func size(_ name: String) throws(HarnessError) -> Int
    /// Reopens the union or remounts it; the exerciser has closed every descriptor before.
    func remount() throws(HarnessError)
}

/// The union in-process, through the node and path APIs (`lookup` + `openDescriptor`, `truncate`,
/// `setPermissions`, `status`); `remount` closes the union and opens its layers again.
public final class UnionExerciserTarget: ExerciserTarget {
    public let configuration: UnionConfiguration
    public private(set) var union: UnionFileSystem

    public init(_ configuration: UnionConfiguration) throws(HarnessError) {
        self.configuration = configuration
        union = try Self.openUnion(configuration)
    }

    private static func openUnion(_ configuration: UnionConfiguration) throws(HarnessError) -> UnionFileSystem {
        do {
            return try UnionFileSystem(configuration)
        } catch {
            throw HarnessError("cannot open the union: \(error)")
        }
    }

    public func open(_ name: String, flags: Int32) throws(HarnessError) -> Int32 {
        do {
            let (node, _) = try union.lookup(name, in: .root)
            defer { union.forget(node, count: 1) }
            return try union.openDescriptor(node, flags: flags).rawValue
        } catch {
            throw HarnessError("open \(name)", errno: error.rawValue)
        }
    }

    public func truncate(_ name: String, to size: Int) throws(HarnessError) {
        do { try union.truncate(FilePath(name), to: Int64(size)) } catch {
            throw HarnessError("truncate \(name) to \(size)", errno: error.rawValue)
        }
    }

    public func changeMode(_ name: String, _ mode: UInt32) throws(HarnessError) {
        do { try union.setPermissions(FilePath(name), mode) } catch {
            throw HarnessError("chmod \(name)", errno: error.rawValue)
        }
    }

    public func size(_ name: String) throws(HarnessError) -> Int {
        do { return Int(try union.status(FilePath(name)).size) } catch {
            throw HarnessError("stat \(name)", errno: error.rawValue)
        }
    }

    public func remount() throws(HarnessError) {
        union.close()
        union = try Self.openUnion(configuration)
    }

    deinit { union.close() }
}

/// A mounted union, through plain system calls on paths under `root`; `remount` runs the closure the
/// caller gives (unmount and mount again).
public final class MountExerciserTarget: ExerciserTarget {
    public let root: String
    private let remountAction: () throws(HarnessError) -> Void

    public init(root: String, remount: @escaping () throws(HarnessError) -> Void) {
        self.root = root
        remountAction = remount
    }

    public func open(_ name: String, flags: Int32) throws(HarnessError) -> Int32 {
        let descriptor = Glibc.open("\(root)/\(name)", flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .system("open \(root)/\(name)") }
        return descriptor
    }

    public func truncate(_ name: String, to size: Int) throws(HarnessError) {
        guard Glibc.truncate("\(root)/\(name)", off_t(size)) == 0 else { throw .system("truncate \(name) to \(size)") }
    }

    public func changeMode(_ name: String, _ mode: UInt32) throws(HarnessError) {
        guard chmod("\(root)/\(name)", mode_t(mode)) == 0 else { throw .system("chmod \(name)") }
    }

    public func size(_ name: String) throws(HarnessError) -> Int {
        var info = stat()
        guard stat("\(root)/\(name)", &info) == 0 else { throw .system("stat \(name)") }
        return Int(info.st_size)
    }

    public func remount() throws(HarnessError) {
        try remountAction()
    }
}
