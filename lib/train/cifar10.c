/* cifar10.c: CIFAR-10 binary batches (1 label byte + 3072 CHW pixel bytes per record). */
#include <stdlib.h>
#include <string.h>

#include "data_file.h"
#include "image_set_internal.h"
#include "train_internal.h"

#define CIFAR_IMAGE (3u * 32u * 32u)
#define CIFAR_RECORD (1u + CIFAR_IMAGE)
#define CIFAR_CLASSES 10u

/* Append the records of one file (whole in data[0, bytes)) to set. */
static porta_status append_records(porta_image_set *set, const char *path, const uint8_t *data,
                                   size_t bytes, porta_context *ctx)
{
    if (bytes == 0)
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                         "%s: is empty (expected CIFAR-10 records of %u bytes)",
                                         path, CIFAR_RECORD);
    if (bytes % CIFAR_RECORD != 0)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: size %zu is not a multiple of the %u-byte CIFAR-10 record "
            "(%zu whole records and %zu bytes left over: truncated or not "
            "CIFAR-10)",
            path, bytes, CIFAR_RECORD, bytes / CIFAR_RECORD, bytes % CIFAR_RECORD);
    size_t n = bytes / CIFAR_RECORD;
    for (size_t i = 0; i < n; i++)
        if (data[i * CIFAR_RECORD] >= CIFAR_CLASSES)
            return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                             "%s: label %u of record %zu is >= %u classes", path,
                                             data[i * CIFAR_RECORD], i, CIFAR_CLASSES);
    size_t total = set->count + n;
    uint8_t *pixels = realloc(set->pixels, total * CIFAR_IMAGE);
    if (!pixels)
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: %zu images",
                                         path, total);
    set->pixels = pixels;
    uint8_t *labels = realloc(set->labels, total);
    if (!labels)
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY, "%s: %zu images",
                                         path, total);
    set->labels = labels;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = data + i * CIFAR_RECORD;
        set->labels[set->count + i] = rec[0];
        memcpy(set->pixels + (set->count + i) * CIFAR_IMAGE, rec + 1, CIFAR_IMAGE);
    }
    set->count = total;
    return PORTA_OK;
}

porta_status porta_image_set_load_cifar10(porta_context *ctx, const char *const *paths,
                                          size_t n_paths, porta_image_set *out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_image_set_load_cifar10: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!paths || n_paths == 0)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_image_set_load_cifar10: no paths given (n_paths %zu)", n_paths);
    for (size_t i = 0; i < n_paths; i++)
        if (!paths[i])
            return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                             "porta_image_set_load_cifar10: paths[%zu] is NULL", i);
    porta_image_set set;
    memset(&set, 0, sizeof(set));
    set.channels = 3;
    set.height = 32;
    set.width = 32;
    set.classes = CIFAR_CLASSES;
    porta_status st = PORTA_OK;
    for (size_t i = 0; i < n_paths && !st; i++) {
        porta__data_file df;
        uint8_t *data = NULL;
        size_t bytes = 0;
        st = porta__data_open(&df, paths[i], ctx);
        if (!st)
            st = porta__data_read_rest(&df, &data, &bytes, ctx);
        porta__data_close(&df);
        if (!st)
            st = append_records(&set, paths[i], data, bytes, ctx);
        free(data);
    }
    if (st) {
        porta_image_set_destroy(ctx, &set);
        return st;
    }
    *out = set;
    return PORTA_OK;
}
