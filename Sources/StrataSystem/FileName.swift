//===----------------------------------------------------------------------===//
// File names and link targets as lossless Strings.
//
// Linux names are bytes: anything but `/` and NUL, in no particular encoding.
// StrataSystem hands them out as `String`s without losing a byte: well-formed
// UTF-8 stays itself, and each byte that is not part of a well-formed sequence
// becomes U+0000 followed by its two lowercase hex digits. A name never holds
// NUL, so an escaped byte can never be confused with a name's own characters;
// every call that takes a name turns the escapes back into their bytes.
//===----------------------------------------------------------------------===//

import CStrataSystem
import SystemPackage

#if canImport(Glibc)
  import Glibc
#endif

/// The lossless `String` form of file names and symbolic link targets.
public enum FileName {
  /// The `String` form of the bytes `bytes` (which hold no NUL).
  public static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
    if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
    if let valid = String(validating: bytes, as: UTF8.self) { return valid }
    let input = Array(bytes)
    var output: [UInt8] = []
    output.reserveCapacity(input.count + 8)
    var index = 0
    while index < input.count {
      let length = wellFormedLength(input, at: index)
      if length > 0 {
        output.append(contentsOf: input[index..<index + length])
        index += length
      } else {
        output.append(0)
        output.append(hexDigit(input[index] >> 4))
        output.append(hexDigit(input[index] & 0x0F))
        index += 1
      }
    }
    return String(decoding: output, as: UTF8.self)
  }

  /// The `String` form of the path `path`, byte for byte (`FilePath.string` repairs bytes that are
  /// not UTF-8 into U+FFFD, which no file is named by).
  public static func decode(_ path: FilePath) -> String {
    let string = path.string
    // The repair writes U+FFFD (EF BF BD): a string without an EF byte holds the path's own bytes.
    let mayBeRepaired =
      unsafe string.utf8.withContiguousStorageIfAvailable { (bytes) in
        bytes.isEmpty ? false : unsafe memchr(bytes.baseAddress!, 0xEF, bytes.count) != nil
      } ?? true
    guard mayBeRepaired else { return string }
    return unsafe path.withPlatformString { unsafe decode(cString: $0) }
  }

  /// Whether two names are the same bytes. (`String`'s `==` is Unicode canonical equivalence, under
  /// which two different names can be equal.)
  public static func sameBytes(_ first: String, _ second: String) -> Bool {
    let count = first.utf8.count
    guard count == second.utf8.count else { return false }
    guard count > 0 else { return true }
    let compared = unsafe first.utf8.withContiguousStorageIfAvailable { (a) in
      unsafe second.utf8.withContiguousStorageIfAvailable { (b) in
        unsafe memcmp(a.baseAddress!, b.baseAddress!, count) == 0
      }
    }
    return (compared ?? nil) ?? first.utf8.elementsEqual(second.utf8)
  }

  /// Whether the bytes of `name` start with those of `prefix` (`hasPrefix` compares Characters: a
  /// prefix followed by a combining accent would not count, though to the kernel it does).
  public static func starts(_ name: String, with prefix: String) -> Bool {
    name.utf8.starts(with: prefix.utf8)
  }

  /// `name` without its first `count` bytes (which must end where a character does, as an ASCII
  /// prefix does).
  public static func dropping(_ count: Int, bytesOf name: String) -> String {
    String(decoding: name.utf8.dropFirst(count), as: UTF8.self)
  }

  /// The non-empty components of `path`, split at `/` bytes: a path is bytes to the kernel (a `/`
  /// followed by a combining accent is one Character, and still a separator), and grapheme breaking
  /// is slow.
  public static func components(of path: String) -> [String] {
    var result: [String] = []
    let bytes = path.utf8
    var start = bytes.startIndex
    var index = start
    while index != bytes.endIndex {
      if bytes[index] == UInt8(ascii: "/") {
        if start != index { result.append(String(decoding: bytes[start..<index], as: UTF8.self)) }
        start = bytes.index(after: index)
      }
      index = bytes.index(after: index)
    }
    if start != index { result.append(String(decoding: bytes[start..<index], as: UTF8.self)) }
    return result
  }

  /// The `String` form of a NUL-terminated name from C (a file name, a link target, an xattr name).
  public static func decode(cString text: UnsafePointer<CChar>) -> String {
    unsafe decode(UnsafeRawBufferPointer(start: text, count: strlen(text)))
  }

  /// Runs `body` with the NUL-terminated bytes `name` stands for, for a C call; nil (without
  /// calling `body`) when its escapes are malformed (see `bytes(of:)`).
  public static func withCString<R>(_ name: String, _ body: (UnsafePointer<CChar>) -> R) -> R? {
    guard name.utf8.contains(0) else { return unsafe name.withCString(body) }
    guard var bytes = bytes(of: name) else { return nil }
    bytes.append(0)
    return unsafe bytes.withUnsafeBufferPointer { (buffer) in
      unsafe buffer.withMemoryRebound(to: CChar.self) { unsafe body($0.baseAddress!) }
    }
  }

  /// The path of the bytes `name` stands for: a `FilePath` made from the `String` itself would end
  /// at its first escape, and name a different file.
  ///
  /// Errors a caller can see: `EINVAL` when the escapes are malformed (see `bytes(of:)`).
  public static func path(_ name: String) throws(Errno) -> FilePath {
    guard let path = unsafe withCString(name, { unsafe FilePath(platformString: $0) }) else { throw .invalidArgument }
    return path
  }

  /// `name` for a terminal or a log: each escaped byte shown as `\xff` (the escapes' NUL would
  /// otherwise reach the terminal).
  public static func printable(_ name: String) -> String {
    guard name.utf8.contains(0) else { return name }
    var result = ""
    var iterator = name.unicodeScalars.makeIterator()
    while let scalar = iterator.next() {
      if scalar == "\u{0}" {
        result += "\\x"
        if let high = iterator.next() { result.unicodeScalars.append(high) }
        if let low = iterator.next() { result.unicodeScalars.append(low) }
      } else {
        result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// The bytes `name` stands for, or nil when its escapes are malformed or not the ones `decode`
  /// would have made (an escaped byte that is part of well-formed UTF-8 in its place): one name has
  /// one `String` form only.
  public static func bytes(of name: String) -> [UInt8]? {
    let utf8 = name.utf8
    guard utf8.contains(0) else { return Array(utf8) }
    var result: [UInt8] = []
    result.reserveCapacity(utf8.count)
    var iterator = utf8.makeIterator()
    while let byte = iterator.next() {
      guard byte == 0 else {
        result.append(byte)
        continue
      }
      guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
        return nil
      }
      result.append(high << 4 | low)
    }
    return decode(result).utf8.elementsEqual(name.utf8) ? result : nil
  }

  /// The length of the well-formed UTF-8 sequence starting at `index`, or 0 when there is none.
  private static func wellFormedLength(_ bytes: [UInt8], at index: Int) -> Int {
    let lead = bytes[index]
    let length: Int
    var lower: UInt8 = 0x80
    var upper: UInt8 = 0xBF
    switch lead {
    case 0x00...0x7F: return 1
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; lower = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; upper = 0x9F
    case 0xF0: length = 4; lower = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; upper = 0x8F
    default: return 0
    }
    guard index + length <= bytes.count else { return 0 }
    // Only the first continuation byte has a narrower range (no overlongs, surrogates or > U+10FFFF).
    guard (lower...upper).contains(bytes[index + 1]) else { return 0 }
    for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) { return 0 }
    return length
  }

  private static func hexDigit(_ value: UInt8) -> UInt8 {
    value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
  }

  private static func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
    default: return nil
    }
  }
}
