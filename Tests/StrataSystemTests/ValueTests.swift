import StrataSystem
import SystemPackage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("Value types and constants")
struct ValueTests {
  @Test("FileKind decodes st_mode and d_type and round-trips modeBits")
  func kinds() {
    let all: [FileKind] = [.regular, .directory, .symbolicLink, .characterDevice, .blockDevice, .fifo, .socket]
    for kind in all {
      #expect(FileKind(mode: kind.modeBits | 0o755) == kind)
    }
    #expect(FileKind.regular.modeBits == UInt32(S_IFREG))
    #expect(FileKind.directory.modeBits == UInt32(S_IFDIR))
    #expect(FileKind.symbolicLink.modeBits == UInt32(S_IFLNK))
    #expect(FileKind.characterDevice.modeBits == UInt32(S_IFCHR))
    #expect(FileKind.blockDevice.modeBits == UInt32(S_IFBLK))
    #expect(FileKind.fifo.modeBits == UInt32(S_IFIFO))
    #expect(FileKind.socket.modeBits == UInt32(S_IFSOCK))
    #expect(FileKind(mode: 0o644) == nil)
    #expect(FileKind(directoryType: UInt8(DT_REG)) == .regular)
    #expect(FileKind(directoryType: UInt8(DT_DIR)) == .directory)
    #expect(FileKind(directoryType: UInt8(DT_LNK)) == .symbolicLink)
    #expect(FileKind(directoryType: UInt8(DT_CHR)) == .characterDevice)
    #expect(FileKind(directoryType: UInt8(DT_BLK)) == .blockDevice)
    #expect(FileKind(directoryType: UInt8(DT_FIFO)) == .fifo)
    #expect(FileKind(directoryType: UInt8(DT_SOCK)) == .socket)
    #expect(FileKind(directoryType: UInt8(DT_UNKNOWN)) == nil)
  }

  @Test("FileStatus derives kind and permissions from mode")
  func statusDerived() {
    let t = TimeSpec(seconds: 1)
    let s = FileStatus(
      device: 1, inode: 2, mode: UInt32(S_IFDIR) | 0o1777, linkCount: 3, user: 4, group: 5,
      specialDevice: 0, size: 6, blockSize: 4096, blocks: 8,
      accessTime: t, modificationTime: t, changeTime: t)
    #expect(s.kind == .directory)
    #expect(s.permissions == 0o1777)
  }

  @Test("flags and markers carry the kernel's values")
  func constants() {
    #expect(RenameFlags.noReplace.rawValue == 1)
    #expect(RenameFlags.exchange.rawValue == 2)
    #expect(RenameFlags.whiteout.rawValue == 4)
    #expect(ResolveFlags.noXDev.rawValue == 0x01)
    #expect(ResolveFlags.noMagicLinks.rawValue == 0x02)
    #expect(ResolveFlags.noSymlinks.rawValue == 0x04)
    #expect(ResolveFlags.beneath.rawValue == 0x08)
    #expect(ResolveFlags.inRoot.rawValue == 0x10)
    #expect(XAttrFlags.create.rawValue == 1)
    #expect(XAttrFlags.replace.rawValue == 2)
    #expect(TimeSpec.now.nanoseconds == (1 << 30) - 1)
    #expect(TimeSpec.omit.nanoseconds == (1 << 30) - 2)
    #expect(TimeSpec(seconds: 5) == TimeSpec(seconds: 5, nanoseconds: 0))
  }

  @Test("device numbers round-trip through makedev, major and minor")
  func devices() {
    for (major, minor) in [(0, 0), (1, 3), (8, 17), (259, 65_536), (4095, 1_048_575)] as [(UInt32, UInt32)] {
      let device = makeDevice(major: major, minor: minor)
      #expect(deviceMajor(device) == major)
      #expect(deviceMinor(device) == minor)
    }
    #expect(makeDevice(major: 1, minor: 3) == 0x103)
  }
}
