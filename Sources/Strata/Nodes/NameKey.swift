// Byte-wise name comparisons for the union (see `NameKey`).

extension String {
    /// Whether two names are the same bytes (see `NameKey`).
    func isSameName(as other: String) -> Bool {
        NameKey(self) == NameKey(other)
    }

    /// Whether the bytes of this name or path start with those of `prefix`. (`hasPrefix` compares
    /// characters: "trusted." followed by a combining accent would not start with "trusted.", though
    /// to the kernel it does.)
    func hasNamePrefix(_ prefix: String) -> Bool {
        utf8.starts(with: prefix.utf8)
    }
}
