/// A name or path as the kernel compares it: byte for byte.
///
/// `String`'s `==` is Unicode canonical equivalence, under which "café" spelled with a precomposed
/// é and with e plus a combining accent are one string, though they are two names a directory can
/// hold side by side (and the kernel's overlay shows both). Every table the union keys by name uses
/// this key; the `String` subscripts below wrap the name, so the tables read like dictionaries of
/// strings.
struct NameKey: Hashable, Sendable {
    let string: String

    init(_ string: String) {
        self.string = string
    }

    static func == (lhs: NameKey, rhs: NameKey) -> Bool {
        FileName.sameBytes(lhs.string, rhs.string)
    }

    /// The string's own hash: names with the same bytes are equal strings, so they hash alike, and
    /// the few look-alikes that share a hash are told apart by `==`. (The standard library's hash of
    /// a `String` is faster than a byte loop written here.)
    func hash(into hasher: inout Hasher) {
        hasher.combine(string)
    }
}

extension String {
    /// Whether two names are the same bytes (see `NameKey`).
    func isSameName(as other: String) -> Bool {
        NameKey(self) == NameKey(other)
    }
}

extension String {
    /// Whether the bytes of this name or path start with those of `prefix`. (`hasPrefix` compares
    /// characters: "trusted." followed by a combining accent would not start with "trusted.", though
    /// to the kernel it does.)
    func hasNamePrefix(_ prefix: String) -> Bool {
        utf8.starts(with: prefix.utf8)
    }
}

extension Dictionary where Key == NameKey {
    subscript(_ name: String) -> Value? {
        get { self[NameKey(name)] }
        set { self[NameKey(name)] = newValue }
    }

    subscript(_ name: String, default value: @autoclosure () -> Value) -> Value {
        get { self[NameKey(name), default: value()] }
        _modify { yield &self[NameKey(name), default: value()] }
    }

    @discardableResult
    mutating func removeValue(forKey name: String) -> Value? {
        removeValue(forKey: NameKey(name))
    }
}

extension Set where Element == NameKey {
    func contains(_ name: String) -> Bool {
        contains(NameKey(name))
    }

    @discardableResult
    mutating func insert(_ name: String) -> (inserted: Bool, memberAfterInsert: NameKey) {
        insert(NameKey(name))
    }
}
