/* safetensors_write.c: building a safetensors file in memory and writing it
 * atomically (porta_safetensors_begin / add / add_metadata / commit /
 * writer_destroy). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors_dtype.h"

typedef struct st_entry {
    char *name;
    const char *dtype; /* the dtype table's copy */
    size_t elem;       /* bytes per element */
    unsigned ndim;
    size_t shape[PORTA_SAFETENSORS_MAX_DIMS];
    void *data; /* our copy */
    size_t bytes;
    size_t begin; /* offset in the data, set at commit */
} st_entry;

struct porta_safetensors_writer {
    char *path;
    st_entry *t;
    size_t n, cap;
    char **meta; /* key, value, key, value, ... */
    size_t n_meta, cap_meta;
};

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

porta_status porta_safetensors_begin(porta_context *ctx, const char *path,
                                     porta_safetensors_writer **out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_safetensors_begin: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_safetensors_begin: path is NULL or empty");
    porta_safetensors_writer *w = calloc(1, sizeof(*w));
    if (w)
        w->path = dup_string(path);
    if (!w || !w->path) {
        free(w);
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "porta_safetensors_begin: no memory for the writer");
    }
    *out = w;
    return PORTA_OK;
}

/* Elements of a shape times elem, or -1 on overflow. */
static int shape_bytes(const size_t *shape, unsigned ndim, size_t elem, size_t *out)
{
    size_t n = elem;
    for (unsigned i = 0; i < ndim; i++) {
        if (shape[i] != 0 && n > SIZE_MAX / shape[i])
            return -1;
        n *= shape[i];
    }
    *out = n;
    return 0;
}

porta_status porta_safetensors_add(porta_context *ctx, porta_safetensors_writer *w,
                                   const char *name, const char *dtype, const size_t *shape,
                                   unsigned ndim, const void *data, size_t bytes)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_msg *m = &ctx->msg;
    const char *fn = "porta_safetensors_add";
    if (!w)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT, "%s: writer is NULL", fn);
    if (!name || !*name || !porta__utf8_valid(name, strlen(name)))
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: name is NULL, empty or not valid UTF-8", fn);
    if (strcmp(name, "__metadata__") == 0)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: \"__metadata__\" is reserved, not a tensor name", fn);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                                 "%s: tensor '%s' was already added", fn, name);
    const char *canonical = NULL;
    size_t elem = porta__safetensors_dtype_size(dtype, &canonical);
    if (!elem)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: tensor '%s': dtype \"%s\" is not a safetensors dtype", fn, name,
                             dtype ? dtype : "(null)");
    if (ndim > PORTA_SAFETENSORS_MAX_DIMS || (ndim > 0 && !shape))
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: tensor '%s': ndim %u (at most %d, and shape must not be NULL)",
                             fn, name, ndim, PORTA_SAFETENSORS_MAX_DIMS);
    size_t expect;
    if (shape_bytes(shape, ndim, elem, &expect))
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: tensor '%s': shape overflows size_t", fn, name);
    if (expect != bytes)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: tensor '%s': %s of this shape is %zu bytes, bytes is %zu", fn,
                             name, canonical, expect, bytes);
    if (bytes > 0 && !data)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT, "%s: tensor '%s': data is NULL", fn,
                             name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        st_entry *t = realloc(w->t, cap * sizeof(*t));
        if (!t)
            return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", fn);
        w->t = t;
        w->cap = cap;
    }
    st_entry e;
    memset(&e, 0, sizeof(e));
    e.name = dup_string(name);
    e.data = malloc(bytes ? bytes : 1);
    if (!e.name || !e.data) {
        free(e.name);
        free(e.data);
        return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "%s: tensor '%s': no memory for %zu bytes", fn, name, bytes);
    }
    e.dtype = canonical;
    e.elem = elem;
    e.ndim = ndim;
    for (unsigned i = 0; i < ndim; i++)
        e.shape[i] = shape[i];
    if (bytes)
        memcpy(e.data, data, bytes);
    e.bytes = bytes;
    w->t[w->n++] = e;
    return PORTA_OK;
}

