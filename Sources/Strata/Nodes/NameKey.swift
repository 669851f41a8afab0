// Byte-wise name comparisons for the union (see `NameKey`).

extension String {
    /// Whether two names are the same bytes (`FileName.sameBytes`).
    func isSameName(as other: String) -> Bool {
        FileName.sameBytes(self, other)
    }

    /// Whether the bytes of this name or path start with those of `prefix` (`FileName.starts`).
    func hasNamePrefix(_ prefix: String) -> Bool {
        FileName.starts(self, with: prefix)
    }
}
