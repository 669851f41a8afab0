//===----------------------------------------------------------------------===//
// CStrataSystem: the C entry points Swift's Glibc module does not import.
//
// Every function follows the system call convention: it returns -1 (or a
// negative value for the ssize_t ones) and leaves the reason in `errno`.
// Constants that depend on _GNU_SOURCE or on Linux-only headers are exported
// as `extern const` values defined in shims.c, so that this header does not
// need any feature macro and imports cleanly next to the Glibc module.
//===----------------------------------------------------------------------===//

#ifndef CSTRATA_SYSTEM_H
#define CSTRATA_SYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Constants

extern const int cstrata_AT_FDCWD;
extern const int cstrata_AT_SYMLINK_NOFOLLOW;
extern const int cstrata_AT_SYMLINK_FOLLOW;
extern const int cstrata_AT_REMOVEDIR;
extern const int cstrata_AT_EMPTY_PATH;

extern const int cstrata_O_RDONLY;
extern const int cstrata_O_WRONLY;
extern const int cstrata_O_RDWR;
extern const int cstrata_O_CREAT;
extern const int cstrata_O_EXCL;
extern const int cstrata_O_TRUNC;
extern const int cstrata_O_APPEND;
extern const int cstrata_O_PATH;
extern const int cstrata_O_NOFOLLOW;
extern const int cstrata_O_DIRECTORY;
extern const int cstrata_O_CLOEXEC;
extern const int cstrata_O_TMPFILE;

extern const uint64_t cstrata_RESOLVE_NO_XDEV;
extern const uint64_t cstrata_RESOLVE_NO_MAGICLINKS;
extern const uint64_t cstrata_RESOLVE_NO_SYMLINKS;
extern const uint64_t cstrata_RESOLVE_BENEATH;
extern const uint64_t cstrata_RESOLVE_IN_ROOT;

extern const unsigned int cstrata_RENAME_NOREPLACE;
extern const unsigned int cstrata_RENAME_EXCHANGE;
extern const unsigned int cstrata_RENAME_WHITEOUT;

extern const int cstrata_XATTR_CREATE;
extern const int cstrata_XATTR_REPLACE;

extern const long cstrata_UTIME_NOW;
extern const long cstrata_UTIME_OMIT;

extern const int cstrata_SEEK_SET;
extern const int cstrata_SEEK_DATA;
extern const int cstrata_SEEK_HOLE;

extern const int cstrata_LOCK_SH;
extern const int cstrata_LOCK_EX;
extern const int cstrata_LOCK_NB;
extern const int cstrata_LOCK_UN;

extern const int cstrata_F_DUPFD_CLOEXEC;

extern const uint32_t cstrata_S_IFMT;
extern const uint32_t cstrata_S_IFREG;
extern const uint32_t cstrata_S_IFDIR;
extern const uint32_t cstrata_S_IFLNK;
extern const uint32_t cstrata_S_IFCHR;
extern const uint32_t cstrata_S_IFBLK;
extern const uint32_t cstrata_S_IFIFO;
extern const uint32_t cstrata_S_IFSOCK;

extern const uint8_t cstrata_DT_UNKNOWN;
extern const uint8_t cstrata_DT_REG;
extern const uint8_t cstrata_DT_DIR;
extern const uint8_t cstrata_DT_LNK;
extern const uint8_t cstrata_DT_CHR;
extern const uint8_t cstrata_DT_BLK;
extern const uint8_t cstrata_DT_FIFO;
extern const uint8_t cstrata_DT_SOCK;

// MARK: - Plain structures

/// A `struct stat` flattened to fixed-width fields.
typedef struct cstrata_stat {
    uint64_t device;
    uint64_t inode;
    uint32_t mode;
    uint64_t link_count;
    uint32_t user;
    uint32_t group;
    uint64_t special_device;
    int64_t size;
    int64_t block_size;
    int64_t blocks;
    int64_t access_seconds;
    int64_t access_nanoseconds;
    int64_t modification_seconds;
    int64_t modification_nanoseconds;
    int64_t change_seconds;
    int64_t change_nanoseconds;
} cstrata_stat;

/// A `struct statvfs` flattened to fixed-width fields.
typedef struct cstrata_statvfs {
    uint64_t block_size;
    uint64_t fragment_size;
    uint64_t blocks;
    uint64_t free_blocks;
    uint64_t available_blocks;
    uint64_t files;
    uint64_t free_files;
    uint64_t available_files;
    uint64_t file_system_id;
    uint64_t flags;
    uint64_t maximum_name_length;
} cstrata_statvfs;

/// One decoded `struct linux_dirent64` header.
typedef struct cstrata_dirent {
    uint64_t inode;
    int64_t offset;
    uint16_t record_length;
    uint8_t type;
    /// Offset of the NUL-terminated name from the start of the record.
    uint16_t name_offset;
} cstrata_dirent;

// MARK: - File descriptors and paths

