import Dispatch
import Foundation
import Synchronization

/// Everything a run must undo (mounts, servers, the loop device, scratch directories), undone in
/// reverse order on every path: the normal end, an error, and SIGINT/SIGTERM/SIGHUP.
///
/// An action registered with `push` runs exactly once: when its owner calls `run(_:)`, or at the
/// latest from `runAll()`. A signal runs every action left, then ends the process with 128 + signal.
final class Teardown: Sendable {
    /// A registered action; pass it back to `run(_:)` to undo it early.
    struct Token: Hashable, Sendable {
        fileprivate let number: Int
    }

    private struct Action {
        var token: Token
        var name: String
        var body: @Sendable () -> Void
    }

    static let shared = Teardown()

    private let actions = Mutex<[Action]>([])
    private let counter = Atomic(0)
    private let sources = Mutex<[DispatchSourceSignal]>([])
    private let interrupted = Atomic(false)
    private let running = Mutex(())

    /// Whether a signal ended the run: nothing new may be started (a mount made now would outlive
    /// the teardown).
    var isInterrupted: Bool { interrupted.load(ordering: .relaxed) }

    /// Registers `body` (described by `name` in messages) to run at teardown.
    func push(_ name: String, _ body: @escaping @Sendable () -> Void) -> Token {
        if isInterrupted {
            // The teardown has run or is running: undo this at once.
            body()
            return Token(number: -1)
        }
        let token = Token(number: counter.add(1, ordering: .relaxed).newValue)
        actions.withLock { $0.append(Action(token: token, name: name, body: body)) }
        return token
    }

    /// Runs the action of `token` now, if it has not run yet.
    func run(_ token: Token) {
        let action = actions.withLock { (actions: inout [Action]) -> Action? in
            guard let index = actions.firstIndex(where: { $0.token == token }) else { return nil }
            return actions.remove(at: index)
        }
        action?.body()
    }

    /// Runs every action left, newest first. A second caller (the main thread while the signal
    /// handler tears down) waits until the first is done.
    func runAll() {
        running.withLock { _ in
            while let action = actions.withLock({ $0.popLast() }) {
                action.body()
            }
        }
    }

    /// Makes SIGINT, SIGTERM and SIGHUP undo everything and end the process.
    func handleSignals() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            sources.withLock { sources in
                // Made inside the lock: the source belongs to the list from its creation.
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { [self] in
                    interrupted.store(true, ordering: .relaxed)
                    FileHandle.standardError.write(Data("\nstrata bench: interrupted, unmounting and cleaning up\n".utf8))
                    runAll()
                    exit(128 + signalNumber)
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
