import Glibc

/// What a union left in its work directory's scratch directory (`WORK/work`): after every operation,
/// finished or failed, only the shared whiteout device may stay there (the kernel's overlayfs keeps
/// one too). Nil when the directory is missing.
public func workLeftovers(_ work: String) -> [String]? {
    guard let directory = opendir("\(work)/work") else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." && !name.hasPrefix("#strata.whiteout.") { names.append(name) }
    }
    return names.sorted()
}
