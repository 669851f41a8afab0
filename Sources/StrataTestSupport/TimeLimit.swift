import Dispatch
import Synchronization

/// Runs `body` on another thread and returns its result, or nil when it has not finished within
/// `limit` (the thread is then abandoned).
public func withTimeLimit<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () -> T) -> T? {
    let box = TimeoutBox<T>()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        let result = body()
        box.value.withLock { $0 = result }
        done.signal()
    }
    let (seconds, attoseconds) = limit.components
    let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    guard done.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
    return box.value.withLock { $0 }
}

/// Carries a result out of the thread `withTimeLimit` abandons when it is late.
private final class TimeoutBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}