porta_status porta_safetensors_add_metadata(porta_context *ctx, porta_safetensors_writer *w,
                                            const char *key, const char *value)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_msg *m = &ctx->msg;
    const char *fn = "porta_safetensors_add_metadata";
    if (!w)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT, "%s: writer is NULL", fn);
    if (!key || !porta__utf8_valid(key, strlen(key)))
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT, "%s: key is NULL or not valid UTF-8",
                             fn);
    if (!value || !porta__utf8_valid(value, strlen(value)))
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: value of '%s' is NULL or not valid UTF-8", fn, key);
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[2 * i], key) == 0)
            return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT, "%s: key '%s' was already added",
                                 fn, key);
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? w->cap_meta * 2 : 8;
        char **meta = realloc(w->meta, 2 * cap * sizeof(*meta));
        if (!meta)
            return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", fn);
        w->meta = meta;
        w->cap_meta = cap;
    }
    char *k = dup_string(key), *v = dup_string(value);
    if (!k || !v) {
        free(k);
        free(v);
        return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", fn);
    }
    w->meta[2 * w->n_meta] = k;
    w->meta[2 * w->n_meta + 1] = v;
    w->n_meta++;
    return PORTA_OK;
}

void porta_safetensors_writer_destroy(porta_context *ctx, porta_safetensors_writer *w)
{
    (void)ctx; /* host memory only: the context is there for the one destructor style */
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (size_t i = 0; i < 2 * w->n_meta; i++)
        free(w->meta[i]);
    free(w->t);
    free(w->meta);
    free(w->path);
    free(w);
}

/* Place the data: widest elements first (stable), so with the data
 * starting 8-byte aligned every tensor is aligned to its element size.
 * Fills order[] with the entries in data order. */
static size_t place_data(porta_safetensors_writer *w, size_t *order)
{
    size_t k = 0, at = 0;
    for (size_t elem = 8; elem >= 1; elem /= 2)
        for (size_t i = 0; i < w->n; i++)
            if (w->t[i].elem == elem) {
                w->t[i].begin = at;
                at += w->t[i].bytes;
                order[k++] = i;
            }
    return at;
}

static void build_header(const porta_safetensors_writer *w, porta__text *h)
{
    porta__text_puts(h, "{");
    int first = 1;
    if (w->n_meta) {
        porta__text_puts(h, "\"__metadata__\":{");
        for (size_t i = 0; i < w->n_meta; i++) {
            if (i)
                porta__text_puts(h, ",");
            porta__text_json_string(h, w->meta[2 * i]);
            porta__text_puts(h, ":");
            porta__text_json_string(h, w->meta[2 * i + 1]);
        }
        porta__text_puts(h, "}");
        first = 0;
    }
    for (size_t i = 0; i < w->n; i++) {
        const st_entry *e = &w->t[i];
        if (!first)
            porta__text_puts(h, ",");
        first = 0;
        porta__text_json_string(h, e->name);
        porta__text_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", e->dtype);
        for (unsigned d = 0; d < e->ndim; d++)
            porta__text_printf(h, "%s%zu", d ? "," : "", e->shape[d]);
        porta__text_printf(h, "],\"data_offsets\":[%zu,%zu]}", e->begin, e->begin + e->bytes);
    }
    porta__text_puts(h, "}");
    while (h->len % 8 != 0)
        porta__text_puts(h, " ");
}

porta_status porta_safetensors_commit(porta_context *ctx, porta_safetensors_writer *w)
{
    if (!ctx) {
        porta_safetensors_writer_destroy(ctx, w);
        return PORTA_ERROR_INVALID_ARGUMENT;
    }
    if (!w)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_safetensors_commit: writer is NULL");
    size_t *order = malloc((w->n + 1) * sizeof(*order));
    porta__file_piece *pieces = malloc((w->n + 2) * sizeof(*pieces));
    porta__text h = {0};
    porta_status st = PORTA_OK;
    if (order && pieces) {
        place_data(w, order);
        build_header(w, &h);
    }
    if (!order || !pieces || h.failed) {
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                           "porta_safetensors_commit: %s: no memory for the header", w->path);
    } else {
        unsigned char len_le[8];
        uint64_t n = h.len;
        for (int i = 0; i < 8; i++)
            len_le[i] = (unsigned char)(n >> (8 * i));
        pieces[0] = (porta__file_piece){len_le, 8};
        pieces[1] = (porta__file_piece){h.data, h.len};
        for (size_t i = 0; i < w->n; i++)
            pieces[2 + i] = (porta__file_piece){w->t[order[i]].data, w->t[order[i]].bytes};
        st = porta__write_file_atomic_parts(w->path, pieces, w->n + 2, &ctx->msg);
    }
    porta__text_free(&h);
    free(order);
    free(pieces);
    porta_safetensors_writer_destroy(ctx, w);
    return st;
}
