/* safetensors_read.c: loading and checking a safetensors file
 * (porta_safetensors_open / count / name / get / metadata / destroy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors_dtype.h"

/* The reference implementation refuses headers above 100 MB. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct st_tensor {
    const char *name; /* the parsed header's key */
    const char *dtype;
    unsigned ndim;
    size_t shape[PORTA_SAFETENSORS_MAX_DIMS];
    size_t begin, end; /* in the data */
} st_tensor;

struct porta_safetensors {
    char *path;
    unsigned char *file;
    const unsigned char *data;
    size_t data_bytes;
    porta__json *header;
    const porta__json *meta; /* NULL if the file has none */
    st_tensor *t;
    size_t n;
};

void porta_safetensors_destroy(porta_context *ctx, porta_safetensors *f)
{
    (void)ctx; /* host memory only: the context is there for the one destructor style */
    if (!f)
        return;
    porta__json_free(f->header);
    free(f->t);
    free(f->file);
    free(f->path);
    free(f);
}

#define CORRUPT(...) porta_msg_set(m, PORTA_ERROR_CORRUPT_DATA, __VA_ARGS__)

static porta_status check_metadata(porta_msg *m, const char *path, const porta__json *meta)
{
    if (meta->type != PORTA__JSON_OBJECT)
        return CORRUPT("%s: \"__metadata__\" is not an object", path);
    for (size_t i = 0; i < meta->n; i++)
        if (meta->items[i].type != PORTA__JSON_STRING)
            return CORRUPT("%s: \"__metadata__\" value of '%s' is not a string", path,
                           meta->keys[i]);
    return PORTA_OK;
}

/* One tensor entry of the header into *t (offsets checked against the data
 * size and the dtype and shape). */
static porta_status check_entry(porta_msg *m, const char *path, const char *name,
                                const porta__json *v, size_t data_bytes, st_tensor *t)
{
    if (v->type != PORTA__JSON_OBJECT)
        return CORRUPT("%s: tensor '%s': entry is not an object", path, name);
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") &&
            strcmp(v->keys[i], "data_offsets"))
            return CORRUPT("%s: tensor '%s': unknown field \"%s\"", path, name, v->keys[i]);
    const porta__json *dtype = porta__json_get(v, "dtype");
    const porta__json *shape = porta__json_get(v, "shape");
    const porta__json *offs = porta__json_get(v, "data_offsets");
    if (!dtype || !shape || !offs)
        return CORRUPT("%s: tensor '%s': missing \"%s\"", path, name,
                       !dtype   ? "dtype"
                       : !shape ? "shape"
                                : "data_offsets");
    size_t elem = 0;
    if (dtype->type == PORTA__JSON_STRING)
        elem = porta__safetensors_dtype_size(dtype->str, &t->dtype);
    if (!elem)
        return CORRUPT("%s: tensor '%s': dtype %s%s%s is not a safetensors dtype", path, name,
                       dtype->type == PORTA__JSON_STRING ? "\"" : "",
                       dtype->type == PORTA__JSON_STRING ? dtype->str : "(not a string)",
                       dtype->type == PORTA__JSON_STRING ? "\"" : "");
    if (shape->type != PORTA__JSON_ARRAY)
        return CORRUPT("%s: tensor '%s': shape is not an array", path, name);
    if (shape->n > PORTA_SAFETENSORS_MAX_DIMS)
        return CORRUPT("%s: tensor '%s': %zu dimensions, porta reads at most %d", path, name,
                       shape->n, PORTA_SAFETENSORS_MAX_DIMS);
    t->name = name;
    t->ndim = (unsigned)shape->n;
    size_t need = elem;
    int overflow = 0;
    for (size_t d = 0; d < shape->n; d++) {
        const porta__json *s = &shape->items[d];
        if (s->type != PORTA__JSON_NUMBER || !s->is_uint || s->u > SIZE_MAX)
            return CORRUPT("%s: tensor '%s': shape[%zu] is not a non-negative integer", path, name,
                           d);
        t->shape[d] = (size_t)s->u;
        if (t->shape[d] && need > SIZE_MAX / t->shape[d])
            overflow = 1;
        need *= t->shape[d];
    }
    if (offs->type != PORTA__JSON_ARRAY || offs->n != 2)
        return CORRUPT("%s: tensor '%s': data_offsets is not an array of two integers", path, name);
    for (int k = 0; k < 2; k++)
        if (offs->items[k].type != PORTA__JSON_NUMBER || !offs->items[k].is_uint)
            return CORRUPT("%s: tensor '%s': data_offsets[%d] is not a non-negative integer", path,
                           name, k);
    uint64_t b = offs->items[0].u, e = offs->items[1].u;
    if (b > e)
        return CORRUPT("%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", path,
                       name, (unsigned long long)b, (unsigned long long)e);
    if (e > data_bytes)
        return CORRUPT("%s: tensor '%s': data_offsets [%llu, %llu] reach past the %zu bytes of "
                       "data (truncated file?)",
                       path, name, (unsigned long long)b, (unsigned long long)e, data_bytes);
    t->begin = (size_t)b;
    t->end = (size_t)e;
    if (overflow || need != t->end - t->begin)
        return CORRUPT("%s: tensor '%s': %s of its shape needs %s%zu bytes, data_offsets span %zu",
                       path, name, t->dtype, overflow ? "more than " : "",
                       overflow ? SIZE_MAX : need, t->end - t->begin);
    return PORTA_OK;
}

