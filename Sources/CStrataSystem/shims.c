//===----------------------------------------------------------------------===//
// CStrataSystem: thin, non-variadic wrappers around Linux system calls.
//===----------------------------------------------------------------------===//

#define _GNU_SOURCE 1

#include "CStrataSystem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
struct open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#endif

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_renameat2
#if defined(__x86_64__)
#define SYS_renameat2 316
#elif defined(__aarch64__)
#define SYS_renameat2 276
#endif
#endif

#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

#ifndef FICLONE
#define FICLONE _IOW(0x94, 9, int)
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#ifndef O_PATH
#define O_PATH 010000000
#endif

#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

#ifndef SEEK_DATA
#define SEEK_DATA 3
#endif
#ifndef SEEK_HOLE
#define SEEK_HOLE 4
#endif

// MARK: - Constants

const int cstrata_AT_FDCWD = AT_FDCWD;
const int cstrata_AT_SYMLINK_NOFOLLOW = AT_SYMLINK_NOFOLLOW;
const int cstrata_AT_SYMLINK_FOLLOW = AT_SYMLINK_FOLLOW;
const int cstrata_AT_REMOVEDIR = AT_REMOVEDIR;
const int cstrata_AT_EMPTY_PATH = AT_EMPTY_PATH;

const int cstrata_O_RDONLY = O_RDONLY;
const int cstrata_O_WRONLY = O_WRONLY;
const int cstrata_O_RDWR = O_RDWR;
const int cstrata_O_CREAT = O_CREAT;
const int cstrata_O_EXCL = O_EXCL;
const int cstrata_O_TRUNC = O_TRUNC;
const int cstrata_O_APPEND = O_APPEND;
const int cstrata_O_PATH = O_PATH;
const int cstrata_O_NOFOLLOW = O_NOFOLLOW;
const int cstrata_O_DIRECTORY = O_DIRECTORY;
const int cstrata_O_CLOEXEC = O_CLOEXEC;
const int cstrata_O_TMPFILE = O_TMPFILE;

const uint64_t cstrata_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const uint64_t cstrata_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t cstrata_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t cstrata_RESOLVE_BENEATH = RESOLVE_BENEATH;
const uint64_t cstrata_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT;

const unsigned int cstrata_RENAME_NOREPLACE = RENAME_NOREPLACE;
const unsigned int cstrata_RENAME_EXCHANGE = RENAME_EXCHANGE;
const unsigned int cstrata_RENAME_WHITEOUT = RENAME_WHITEOUT;

const int cstrata_XATTR_CREATE = XATTR_CREATE;
const int cstrata_XATTR_REPLACE = XATTR_REPLACE;

const long cstrata_UTIME_NOW = UTIME_NOW;
const long cstrata_UTIME_OMIT = UTIME_OMIT;

const int cstrata_SEEK_SET = SEEK_SET;
const int cstrata_SEEK_DATA = SEEK_DATA;
const int cstrata_SEEK_HOLE = SEEK_HOLE;

const int cstrata_LOCK_SH = LOCK_SH;
const int cstrata_LOCK_EX = LOCK_EX;
const int cstrata_LOCK_NB = LOCK_NB;
const int cstrata_LOCK_UN = LOCK_UN;

const int cstrata_F_DUPFD_CLOEXEC = F_DUPFD_CLOEXEC;

const uint32_t cstrata_S_IFMT = S_IFMT;
const uint32_t cstrata_S_IFREG = S_IFREG;
const uint32_t cstrata_S_IFDIR = S_IFDIR;
const uint32_t cstrata_S_IFLNK = S_IFLNK;
const uint32_t cstrata_S_IFCHR = S_IFCHR;
const uint32_t cstrata_S_IFBLK = S_IFBLK;
const uint32_t cstrata_S_IFIFO = S_IFIFO;
const uint32_t cstrata_S_IFSOCK = S_IFSOCK;

