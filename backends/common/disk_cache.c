/* disk_cache.c: hashing and atomic files for the program/pipeline caches.
 *
 * A cache is a plain directory of files named by content hash. Reads that
 * fail are cache misses; writes go to a temporary file that is fsynced and
 * renamed, so a crash never leaves a half-written entry under the real name.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"

uint64_t porta_fnv1a(uint64_t seed, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < bytes; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void porta_cache_name(char *out, size_t cap, const char *prefix, uint64_t hash)
{
    snprintf(out, cap, "%s-%016llx", prefix, (unsigned long long)hash);
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof(path))
        return -1;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            char c = path[i];
            path[i] = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return -1;
            path[i] = c;
        }
    }
    return 0;
}

int porta_cache_read(const char *dir, const char *file, void **data, size_t *bytes)
{
    char path[4096];
    if (!dir || !*dir)
        return -1;
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int rc = -1;
    void *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 0 && fseek(f, 0, SEEK_SET) == 0) {
            buf = malloc((size_t)size);
            if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
                *data = buf;
                *bytes = (size_t)size;
                buf = NULL;
                rc = 0;
            }
        }
    }
    free(buf);
    fclose(f);
    return rc;
}

int porta_cache_write(const char *dir, const char *file, const void *data, size_t bytes)
{
    char path[4096], tmp[4200];
    if (!dir || !*dir || make_dirs(dir) != 0)
        return -1;
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = bytes;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    int synced = fsync(fd) == 0;
    int closed = close(fd) == 0;
    if (!synced || !closed || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
