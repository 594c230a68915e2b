/* optimizer_save.c: the complete optimizer state to a file and back.
 *
 * File layout (little-endian; every field 32-bit unless noted):
 *   "PORTAOPT" | version | header words ... | FNV-1a 64 of the body (2 words)
 *   body: tensor table (n as 64-bit, group) | optim_config | sched config |
 *         both optim_state halves | both sched state halves |
 *         steps, scheduler advances (64-bit each) | params | m1 | m2
 * Written to a temporary file, fsynced and renamed, so an interrupted save
 * leaves the previous file intact. Loading checks everything before it
 * changes anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "optim/optimizer_internal.h"

#define SAVE_MAGIC "PORTAOPT"
#define SAVE_VERSION 2u /* 2: groups padded to PORTA_GROUP_ALIGN */

typedef struct save_header {
    char magic[8];
    uint32_t version;
    uint32_t optimizer_kind;
    uint32_t scheduler_kind;
    uint32_t n_groups;
    uint64_t n_tensors;
    uint64_t elements;
    uint64_t m1_elements;
    uint64_t m2_elements;
    uint64_t body_bytes;
    uint64_t body_hash;
} save_header;

typedef struct save_layout {
    size_t table, ocfg, scfg, ost, sst, steps, params, m1, m2, end;
} save_layout;

/* Whether the optimizer keeps moment `which` (1: m1, 2: m2) per element,
 * with elements to keep; else its buffer is a 4-byte stand-in, saved as
 * it is. */
static int has_moment(const porta_optimizer *opt, int which)
{
    const int adamw = opt->config.kind == PORTA_OPTIMIZER_ADAMW;
    const int kept = which == 2 ? adamw : adamw || opt->config.momentum != 0.0f;
    return kept && opt->elements > 0;
}

static save_layout layout_of(const porta_optimizer *opt)
{
    save_layout l;
    size_t at = 0;
    l.table = at;
    at += opt->n_tensors * 12;
    l.ocfg = at;
    at += sizeof(porta_optim_config_dev);
    l.scfg = at;
    at += sizeof(porta_sched_device_config);
    l.ost = at;
    at += 2 * sizeof(porta_optim_state_dev);
    l.sst = at;
    at += 2 * sizeof(porta_sched_device_state);
    l.steps = at;
    at += 16; /* steps, scheduler advances */
    l.params = at;
    at += opt->elements * 4;
    l.m1 = at;
    at += has_moment(opt, 1) ? opt->elements * 4 : 4;
    l.m2 = at;
    at += has_moment(opt, 2) ? opt->elements * 4 : 4;
    l.end = at;
    return l;
}

/* Where each device-held part of the body lives: buffer, byte offset and
 * size there, offset in the body. The configs and states are fields of
 * the optimizer's block; the file keeps them in the order it always had.
 * Region 0, the optimizer config, the device only reads. */
typedef struct save_region {
    porta_buffer *buf;
    size_t from, bytes, at;
} save_region;

/* The four block regions, then params, m1 and m2 of each chunk. */
enum { SAVE_REGIONS = 4 + 3 * PORTA_OPT_MAX_CHUNKS };

/* Fills r and returns how many regions there are. The arenas' part of the
 * body is the same whatever their split (a checkpoint written with one
 * buffer per arena loads where they are several, and back): each chunk's
 * elements at their offset in the arena; a 4-byte moment stand-in is
 * chunk 0's alone. */
static size_t regions(const porta_optimizer *opt, const save_layout *l, save_region r[SAVE_REGIONS])
{
    r[0] = (save_region){opt->block, PORTA_BLOCK_AT(ocfg), sizeof(porta_optim_config_dev), l->ocfg};
    r[1] =
        (save_region){opt->block, PORTA_BLOCK_AT(scfg), sizeof(porta_sched_device_config), l->scfg};
    r[2] =
        (save_region){opt->block, PORTA_BLOCK_AT(ost), 2 * sizeof(porta_optim_state_dev), l->ost};
    r[3] = (save_region){opt->block, PORTA_BLOCK_AT(sst), 2 * sizeof(porta_sched_device_state),
                         l->sst};
    size_t n = 4;
    const int whole[2] = {has_moment(opt, 1), has_moment(opt, 2)};
    const size_t at_m[2] = {l->m1, l->m2};
    for (size_t c = 0; c < opt->n_chunks; c++) {
        const porta_opt_chunk *k = &opt->chunks[c];
        /* With small_step both moments are in m1, m2 m2_at bytes in. */
        porta_buffer *m[2] = {k->m1, k->m2 ? k->m2 : k->m1};
        const size_t from[2] = {0, k->m2 ? 0 : k->m2_at};
        if (k->n)
            r[n++] = (save_region){k->params, 0, k->n * 4, l->params + k->start * 4};
        for (int i = 0; i < 2; i++) {
            if (whole[i] && k->n)
                r[n++] = (save_region){m[i], from[i], k->n * 4, at_m[i] + k->start * 4};
            else if (!whole[i] && c == 0)
                r[n++] = (save_region){m[i], from[i], 4, at_m[i]};
        }
    }
    return n;
}

