/* lm_fs.c: file-system helpers for safe delivery (lm_fs.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syncfs(2) */
#endif
#include "lm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/random.h>
#include <sys/utsname.h>
#endif
#include <time.h>
#include <unistd.h>

static int io_fail(int *err)
{
    if (err)
        *err = errno;
    return LM_EIO;
}

int lm_fs_open(const char *path, int how, int *fd, int *err)
{
    int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
    flags |= how == LM_FS_APPEND ? O_CREAT | O_APPEND : O_CREAT | O_EXCL;
    do
        *fd = open(path, flags, 0600);
    while (*fd < 0 && errno == EINTR);
    return *fd < 0 ? io_fail(err) : LM_OK;
}

int lm_fs_write(int fd, const void *data, size_t n, int *err)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_fail(err);
        }
        p += w;
        n -= (size_t)w;
    }
    return LM_OK;
}

int lm_fs_sync(int fd, int *err)
{
    int rc;
    do
        rc = fsync(fd);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? io_fail(err) : LM_OK;
}

#ifdef __linux__
/* syncfs() reports writeback errors only from Linux 5.8 on. */
static int syncfs_reports_errors(void)
{
    struct utsname u;
    char *end;
    long major, minor;
    if (uname(&u) < 0)
        return 0;
    major = strtol(u.release, &end, 10);
    minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
    return major > 5 || (major == 5 && minor >= 8);
}
#endif

int lm_fs_sync_files(const int *fds, size_t n, int *err)
{
    size_t i = 0;
#ifdef __linux__
    struct stat first, st;
    if (n > 1 && syncfs_reports_errors() && fstat(fds[0], &first) == 0) {
        if (syncfs(fds[0]) < 0)
            return io_fail(err);
        for (i = 1; i < n; i++) {
            if (fstat(fds[i], &st) == 0 && st.st_dev == first.st_dev)
                continue;
            if (lm_fs_sync(fds[i], err) != LM_OK)
                return LM_EIO;
        }
        return LM_OK;
    }
#endif
    for (i = 0; i < n; i++)
        if (lm_fs_sync(fds[i], err) != LM_OK)
            return LM_EIO;
    return LM_OK;
}

int lm_fs_close(int fd, int *err)
{
    /* POSIX leaves the descriptor state after EINTR unspecified; on Linux
     * it is closed, so never retry. */
    if (close(fd) < 0 && errno != EINTR)
        return io_fail(err);
    return LM_OK;
}

int lm_fs_sync_dir(const char *path, int *err)
{
    int fd, rc, e;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return io_fail(err);
    rc = lm_fs_sync(fd, &e);
    close(fd);
    if (rc != LM_OK && err)
        *err = e;
    return rc;
}

int lm_fs_move(const char *from, const char *to, int *err)
{
    struct stat st;
    if (link(from, to) == 0) {
        if (unlink(from) < 0)
            return io_fail(err);
        return LM_OK;
    }
    if (errno == EEXIST) {
        if (err)
            *err = EEXIST;
        return LM_EINVAL;
    }
    /* File systems without hard links (FAT, some FUSE and network ones). */
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS &&
        errno != EMLINK)
        return io_fail(err);
    if (lstat(to, &st) == 0) {
        if (err)
            *err = EEXIST;
        return LM_EINVAL;
    }
    if (rename(from, to) < 0)
        return io_fail(err);
    return LM_OK;
}

int lm_fs_rename(const char *from, const char *to, int *err)
{
    return rename(from, to) < 0 ? io_fail(err) : LM_OK;
}

int lm_fs_unlink(const char *path, int *err)
{
    if (unlink(path) < 0 && errno != ENOENT)
        return io_fail(err);
    return LM_OK;
}

int lm_fs_mkdir(const char *path, unsigned mode, int *err)
{
    struct stat st;
    if (mkdir(path, (mode_t)mode) == 0)
        return LM_OK;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return LM_OK;
    return io_fail(err);
}

int lm_fs_unique_parts(lm_fs_unique *u, int *err)
{
    struct timespec ts;
    FILE *f;
    clock_gettime(CLOCK_REALTIME, &ts);
    u->sec = (long long)ts.tv_sec;
    u->usec = (long)(ts.tv_nsec / 1000);
    u->pid = (long)getpid();
    if (gethostname(u->host, sizeof u->host) < 0)
        strcpy(u->host, "localhost");
    u->host[sizeof u->host - 1] = 0;
#ifdef __linux__
    if (getrandom(u->random, sizeof u->random, 0) == (ssize_t)sizeof u->random)
        return LM_OK;
#endif
    f = fopen("/dev/urandom", "rb");
    if (!f)
        return io_fail(err);
    if (fread(u->random, 1, sizeof u->random, f) != sizeof u->random) {
        fclose(f);
        return io_fail(err);
    }
    fclose(f);
    return LM_OK;
}
