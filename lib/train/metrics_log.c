/* metrics_log.c: JSON Lines metrics logs (porta_metrics_log_*): a line
 * builder, raw lines, and the truncation a resumed run needs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_internal.h"
#include "io/atomic_file.h"
#include "io/json.h"

struct porta_metrics_log {
    int fd;
    char *path;
    porta__text line; /* the line being built */
    bool in_line;
    porta__text keys; /* this line's keys, each NUL-terminated */
};

static porta_status io_error(porta_context *ctx, const char *what, const char *path)
{
    return porta_context_set_message(ctx, PORTA_ERROR_IO, "%s %s: %s", what, path, strerror(errno));
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Cut a last line that lacks its newline (a write torn by a crash). */
static int cut_torn_line(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -1;
    off_t end = sb.st_size, keep = 0;
    char buf[4096];
    while (end > 0) {
        size_t n = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
        if (pread(fd, buf, n, end - (off_t)n) != (ssize_t)n)
            return -1;
        if (end == sb.st_size && buf[n - 1] == '\n')
            return 0; /* intact */
        char *nl = NULL;
        for (size_t i = n; i-- > 0 && !nl;)
            if (buf[i] == '\n')
                nl = buf + i;
        if (nl) {
            keep = end - (off_t)n + (nl - buf) + 1;
            break;
        }
        end -= (off_t)n;
    }
    return sb.st_size > 0 ? ftruncate(fd, keep) : 0;
}

porta_status porta_metrics_log_open(porta_context *ctx, const char *path, bool append,
                                    porta_metrics_log **out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out || !path || !*path)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_metrics_log_open: %s",
                                         !out ? "out is NULL" : "path is NULL or empty");
    *out = NULL;
    porta_metrics_log *log = calloc(1, sizeof(*log));
    size_t len = strlen(path) + 1;
    if (log)
        log->path = malloc(len);
    if (!log || !log->path) {
        free(log);
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                         "porta_metrics_log_open: no memory");
    }
    memcpy(log->path, path, len);
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    log->fd = open(path, flags, 0644);
    porta_status st = PORTA_OK;
    if (log->fd < 0)
        st = io_error(ctx, "cannot open", path);
    else if (append && cut_torn_line(log->fd) != 0)
        st = io_error(ctx, "cannot cut the torn last line of", path);
    if (st) {
        if (log->fd >= 0)
            close(log->fd);
        free(log->path);
        free(log);
        return st;
    }
    *out = log;
    return PORTA_OK;
}

static porta_status need_log(porta_context *ctx, porta_metrics_log *log, const char *fn)
{
    if (!log)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT, "%s: log is NULL", fn);
    return PORTA_OK;
}

porta_status porta_metrics_log_begin(porta_context *ctx, porta_metrics_log *log)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = need_log(ctx, log, "porta_metrics_log_begin");
    if (st)
        return st;
    if (log->in_line)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_metrics_log_begin: %s: the previous line was not ended", log->path);
    log->line.len = 0;
    log->keys.len = 0;
    log->line.failed = log->keys.failed = 0;
    porta__text_puts(&log->line, "{");
    log->in_line = true;
    return PORTA_OK;
}

/* Checks shared by the field functions; appends `"key":` to the line. */
static porta_status field_key(porta_context *ctx, porta_metrics_log *log, const char *key,
                              const char *fn)
{
    porta_status st = need_log(ctx, log, fn);
    if (st)
        return st;
    if (!log->in_line)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: %s: no line begun (porta_metrics_log_begin)", fn,
                                         log->path);
    if (!key || !porta__utf8_valid(key, strlen(key)))
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: key is NULL or not valid UTF-8", fn);
    for (size_t at = 0; at < log->keys.len; at += strlen(log->keys.data + at) + 1)
        if (strcmp(log->keys.data + at, key) == 0)
            return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                             "%s: key '%s' is already in this line", fn, key);
    porta__text_append(&log->keys, key, strlen(key) + 1);
    if (log->line.len > 1)
        porta__text_puts(&log->line, ",");
    porta__text_json_string(&log->line, key);
    porta__text_puts(&log->line, ":");
    return PORTA_OK;
}

porta_status porta_metrics_log_int(porta_context *ctx, porta_metrics_log *log, const char *key,
                                   int64_t value)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = field_key(ctx, log, key, "porta_metrics_log_int");
    if (!st)
        porta__text_printf(&log->line, "%" PRId64, value);
    return st;
}

porta_status porta_metrics_log_float(porta_context *ctx, porta_metrics_log *log, const char *key,
                                     double value)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = field_key(ctx, log, key, "porta_metrics_log_float");
    if (!st)
        porta__text_json_number(&log->line, value);
    return st;
}

porta_status porta_metrics_log_str(porta_context *ctx, porta_metrics_log *log, const char *key,
                                   const char *value)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!value || !porta__utf8_valid(value, strlen(value)))
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_metrics_log_str: value of '%s' is NULL or not valid UTF-8",
            key ? key : "(null)");
    porta_status st = field_key(ctx, log, key, "porta_metrics_log_str");
    if (!st)
        porta__text_json_string(&log->line, value);
    return st;
}

