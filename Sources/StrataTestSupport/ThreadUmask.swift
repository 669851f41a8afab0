import Glibc
import Synchronization

/// Runs `body` on a new thread that has a file-system context of its own (`unshare(CLONE_FS)`) with
/// umask `mask`, and returns what it returned: a test can create files under a umask without changing
/// the umask of the tests running beside it. Throws what `body` threw, or when the thread cannot be
/// made.
public func withThreadUmask<T: Sendable>(_ mask: mode_t, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let work = ThreadWork<T> {
        guard LinuxCalls.unshareFileSystemContext() == 0 else { throw HarnessError("unshare(CLONE_FS): errno \(errno)") }
        umask(mask)
        return try body()
    }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(work as AnyObject).toOpaque()
    let created = unsafe pthread_create(&thread, nil, { (context) in
        let work = unsafe Unmanaged<AnyObject>.fromOpaque(context!).takeRetainedValue() as! any RunnableWork
        work.run()
        return nil
    }, context)
    guard created == 0 else {
        unsafe Unmanaged<AnyObject>.fromOpaque(context).release()
        throw HarnessError("pthread_create: errno \(created)")
    }
    pthread_join(thread, nil)
    guard let result = work.result.withLock({ $0 }) else { throw HarnessError("the thread returned nothing") }
    return try result.get()
}

/// What the thread entry point runs, whatever the result type.
private protocol RunnableWork: AnyObject {
    func run()
}

/// The body a `withThreadUmask` thread runs, and what came of it.
private final class ThreadWork<T: Sendable>: RunnableWork, Sendable {
    let body: @Sendable () throws -> T
    let result = Mutex<Result<T, any Error>?>(nil)

    init(_ body: @escaping @Sendable () throws -> T) { self.body = body }

    func run() {
        let outcome = Result { () throws -> T in try body() }
        result.withLock { $0 = outcome }
    }
}