const uint8_t cstrata_DT_UNKNOWN = DT_UNKNOWN;
const uint8_t cstrata_DT_REG = DT_REG;
const uint8_t cstrata_DT_DIR = DT_DIR;
const uint8_t cstrata_DT_LNK = DT_LNK;
const uint8_t cstrata_DT_CHR = DT_CHR;
const uint8_t cstrata_DT_BLK = DT_BLK;
const uint8_t cstrata_DT_FIFO = DT_FIFO;
const uint8_t cstrata_DT_SOCK = DT_SOCK;

// MARK: - File descriptors and paths

int cstrata_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int cstrata_openat(int dirfd, const char *path, int flags, unsigned int mode) {
    return openat(dirfd, path, flags, (mode_t)mode);
}

int cstrata_open(const char *path, int flags, unsigned int mode) {
    return open(path, flags, (mode_t)mode);
}

int cstrata_fstatat(int dirfd, const char *path, cstrata_stat *out, int flags) {
    struct stat st;
    int result = fstatat(dirfd, path, &st, flags);
    if (result != 0) return result;
    out->device = (uint64_t)st.st_dev;
    out->inode = (uint64_t)st.st_ino;
    out->mode = (uint32_t)st.st_mode;
    out->link_count = (uint64_t)st.st_nlink;
    out->user = (uint32_t)st.st_uid;
    out->group = (uint32_t)st.st_gid;
    out->special_device = (uint64_t)st.st_rdev;
    out->size = (int64_t)st.st_size;
    out->block_size = (int64_t)st.st_blksize;
    out->blocks = (int64_t)st.st_blocks;
    out->access_seconds = (int64_t)st.st_atim.tv_sec;
    out->access_nanoseconds = (int64_t)st.st_atim.tv_nsec;
    out->modification_seconds = (int64_t)st.st_mtim.tv_sec;
    out->modification_nanoseconds = (int64_t)st.st_mtim.tv_nsec;
    out->change_seconds = (int64_t)st.st_ctim.tv_sec;
    out->change_nanoseconds = (int64_t)st.st_ctim.tv_nsec;
    return 0;
}

int cstrata_mkdirat(int dirfd, const char *path, unsigned int mode) {
    return mkdirat(dirfd, path, (mode_t)mode);
}

int cstrata_mknodat(int dirfd, const char *path, unsigned int mode, uint64_t device) {
    return mknodat(dirfd, path, (mode_t)mode, (dev_t)device);
}

int cstrata_symlinkat(const char *target, int dirfd, const char *path) {
    return symlinkat(target, dirfd, path);
}

ssize_t cstrata_readlinkat(int dirfd, const char *path, char *buffer, size_t size) {
    return readlinkat(dirfd, path, buffer, size);
}