static porta_status write_line(porta_context *ctx, porta_metrics_log *log, const char *text,
                               size_t n)
{
    if (write_all(log->fd, text, n) != 0)
        return io_error(ctx, "cannot write to", log->path);
    return PORTA_OK;
}

porta_status porta_metrics_log_end(porta_context *ctx, porta_metrics_log *log)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = need_log(ctx, log, "porta_metrics_log_end");
    if (st)
        return st;
    if (!log->in_line)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_metrics_log_end: %s: no line begun", log->path);
    log->in_line = false;
    porta__text_puts(&log->line, "}\n");
    if (log->line.failed || log->keys.failed)
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                         "porta_metrics_log_end: %s: no memory for the line",
                                         log->path);
    return write_line(ctx, log, log->line.data, log->line.len);
}

porta_status porta_metrics_log_write(porta_context *ctx, porta_metrics_log *log,
                                     const char *json_object)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    const char *fn = "porta_metrics_log_write";
    porta_status st = need_log(ctx, log, fn);
    if (st)
        return st;
    if (!json_object)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT, "%s: line is NULL", fn);
    if (log->in_line)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "%s: %s: a line begun with porta_metrics_log_begin is not ended", fn, log->path);
    size_t n = strlen(json_object);
    if (strchr(json_object, '\n') || strchr(json_object, '\r'))
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: the line contains a line break", fn);
    porta__json *v = NULL;
    char err[256];
    if (porta__json_parse(json_object, n, &v, err, sizeof(err)))
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: the line is not valid JSON: %s", fn, err);
    bool object = v->type == PORTA__JSON_OBJECT;
    porta__json_free(v);
    if (!object)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: the line is not a JSON object", fn);
    porta__text line = {0};
    porta__text_append(&line, json_object, n);
    porta__text_puts(&line, "\n");
    st = line.failed
             ? porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", fn)
             : write_line(ctx, log, line.data, line.len);
    porta__text_free(&line);
    return st;
}

porta_status porta_metrics_log_close(porta_context *ctx, porta_metrics_log *log)
{
    if (!log)
        return PORTA_OK;
    porta_status st = PORTA_OK;
    if (fsync(log->fd) != 0)
        st = io_error(ctx, "cannot fsync", log->path);
    if (close(log->fd) != 0 && !st)
        st = io_error(ctx, "cannot close", log->path);
    if (log->in_line && !st)
        st = porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_metrics_log_close: %s: the last line was begun but not ended "
            "(dropped)",
            log->path);
    porta__text_free(&log->line);
    porta__text_free(&log->keys);
    free(log->path);
    free(log);
    return st;
}

/* Decide whether one line stays; *last_kept carries the verdict of the last
 * line with a "step". */
static porta_status keep_line(porta_context *ctx, const char *path, size_t lineno, const char *text,
                              size_t n, uint64_t step, bool *last_kept, bool *keep)
{
    porta__json *v = NULL;
    char err[256];
    if (porta__json_parse(text, n, &v, err, sizeof(err)))
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                         "%s: line %zu is not valid JSON: %s", path, lineno, err);
    porta_status st = PORTA_OK;
    const porta__json *s = porta__json_get(v, "step");
    if (v->type != PORTA__JSON_OBJECT)
        st = porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                       "%s: line %zu is not a JSON object", path, lineno);
    else if (s && (s->type != PORTA__JSON_NUMBER || !s->is_uint))
        st = porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                       "%s: line %zu: \"step\" is not a non-negative integer", path,
                                       lineno);
    else if (s)
        *keep = *last_kept = s->u <= step;
    else
        *keep = *last_kept;
    porta__json_free(v);
    return st;
}

porta_status porta_metrics_log_truncate_after(porta_context *ctx, const char *path, uint64_t step)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!path)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_metrics_log_truncate_after: path is NULL");
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return PORTA_OK;
    void *file = NULL;
    size_t bytes = 0;
    porta_status st = porta__train_read_file(ctx, path, &file, &bytes);
    if (st)
        return st;
    const char *text = file;
    porta__text out = {0};
    bool last_kept = true, changed = false;
    size_t lineno = 0, at = 0;
    while (at < bytes && !st) {
        const char *nl = memchr(text + at, '\n', bytes - at);
        lineno++;
        if (!nl) { /* torn last line */
            changed = true;
            break;
        }
        size_t n = (size_t)(nl - (text + at));
        bool keep = false;
        if (n > 0)
            st = keep_line(ctx, path, lineno, text + at, n, step, &last_kept, &keep);
        if (keep)
            porta__text_append(&out, text + at, n + 1);
        else
            changed = true;
        at += n + 1;
    }
    if (!st && out.failed)
        st = porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    if (!st && changed)
        st = porta__train_write_file_atomic(ctx, path, out.data ? out.data : "", out.len);
    porta__text_free(&out);
    free(file);
    return st;
}
