/* atomic_file.c: see atomic_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"

static porta_status io_error(porta_msg *msg, const char *what, const char *path)
{
    return porta_msg_set(msg, PORTA_ERROR_IO, "%s %s: %s", what, path, strerror(errno));
}

static int write_all(int fd, const void *data, size_t bytes)
{
    const char *p = data;
    while (bytes > 0) {
        ssize_t n = write(fd, p, bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        bytes -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) > 0 ? (int)(slash - path) : 1, path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

porta_status porta__write_file_atomic(const char *path, const void *data, size_t bytes,
                                      porta_msg *msg)
{
    porta__file_piece piece = {data, bytes};
    return porta__write_file_atomic_parts(path, &piece, 1, msg);
}

porta_status porta__write_file_atomic_parts(const char *path, const porta__file_piece *pieces,
                                            size_t n, porta_msg *msg)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return io_error(msg, "cannot create", tmp);
    int failed = 0;
    for (size_t i = 0; i < n && !failed; i++)
        failed = write_all(fd, pieces[i].data, pieces[i].bytes) != 0;
    if (failed || fsync(fd) != 0) {
        porta_status st = io_error(msg, "cannot write", tmp);
        close(fd);
        unlink(tmp);
        return st;
    }
    if (close(fd) != 0) {
        porta_status st = io_error(msg, "cannot close", tmp);
        unlink(tmp);
        return st;
    }
    if (rename(tmp, path) != 0) {
        porta_status st = io_error(msg, "cannot rename the new file over", path);
        unlink(tmp);
        return st;
    }
    sync_parent(path);
    return PORTA_OK;
}

porta_status porta__read_file(const char *path, void **data, size_t *bytes, porta_msg *msg)
{
    *data = NULL;
    *bytes = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_error(msg, "cannot open", path);
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
        porta_status st = io_error(msg, "cannot stat", path);
        fclose(f);
        return st;
    }
    size_t size = (size_t)sb.st_size;
    void *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return porta_msg_set(msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: %zu bytes", path, size);
    }
    if (fread(buf, 1, size, f) != size) {
        porta_status st = io_error(msg, "cannot read", path);
        free(buf);
        fclose(f);
        return st;
    }
    fclose(f);
    *data = buf;
    *bytes = size;
    return PORTA_OK;
}