int cstrata_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags) {
    return linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

int cstrata_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

int cstrata_unlinkat(int dirfd, const char *path, int flags) {
    return unlinkat(dirfd, path, flags);
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* Set once the kernel answered ENOSYS to fchmodat2 (before Linux 6.6). */
static _Atomic int fchmodat2_missing = 0;

int cstrata_fchmodat(int dirfd, const char *path, unsigned int mode, int flags) {
    /* glibc before 2.39 emulates AT_SYMLINK_NOFOLLOW with an O_PATH open, an fstat and a chmod of
       the /proc/self/fd path: four calls and a procfs lookup where fchmodat2 makes one. */
    if ((flags & AT_SYMLINK_NOFOLLOW) && !fchmodat2_missing) {
        long result = syscall(SYS_fchmodat2, dirfd, path, (mode_t)mode, flags);
        if (result == 0 || errno != ENOSYS) return (int)result;
        fchmodat2_missing = 1;
    }
    return fchmodat(dirfd, path, (mode_t)mode, flags);
}

int cstrata_fchmod(int fd, unsigned int mode) {
    return fchmod(fd, (mode_t)mode);
}

int cstrata_fchownat(int dirfd, const char *path, uint32_t user, uint32_t group, int flags) {
    return fchownat(dirfd, path, (uid_t)user, (gid_t)group, flags);
}

int cstrata_utimensat(int dirfd, const char *path, int64_t access_seconds, long access_nanoseconds,
                      int64_t modification_seconds, long modification_nanoseconds, int flags) {
    struct timespec times[2];
    times[0].tv_sec = (time_t)access_seconds;
    times[0].tv_nsec = access_nanoseconds;
    times[1].tv_sec = (time_t)modification_seconds;
    times[1].tv_nsec = modification_nanoseconds;
    return utimensat(dirfd, path, times, flags);
}

int cstrata_futimens(int fd, int64_t access_seconds, long access_nanoseconds,
                     int64_t modification_seconds, long modification_nanoseconds) {
    struct timespec times[2];
    times[0].tv_sec = (time_t)access_seconds;
    times[0].tv_nsec = access_nanoseconds;
    times[1].tv_sec = (time_t)modification_seconds;
    times[1].tv_nsec = modification_nanoseconds;
    return futimens(fd, times);
}

// MARK: - Data

ssize_t cstrata_pread(int fd, void *buffer, size_t count, int64_t offset) {
    return pread(fd, buffer, count, (off_t)offset);
}

ssize_t cstrata_pwrite(int fd, const void *buffer, size_t count, int64_t offset) {
    return pwrite(fd, buffer, count, (off_t)offset);
}

ssize_t cstrata_write(int fd, const void *buffer, size_t count) {
    return write(fd, buffer, count);
}

int cstrata_ftruncate(int fd, int64_t size) {
    return ftruncate(fd, (off_t)size);
}

int cstrata_fsync(int fd) {
    return fsync(fd);
}

int cstrata_syncfs(int fd) {
    return syncfs(fd);
}

int cstrata_fdatasync(int fd) {
    return fdatasync(fd);
}

int cstrata_ficlone(int destination, int source) {
    return ioctl(destination, FICLONE, source);
}

int cstrata_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

ssize_t cstrata_copy_file_range(int source, int64_t *source_offset, int destination,
                                int64_t *destination_offset, size_t count, unsigned int flags) {
    loff_t in = (loff_t)*source_offset;
    loff_t out = (loff_t)*destination_offset;
    ssize_t result = copy_file_range(source, &in, destination, &out, count, flags);
    *source_offset = (int64_t)in;
    *destination_offset = (int64_t)out;
    return result;
}

int64_t cstrata_lseek(int fd, int64_t offset, int whence) {
    return (int64_t)lseek(fd, (off_t)offset, whence);
}

// MARK: - Directories

ssize_t cstrata_getdents64(int fd, void *buffer, size_t size) {
    return (ssize_t)syscall(SYS_getdents64, fd, buffer, size);
}

/// The kernel's layout of one getdents64 record.
struct cstrata_linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

void cstrata_dirent_at(const void *buffer, size_t offset, cstrata_dirent *out) {
    const char *base = (const char *)buffer + offset;
    struct cstrata_linux_dirent64 header;
    memcpy(&header, base, offsetof(struct cstrata_linux_dirent64, d_name));
    out->inode = header.d_ino;
    out->offset = header.d_off;
    out->record_length = header.d_reclen;
    out->type = header.d_type;
    out->name_offset = (uint16_t)offsetof(struct cstrata_linux_dirent64, d_name);
}

// MARK: - Extended attributes

ssize_t cstrata_getxattr(const char *path, const char *name, void *value, size_t size) {
    return getxattr(path, name, value, size);
}

// The *xattrat system calls, numbered alike on every architecture (Linux 6.13).
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

struct cstrata_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

ssize_t cstrata_getxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, void *value, size_t size) {
    struct cstrata_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
    return (ssize_t)syscall(SYS_getxattrat, dirfd, path, at_flags, name, &args, sizeof args);
}

int cstrata_setxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, const void *value, size_t size, int flags) {
    struct cstrata_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, (uint32_t)flags };
    return (int)syscall(SYS_setxattrat, dirfd, path, at_flags, name, &args, sizeof args);
}