static void put_table(const porta_optimizer *opt, unsigned char *p)
{
    for (size_t i = 0; i < opt->n_tensors; i++) {
        uint64_t n = opt->tensors[i].n;
        uint32_t g = opt->tensors[i].group;
        memcpy(p + i * 12, &n, 8);
        memcpy(p + i * 12 + 8, &g, 4);
    }
}

static porta_status check_ready(porta_context *ctx, const porta_optimizer *opt, const void *p,
                                const char *what)
{
    porta_status st = porta__require_device(ctx);
    if (!st && (!opt || !opt->finalized || !p))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: %s", what,
                           !opt || !p ? "NULL argument" : "optimizer not finalized");
    return st;
}

porta_status porta_optimizer_state_size(porta_context *ctx, porta_optimizer *opt, size_t *bytes)
{
    porta_status st = check_ready(ctx, opt, bytes, "porta_optimizer_state_size");
    if (!st)
        *bytes = sizeof(save_header) + layout_of(opt).end;
    return st;
}

porta_status porta_optimizer_state_get(porta_context *ctx, porta_optimizer *opt, void *dst,
                                       size_t bytes)
{
    porta_status st = check_ready(ctx, opt, dst, "porta_optimizer_state_get");
    if (st)
        return st;
    save_layout l = layout_of(opt);
    if (bytes != sizeof(save_header) + l.end)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_state_get: %zu bytes given, the state takes %zu",
                             bytes, sizeof(save_header) + l.end);
    unsigned char *file = dst;
    unsigned char *body = file + sizeof(save_header);
    put_table(opt, body + l.table);
    memcpy(body + l.ocfg, &opt->dev, sizeof(opt->dev));
    memcpy(body + l.steps, &opt->steps, 8);
    memcpy(body + l.steps + 8, &opt->sched_advances, 8);
    save_region r[SAVE_REGIONS];
    const size_t n_regions = regions(opt, &l, r);
    /* From 1: the optimizer config is the host's copy above. */
    for (size_t i = 1; i < n_regions && !st; i++)
        st = porta_buffer_read(ctx, r[i].buf, r[i].from, r[i].bytes, body + r[i].at);
    if (!st) {
        save_header h;
        memset(&h, 0, sizeof(h));
        memcpy(h.magic, SAVE_MAGIC, 8);
        h.version = SAVE_VERSION;
        h.optimizer_kind = (uint32_t)opt->config.kind;
        h.scheduler_kind = (uint32_t)opt->scheduler.kind;
        h.n_groups = opt->config.n_groups;
        h.n_tensors = opt->n_tensors;
        h.elements = opt->elements;
        h.m1_elements = has_moment(opt, 1) ? opt->elements : 1;
        h.m2_elements = has_moment(opt, 2) ? opt->elements : 1;
        h.body_bytes = l.end;
        h.body_hash = porta_fnv1a(PORTA_FNV_SEED, body, l.end);
        memcpy(file, &h, sizeof(h));
    }
    return st;
}

porta_status porta_optimizer_save(porta_context *ctx, porta_optimizer *opt, const char *path)
{
    size_t bytes = 0;
    porta_status st = check_ready(ctx, opt, path, "porta_optimizer_save");
    if (!st)
        st = porta_optimizer_state_size(ctx, opt, &bytes);
    if (st)
        return st;
    unsigned char *file = malloc(bytes);
    if (!file)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "porta_optimizer_save: %zu bytes of host memory", bytes);
    st = porta_optimizer_state_get(ctx, opt, file, bytes);
    if (!st)
        st = porta__write_file_atomic(path, file, bytes, &ctx->msg);
    free(file);
    return st;
}

