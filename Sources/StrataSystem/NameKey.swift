//===----------------------------------------------------------------------===//
// Names as the kernel compares them.
//===----------------------------------------------------------------------===//

/// A name or path as the kernel compares it: byte for byte.
///
/// `String`'s `==` is Unicode canonical equivalence, under which "café" spelled with a precomposed
/// é and with e plus a combining accent are one string, though they are two names a directory can
/// hold side by side (and the kernel's overlay shows both). Every table Strata keys by name or path uses
/// this key; the `String` subscripts below wrap the name, so the tables read like dictionaries of
/// strings. Iterating one yields keys: their `string` is the name.
public struct NameKey: Hashable, Sendable {
  public let string: String

  public init(_ string: String) {
    self.string = string
  }

  public static func == (lhs: NameKey, rhs: NameKey) -> Bool {
    FileName.sameBytes(lhs.string, rhs.string)
  }

  /// The string's own hash: names with the same bytes are equal strings, so they hash alike, and
  /// the few look-alikes that share a hash are told apart by `==`. (The standard library's hash of
  /// a `String` is faster than a byte loop written here.)
  public func hash(into hasher: inout Hasher) {
    hasher.combine(string)
  }
}

extension Dictionary where Key == NameKey {
  public subscript(_ name: String) -> Value? {
    get { self[NameKey(name)] }
    set { self[NameKey(name)] = newValue }
  }

  public subscript(_ name: String, default value: @autoclosure () -> Value) -> Value {
    get { self[NameKey(name), default: value()] }
    _modify { yield &self[NameKey(name), default: value()] }
  }

  @discardableResult
  public mutating func removeValue(forKey name: String) -> Value? {
    removeValue(forKey: NameKey(name))
  }
}

extension Set where Element == NameKey {
  public func contains(_ name: String) -> Bool {
    contains(NameKey(name))
  }

  @discardableResult
  public mutating func insert(_ name: String) -> (inserted: Bool, memberAfterInsert: NameKey) {
    insert(NameKey(name))
  }
}
