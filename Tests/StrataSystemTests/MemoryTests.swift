import Foundation
import StrataSystem
import SystemPackage
import Testing

@Suite("Anonymous memory")
struct MemoryTests {
  /// A field of /proc/self/status in KiB (`VmHWM`, `VmRSS`).
  private func statusKiB(_ field: String) throws -> Int {
    let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(field + ":") })
    return try #require(line.split(separator: " ").dropFirst().first.flatMap { Int($0) })
  }

  @Test("populated memory is resident at once and given back at once")
  func populateAndRelease() throws {
    let peakBefore = try statusKiB("VmHWM")
    let size = (peakBefore + 256 * 1_024) * 1_024  // past any peak so far, by 256 MiB
    try populateAndReleaseMemory(bytes: size)
    // Every page was faulted in (the peak rose by the whole size) and none of it stayed.
    #expect(try statusKiB("VmHWM") >= size / 1_024)
    #expect(try statusKiB("VmRSS") < size / 1_024 - 128 * 1_024)
  }

  @Test("a zero size is refused")
  func zeroSize() {
    #expect(throws: Errno.invalidArgument) { try populateAndReleaseMemory(bytes: 0) }
  }
}
