/// The option syntax of overlayfs and fuse-overlayfs: comma-separated options, `key=value`, colons between
/// lower layers, and a backslash escaping `,` `:` or itself inside a value.
public enum OverlayOptionSyntax {
    /// `key=value` into its parts; `nil` value for a bare flag.
    public static func keyValue(_ option: String) -> (String, String?) {
        guard let equals = option.firstIndex(of: "=") else { return (option, nil) }
        return (String(option[..<equals]), String(option[option.index(after: equals)...]))
    }

    /// Splits on `separator` where it is not escaped by a backslash; keeps the escapes.
    ///
    /// - Throws: `StrataError.Code.invalidOption` for a lone trailing backslash, or a NUL byte (a path
    ///   would silently end there when handed to the system).
    public static func split(_ text: String, separator: Character) throws(StrataError) -> [String] {
        guard !text.utf8.contains(0) else {
            throw StrataError(.invalidOption, "'\(text.replacing("\0", with: "\\0"))' contains a NUL byte")
        }
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append("\\")
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !escaped else { throw StrataError(.invalidOption, "'\(text)' ends with a lone backslash") }
        parts.append(current)
        return parts
    }

    /// Removes one level of backslash escapes.
    public static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped || character != "\\" {
                result.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return result
    }

    /// Escapes `:` `,` and `\` in a path so it can stand in a `lowerdir=`, `upperdir=` or `workdir=` value.
    public static func escape(_ path: String) -> String {
        var escaped = ""
        for character in path {
            if character == ":" || character == "," || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
