/* lm_fs.h: the few file-system calls safe delivery needs and Lua's io
 * library lacks: exclusive creation, fsync of files and directories, a
 * move that never replaces an existing file, and the pieces of a Maildir
 * unique name. POSIX; the only place in lmail that touches files.
 *
 * Every function returns LM_OK or LM_EIO (with *err, when not NULL, set to
 * the errno value); lm_fs_move also returns LM_EINVAL when the target
 * exists. */
#ifndef LM_FS_H
#define LM_FS_H

#include <stddef.h>

#include "../core/lm.h"

enum {
    LM_FS_CREATE = 1, /* create exclusively (O_CREAT | O_EXCL), mode 0600 */
    LM_FS_APPEND = 2  /* open for appending, creating it (mode 0600) if needed */
};

/* Opens path for writing; *fd is -1 on failure. Close-on-exec. */
int lm_fs_open(const char *path, int how, int *fd, int *err);
/* Writes all n bytes (retrying short writes and EINTR). */
int lm_fs_write(int fd, const void *data, size_t n, int *err);
/* fsync(fd). */
int lm_fs_sync(int fd, int *err);
/* Makes the data of n open files durable, all on one file system: on Linux
 * 5.8 and later one syncfs() (which reports writeback errors from 5.8 on)
 * flushes them all at the cost of one, plus fsync() for any file on another
 * file system; elsewhere fsync() of each. */
int lm_fs_sync_files(const int *fds, size_t n, int *err);
/* close(fd), reporting its failure (a delayed write error on NFS). */
int lm_fs_close(int fd, int *err);
/* Opens the directory and fsyncs it, so a rename or creation in it is on
 * disk. */
int lm_fs_sync_dir(const char *path, int *err);
/* Moves from to to, never replacing an existing to: link() then unlink()
 * (the Maildir way); where the file system has no hard links, rename()
 * after checking that to does not exist. LM_EINVAL when to exists. */
int lm_fs_move(const char *from, const char *to, int *err);
/* rename(), replacing to atomically. */
int lm_fs_rename(const char *from, const char *to, int *err);
/* unlink(); a path that is already gone is LM_OK. */
int lm_fs_unlink(const char *path, int *err);
/* mkdir(path, mode); an existing directory is LM_OK. */
int lm_fs_mkdir(const char *path, unsigned mode, int *err);

/* What a Maildir unique name is made of: wall-clock seconds and
 * microseconds, the process id, the host name (up to cap - 1 bytes) and 8
 * random bytes from the system. */
typedef struct lm_fs_unique {
    long long sec;
    long usec;
    long pid;
    char host[256];
    unsigned char random[8];
} lm_fs_unique;
int lm_fs_unique_parts(lm_fs_unique *u, int *err);

#endif
