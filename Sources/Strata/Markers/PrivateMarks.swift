/// The union marks one object carries in its extended attributes, in either namespace.
///
/// Read with one `listxattr` and one `getxattr` per mark actually present: most objects carry none,
/// so a lookup pays one system call instead of one per mark and namespace.
struct PrivateMarks {
    /// `overlay.opaque` (`y` opaque, `x` may hold xattr whiteouts), or `y` for fuse-overlayfs's mark.
    var opaque: String?
    var redirect: String?
    var metacopy = false
    var whiteout = false
    /// Strata's record of the inode number before copy-up.
    var origin: UInt64?

    var isOpaque: Bool { opaque == "y" }

    /// The marks of the entry `name` in `directory` (`""`: the directory itself); none if the
    /// filesystem has no xattrs.
    static func read(at name: String = "", in directory: FileDescriptor) -> PrivateMarks {
        var marks = PrivateMarks()
        guard let names = try? directory.extendedAttributeNames(at: name), !names.isEmpty else { return marks }
        func value(_ attribute: String) -> String? {
            guard names.contains(attribute), let bytes = try? directory.extendedAttribute(attribute, at: name) else {
                return nil
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        for namespace in MetadataAttributes.all {
            marks.opaque = marks.opaque ?? value(namespace.opaque)
            marks.redirect = marks.redirect ?? value(namespace.redirect)
            marks.metacopy = marks.metacopy || names.contains(namespace.metacopy)
            marks.whiteout = marks.whiteout || names.contains(namespace.whiteout)
            marks.origin = marks.origin ?? value(namespace.origin).flatMap(UInt64.init)
        }
        if marks.opaque != "y", value("user.fuseoverlayfs.opaque") == "y" { marks.opaque = "y" }
        return marks
    }
}