ssize_t cstrata_listxattrat(int dirfd, const char *path, unsigned int at_flags, char *list, size_t size) {
    return (ssize_t)syscall(SYS_listxattrat, dirfd, path, at_flags, list, size);
}

int cstrata_removexattrat(int dirfd, const char *path, unsigned int at_flags, const char *name) {
    return (int)syscall(SYS_removexattrat, dirfd, path, at_flags, name);
}

ssize_t cstrata_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

ssize_t cstrata_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}

int cstrata_setxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
    return setxattr(path, name, value, size, flags);
}

int cstrata_lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags) {
    return lsetxattr(path, name, value, size, flags);
}

int cstrata_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags) {
    return fsetxattr(fd, name, value, size, flags);
}

ssize_t cstrata_listxattr(const char *path, char *list, size_t size) {
    return listxattr(path, list, size);
}

ssize_t cstrata_llistxattr(const char *path, char *list, size_t size) {
    return llistxattr(path, list, size);
}

ssize_t cstrata_flistxattr(int fd, char *list, size_t size) {
    return flistxattr(fd, list, size);
}

int cstrata_removexattr(const char *path, const char *name) {
    return removexattr(path, name);
}

int cstrata_lremovexattr(const char *path, const char *name) {
    return lremovexattr(path, name);
}

int cstrata_fremovexattr(int fd, const char *name) {
    return fremovexattr(fd, name);
}

// MARK: - File system, locks, descriptors

int cstrata_fstatvfs(int fd, cstrata_statvfs *out) {
    struct statvfs st;
    int result = fstatvfs(fd, &st);
    if (result != 0) return result;
    out->block_size = (uint64_t)st.f_bsize;
    out->fragment_size = (uint64_t)st.f_frsize;
    out->blocks = (uint64_t)st.f_blocks;
    out->free_blocks = (uint64_t)st.f_bfree;
    out->available_blocks = (uint64_t)st.f_bavail;
    out->files = (uint64_t)st.f_files;
    out->free_files = (uint64_t)st.f_ffree;
    out->available_files = (uint64_t)st.f_favail;
    out->file_system_id = (uint64_t)st.f_fsid;
    out->flags = (uint64_t)st.f_flag;
    out->maximum_name_length = (uint64_t)st.f_namemax;
    return 0;
}

int cstrata_flock(int fd, int operation) {
    return flock(fd, operation);
}

int cstrata_dupfd_cloexec(int fd) {
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

int cstrata_set_status_flags(int fd, int flags) {
    return fcntl(fd, F_SETFL, flags);
}

int cstrata_close(int fd) {
    return close(fd);
}

uint32_t cstrata_geteuid(void) {
    return (uint32_t)geteuid();
}

int cstrata_getgroups(int size, uint32_t *list) {
    if (size == 0) return getgroups(0, NULL);
    gid_t buffer[size];
    int count = getgroups(size, buffer);
    for (int i = 0; i < count; i++) list[i] = (uint32_t)buffer[i];
    return count;
}

uint32_t cstrata_getegid(void) {
    return (uint32_t)getegid();
}

int cstrata_errno(void) {
    return errno;
}

void cstrata_set_errno(int value) {
    errno = value;
}

// MARK: - Memory

int cstrata_populate_and_release(size_t bytes) {
    void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (memory == MAP_FAILED) return -1;
    return munmap(memory, bytes);
}

// MARK: - Devices

uint64_t cstrata_makedev(uint32_t major_number, uint32_t minor_number) {
    return (uint64_t)makedev(major_number, minor_number);
}

uint32_t cstrata_major(uint64_t device) {
    return (uint32_t)major((dev_t)device);
}

uint32_t cstrata_minor(uint64_t device) {
    return (uint32_t)minor((dev_t)device);
}