/* Check a loaded header against this optimizer. */
static porta_status check_header(porta_context *ctx, const porta_optimizer *opt,
                                 const save_header *h, const void *file, size_t file_bytes,
                                 const char *path)
{
    porta_msg *m = &ctx->msg;
    save_layout l = layout_of(opt);
    if (file_bytes < sizeof(*h) || memcmp(h->magic, SAVE_MAGIC, 8) != 0)
        return porta_msg_set(m, PORTA_ERROR_CORRUPT_DATA,
                             "%s: not a porta optimizer state (bad magic)", path);
    if (h->version != SAVE_VERSION)
        return porta_msg_set(m, PORTA_ERROR_CORRUPT_DATA, "%s: version %u, this porta reads %u",
                             path, h->version, SAVE_VERSION);
    if (h->body_bytes != file_bytes - sizeof(*h))
        return porta_msg_set(m, PORTA_ERROR_CORRUPT_DATA,
                             "%s: truncated or padded: %zu body bytes, header says %llu", path,
                             file_bytes - sizeof(*h), (unsigned long long)h->body_bytes);
    const unsigned char *body = (const unsigned char *)file + sizeof(*h);
    if (porta_fnv1a(PORTA_FNV_SEED, body, h->body_bytes) != h->body_hash)
        return porta_msg_set(m, PORTA_ERROR_CORRUPT_DATA, "%s: checksum mismatch", path);
    if (h->optimizer_kind != (uint32_t)opt->config.kind ||
        h->scheduler_kind != (uint32_t)opt->scheduler.kind || h->n_groups != opt->config.n_groups ||
        h->n_tensors != opt->n_tensors || h->elements != opt->elements || h->body_bytes != l.end)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: saved for another optimizer (kind, scheduler, groups or "
                             "tensors differ)",
                             path);
    unsigned char *table = malloc(opt->n_tensors * 12 + 1);
    if (!table)
        return porta_msg_set(m, PORTA_ERROR_OUT_OF_HOST_MEMORY, "load: no memory");
    put_table(opt, table);
    int same = memcmp(table, body + l.table, opt->n_tensors * 12) == 0;
    free(table);
    if (!same)
        return porta_msg_set(m, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: saved tensors differ in size or group", path);
    return PORTA_OK;
}

porta_status porta_optimizer_state_set(porta_context *ctx, porta_optimizer *opt, const void *data,
                                       size_t bytes, const char *source)
{
    porta_status st = check_ready(ctx, opt, data, "porta_optimizer_state_set");
    if (st)
        return st;
    if (!source)
        source = "optimizer state";
    /* A header-sized, aligned copy: data may be shorter than a header. */
    save_header h;
    memset(&h, 0, sizeof(h));
    memcpy(&h, data, bytes < sizeof(h) ? bytes : sizeof(h));
    st = check_header(ctx, opt, &h, data, bytes, source);
    if (st)
        return st;
    const unsigned char *body = (const unsigned char *)data + sizeof(h);
    save_layout l = layout_of(opt);
    memcpy(&opt->dev, body + l.ocfg, sizeof(opt->dev));
    memcpy(&opt->sched_dev, body + l.scfg, sizeof(opt->sched_dev));
    uint64_t steps, advances;
    memcpy(&steps, body + l.steps, 8);
    memcpy(&advances, body + l.steps + 8, 8);
    save_region r[SAVE_REGIONS];
    const size_t n_regions = regions(opt, &l, r);
    for (size_t i = 0; i < n_regions && !st; i++)
        st = porta_buffer_write(ctx, r[i].buf, r[i].from, r[i].bytes, body + r[i].at);
    if (!st) {
        opt->steps = steps;
        opt->steps_drained = steps;
        opt->sched_advances = advances;
        st = porta__optimizer_prepare(ctx, opt);
    }
    return st;
}

porta_status porta_optimizer_load(porta_context *ctx, porta_optimizer *opt, const char *path)
{
    porta_status st = check_ready(ctx, opt, path, "porta_optimizer_load");
    if (st)
        return st;
    void *data = NULL;
    size_t bytes = 0;
    if ((st = porta__read_file(path, &data, &bytes, &ctx->msg)) != PORTA_OK)
        return st;
    st = porta_optimizer_state_set(ctx, opt, data, bytes, path);
    free(data);
    return st;
}