/// openat2(2) through syscall(2). Returns the new descriptor or -1.
int cstrata_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
/// openat(2) with an explicit mode (non-variadic).
int cstrata_openat(int dirfd, const char *path, int flags, unsigned int mode);
/// open(2) with an explicit mode (non-variadic).
int cstrata_open(const char *path, int flags, unsigned int mode);
/// fstatat(2) into a flattened structure.
int cstrata_fstatat(int dirfd, const char *path, cstrata_stat *out, int flags);
/// mkdirat(2).
int cstrata_mkdirat(int dirfd, const char *path, unsigned int mode);
/// mknodat(2).
int cstrata_mknodat(int dirfd, const char *path, unsigned int mode, uint64_t device);
/// symlinkat(2).
int cstrata_symlinkat(const char *target, int dirfd, const char *path);
/// readlinkat(2).
ssize_t cstrata_readlinkat(int dirfd, const char *path, char *buffer, size_t size);
/// linkat(2).
int cstrata_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
/// renameat2(2) through syscall(2).
int cstrata_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
/// unlinkat(2).
int cstrata_unlinkat(int dirfd, const char *path, int flags);
/// fchmodat(2).
int cstrata_fchmodat(int dirfd, const char *path, unsigned int mode, int flags);
/// fchmod(2).
int cstrata_fchmod(int fd, unsigned int mode);
/// fchownat(2); pass (uint32_t)-1 to leave an id unchanged.
int cstrata_fchownat(int dirfd, const char *path, uint32_t user, uint32_t group, int flags);
/// utimensat(2) with two explicit times.
int cstrata_utimensat(int dirfd, const char *path, int64_t access_seconds, long access_nanoseconds,
                      int64_t modification_seconds, long modification_nanoseconds, int flags);
/// futimens(3) with two explicit times.
int cstrata_futimens(int fd, int64_t access_seconds, long access_nanoseconds,
                     int64_t modification_seconds, long modification_nanoseconds);

// MARK: - Data

ssize_t cstrata_pread(int fd, void *buffer, size_t count, int64_t offset);
ssize_t cstrata_pwrite(int fd, const void *buffer, size_t count, int64_t offset);
ssize_t cstrata_write(int fd, const void *buffer, size_t count);
int cstrata_ftruncate(int fd, int64_t size);
int cstrata_fsync(int fd);
int cstrata_fdatasync(int fd);
/// syncfs(fd): flushes the whole filesystem that holds fd.
int cstrata_syncfs(int fd);
/// ioctl(dest, FICLONE, source).
int cstrata_ficlone(int destination, int source);
/// fallocate(2) with any mode (posix_fallocate only allocates).
int cstrata_fallocate(int fd, int mode, int64_t offset, int64_t length);
/// copy_file_range(2); offsets are read and advanced in place.
ssize_t cstrata_copy_file_range(int source, int64_t *source_offset, int destination,
                                int64_t *destination_offset, size_t count, unsigned int flags);
/// lseek(2).
int64_t cstrata_lseek(int fd, int64_t offset, int whence);

// MARK: - Directories

/// getdents64(2) through syscall(2).
ssize_t cstrata_getdents64(int fd, void *buffer, size_t size);
/// Decodes the record at `offset` in a getdents64 buffer.
void cstrata_dirent_at(const void *buffer, size_t offset, cstrata_dirent *out);

// MARK: - Extended attributes

ssize_t cstrata_getxattr(const char *path, const char *name, void *value, size_t size);
ssize_t cstrata_lgetxattr(const char *path, const char *name, void *value, size_t size);
ssize_t cstrata_fgetxattr(int fd, const char *name, void *value, size_t size);
int cstrata_setxattr(const char *path, const char *name, const void *value, size_t size, int flags);
int cstrata_lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags);
int cstrata_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);
ssize_t cstrata_listxattr(const char *path, char *list, size_t size);
ssize_t cstrata_llistxattr(const char *path, char *list, size_t size);
ssize_t cstrata_flistxattr(int fd, char *list, size_t size);
int cstrata_removexattr(const char *path, const char *name);
/// The *xattrat calls (Linux 6.13): `at_flags` is AT_SYMLINK_NOFOLLOW and/or AT_EMPTY_PATH.
/// They return -1 with ENOSYS on older kernels.
ssize_t cstrata_getxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, void *value, size_t size);
int cstrata_setxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, const void *value, size_t size, int flags);
ssize_t cstrata_listxattrat(int dirfd, const char *path, unsigned int at_flags, char *list, size_t size);
int cstrata_removexattrat(int dirfd, const char *path, unsigned int at_flags, const char *name);
int cstrata_lremovexattr(const char *path, const char *name);
int cstrata_fremovexattr(int fd, const char *name);

// MARK: - File system, locks, descriptors

int cstrata_fstatvfs(int fd, cstrata_statvfs *out);
int cstrata_flock(int fd, int operation);
/// fcntl(fd, F_DUPFD_CLOEXEC, 0).
int cstrata_dupfd_cloexec(int fd);
/// fcntl(fd, F_SETFL, flags).
int cstrata_set_status_flags(int fd, int flags);
int cstrata_close(int fd);
uint32_t cstrata_geteuid(void);
uint32_t cstrata_getegid(void);
/// getgroups(2) with a fixed-width element type.
int cstrata_getgroups(int size, uint32_t *list);
/// The calling thread's errno.
int cstrata_errno(void);
void cstrata_set_errno(int value);

// MARK: - Memory

/// Maps `bytes` of private anonymous memory with every page faulted in (MAP_POPULATE), then unmaps it.
int cstrata_populate_and_release(size_t bytes);

// MARK: - Devices

uint64_t cstrata_makedev(uint32_t major, uint32_t minor);
uint32_t cstrata_major(uint64_t device);
uint32_t cstrata_minor(uint64_t device);

#ifdef __cplusplus
}
#endif

#endif // CSTRATA_SYSTEM_H
