import Foundation

/// Runs a short program to its end, with its working directory outside any mount, and returns its exit
/// status and its output (standard output and error together). `PATH` is given explicitly when a test
/// needs the freshly built `strata` found by name.
public func runShortProgram(_ arguments: [String], path: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = (path.map { ["PATH=\($0)"] } ?? []) + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: "/")
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// The path of an executable of this package (`strata`, `StrataSoak`, `CoreBenchmarks`), built next to
/// the running test bundle.
public func builtExecutable(_ name: String) -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
}

/// Runs `sh -c script` as user and group 65534 (nobody) with no supplementary groups, through `setpriv`,
/// and returns what it printed (standard output and error together).
public func runAsNobody(_ script: String) throws -> String {
    try runShortProgram(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/bin/sh", "-c", script]).output
}
