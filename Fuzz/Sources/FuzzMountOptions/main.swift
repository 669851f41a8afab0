import FuzzSupport
import Strata
import StrataFUSE


/// The mount option parsers on arbitrary text: `strata mount -o` (MountOptions) and the overlayfs
/// syntax (UnionConfiguration, the escapes of OverlayOptionSyntax). Any input must give a value or a
/// `StrataError`, never a trap; what parses must survive being printed and parsed again.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzMountOptions(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: bytes(data, size), as: UTF8.self)
    let parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if let options = try? MountOptions(options: parts) {
        _ = options.kernelOptions
    }
    _ = try? MountOptions(options: Array(parts.dropFirst()), lowers: parts.first.map { [$0] } ?? [], upper: parts.last, work: "/w")
    if let configuration = try? UnionConfiguration(options: text) {
        // Round trip: the layers printed with escapes parse back to the same layers.
        let printed = "lowerdir=" + configuration.lowers.map { OverlayOptionSyntax.escape($0.string) }.joined(separator: ":")
        let again = try? UnionConfiguration(options: printed)
        if again?.lowers != configuration.lowers {
            fatalError("lowerdir round trip changed \(configuration.lowers) into \(again?.lowers ?? [])")
        }
    }
    if let pieces = try? OverlayOptionSyntax.split(text, separator: ":") {
        for piece in pieces {
            let unescaped = OverlayOptionSyntax.unescape(piece)
            if OverlayOptionSyntax.unescape(OverlayOptionSyntax.escape(unescaped)) != unescaped {
                fatalError("escape/unescape round trip changed \(unescaped.debugDescription)")
            }
        }
    }
    _ = OverlayOptionSyntax.keyValue(text)
    return 0
}

// Last: the constants above are initialized in order, and this never returns.
runFuzzer(fuzzMountOptions)
