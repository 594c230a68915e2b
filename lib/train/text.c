/* text.c: a byte-level text corpus, its train/validation split and random windows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "counter_rng.h"
#include "data_file.h"
#include "train_internal.h"

/* Length of the valid UTF-8 sequence starting at p[0] (< end), or 0 if
 * it is not one (overlong forms, surrogates and code points above
 * U+10FFFF are invalid). */
static size_t utf8_sequence(const uint8_t *p, const uint8_t *end)
{
    uint8_t b = p[0];
    size_t n;
    uint32_t cp, min;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2, cp = b & 0x1Fu, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3, cp = b & 0x0Fu, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4, cp = b & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0u) != 0x80u)
            return 0;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* PORTA_OK if data looks like text, else a message saying why not. */
static porta_status check_text(const char *path, const uint8_t *data, size_t size,
                               porta_context *ctx)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (nul)
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                         "%s: looks binary, not text: NUL byte at offset %zu", path,
                                         (size_t)(nul - data));
    size_t bad = 0, first_bad = 0;
    const uint8_t *end = data + size;
    for (const uint8_t *p = data; p < end;) {
        uint8_t b = *p;
        if ((b >= 0x20 && b < 0x7F) || (b >= '\t' && b <= '\r')) {
            p++;
            continue;
        }
        size_t n = b >= 0x80 ? utf8_sequence(p, end) : 0;
        if (n) {
            p += n;
            continue;
        }
        if (bad++ == 0)
            first_bad = (size_t)(p - data);
        p++;
    }
    if (bad > size / 100)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: looks binary, not text: %zu of %zu bytes are neither valid "
            "UTF-8 nor printable ASCII or whitespace (first at offset %zu; at "
            "most 1%% allowed)",
            path, bad, size, first_bad);
    return PORTA_OK;
}

porta_status porta_text_load(porta_context *ctx, const char *path, float val_fraction,
                             porta_text *out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_load: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!path)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_load: path is NULL");
    if (!(val_fraction >= 0.0f && val_fraction < 1.0f))
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_load: val_fraction %g must be in [0, 1)",
                                         (double)val_fraction);
    porta__data_file df;
    uint8_t *data = NULL;
    size_t size = 0;
    porta_status st = porta__data_open(&df, path, ctx);
    if (!st)
        st = porta__data_read_rest(&df, &data, &size, ctx);
    porta__data_close(&df);
    if (!st && size == 0)
        st = porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA, "%s: is empty", path);
    if (!st)
        st = check_text(path, data, size, ctx);
    if (st) {
        free(data);
        return st;
    }
    out->bytes = data;
    out->size = size;
    /* val_fraction of the bytes, rounded to nearest, validate: 0.1 of 1000 is 100 bytes, although
     * 0.1f is a little above 0.1. */
    size_t val = (size_t)floor((double)size * (double)val_fraction + 0.5);
    out->train_size = size - (val < size ? val : size);
    return PORTA_OK;
}

porta_status porta_text_batch(porta_context *ctx, const porta_text *text, porta_text_split split,
                              size_t batch, size_t context, uint64_t seed, uint64_t step,
                              uint32_t *inputs, uint32_t *targets)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!text || !text->bytes || !inputs || !targets)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_batch: %s is NULL",
                                         !text          ? "text"
                                         : !text->bytes ? "text->bytes"
                                         : !inputs      ? "inputs"
                                                        : "targets");
    /* An enum can hold any int a caller casts into it: check before it
     * selects a range or keys the generator. */
    if (split != PORTA_TEXT_TRAIN && split != PORTA_TEXT_VALIDATION)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_batch: split %d must be PORTA_TEXT_TRAIN (0) "
                                         "or PORTA_TEXT_VALIDATION (1)",
                                         (int)split);
    if (batch < 1 || context < 1)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_batch: batch %zu and context %zu must be >= 1",
                                         batch, context);
    if (text->train_size > text->size)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_text_batch: text->train_size %zu > size %zu",
                                         text->train_size, text->size);
    const bool validation = split == PORTA_TEXT_VALIDATION;
    const uint8_t *base = text->bytes + (validation ? text->train_size : 0);
    size_t len = validation ? text->size - text->train_size : text->train_size;
    if (len <= context)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_text_batch: the %s split holds %zu bytes, fewer than context "
            "+ 1 = %zu",
            validation ? "validation" : "training", len, context + 1);
    size_t starts = len - context;
    for (size_t b = 0; b < batch; b++) {
        uint64_t r = porta__counter_rng(seed, PORTA__RNG_TEXT + 16u * (uint64_t)split, step, b);
        const uint8_t *w = base + porta__below(r, starts);
        for (size_t t = 0; t < context; t++) {
            inputs[b * context + t] = w[t];
            targets[b * context + t] = w[t + 1];
        }
    }
    return PORTA_OK;
}

void porta_text_destroy(porta_context *ctx, porta_text *text)
{
    /* Freeing cannot fail, so nothing is reported into ctx. */
    (void)ctx;
    if (!text)
        return;
    free(text->bytes);
    memset(text, 0, sizeof(*text));
}
