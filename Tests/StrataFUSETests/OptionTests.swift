import Strata
import StrataFUSE
import Testing

@Suite("mount options")
struct OptionTests {
    @Test("overlayfs syntax with FUSE options")
    func overlaySyntax() throws {
        let options = try MountOptions(options: ["lowerdir=/l/a\\:b:/l/c,upperdir=/u,workdir=/w", "allow_other,nosuid"])
        #expect(options.union.lowers == ["/l/a:b", "/l/c"])
        #expect(options.union.upper == "/u")
        #expect(options.allowOther && options.defaultPermissions && !options.readOnly)
        #expect(options.kernelOptions.contains("nosuid"))
        #expect(options.kernelOptions.contains("default_permissions"))
        #expect(options.kernelOptions.contains("subtype=strata"))
    }

    @Test("copyup= chooses when a lower file comes up for writing: at the first write (default) or at the open")
    func copyUpPoint() throws {
        #expect(try MountOptions(options: ["lowerdir=/a"]).copyUp == .write)
        #expect(try MountOptions(options: ["lowerdir=/a,copyup=open"]).copyUp == .open)
        #expect(try MountOptions(options: ["lowerdir=/a,copyup=write"]).copyUp == .write)
    }

    @Test("POSIX ACLs are enforced by default; noacl, or no_default_permissions, leaves them to nobody")
    func posixACL() throws {
        #expect(try MountOptions(options: ["lowerdir=/a"]).posixACL)
        #expect(try MountOptions(options: ["lowerdir=/a,acl"]).posixACL)
        #expect(try !MountOptions(options: ["lowerdir=/a,noacl"]).posixACL)
        #expect(try !MountOptions(options: ["lowerdir=/a,no_default_permissions"]).posixACL)
    }

    @Test("mounted by root, every user may use the mount and set-user-ID files and devices work, as mount -t overlay")
    func rootDefaults() throws {
        let root = try MountOptions(options: ["lowerdir=/a"], privileged: true)
        #expect(root.allowOther && root.kernelOptions.contains("suid") && root.kernelOptions.contains("dev"))
        let user = try MountOptions(options: ["lowerdir=/a"], privileged: false)
        #expect(!user.allowOther && !user.kernelOptions.contains("suid") && !user.kernelOptions.contains("dev"))
        let restricted = try MountOptions(options: ["lowerdir=/a,allow_root,nosuid,nodev"], privileged: true)
        #expect(!restricted.allowOther && restricted.allowRoot)
        #expect(!restricted.kernelOptions.contains("suid") && restricted.kernelOptions.contains("nosuid"))
        #expect(!restricted.kernelOptions.contains("dev") && restricted.kernelOptions.contains("nodev"))
    }

    @Test("readable flags")
    func flags() throws {
        let options = try MountOptions(options: ["volatile"], lowers: ["/a,b", "/c"], upper: "/u", work: "/w")
        #expect(options.union.lowers == ["/a,b", "/c"])
        #expect(options.union.durability == .volatile)
    }

    @Test("no upper is a read-only mount")
    func readOnly() throws {
        let options = try MountOptions(options: ["lowerdir=/a"])
        #expect(options.readOnly && options.kernelOptions.contains("ro"))
    }

    @Test("strata-serve reads back the arguments strata mount makes, and refuses anything else")
    func serveArguments() throws {
        let invocation = ServeCommand.Invocation(
            options: ["lowerdir=/a\\:b:/c,ro", "allow_other"], lowers: ["/l1", "/l2"], upper: "/u", work: "/w",
            debug: true, foregroundChild: true, mountPoint: "/mnt point")
        #expect(try ServeCommand.parse(ServeCommand.arguments(for: invocation)) == invocation)
        let plain = ServeCommand.Invocation(options: ["lowerdir=/a"], mountPoint: "/m")
        #expect(ServeCommand.arguments(for: plain) == ["-o", "lowerdir=/a", "/m"])
        #expect(try ServeCommand.parse(["-o", "lowerdir=/a", "/m"]) == plain)
        for wrong in [[], ["-o"], ["/m", "/n"], ["--bogus", "/m"], ["--upper"]] {
            #expect(throws: StrataError.self, "\(wrong)") { try ServeCommand.parse(wrong) }
        }
    }

    @Test("unknown and contradictory options are refused by name", arguments: [
        ("lowerdir=/a,frobnicate", "frobnicate"),
        // Found by FuzzMountOptions: a NUL byte cut the path short without a word.
        ("lowerdir=/a:/b\0,upperdir=/u,workdir=/w", "NUL byte"),
        ("lowerdir=/a,fsname=x\0y", "NUL byte"),
        ("lowerdir=/a,upperdir=/u,workdir=/w,ro,rw", "'ro' and 'rw'"),
        ("lowerdir=/a,lowerdir=/b", "lowerdir"),
        ("lowerdir=/a,upperdir=/u", "workdir"),
        ("lowerdir=/a,volatile", "volatile"),
        ("lowerdir=/a,allow_other,allow_root", "allow_other"),
        ("lowerdir=/a,nosuid,suid", "suid"),
        ("lowerdir=/a,default_permissions,no_default_permissions", "default_permissions"),
        ("lowerdir=/a,acl,noacl", "'acl' and 'noacl'"),
        ("lowerdir=/a,acl,no_default_permissions", "'acl' and 'no_default_permissions'"),
        ("lowerdir=/a,noacl=1", "noacl"),
        ("lowerdir=/a,timeout=x", "timeout"),
        ("lowerdir=/a,copyup=close", "copyup"),
        ("lowerdir=/a,copyup", "copyup"),
    ])
    func refused(option: String, named: String) {
        do {
            _ = try MountOptions(options: [option])
            Issue.record("'\(option)' was accepted")
        } catch {
            #expect(error.description.contains(named), "\(error)")
        }
    }

    @Test("a layer flag and the same -o option together are refused")
    func flagAndOption() {
        #expect(throws: StrataError.self) { try MountOptions(options: ["lowerdir=/a"], lowers: ["/b"]) }
    }
}
