/* faultfs.so: an LD_PRELOAD shim for SEV's storage-fault tests (never linked into sev).
 *
 * With SEV_FAULT_CTL=PATH in the environment, every write and sync of a file whose path
 * contains SEV_FAULT_MATCH (default ".db": the database, its -wal and -shm) reads PATH first.
 * The file holds one line "OP ERRNO" and the call fails with that errno instead of running:
 *
 *   write ENOSPC   write, pwrite, pwrite64, writev fail (as on a full disk)
 *   write EIO      likewise, with an I/O error
 *   fsync EIO      fsync and fdatasync fail (the data may not be on the disk)
 *
 * A missing or empty file lets every call through, so a test turns faults on and off by
 * writing or removing it while sev runs. Each failed call is counted in PATH.count (one line:
 * the number), so a test can wait until a fault was really hit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long failed_calls;

/* The errno to fail op ("write" or "fsync") with on fd, or 0 to run it. */
static int fault_for(int fd, const char *op)
{
    const char *ctl = getenv("SEV_FAULT_CTL");
    if (!ctl || !*ctl)
        return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    const char *match = getenv("SEV_FAULT_MATCH");
    if (!strstr(path, match && *match ? match : ".db"))
        return 0;
    int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
    if (cfd < 0)
        return 0;
    char line[64] = {0};
    ssize_t got = read(cfd, line, sizeof line - 1);
    close(cfd);
    if (got <= 0)
        return 0;
    char want[16] = {0}, name[16] = {0};
    if (sscanf(line, "%15s %15s", want, name) != 2 || strcmp(want, op) != 0)
        return 0;
    int e = strcmp(name, "ENOSPC") == 0   ? ENOSPC
            : strcmp(name, "EIO") == 0    ? EIO
            : strcmp(name, "EDQUOT") == 0 ? EDQUOT
                                          : EIO;
    pthread_mutex_lock(&count_lock);
    unsigned long k = ++failed_calls;
    pthread_mutex_unlock(&count_lock);
    char cpath[PATH_MAX + 8];
    snprintf(cpath, sizeof cpath, "%s.count", ctl);
    int wfd = open(cpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (wfd >= 0) {
        char num[32];
        int len = snprintf(num, sizeof num, "%lu\n", k);
        ssize_t (*real_write)(int, const void *, size_t) = dlsym(RTLD_NEXT, "write");
        if (real_write(wfd, num, (size_t)len) < 0)
            k = 0;
        close(wfd);
    }
    return e;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buf, size_t len)
{
    int e = fault_for(fd, "write");
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(write)(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    int e = fault_for(fd, "write");
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(pwrite)(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
    int e = fault_for(fd, "write");
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(pwrite64)(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    int e = fault_for(fd, "write");
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(writev)(fd, iov, n);
}

int fsync(int fd)
{
    int e = fault_for(fd, "fsync");
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(fsync)(fd);
}

int fdatasync(int fd)
{
    int e = fault_for(fd, "fsync");
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(fdatasync)(fd);
}
