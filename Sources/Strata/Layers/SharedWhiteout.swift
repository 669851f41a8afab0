import Synchronization

/// Overlay-format whiteouts as hard links to one character device 0/0 in the work directory, as the
/// kernel's overlayfs makes them since Linux 5.8.
///
/// `mknod` allocates an inode per whiteout, which on ext4 means a search of the inode bitmap for
/// every deleted lower file (most of an `unlink`'s time); a link only adds a directory entry. When
/// the device reaches the filesystem's link limit (`EMLINK`) a new one is made; where links cannot be
/// made at all, every whiteout is its own device again.
final class SharedWhiteout: Sendable {
    private struct State {
        var current: String?
        var generation = 0
        var linksUnsupported = false
    }

    private let state = Mutex(State())
    private let temporaries: FileDescriptor

    /// `temporaries` is the work directory's scratch directory, emptied each time the union opens.
    init(temporaries: FileDescriptor) {
        self.temporaries = temporaries
    }

    /// Makes a whiteout named `name` in `directory`; `EEXIST` if the name is taken.
    func make(at name: String, in directory: FileDescriptor) throws(Errno) {
        let linked = try state.withLock { (state: inout State) throws(Errno) -> Bool in
            for _ in 0..<2 where !state.linksUnsupported {
                let device: String
                if let current = state.current {
                    device = current
                } else {
                    state.generation += 1
                    device = "#strata.whiteout.\(state.generation)"
                    try temporaries.createNode(at: device, mode: modeCharacterDevice, device: 0)
                    state.current = device
                }
                do throws(Errno) {
                    try temporaries.createHardLink(from: device, to: directory, as: name)
                    return true
                } catch where error == .tooManyLinks {
                    state.current = nil
                } catch where error == .fileExists || error == .noSpace || error == .diskQuotaExceeded
                    || error == .readOnlyFileSystem
                {
                    throw error
                } catch {
                    state.linksUnsupported = true
                }
            }
            return false
        }
        if !linked { try directory.createNode(at: name, mode: modeCharacterDevice, device: 0) }
    }
}
