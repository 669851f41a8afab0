/// Runs libFuzzer with this process's arguments and `body` as the fuzz target, and exits with its status.
///
/// SwiftPM renames an executable's entry point and aliases `main` to it, and `-sanitize=fuzzer` links
/// libFuzzer's own `main` as well; the fuzz targets link with `--allow-multiple-definition`, the alias
/// wins, and their top-level code hands over to libFuzzer through `LLVMFuzzerRunDriver` (its documented
/// entry for programs with their own `main`).
public func runFuzzer(_ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv = Optional(CommandLine.unsafeArgv)
    let status = withUnsafeMutablePointer(to: &argc) { count in
        withUnsafeMutablePointer(to: &argv) { vector in
            LLVMFuzzerRunDriver(count, vector, body)
        }
    }
    exit(status)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_silgen_name("exit")
func exit(_ status: Int32) -> Never

/// The input as bytes (libFuzzer may pass a null pointer for an empty input).
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
