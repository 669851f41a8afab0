import Dispatch
import Foundation
import Synchronization

/// Running the programs the harness depends on (mount, umount, losetup, mkfs.ext4, taskset, the FUSE
/// servers), always under a time limit: a wedged mount must fail the run, not hang it.
enum Command {
    /// The result of a program that ran to its end.
    struct Outcome: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `arguments` (looked up on `PATH`) in `directory`, capturing standard output and error
    /// together. A program still running after `limit` is killed and reported as a failure.
    static func run(_ arguments: [String], in directory: String? = nil, limit: Duration = .seconds(60))
        throws(BenchError) -> Outcome
    {
        try refuseWhenInterrupted(arguments)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BenchError("cannot start \(arguments.joined(separator: " ")): \(error)")
        }
        // Read the output on another thread so a chatty program cannot block on a full pipe.
        let collected = Mutex(Data())
        let reader = DispatchSemaphore(value: 0)
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async {
            let data = handle.readDataToEndOfFile()
            collected.withLock { $0 = data }
            reader.signal()
        }
        guard waitForExit(process, limit: limit) else {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            throw BenchError("\(arguments.joined(separator: " ")) did not finish within \(limit)")
        }
        _ = reader.wait(timeout: .now() + 5)
        let output = String(decoding: collected.withLock { $0 }, as: UTF8.self)
        return Outcome(status: process.terminationStatus, output: output)
    }

    /// Runs `arguments` and fails with the program's own message unless it exits with 0.
    @discardableResult
    static func check(_ arguments: [String], in directory: String? = nil, limit: Duration = .seconds(60))
        throws(BenchError) -> String
    {
        let outcome = try run(arguments, in: directory, limit: limit)
        guard outcome.status == 0 else {
            let message = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
            throw BenchError("\(arguments.joined(separator: " ")) failed with status \(outcome.status): \(message)")
        }
        return outcome.output
    }

    /// Starts a long-running program (a FUSE server in the foreground) with its output discarded.
    static func start(_ arguments: [String], in directory: String? = nil) throws(BenchError) -> Process {
        try refuseWhenInterrupted(arguments)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw BenchError("cannot start \(arguments.joined(separator: " ")): \(error)")
        }
        return process
    }

    /// After SIGINT only the teardown's own commands (unmount, detach, remove) may run.
    private static func refuseWhenInterrupted(_ arguments: [String]) throws(BenchError) {
        let teardownCommands: Set<String> = ["umount", "fusermount3", "losetup", "rm"]
        guard Teardown.shared.isInterrupted, !teardownCommands.contains(arguments.first ?? "") else { return }
        throw BenchError("interrupted")
    }

    /// Waits for `process` to end, at most `limit`. False on timeout.
    static func waitForExit(_ process: Process, limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            if ContinuousClock.now > deadline { return false }
            usleep(2_000)
        }
        return true
    }

    /// Whether `program` is on `PATH`.
    static func exists(_ program: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(program)"], limit: .seconds(10)).status) == 0
    }
}

/// Why the benchmark run cannot go on: a message a user can act on.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