static int by_begin(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors must cover the data exactly: sorted by offset, each begins
 * where the previous one ended, and the last ends at the end of the data. */
static porta_status check_coverage(porta_msg *m, const char *path, const st_tensor *t, size_t n,
                                   size_t data_bytes)
{
    const st_tensor **s = malloc((n + 1) * sizeof(*s));
    if (!s)
        return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    for (size_t i = 0; i < n; i++)
        s[i] = &t[i];
    qsort(s, n, sizeof(*s), by_begin);
    porta_status st = PORTA_OK;
    size_t at = 0;
    for (size_t i = 0; i < n && !st; i++) {
        if (s[i]->begin < at)
            st = CORRUPT("%s: tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap", path,
                         s[i - 1]->name, s[i - 1]->begin, s[i - 1]->end, s[i]->name, s[i]->begin,
                         s[i]->end);
        else if (s[i]->begin > at)
            st = CORRUPT("%s: data bytes [%zu, %zu) belong to no tensor (a gap before '%s')", path,
                         at, s[i]->begin, s[i]->name);
        at = s[i]->end;
    }
    if (!st && at != data_bytes)
        st = CORRUPT("%s: data bytes [%zu, %zu) at the end belong to no tensor", path, at,
                     data_bytes);
    free(s);
    return st;
}

static porta_status parse_file(porta_msg *m, porta_safetensors *f, size_t file_bytes)
{
    const char *path = f->path;
    if (file_bytes < 8)
        return CORRUPT("%s: %zu bytes, too short for the 8-byte header length", path, file_bytes);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | f->file[i];
    if (n > file_bytes - 8)
        return CORRUPT("%s: header length %llu exceeds the %zu bytes after it", path,
                       (unsigned long long)n, file_bytes - 8);
    if (n > ST_MAX_HEADER)
        return CORRUPT("%s: header length %llu exceeds the 100 MB safetensors allows", path,
                       (unsigned long long)n);
    const char *text = (const char *)f->file + 8;
    if (n < 2 || text[0] != '{')
        return CORRUPT("%s: the header does not begin with '{'", path);
    char err[256];
    if (porta__json_parse(text, (size_t)n, &f->header, err, sizeof(err)))
        return CORRUPT("%s: header is not valid JSON: header %s", path, err);
    f->data = f->file + 8 + n;
    f->data_bytes = file_bytes - 8 - (size_t)n;
    const porta__json *h = f->header;
    f->t = calloc(h->n + 1, sizeof(*f->t));
    if (!f->t)
        return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: no memory", path);
    for (size_t i = 0; i < h->n; i++) {
        porta_status st;
        if (strcmp(h->keys[i], "__metadata__") == 0) {
            f->meta = &h->items[i];
            st = check_metadata(m, path, f->meta);
        } else {
            st = check_entry(m, path, h->keys[i], &h->items[i], f->data_bytes, &f->t[f->n++]);
        }
        if (st)
            return st;
    }
    return check_coverage(m, path, f->t, f->n, f->data_bytes);
}

porta_status porta_safetensors_open(porta_context *ctx, const char *path, porta_safetensors **out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_msg *m = &ctx->msg;
    if (!out)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_safetensors_open: out is NULL");
    *out = NULL;
    if (!path)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_safetensors_open: path is NULL");
    porta_safetensors *f = calloc(1, sizeof(*f));
    size_t len = strlen(path) + 1;
    if (f)
        f->path = malloc(len);
    if (!f || !f->path) {
        free(f);
        return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "porta_safetensors_open: no memory");
    }
    memcpy(f->path, path, len);
    void *file = NULL;
    size_t bytes = 0;
    porta_status st = porta__read_file(path, &file, &bytes, m);
    f->file = file;
    if (!st)
        st = parse_file(m, f, bytes);
    if (st) {
        porta_safetensors_destroy(ctx, f);
        return st;
    }
    *out = f;
    return PORTA_OK;
}

size_t porta_safetensors_count(const porta_safetensors *f)
{
    return f ? f->n : 0;
}

const char *porta_safetensors_name(const porta_safetensors *f, size_t i)
{
    return f && i < f->n ? f->t[i].name : NULL;
}

porta_status porta_safetensors_get(porta_context *ctx, const porta_safetensors *f, const char *name,
                                   const char **dtype, size_t *shape, unsigned *ndim,
                                   const void **data, size_t *bytes)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!f || !name)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_safetensors_get: %s is NULL", !f ? "file" : "name");
    for (size_t i = 0; i < f->n; i++) {
        const st_tensor *t = &f->t[i];
        if (strcmp(t->name, name) != 0)
            continue;
        if (dtype)
            *dtype = t->dtype;
        if (shape)
            for (unsigned d = 0; d < t->ndim; d++)
                shape[d] = t->shape[d];
        if (ndim)
            *ndim = t->ndim;
        if (data)
            *data = f->data + t->begin;
        if (bytes)
            *bytes = t->end - t->begin;
        return PORTA_OK;
    }
    return porta_msg_set(&ctx->msg, PORTA_ERROR_NOT_FOUND, "%s: no tensor named '%s'", f->path,
                         name);
}

const char *porta_safetensors_metadata(const porta_safetensors *f, const char *key)
{
    const porta__json *v = f && key ? porta__json_get(f->meta, key) : NULL;
    return v ? v->str : NULL;
}
