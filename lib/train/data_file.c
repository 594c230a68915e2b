/* data_file.c: see data_file.h. */
#include "data_file.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

porta_status porta__data_open(porta__data_file *df, const char *path, porta_context *ctx)
{
    memset(df, 0, sizeof(*df));
    df->path = path;
    FILE *f = fopen(path, "rb");
    if (!f)
        return porta_context_set_message(ctx, PORTA_ERROR_IO, "%s: cannot open: %s", path,
                                         strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int err = errno;
        fclose(f);
        return porta_context_set_message(ctx, PORTA_ERROR_IO, "%s: cannot stat: %s", path,
                                         strerror(err));
    }
    if (S_ISDIR(sb.st_mode)) {
        fclose(f);
        return porta_context_set_message(ctx, PORTA_ERROR_IO, "%s: is a directory, not a file",
                                         path);
    }
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, f);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        gzFile gz = gzopen(path, "rb");
        if (!gz)
            return porta_context_set_message(ctx, PORTA_ERROR_IO, "%s: cannot open as gzip: %s",
                                             path, errno ? strerror(errno) : "out of memory");
        gzbuffer(gz, 1u << 17);
        df->gz = gz;
        return PORTA_OK;
    }
    rewind(f);
    df->plain = f;
    df->size = (uint64_t)sb.st_size;
    return PORTA_OK;
}

/* zlib's error text without the "path: " it puts in front. */
static const char *zlib_reason(const porta__data_file *df, const char *what)
{
    size_t n = strlen(df->path);
    if (strncmp(what, df->path, n) == 0 && what[n] == ':' && what[n + 1] == ' ')
        return what + n + 2;
    return what;
}

/* Read up to n bytes; *got says how many. A gzip stream error (bad CRC,
 * invalid deflate data) is PORTA_ERROR_CORRUPT_DATA, a read error
 * PORTA_ERROR_IO; a clean short read (end of data) is PORTA_OK. */
static porta_status read_some(porta__data_file *df, void *buf, size_t n, size_t *got,
                              porta_context *ctx)
{
    *got = 0;
    if (df->plain) {
        *got = fread(buf, 1, n, df->plain);
        if (*got < n && ferror(df->plain))
            return porta_context_set_message(ctx, PORTA_ERROR_IO,
                                             "%s: read error at offset %llu: %s", df->path,
                                             (unsigned long long)(df->pos + *got), strerror(errno));
        df->pos += *got;
        return PORTA_OK;
    }
    gzFile gz = (gzFile)df->gz;
    while (*got < n) {
        size_t want = n - *got;
        if (want > (1u << 30))
            want = 1u << 30;
        int r = gzread(gz, (unsigned char *)buf + *got, (unsigned)want);
        if (r < 0) {
            /* zlib does not say how much of this call's data it delivered */
            int zerr = Z_OK;
            const char *what = zlib_reason(df, gzerror(gz, &zerr));
            return porta_context_set_message(
                ctx, zerr == Z_ERRNO ? PORTA_ERROR_IO : PORTA_ERROR_CORRUPT_DATA,
                "%s: corrupt gzip stream (%s) after at least %llu bytes", df->path, what,
                (unsigned long long)(df->pos + *got));
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    df->pos += *got;
    /* A stream cut short reads cleanly up to the cut; zlib reports it as
     * an error only afterwards. */
    if (*got < n) {
        int zerr = Z_OK;
        const char *what = gzerror(gz, &zerr);
        if (zerr == Z_BUF_ERROR)
            df->cut = 1;
        else if (zerr != Z_OK)
            return porta_context_set_message(
                ctx, PORTA_ERROR_CORRUPT_DATA, "%s: corrupt gzip stream (%s) after %llu bytes",
                df->path, zlib_reason(df, what), (unsigned long long)df->pos);
    }
    return PORTA_OK;
}

porta_status porta__data_read(porta__data_file *df, void *buf, size_t n, const char *what,
                              porta_context *ctx)
{
    uint64_t at = df->pos;
    size_t got = 0;
    porta_status st = read_some(df, buf, n, &got, ctx);
    if (st)
        return st;
    if (got == n)
        return PORTA_OK;
    if (at == 0 && got == 0)
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                         "%s: is empty (expected %s)", df->path, what);
    return porta_context_set_message(
        ctx, PORTA_ERROR_CORRUPT_DATA,
        "%s: truncated: expected %zu bytes of %s at offset %llu, got %zu%s", df->path, n, what,
        (unsigned long long)at, got,
        df->cut  ? " (gzip stream cut short)"
        : df->gz ? " (after decompression)"
                 : "");
}

porta_status porta__data_expect_end(porta__data_file *df, const char *what, porta_context *ctx)
{
    if (df->plain) {
        if (df->size > df->pos)
            return porta_context_set_message(
                ctx, PORTA_ERROR_CORRUPT_DATA,
                "%s: %llu trailing bytes after the %s (file is %llu bytes, "
                "expected %llu)",
                df->path, (unsigned long long)(df->size - df->pos), what,
                (unsigned long long)df->size, (unsigned long long)df->pos);
        return PORTA_OK;
    }
    unsigned char extra[1];
    size_t got = 0;
    uint64_t at = df->pos;
    porta_status st = read_some(df, extra, 1, &got, ctx);
    if (st)
        return st;
    if (df->cut)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: truncated: the gzip stream ends without its end marker and "
            "checksum after %llu bytes",
            df->path, (unsigned long long)at);
    if (got)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: trailing bytes after the %s (expected %llu bytes after "
            "decompression)",
            df->path, what, (unsigned long long)at);
    return PORTA_OK;
}

porta_status porta__data_read_rest(porta__data_file *df, uint8_t **data, size_t *bytes,
                                   porta_context *ctx)
{
    *data = NULL;
    *bytes = 0;
    size_t cap = 1u << 20, len = 0;
    if (df->plain) {
        if (df->size - df->pos > (uint64_t)SIZE_MAX / 2)
            return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: too large",
                                             df->path);
        cap = (size_t)(df->size - df->pos) + 1; /* +1 sees a file that grew */
    }
    uint8_t *buf = malloc(cap);
    if (!buf)
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: %zu bytes",
                                         df->path, cap);
    for (;;) {
        size_t got = 0;
        porta_status st = read_some(df, buf + len, cap - len, &got, ctx);
        if (st) {
            free(buf);
            return st;
        }
        len += got;
        if (len < cap)
            break;
        if (cap > SIZE_MAX / 2) {
            free(buf);
            return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: too large",
                                             df->path);
        }
        uint8_t *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: %zu bytes",
                                             df->path, cap * 2);
        }
        buf = grown;
        cap *= 2;
    }
    if (df->cut) {
        free(buf);
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: truncated: the gzip stream ends without its end marker and "
            "checksum after %zu bytes",
            df->path, len);
    }
    if (len == 0) {
        free(buf);
        buf = NULL;
    }
    *data = buf;
    *bytes = len;
    return PORTA_OK;
}

void porta__data_close(porta__data_file *df)
{
    if (df->plain)
        fclose(df->plain);
    if (df->gz)
        gzclose((gzFile)df->gz);
    df->plain = NULL;
    df->gz = NULL;
}
