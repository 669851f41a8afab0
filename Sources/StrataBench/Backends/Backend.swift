import Glibc

/// One implementation of the merged view that the workloads run against.
public struct Backend: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A plain directory holding the merged tree: the floor, no union at all.
        case plain
        /// The kernel's overlayfs with these options added (`volatile`, `metacopy=on`).
        case kernel(options: String)
        /// fuse-overlayfs in the foreground, with its defaults.
        case fuseOverlayfs
        /// `strata mount` in the foreground, optionally `volatile`.
        case strataMount(volatile: Bool)
        /// The in-process API (`UnionFileSystem`), no kernel crossing.
        case api(volatile: Bool)
        /// A mount command template: `%L` lowers (top first, `:`-separated), `%U` upper, `%W` work,
        /// `%M` mount point.
        case custom(template: String)
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// What it is, in the output.
    public var summary: String {
        switch kind {
        case .plain: "a plain directory with the merged tree (the floor)"
        case .kernel(let options): "kernel overlayfs" + (options.isEmpty ? " (defaults: fsync on copy-up)" : ", -o \(options)")
        case .fuseOverlayfs: "fuse-overlayfs, defaults"
        case .strataMount(let volatile): "strata mount -f" + (volatile ? " -o volatile" : " (fsync on copy-up, as the kernel)")
        case .api(let volatile): "in-process UnionFileSystem" + (volatile ? ", volatile" : "")
        case .custom(let template): template
        }
    }

    /// A FUSE server whose CPU and memory the run reads from /proc.
    var hasServer: Bool {
        switch kind {
        case .fuseOverlayfs, .strataMount, .custom: true
        case .plain, .kernel, .api: false
        }
    }

    /// Served through FUSE, so its lookups read as multiples of the FUSE floor.
    var isFUSE: Bool {
        switch kind {
        case .fuseOverlayfs, .strataMount: true
        case .custom(let template): !template.contains("-t overlay")
        case .plain, .kernel, .api: false
        }
    }

    /// Whether the layer-scaling runs include it (durability variants look up names the same way).
    var runsScaling: Bool {
        switch kind {
        case .plain, .fuseOverlayfs, .custom: true
        case .kernel(let options): options.isEmpty
        case .strataMount(let volatile): !volatile
        case .api: true
        }
    }

    /// The backends `strata bench` uses when none are named: every one this machine can run.
    static func standard(isRoot: Bool, hasFuseOverlayfs: Bool) -> [Backend] {
        var backends = [Backend(name: "plain", kind: .plain)]
        if isRoot {
            backends += [
                Backend(name: "kernel", kind: .kernel(options: "")),
                Backend(name: "kernel-volatile", kind: .kernel(options: "volatile")),
                Backend(name: "kernel-metacopy-volatile", kind: .kernel(options: "metacopy=on,volatile")),
            ]
        }
        if hasFuseOverlayfs { backends.append(Backend(name: "fuse-overlayfs", kind: .fuseOverlayfs)) }
        backends += [
            Backend(name: "strata", kind: .strataMount(volatile: false)),
            Backend(name: "strata-volatile", kind: .strataMount(volatile: true)),
            Backend(name: "api", kind: .api(volatile: true)),
        ]
        return backends
    }

    /// Parses `--custom 'NAME=COMMAND'`.
    static func custom(_ argument: String) throws(BenchError) -> Backend {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
            throw BenchError("--custom '\(argument)': expected NAME=COMMAND (e.g. 'mine=my-overlay -o lowerdir=%L,upperdir=%U,workdir=%W %M')")
        }
        let name = String(argument[..<equals])
        let template = String(argument[argument.index(after: equals)...])
        guard template.contains("%M") else {
            throw BenchError("--custom '\(argument)': the command must name the mount point as %M")
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw BenchError("--custom '\(argument)': the name may hold letters, digits, '-', '_' and '.' only")
        }
        return Backend(name: name, kind: .custom(template: template))
    }
}
