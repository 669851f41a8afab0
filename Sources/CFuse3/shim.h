//===----------------------------------------------------------------------===//
// CFuse3: libfuse 3 low-level API for Swift.
//
// Pins the API version and gives Swift a plain function for everything it
// cannot import: variadic functions, function-like macros and initializer
// macros (FUSE_BUFVEC_INIT).
//===----------------------------------------------------------------------===//

#ifndef CFUSE3_SHIM_H
#define CFUSE3_SHIM_H

// The API of libfuse 3.14 (the oldest we build against): FUSE_MAKE_VERSION(3, 14).
// Everything used here exists since 3.12 (fuse_loop_cfg_*, the config form of
// fuse_session_loop_mt).
#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <fuse_log.h>
#include <sys/stat.h>
#include <stdint.h>
#include <spawn.h>
#include <malloc.h>
#include <fcntl.h>

/// O_DIRECT, which <fcntl.h> names only under _GNU_SOURCE; glibc's per-architecture __O_DIRECT is its value.
static const int cfuse_O_DIRECT = __O_DIRECT;

// glibc 2.34+ exports this GNU extension; <spawn.h> declares it only under _GNU_SOURCE.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Makes a spawned process start with no descriptor at or above `from` (the background server must
/// not keep its caller's pipes open: a caller reading them to their end would wait for the unmount).
static inline int cfuse_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
#include <unistd.h>
#include <sys/syscall.h>

/// One non-macro entry point for session creation (a macro over
/// `fuse_session_new_fn` in libfuse 3.17 and later).
static inline struct fuse_session *cfuse_session_new(struct fuse_args *args,
                                                     const struct fuse_lowlevel_ops *ops,
                                                     void *userdata) {
    return fuse_session_new(args, ops, sizeof(*ops), userdata);
}

/// Sets the calling thread's umask to `mask`, in a file-system context (root, working directory,
/// umask) of its own that the thread gets at its first call (`unshare(CLONE_FS)`), so that one
/// request's creations apply its caller's umask without touching the other threads'. Returns 0, or
/// -1 with errno set when the context cannot be made (the umask is then left alone).
static inline int cfuse_set_thread_umask(mode_t mask) {
    static __thread int unshared = 0;
    if (!unshared) {
        if (syscall(SYS_unshare, 0x00000200 /* CLONE_FS */) != 0) return -1;
        unshared = 1;
    }
    umask(mask);
    return 0;
}

/// Caps glibc's malloc arenas (`mallopt(M_ARENA_MAX, count)`); returns mallopt's result (1 on success).
static inline int cfuse_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}

/// The multithreaded loop (a macro in some libfuse builds).
static inline int cfuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

/// `fuse_log` without varargs.
static inline void cfuse_log(enum fuse_log_level level, const char *message) {
    fuse_log(level, "%s\n", message);
}

/// Replies to READ with `size` bytes of `fd` at `offset`, spliced by the
/// kernel when it can (FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK).
static inline int cfuse_reply_fd_data(fuse_req_t req, int fd, size_t size, off_t offset) {
    struct fuse_bufvec buffer = FUSE_BUFVEC_INIT(size);
    buffer.buf[0].flags = (enum fuse_buf_flags)(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buffer.buf[0].fd = fd;
    buffer.buf[0].pos = offset;
    return fuse_reply_data(req, &buffer, FUSE_BUF_SPLICE_MOVE);
}

/// The `st_*` fields FUSE replies carry, filled without Swift touching
/// glibc's `struct stat` layout.
static inline void cfuse_fill_stat(struct stat *st, uint64_t ino, uint32_t mode, uint64_t nlink,
                                   uint32_t uid, uint32_t gid, uint64_t rdev, int64_t size,
                                   int64_t blksize, int64_t blocks,
                                   int64_t atime, int64_t atime_ns, int64_t mtime, int64_t mtime_ns,
                                   int64_t ctime, int64_t ctime_ns) {
    st->st_ino = ino;
    st->st_mode = mode;
    st->st_nlink = nlink;
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_rdev = rdev;
    st->st_size = size;
    st->st_blksize = blksize;
    st->st_blocks = blocks;
    st->st_atim.tv_sec = atime;
    st->st_atim.tv_nsec = atime_ns;
    st->st_mtim.tv_sec = mtime;
    st->st_mtim.tv_nsec = mtime_ns;
    st->st_ctim.tv_sec = ctime;
    st->st_ctim.tv_nsec = ctime_ns;
}

/// syncfs(2) (a _GNU_SOURCE declaration), for flushing the upper layer when the mount ends.
static inline int cfuse_sync_file_system(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}

#define CFUSE_SET_ATTR(name) static const int cfuse_SET_ATTR_##name = FUSE_SET_ATTR_##name;
CFUSE_SET_ATTR(MODE)
CFUSE_SET_ATTR(UID)
CFUSE_SET_ATTR(GID)
CFUSE_SET_ATTR(SIZE)
CFUSE_SET_ATTR(ATIME)
CFUSE_SET_ATTR(MTIME)
CFUSE_SET_ATTR(ATIME_NOW)
CFUSE_SET_ATTR(MTIME_NOW)
#undef CFUSE_SET_ATTR

#endif
