import Glibc
import Synchronization

/// Runs `body` on a new thread that has a file-system context of its own (`unshare(CLONE_FS)`) with
/// umask `mask`, and returns what it returned: a test can create files under a umask without changing
/// the umask of the tests running beside it. Throws what `body` threw, or when the thread cannot be
/// made.
public func withThreadUmask<T: Sendable>(_ mask: mode_t, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let work = ThreadWork {
        guard LinuxCalls.unshareFileSystemContext() == 0 else { throw HarnessError("unshare(CLONE_FS): errno \(errno)") }
        umask(mask)
        return try body()
    }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(work).toOpaque()
    let created = unsafe pthread_create(&thread, nil, { (context) in
        let work = unsafe Unmanaged<ThreadWork>.fromOpaque(context!).takeRetainedValue()
        work.run()
        return nil
    }, context)
    guard created == 0 else {
        unsafe Unmanaged<ThreadWork>.fromOpaque(context).release()
        throw HarnessError("pthread_create: errno \(created)")
    }
    pthread_join(thread, nil)
    return try work.result.withLock { (result) throws -> T in
        guard let result else { throw HarnessError("the thread returned nothing") }
        return try result.get() as! T
    }
}

/// The body a `withThreadUmask` thread runs, and what came of it.
private final class ThreadWork: Sendable {
    let body: @Sendable () throws -> any Sendable
    let result = Mutex<Result<any Sendable, any Error>?>(nil)

    init(_ body: @escaping @Sendable () throws -> any Sendable) { self.body = body }

    func run() {
        let outcome = Result { () throws -> any Sendable in try body() }
        result.withLock { $0 = outcome }
    }
}
