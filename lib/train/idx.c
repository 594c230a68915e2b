/* idx.c: MNIST-family IDX files (idx3 images + idx1 labels), plain or gzip. */
#include <stdlib.h>
#include <string.h>

#include "data_file.h"
#include "image_set_internal.h"
#include "train_internal.h"

#define IDX_CLASSES 10u
#define IDX_MAX_SIDE 4096u
/* More pixels than this (64 GiB) is a corrupt header, not a data set. */
#define IDX_MAX_PIXELS (1ull << 36)

static const char *idx_dtype_name(unsigned code)
{
    switch (code) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "int16";
    case 0x0C:
        return "int32";
    case 0x0D:
        return "float32";
    case 0x0E:
        return "float64";
    }
    return "unknown";
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read and check an IDX header of `ndims` dimensions into dims[]. */
static porta_status read_idx_header(porta__data_file *df, unsigned ndims, uint32_t dims[3],
                                    porta_context *ctx)
{
    uint8_t magic[4];
    porta_status st = porta__data_read(df, magic, 4, "IDX magic number", ctx);
    if (st)
        return st;
    if (magic[0] != 0 || magic[1] != 0)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: wrong magic %02x %02x %02x %02x: not an IDX file (expected "
            "00 00 08 %02x)",
            df->path, magic[0], magic[1], magic[2], magic[3], ndims);
    if (magic[2] != 0x08)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: wrong dtype 0x%02x (%s): only unsigned bytes (0x08) are "
            "supported",
            df->path, magic[2], idx_dtype_name(magic[2]));
    if (magic[3] != ndims)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA, "%s: %u dimensions, expected %u (idx%u%s)", df->path,
            magic[3], ndims, ndims, ndims == 3 ? " images" : " labels");
    uint8_t raw[12];
    st = porta__data_read(df, raw, 4 * (size_t)ndims, "IDX dimensions", ctx);
    if (st)
        return st;
    for (unsigned i = 0; i < ndims; i++)
        dims[i] = be32(raw + 4 * i);
    return PORTA_OK;
}

/* An empty loaded set, or a reason why not: shared with cifar10.c. */
porta_status porta__image_set_alloc(porta_image_set *set, size_t count, unsigned c, unsigned h,
                                    unsigned w, unsigned classes, const char *what,
                                    porta_context *ctx)
{
    size_t image = (size_t)c * h * w;
    if (count > SIZE_MAX / image)
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                         "%s: %zu images of %ux%ux%u overflow", what, count, c, h,
                                         w);
    uint8_t *pixels = malloc(count * image);
    uint8_t *labels = malloc(count);
    if (!pixels || !labels) {
        free(pixels);
        free(labels);
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                         "%s: %zu images of %zu bytes", what, count, image);
    }
    set->count = count;
    set->channels = c;
    set->height = h;
    set->width = w;
    set->classes = classes;
    set->pixels = pixels;
    set->labels = labels;
    return PORTA_OK;
}

porta_status porta__image_set_check_labels(const porta_image_set *set, const char *path,
                                           size_t first_index, size_t n, porta_context *ctx)
{
    for (size_t i = first_index; i < first_index + n; i++)
        if (set->labels[i] >= set->classes)
            return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                             "%s: label %u of record %zu is >= %u classes", path,
                                             set->labels[i], i - first_index, set->classes);
    return PORTA_OK;
}

void porta_image_set_destroy(porta_context *ctx, porta_image_set *set)
{
    /* Freeing cannot fail, so nothing is reported into ctx. */
    (void)ctx;
    if (!set)
        return;
    free(set->pixels);
    free(set->labels);
    memset(set, 0, sizeof(*set));
}

static porta_status load_idx(porta_context *ctx, const char *images_path, const char *labels_path,
                             porta__data_file *img, porta__data_file *lab, porta_image_set *set)
{
    uint32_t idims[3] = {0}, ldims[3] = {0};
    porta_status st = porta__data_open(img, images_path, ctx);
    if (!st)
        st = read_idx_header(img, 3, idims, ctx);
    if (st)
        return st;
    if (idims[0] == 0)
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA, "%s: holds 0 images",
                                         images_path);
    if (idims[1] == 0 || idims[2] == 0 || idims[1] > IDX_MAX_SIDE || idims[2] > IDX_MAX_SIDE)
        return porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA,
                                         "%s: absurd image size %u x %u (each side must be 1..%u)",
                                         images_path, idims[1], idims[2], IDX_MAX_SIDE);
    size_t image = (size_t)idims[1] * idims[2];
    uint64_t want = (uint64_t)idims[0] * image;
    if (want > IDX_MAX_PIXELS)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: absurd size: %u images of %ux%u are %llu bytes (at most %llu)", images_path,
            idims[0], idims[1], idims[2], (unsigned long long)want,
            (unsigned long long)IDX_MAX_PIXELS);
    /* A plain file's size bounds the data before anything is allocated. */
    if (img->plain && img->size != 16 + want)
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: %s: header says %u images of %ux%u, so expected %llu bytes, "
            "got %llu",
            images_path, img->size < 16 + want ? "truncated" : "trailing bytes", idims[0], idims[1],
            idims[2], (unsigned long long)(16 + want), (unsigned long long)img->size);

    st = porta__data_open(lab, labels_path, ctx);
    if (!st)
        st = read_idx_header(lab, 1, ldims, ctx);
    if (st)
        return st;
    if (ldims[0] != idims[0])
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "count mismatch: %s holds %u images but %s holds %u labels", images_path, idims[0],
            labels_path, ldims[0]);
    if (lab->plain && lab->size != 8 + (uint64_t)ldims[0])
        return porta_context_set_message(
            ctx, PORTA_ERROR_CORRUPT_DATA,
            "%s: %s: header says %u labels, so expected %llu bytes, got %llu", labels_path,
            lab->size < 8 + (uint64_t)ldims[0] ? "truncated" : "trailing bytes", ldims[0],
            (unsigned long long)(8 + (uint64_t)ldims[0]), (unsigned long long)lab->size);

    st =
        porta__image_set_alloc(set, idims[0], 1, idims[1], idims[2], IDX_CLASSES, images_path, ctx);
    if (!st)
        st = porta__data_read(img, set->pixels, set->count * image, "pixels", ctx);
    if (!st)
        st = porta__data_expect_end(img, "pixels", ctx);
    if (!st)
        st = porta__data_read(lab, set->labels, set->count, "labels", ctx);
    if (!st)
        st = porta__data_expect_end(lab, "labels", ctx);
    if (!st)
        st = porta__image_set_check_labels(set, labels_path, 0, set->count, ctx);
    return st;
}

porta_status porta_image_set_load_idx(porta_context *ctx, const char *images_path,
                                      const char *labels_path, porta_image_set *out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_image_set_load_idx: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!images_path || !labels_path)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_image_set_load_idx: %s is NULL",
                                         images_path ? "labels_path" : "images_path");
    porta__data_file img, lab;
    memset(&img, 0, sizeof(img));
    memset(&lab, 0, sizeof(lab));
    porta_image_set set;
    memset(&set, 0, sizeof(set));
    porta_status st = load_idx(ctx, images_path, labels_path, &img, &lab, &set);
    porta__data_close(&img);
    porta__data_close(&lab);
    if (st) {
        porta_image_set_destroy(ctx, &set);
        return st;
    }
    *out = set;
    return PORTA_OK;
}
