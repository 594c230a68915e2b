/* test_data.c: the data layer (lib/data) on the host, no device.
 *
 * Fixtures are generated here into a fresh temporary directory: tiny IDX
 * pairs (plain and gzip), tiny CIFAR-10 batches, text files, and corrupt
 * variants of each. Every reader must round-trip its fixture and reject
 * every corrupt one with the right status and a message naming the file
 * and the defect; a failed load must leave its output zeroed. The real
 * Fashion-MNIST from Debian's dataset-fashion-mnist is loaded when
 * installed. The batch loader must give the same batches for the same seed,
 * let seek(e, b) reproduce the sequential order, normalise exactly as
 * documented, and augment reproducibly; the text batches must be windows of
 * the right split, reproducible from (seed, step).
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "porta/train.h"

static char g_dir[512];

/* ---- fixtures ----------------------------------------------------------- */

static const char *path_of(const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, 1024, "%s/%s", g_dir, name);
    return p;
}

static void write_plain(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(path_of(name), "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        fprintf(stderr, "cannot write fixture %s\n", path_of(name));
        exit(1);
    }
    fclose(f);
}

static void write_gzip(const char *name, const void *data, size_t n)
{
    gzFile gz = gzopen(path_of(name), "wb");
    if (!gz || (n && gzwrite(gz, data, (unsigned)n) != (int)n) || gzclose(gz) != Z_OK) {
        fprintf(stderr, "cannot write fixture %s\n", path_of(name));
        exit(1);
    }
}

/* A gzip file of data[0, n) with its last `cut` bytes removed. */
static void cut_file(const char *name, const void *data, size_t n, size_t cut)
{
    write_gzip(name, data, n);
    FILE *f = fopen(path_of(name), "rb");
    uint8_t buf[1 << 16];
    size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    write_plain(name, buf, got - cut);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An idx3 file of n images h x w; pixel j of image i = (i * 31 + j * 7) & 255. */
static uint8_t *idx_images(uint32_t n, uint32_t h, uint32_t w, size_t *bytes)
{
    *bytes = 16 + (size_t)n * h * w;
    uint8_t *b = malloc(*bytes);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = 3;
    put_be32(b + 4, n);
    put_be32(b + 8, h);
    put_be32(b + 12, w);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < (size_t)h * w; j++)
            b[16 + i * h * w + j] = (uint8_t)((i * 31 + j * 7) & 255);
    return b;
}

/* An idx1 file of n labels, label i = (i * 3) % 10. */
static uint8_t *idx_labels(uint32_t n, size_t *bytes)
{
    *bytes = 8 + (size_t)n;
    uint8_t *b = malloc(*bytes);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = 1;
    put_be32(b + 4, n);
    for (size_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)((i * 3) % 10);
    return b;
}

/* n CIFAR-10 records; record i has label (i + first) % 10, pixel j = (i * 13 + j) & 255. */
static uint8_t *cifar_records(size_t n, size_t first, size_t *bytes)
{
    *bytes = n * 3073;
    uint8_t *b = malloc(*bytes ? *bytes : 1);
    for (size_t i = 0; i < n; i++) {
        b[i * 3073] = (uint8_t)((i + first) % 10);
        for (size_t j = 0; j < 3072; j++)
            b[i * 3073 + 1 + j] = (uint8_t)(((i + first) * 13 + j) & 255);
    }
    return b;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[1024];
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* ---- checks ------------------------------------------------------------- */

static int is_zero_set(const porta_image_set *s)
{
    return s->count == 0 && !s->pixels && !s->labels && s->channels == 0 && s->classes == 0;
}

/* st is `want` and the message contains every word given (NULL-terminated). */
#define CHECK_ERROR(t, ctx, st, want, case_name, ...)                                              \
    check_error((t), (ctx), (st), (want), (case_name), __FILE__, __LINE__,                         \
                (const char *[]){__VA_ARGS__, NULL})
static void check_error(test_state *t, porta_context *ctx, porta_status st, porta_status want,
                        const char *case_name, const char *file, int line, const char *const *words)
{
    const char *msg = porta_context_message(ctx);
    if (getenv("TEST_DATA_VERBOSE"))
        printf("%-28s %s\n", case_name, msg);
    test_check(t, st == want, file, line, "%s: expected %s, got %s (%s)", case_name,
               porta_strerror(want), porta_strerror(st), msg);
    for (const char *const *w = words; *w; w++)
        test_check(t, strstr(msg, *w) != NULL, file, line, "%s: message lacks \"%s\": %s",
                   case_name, *w, msg);
}

/* ---- IDX ---------------------------------------------------------------- */

static void check_idx_content(test_state *t, const porta_image_set *s, uint32_t n, uint32_t h,
                              uint32_t w, const char *what)
{
    CHECK(t,
          s->count == n && s->channels == 1 && s->height == h && s->width == w && s->classes == 10,
          "%s: shape %zu x %u x %u x %u, %u classes", what, s->count, s->channels, s->height,
          s->width, s->classes);
    if (s->count != n || s->height != h || s->width != w || !s->pixels || !s->labels)
        return;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < (size_t)h * w; j++)
            bad += s->pixels[i * h * w + j] != (uint8_t)((i * 31 + j * 7) & 255);
        bad += s->labels[i] != (i * 3) % 10;
    }
    CHECK(t, bad == 0, "%s: %zu pixels or labels differ", what, bad);
}

static void test_idx_round_trip(test_state *t, porta_context *ctx)
{
    size_t ib, lb;
    uint8_t *img = idx_images(7, 5, 3, &ib), *lab = idx_labels(7, &lb);
    write_plain("rt-images", img, ib);
    write_plain("rt-labels", lab, lb);
    /* gzip without a .gz name, and a plain file with one: the content decides */
    write_gzip("rt-images-gz", img, ib);
    write_gzip("rt-labels-gz", lab, lb);
    write_plain("rt-labels-plain.gz", lab, lb);
    free(img);
    free(lab);

    const char *pairs[][2] = {{"rt-images", "rt-labels"},
                              {"rt-images-gz", "rt-labels-gz"},
                              {"rt-images-gz", "rt-labels-plain.gz"},
                              {"rt-images", "rt-labels-gz"}};
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        porta_image_set s;
        porta_status st =
            porta_image_set_load_idx(ctx, path_of(pairs[k][0]), path_of(pairs[k][1]), &s);
        CHECK_OK(t, ctx, st, pairs[k][0]);
        if (st == PORTA_OK)
            check_idx_content(t, &s, 7, 5, 3, pairs[k][0]);
        porta_image_set_destroy(ctx, &s);
        CHECK(t, is_zero_set(&s), "free zeroes the set");
    }
    porta_image_set_destroy(ctx, NULL);
}

/* Load images_name + labels_name, expect failure `want` naming `file` and the defect words. */
#define EXPECT_IDX_FAIL(t, ctx, images_name, labels_name, want, ...)                               \
    do {                                                                                           \
        porta_image_set s_;                                                                        \
        memset(&s_, 0xA5, sizeof(s_));                                                             \
        porta_status st_ =                                                                         \
            porta_image_set_load_idx((ctx), path_of(images_name), path_of(labels_name), &s_);      \
        CHECK_ERROR((t), (ctx), st_, (want), images_name "+" labels_name, __VA_ARGS__);            \
        CHECK((t), is_zero_set(&s_), "%s: output not zeroed after failure", images_name);          \
        if (st_ == PORTA_OK)                                                                       \
            porta_image_set_destroy((ctx), &s_);                                                   \
    } while (0)

static void test_idx_corrupt(test_state *t, porta_context *ctx)
{
    size_t ib, lb;
    uint8_t *img = idx_images(7, 5, 3, &ib), *lab = idx_labels(7, &lb);
    write_plain("ok-images", img, ib);
    write_plain("ok-labels", lab, lb);

    EXPECT_IDX_FAIL(t, ctx, "no-such-images", "ok-labels", PORTA_ERROR_IO, "no-such-images",
                    "cannot open");
    EXPECT_IDX_FAIL(t, ctx, "ok-images", "no-such-labels", PORTA_ERROR_IO, "no-such-labels",
                    "cannot open");

    write_plain("empty", "", 0);
    EXPECT_IDX_FAIL(t, ctx, "empty", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "empty", "is empty");
    write_gzip("empty-gz", "", 0);
    EXPECT_IDX_FAIL(t, ctx, "empty-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "empty-gz",
                    "is empty");

    write_plain("trunc-header", img, 10);
    EXPECT_IDX_FAIL(t, ctx, "trunc-header", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trunc-header",
                    "truncated", "expected 12 bytes", "got 6");
    write_plain("trunc-magic", img, 3);
    EXPECT_IDX_FAIL(t, ctx, "trunc-magic", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trunc-magic",
                    "truncated", "expected 4 bytes", "got 3");

    write_plain("trunc-data", img, ib - 5);
    EXPECT_IDX_FAIL(t, ctx, "trunc-data", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trunc-data",
                    "truncated", "expected 121 bytes", "got 116");
    write_gzip("trunc-data-gz", img, ib - 5);
    EXPECT_IDX_FAIL(t, ctx, "trunc-data-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trunc-data-gz",
                    "truncated", "expected 105 bytes", "got 100");
    write_plain("trunc-labels", lab, lb - 1);
    EXPECT_IDX_FAIL(t, ctx, "ok-images", "trunc-labels", PORTA_ERROR_CORRUPT_DATA, "trunc-labels",
                    "truncated", "expected 15 bytes", "got 14");

    /* a gzip file cut short: the stream itself is broken */
    cut_file("cut-gz", img, ib, 12);
    EXPECT_IDX_FAIL(t, ctx, "cut-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "cut-gz", "truncated");
    /* only the 8-byte trailer (CRC, length) missing: every pixel is there */
    cut_file("trailer-gz", img, ib, 8);
    EXPECT_IDX_FAIL(t, ctx, "trailer-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trailer-gz",
                    "truncated", "gzip");
    /* a flipped bit in the deflate data */
    write_gzip("flip-gz", img, ib);
    {
        FILE *f = fopen(path_of("flip-gz"), "rb");
        uint8_t buf[4096];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        buf[n - 8] ^= 0x01; /* the CRC */
        write_plain("flip-gz", buf, n);
    }
    EXPECT_IDX_FAIL(t, ctx, "flip-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "flip-gz");

    uint8_t *bad = malloc(ib);
    memcpy(bad, img, ib);
    bad[0] = 0x1f; /* not gzip either: 1f 00 */
    bad[1] = 0x00;
    write_plain("bad-magic", bad, ib);
    EXPECT_IDX_FAIL(t, ctx, "bad-magic", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "bad-magic",
                    "wrong magic");
    memcpy(bad, img, ib);
    bad[2] = 0x0D;
    write_plain("bad-dtype", bad, ib);
    EXPECT_IDX_FAIL(t, ctx, "bad-dtype", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "bad-dtype",
                    "wrong dtype", "float32");
    write_gzip("bad-dtype-gz", bad, ib);
    EXPECT_IDX_FAIL(t, ctx, "bad-dtype-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "bad-dtype-gz",
                    "wrong dtype");
    /* images and labels swapped: the dimension count says so */
    EXPECT_IDX_FAIL(t, ctx, "ok-labels", "ok-images", PORTA_ERROR_CORRUPT_DATA, "ok-labels",
                    "1 dimensions, expected 3");
    EXPECT_IDX_FAIL(t, ctx, "ok-images", "ok-images", PORTA_ERROR_CORRUPT_DATA, "ok-images",
                    "3 dimensions, expected 1");

    memcpy(bad, img, ib);
    put_be32(bad + 8, 0);
    write_plain("zero-height", bad, ib);
    EXPECT_IDX_FAIL(t, ctx, "zero-height", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "zero-height",
                    "absurd");
    memcpy(bad, img, ib);
    put_be32(bad + 12, 100000);
    write_gzip("huge-width-gz", bad, ib);
    EXPECT_IDX_FAIL(t, ctx, "huge-width-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "huge-width-gz",
                    "absurd", "100000");
    memcpy(bad, img, ib);
    put_be32(bad + 4, 0xFFFFFFFFu);
    put_be32(bad + 8, 4096);
    put_be32(bad + 12, 4096);
    write_gzip("huge-count-gz", bad, ib);
    EXPECT_IDX_FAIL(t, ctx, "huge-count-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "huge-count-gz",
                    "absurd size", "4294967295 images");
    memcpy(bad, img, ib);
    put_be32(bad + 4, 0);
    write_plain("zero-count", bad, 16);
    EXPECT_IDX_FAIL(t, ctx, "zero-count", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "zero-count",
                    "0 images");
    /* a header promising far more than the (gzip) file holds */
    memcpy(bad, img, ib);
    put_be32(bad + 4, 1000000);
    write_gzip("overpromise-gz", bad, ib);
    size_t lb_big;
    uint8_t *lab_big = idx_labels(1000000, &lb_big);
    write_gzip("labels-1e6-gz", lab_big, lb_big);
    free(lab_big);
    EXPECT_IDX_FAIL(t, ctx, "overpromise-gz", "labels-1e6-gz", PORTA_ERROR_CORRUPT_DATA,
                    "overpromise-gz", "truncated", "expected 15000000 bytes", "got 105");

    size_t lb6;
    uint8_t *lab6 = idx_labels(6, &lb6);
    write_plain("labels-6", lab6, lb6);
    free(lab6);
    EXPECT_IDX_FAIL(t, ctx, "ok-images", "labels-6", PORTA_ERROR_CORRUPT_DATA, "ok-images",
                    "labels-6", "mismatch", "7 images", "6 labels");

    memcpy(bad, lab, lb);
    bad[8 + 4] = 10;
    write_plain("label-10", bad, lb);
    EXPECT_IDX_FAIL(t, ctx, "ok-images", "label-10", PORTA_ERROR_CORRUPT_DATA, "label-10",
                    "label 10 of record 4", ">= 10 classes");
    write_gzip("label-10-gz", bad, lb);
    EXPECT_IDX_FAIL(t, ctx, "ok-images", "label-10-gz", PORTA_ERROR_CORRUPT_DATA, "label-10-gz",
                    "label 10");

    uint8_t *longer = malloc(ib + 3);
    memcpy(longer, img, ib);
    memset(longer + ib, 0, 3);
    write_plain("trailing", longer, ib + 3);
    EXPECT_IDX_FAIL(t, ctx, "trailing", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trailing",
                    "trailing bytes");
    write_gzip("trailing-gz", longer, ib + 3);
    EXPECT_IDX_FAIL(t, ctx, "trailing-gz", "ok-labels", PORTA_ERROR_CORRUPT_DATA, "trailing-gz",
                    "trailing bytes");
    free(longer);

    /* a directory where a file should be */
    mkdir(path_of("a-dir"), 0700);
    EXPECT_IDX_FAIL(t, ctx, "a-dir", "ok-labels", PORTA_ERROR_IO, "a-dir");

    porta_image_set s;
    CHECK(t,
          porta_image_set_load_idx(ctx, NULL, path_of("ok-labels"), &s) ==
              PORTA_ERROR_INVALID_ARGUMENT,
          "NULL images_path");
    CHECK(t, strstr(porta_context_message(ctx), "images_path") != NULL, "message names it: %s",
          porta_context_message(ctx));
    free(bad);
    free(img);
    free(lab);
}

/* ---- CIFAR-10 ----------------------------------------------------------- */

#define EXPECT_CIFAR_FAIL(t, ctx, names, n, want, ...)                                             \
    do {                                                                                           \
        const char *paths_[8];                                                                     \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            paths_[i_] = path_of((names)[i_]);                                                     \
        porta_image_set s_;                                                                        \
        memset(&s_, 0xA5, sizeof(s_));                                                             \
        porta_status st_ = porta_image_set_load_cifar10((ctx), paths_, (n), &s_);                  \
        CHECK_ERROR((t), (ctx), st_, (want), (names)[(n)-1], __VA_ARGS__);                         \
        CHECK((t), is_zero_set(&s_), "%s: output not zeroed after failure", (names)[(n)-1]);       \
        if (st_ == PORTA_OK)                                                                       \
            porta_image_set_destroy((ctx), &s_);                                                   \
    } while (0)

static void test_cifar(test_state *t, porta_context *ctx)
{
    size_t b1, b2;
    uint8_t *r1 = cifar_records(3, 0, &b1), *r2 = cifar_records(2, 3, &b2);
    write_plain("c1.bin", r1, b1);
    write_gzip("c2.bin", r2, b2);

    const char *paths[2] = {path_of("c1.bin"), path_of("c2.bin")};
    porta_image_set s;
    porta_status st = porta_image_set_load_cifar10(ctx, paths, 2, &s);
    CHECK_OK(t, ctx, st, "cifar round trip");
    if (st == PORTA_OK) {
        CHECK(t,
              s.count == 5 && s.channels == 3 && s.height == 32 && s.width == 32 && s.classes == 10,
              "cifar shape %zu x %u x %u x %u, %u classes", s.count, s.channels, s.height, s.width,
              s.classes);
        size_t bad = 0;
        for (size_t i = 0; i < 5 && s.count == 5; i++) {
            bad += s.labels[i] != i % 10;
            for (size_t j = 0; j < 3072; j++)
                bad += s.pixels[i * 3072 + j] != (uint8_t)((i * 13 + j) & 255);
        }
        CHECK(t, bad == 0, "cifar: %zu pixels or labels differ", bad);
    }
    porta_image_set_destroy(ctx, &s);

    const char *missing[] = {"c1.bin", "no-such.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, missing, 2, PORTA_ERROR_IO, "no-such.bin", "cannot open");
    write_plain("c-empty.bin", "", 0);
    const char *empty[] = {"c-empty.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, empty, 1, PORTA_ERROR_CORRUPT_DATA, "c-empty.bin", "is empty");
    write_plain("c-short.bin", r1, b1 - 100);
    const char *shorter[] = {"c1.bin", "c-short.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, shorter, 2, PORTA_ERROR_CORRUPT_DATA, "c-short.bin", "not a multiple",
                      "3073");
    write_gzip("c-long.bin", r1, 3073 + 1);
    const char *longer[] = {"c-long.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, longer, 1, PORTA_ERROR_CORRUPT_DATA, "c-long.bin", "not a multiple",
                      "1 bytes left over");
    r2[3073] = 10;
    write_plain("c-label.bin", r2, b2);
    const char *label[] = {"c1.bin", "c-label.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, label, 2, PORTA_ERROR_CORRUPT_DATA, "c-label.bin",
                      "label 10 of record 1", ">= 10 classes");
    r2[3073] = 255;
    write_gzip("c-label-gz.bin", r2, b2);
    const char *label_gz[] = {"c-label-gz.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, label_gz, 1, PORTA_ERROR_CORRUPT_DATA, "c-label-gz.bin", "label 255");
    cut_file("c-cut.bin", r1, b1, 8);
    const char *cut[] = {"c-cut.bin"};
    EXPECT_CIFAR_FAIL(t, ctx, cut, 1, PORTA_ERROR_CORRUPT_DATA, "c-cut.bin", "truncated", "gzip");
    CHECK(t, porta_image_set_load_cifar10(ctx, paths, 0, &s) == PORTA_ERROR_INVALID_ARGUMENT,
          "no paths");
    free(r1);
    free(r2);
}

/* ---- directories -------------------------------------------------------- */

static void test_dir(test_state *t, porta_context *ctx)
{
    /* MNIST names, gzip'd like Debian's */
    mkdir(path_of("mnist"), 0700);
    size_t ib, lb;
    uint8_t *img = idx_images(7, 5, 3, &ib), *lab = idx_labels(7, &lb);
    write_gzip("mnist/train-images-idx3-ubyte.gz", img, ib);
    write_gzip("mnist/train-labels-idx1-ubyte.gz", lab, lb);
    free(img);
    free(lab);
    img = idx_images(4, 5, 3, &ib);
    lab = idx_labels(4, &lb);
    write_plain("mnist/t10k-images-idx3-ubyte", img, ib);
    write_plain("mnist/t10k-labels-idx1-ubyte", lab, lb);
    free(img);
    free(lab);
    porta_image_set s;
    porta_status st = porta_image_set_load_dir(ctx, path_of("mnist"), true, &s);
    CHECK_OK(t, ctx, st, "mnist dir, train");
    if (!st)
        check_idx_content(t, &s, 7, 5, 3, "mnist dir, train");
    porta_image_set_destroy(ctx, &s);
    st = porta_image_set_load_dir(ctx, path_of("mnist"), false, &s);
    CHECK_OK(t, ctx, st, "mnist dir, test");
    if (!st)
        check_idx_content(t, &s, 4, 5, 3, "mnist dir, test");
    porta_image_set_destroy(ctx, &s);

    /* images without labels: the message names the labels file wanted */
    mkdir(path_of("half"), 0700);
    img = idx_images(2, 2, 2, &ib);
    write_plain("half/train-images-idx3-ubyte", img, ib);
    free(img);
    st = porta_image_set_load_dir(ctx, path_of("half"), true, &s);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_IO, "images without labels", "train-labels-idx1-ubyte");

    /* CIFAR-10 inside cifar-10-batches-bin/ */
    mkdir(path_of("cifar"), 0700);
    mkdir(path_of("cifar/cifar-10-batches-bin"), 0700);
    size_t total = 0;
    for (int i = 1; i <= 5; i++) {
        char name[128];
        size_t b;
        uint8_t *r = cifar_records((size_t)i, total, &b);
        snprintf(name, sizeof(name), "cifar/cifar-10-batches-bin/data_batch_%d.bin", i);
        write_plain(name, r, b);
        free(r);
        total += (size_t)i;
    }
    size_t b;
    uint8_t *r = cifar_records(2, 0, &b);
    write_plain("cifar/cifar-10-batches-bin/test_batch.bin", r, b);
    free(r);
    st = porta_image_set_load_dir(ctx, path_of("cifar"), true, &s);
    CHECK_OK(t, ctx, st, "cifar dir, train");
    CHECK(t, s.count == total && s.channels == 3, "cifar dir train: %zu images, expected %zu",
          s.count, total);
    size_t bad = 0;
    for (size_t i = 0; i < s.count; i++)
        bad += s.labels[i] != i % 10 || s.pixels[i * 3072 + 5] != (uint8_t)((i * 13 + 5) & 255);
    CHECK(t, bad == 0, "cifar dir train: files concatenated in order (%zu wrong)", bad);
    porta_image_set_destroy(ctx, &s);
    st = porta_image_set_load_dir(ctx, path_of("cifar/cifar-10-batches-bin"), false, &s);
    CHECK_OK(t, ctx, st, "cifar dir, test");
    CHECK(t, s.count == 2, "cifar dir test: %zu images", s.count);
    porta_image_set_destroy(ctx, &s);

    unlink(path_of("cifar/cifar-10-batches-bin/data_batch_3.bin"));
    st = porta_image_set_load_dir(ctx, path_of("cifar"), true, &s);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_IO, "cifar batch missing", "data_batch_3.bin");
    CHECK(t, is_zero_set(&s), "cifar batch missing: output zeroed");

    mkdir(path_of("nothing"), 0700);
    st = porta_image_set_load_dir(ctx, path_of("nothing"), true, &s);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_IO, "empty dir", "nothing", "train-images-idx3-ubyte",
                "data_batch_1.bin");
    st = porta_image_set_load_dir(ctx, path_of("no-such-dir"), false, &s);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_IO, "missing dir", "no-such-dir");
}

static void test_fashion_mnist(test_state *t, porta_context *ctx)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        printf("note: %s absent (Debian package dataset-fashion-mnist): real-data check "
               "skipped\n",
               dir);
        return;
    }
    for (int train = 1; train >= 0; train--) {
        porta_image_set s;
        porta_status st = porta_image_set_load_dir(ctx, dir, train, &s);
        CHECK_OK(t, ctx, st, train ? "fashion-mnist train" : "fashion-mnist test");
        size_t want = train ? 60000 : 10000;
        CHECK(t,
              s.count == want && s.channels == 1 && s.height == 28 && s.width == 28 &&
                  s.classes == 10,
              "fashion-mnist: %zu x %u x %u x %u, %u classes", s.count, s.channels, s.height,
              s.width, s.classes);
        /* Fashion-MNIST is balanced: count / 10 of each class. */
        size_t per[10] = {0};
        for (size_t i = 0; i < s.count; i++)
            per[s.labels[i] % 10]++;
        int balanced = 1;
        for (int c = 0; c < 10; c++)
            balanced &= per[c] == want / 10;
        CHECK(t, balanced, "fashion-mnist %s: classes not %zu each (class 0: %zu)",
              train ? "train" : "test", want / 10, per[0]);
        porta_image_set_destroy(ctx, &s);
    }
    printf("fashion-mnist: loaded from %s\n", dir);
}

/* ---- batch loader -------------------------------------------------------- */

#define LN 50
#define LC 3
#define LH 6
#define LW 5
#define LIMG (LC * LH * LW)
#define LB 8
#define LBATCHES (LN / LB)

/* An image set whose images are told apart by pixel 0 (= index). */
static void make_set(porta_image_set *s, uint8_t *pixels, uint8_t *labels)
{
    for (size_t i = 0; i < LN; i++) {
        for (size_t j = 0; j < LIMG; j++)
            pixels[i * LIMG + j] = (uint8_t)((i * 37 + j * 11 + 3) & 255);
        pixels[i * LIMG] = (uint8_t)i;
        labels[i] = (uint8_t)((i * 7) % 10);
    }
    memset(s, 0, sizeof(*s));
    s->count = LN;
    s->channels = LC;
    s->height = LH;
    s->width = LW;
    s->classes = 10;
    s->pixels = pixels;
    s->labels = labels;
}

static porta_batch_loader_config make_cfg(uint64_t seed, int shuffle, int augment)
{
    porta_batch_loader_config c;
    memset(&c, 0, sizeof(c));
    c.batch = LB;
    c.seed = seed;
    c.shuffle = shuffle;
    c.augment = augment;
    c.mean[0] = 0.49f, c.mean[1] = 0.48f, c.mean[2] = 0.45f;
    c.std[0] = 0.25f, c.std[1] = 0.24f, c.std[2] = 0.26f;
    return c;
}

static float norm(const porta_batch_loader_config *c, unsigned ch, uint8_t p)
{
    return ((float)p / 255.0f - c->mean[ch]) / c->std[ch];
}

typedef struct batch {
    float img[LB * LIMG];
    uint32_t lab[LB];
    uint64_t epoch;
    size_t index;
} batch;

static int same_batch(const batch *a, const batch *b)
{
    return memcmp(a->img, b->img, sizeof(a->img)) == 0 &&
           memcmp(a->lab, b->lab, sizeof(a->lab)) == 0 && a->epoch == b->epoch &&
           a->index == b->index;
}

/* n batches from a fresh loader. */
static int run_loader(test_state *t, porta_context *ctx, const porta_image_set *s,
                      const porta_batch_loader_config *c, batch *out, size_t n)
{
    porta_batch_loader *l = NULL;
    porta_status st = porta_batch_loader_create(ctx, s, c, &l);
    CHECK_OK(t, ctx, st, "loader create");
    if (st)
        return 0;
    for (size_t i = 0; i < n && !st; i++)
        st = porta_batch_loader_next(ctx, l, out[i].img, out[i].lab, &out[i].epoch, &out[i].index);
    CHECK_OK(t, ctx, st, "loader next");
    porta_batch_loader_destroy(ctx, l);
    return st == PORTA_OK;
}

/* The sample an unaugmented image came from (its pixel 0), or -1. */
static int sample_of(const porta_batch_loader_config *c, const porta_image_set *s, const float *img)
{
    for (size_t i = 0; i < s->count; i++)
        if (img[0] == norm(c, 0, s->pixels[i * LIMG]))
            return (int)i;
    return -1;
}

static void test_loader_order(test_state *t, porta_context *ctx, const porta_image_set *s)
{
    enum { N = 3 * LBATCHES + 2 };
    static batch a[N], b[N], d[N];
    porta_batch_loader_config c = make_cfg(1234, 1, 0);
    if (!run_loader(t, ctx, s, &c, a, N) || !run_loader(t, ctx, s, &c, b, N))
        return;
    size_t diff = 0;
    for (size_t i = 0; i < N; i++)
        diff += !same_batch(&a[i], &b[i]);
    CHECK(t, diff == 0, "same seed: %zu of %d batches differ", diff, N);
    size_t pos = 0;
    for (size_t i = 0; i < N; i++)
        pos += a[i].epoch == i / LBATCHES && a[i].index == i % LBATCHES;
    CHECK(t, pos == N, "epoch/index run (0,0)..(0,%d),(1,0)..: %zu of %d right", LBATCHES - 1, pos,
          N);

    /* every image is exactly the normalised image of the sample with that
     * pixel 0, with its label; an epoch never repeats a sample */
    size_t wrong = 0, repeats = 0;
    for (size_t e = 0; e < 3; e++) {
        int seen[LN] = {0};
        for (size_t k = 0; k < LBATCHES; k++) {
            const batch *x = &a[e * LBATCHES + k];
            for (size_t i = 0; i < LB; i++) {
                const float *img = x->img + i * LIMG;
                int smp = sample_of(&c, s, img);
                if (smp < 0) {
                    wrong++;
                    continue;
                }
                repeats += seen[smp]++ > 0;
                wrong += x->lab[i] != s->labels[smp];
                for (size_t j = 0; j < LIMG; j++)
                    wrong +=
                        img[j] != norm(&c, (unsigned)(j / (LH * LW)), s->pixels[smp * LIMG + j]);
            }
        }
    }
    CHECK(t, wrong == 0 && repeats == 0, "shuffled batches: %zu wrong values, %zu repeats", wrong,
          repeats);

    /* the order changes with the epoch and with the seed */
    CHECK(t,
          memcmp(a[0].lab, a[LBATCHES].lab, sizeof(a[0].lab)) != 0 ||
              memcmp(a[0].img, a[LBATCHES].img, sizeof(a[0].img)) != 0,
          "epoch 1 starts like epoch 0");
    porta_batch_loader_config c2 = make_cfg(1235, 1, 0);
    if (!run_loader(t, ctx, s, &c2, d, N))
        return;
    diff = 0;
    for (size_t i = 0; i < N; i++)
        diff += !same_batch(&a[i], &d[i]);
    CHECK(t, diff > N / 2, "seed 1235 vs 1234: only %zu of %d batches differ", diff, N);

    /* unshuffled: the set's order, normalisation value by value */
    porta_batch_loader_config c0 = make_cfg(7, 0, 0);
    if (!run_loader(t, ctx, s, &c0, d, LBATCHES + 1))
        return;
    wrong = 0;
    for (size_t k = 0; k <= LBATCHES; k++)
        for (size_t i = 0; i < LB; i++) {
            size_t smp = (k % LBATCHES) * LB + i;
            wrong += d[k].lab[i] != s->labels[smp];
            for (size_t j = 0; j < LIMG; j++) {
                unsigned ch = (unsigned)(j / (LH * LW));
                float want = ((float)s->pixels[smp * LIMG + j] / 255.0f - c0.mean[ch]) / c0.std[ch];
                wrong += d[k].img[i * LIMG + j] != want;
            }
        }
    CHECK(t, wrong == 0, "unshuffled: %zu values differ from (p/255 - mean)/std", wrong);
    /* spot value: pixel 255 in channel 1 */
    CHECK(t, fabsf(norm(&c0, 1, 255) - (1.0f - 0.48f) / 0.24f) < 1e-6f, "normalisation formula");

    /* seek(e, b) gives what the sequential run gave at that position */
    porta_batch_loader *l = NULL;
    porta_status st = porta_batch_loader_create(ctx, s, &c, &l);
    CHECK_OK(t, ctx, st, "loader create");
    if (st)
        return;
    CHECK(t, porta_batch_loader_batches_per_epoch(l) == LBATCHES, "batches per epoch %zu",
          porta_batch_loader_batches_per_epoch(l));
    static const size_t seeks[][2] = {{2, 1}, {0, 4}, {1, LBATCHES - 1}, {0, 0}, {2, 3}};
    batch x;
    size_t bad = 0;
    for (size_t k = 0; k < sizeof(seeks) / sizeof(seeks[0]); k++) {
        /* let the ring fill first, so that seek must discard prepared batches */
        if (k % 2 == 0)
            porta_batch_loader_next(ctx, l, x.img, x.lab, &x.epoch, &x.index);
        st = porta_batch_loader_seek(ctx, l, seeks[k][0], seeks[k][1]);
        CHECK_OK(t, ctx, st, "seek");
        size_t at = seeks[k][0] * LBATCHES + seeks[k][1];
        for (size_t m = 0; m < 3 && at + m < N; m++) {
            porta_batch_loader_next(ctx, l, x.img, x.lab, &x.epoch, &x.index);
            bad += !same_batch(&x, &a[at + m]);
        }
    }
    CHECK(t, bad == 0, "seek: %zu batches differ from the sequential run", bad);
    st = porta_batch_loader_seek(ctx, l, 0, LBATCHES);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "seek past the epoch", "batch");
    /* a far epoch: as a fresh run reaching it */
    st = porta_batch_loader_seek(ctx, l, 1000000007ull, 2);
    CHECK_OK(t, ctx, st, "seek far");
    porta_batch_loader_next(ctx, l, x.img, x.lab, &x.epoch, &x.index);
    CHECK(t, x.epoch == 1000000007ull && x.index == 2, "far seek position %llu/%zu",
          (unsigned long long)x.epoch, x.index);
    int found = sample_of(&c, s, x.img) >= 0;
    CHECK(t, found, "far seek: images are set images");
    porta_batch_loader_destroy(ctx, l);
}

/* Does img equal sample smp cropped at (dy, dx) and maybe flipped? */
static int is_crop(const porta_batch_loader_config *c, const porta_image_set *s, size_t smp,
                   const float *img, int dy, int dx, int flip)
{
    for (unsigned ch = 0; ch < LC; ch++)
        for (int y = 0; y < LH; y++)
            for (int x = 0; x < LW; x++) {
                int sy = y + dy, sx = (flip ? LW - 1 - x : x) + dx;
                uint8_t p = 0;
                if (sy >= 0 && sy < LH && sx >= 0 && sx < LW)
                    p = s->pixels[smp * LIMG + ch * LH * LW + (size_t)sy * LW + (size_t)sx];
                if (img[ch * LH * LW + y * LW + x] != norm(c, ch, p))
                    return 0;
            }
    return 1;
}

static void test_loader_augment(test_state *t, porta_context *ctx, const porta_image_set *s)
{
    enum { N = 2 * LBATCHES };
    static batch a[N], b[N];
    porta_batch_loader_config c = make_cfg(99, 0, 1);
    if (!run_loader(t, ctx, s, &c, a, N) || !run_loader(t, ctx, s, &c, b, N))
        return;
    size_t diff = 0;
    for (size_t i = 0; i < N; i++)
        diff += !same_batch(&a[i], &b[i]);
    CHECK(t, diff == 0, "augment, same seed: %zu of %d batches differ", diff, N);

    /* each image is one crop (offset -4..4 per axis, zero padding) and
     * maybe a flip of its sample; both flips and many offsets occur */
    size_t unexplained = 0, flips = 0, identity = 0, epoch_same = 0;
    int offsets[9][9] = {{0}};
    int choice[2][LN][3] = {{{0}}};
    for (size_t k = 0; k < N; k++)
        for (size_t i = 0; i < LB; i++) {
            size_t smp = (k % LBATCHES) * LB + i;
            const float *img = a[k].img + i * LIMG;
            int hit = 0;
            for (int dy = -4; dy <= 4 && !hit; dy++)
                for (int dx = -4; dx <= 4 && !hit; dx++)
                    for (int f = 0; f < 2 && !hit; f++)
                        if (is_crop(&c, s, smp, img, dy, dx, f)) {
                            hit = 1;
                            flips += (size_t)f;
                            identity += dy == 0 && dx == 0 && f == 0;
                            offsets[dy + 4][dx + 4] = 1;
                            choice[k / LBATCHES][smp][0] = dy;
                            choice[k / LBATCHES][smp][1] = dx;
                            choice[k / LBATCHES][smp][2] = f;
                        }
            unexplained += !hit;
            if (a[k].lab[i] != s->labels[smp])
                unexplained++;
        }
    size_t distinct = 0;
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 9; x++)
            distinct += (size_t)offsets[y][x];
    for (size_t smp = 0; smp < LBATCHES * LB; smp++)
        epoch_same += memcmp(choice[0][smp], choice[1][smp], sizeof(choice[0][smp])) == 0;
    size_t total = (size_t)N * LB;
    CHECK(t, unexplained == 0, "augment: %zu of %zu images are no crop/flip of their sample",
          unexplained, total);
    CHECK(t, flips > total / 4 && flips < 3 * total / 4, "augment: %zu of %zu flipped", flips,
          total);
    CHECK(t, identity < total / 4, "augment: %zu of %zu untouched", identity, total);
    CHECK(t, distinct >= 20, "augment: only %zu distinct crop offsets", distinct);
    CHECK(t, epoch_same < LBATCHES * LB / 4,
          "augment: %zu samples got the same crop in epochs 0 "
          "and 1",
          epoch_same);

    /* seek lands on the same augmentation */
    porta_batch_loader *l = NULL;
    porta_status st = porta_batch_loader_create(ctx, s, &c, &l);
    CHECK_OK(t, ctx, st, "augment loader");
    if (st)
        return;
    batch x;
    st = porta_batch_loader_seek(ctx, l, 1, 3);
    porta_batch_loader_next(ctx, l, x.img, x.lab, &x.epoch, &x.index);
    CHECK(t, st == PORTA_OK && same_batch(&x, &a[LBATCHES + 3]), "augment: seek(1, 3) differs");
    porta_batch_loader_destroy(ctx, l);
}

static void test_loader_lifecycle(test_state *t, porta_context *ctx, const porta_image_set *s)
{
    porta_batch_loader_config c = make_cfg(5, 1, 1);
    /* destroy at once, and with a full ring */
    for (int k = 0; k < 20; k++) {
        porta_batch_loader *l = NULL;
        porta_status st = porta_batch_loader_create(ctx, s, &c, &l);
        CHECK_OK(t, ctx, st, "create");
        if (k % 2) {
            batch x;
            porta_batch_loader_next(ctx, l, x.img, x.lab, NULL, NULL);
            porta_batch_loader_seek(ctx, l, (uint64_t)k, (size_t)k % LBATCHES);
        }
        porta_batch_loader_destroy(ctx, l);
    }
    porta_batch_loader_destroy(ctx, NULL);
    CHECK(t, porta_batch_loader_batches_per_epoch(NULL) == 0, "batches_per_epoch(NULL)");

    /* batch == count: one batch per epoch; odd count: the remainder dropped */
    porta_batch_loader_config one = c;
    one.batch = LN;
    porta_batch_loader *l = NULL;
    porta_status st = porta_batch_loader_create(ctx, s, &one, &l);
    CHECK_OK(t, ctx, st, "batch == count");
    CHECK(t, porta_batch_loader_batches_per_epoch(l) == 1, "batch == count: 1 batch");
    porta_batch_loader_destroy(ctx, l);
    one.batch = 7;
    st = porta_batch_loader_create(ctx, s, &one, &l);
    CHECK(t, porta_batch_loader_batches_per_epoch(l) == LN / 7, "batch 7: %zu batches",
          porta_batch_loader_batches_per_epoch(l));
    porta_batch_loader_destroy(ctx, l);

    porta_batch_loader_config bad = c;
    bad.batch = 0;
    st = porta_batch_loader_create(ctx, s, &bad, &l);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "batch 0", "batch");
    CHECK(t, l == NULL, "failed create leaves *out NULL");
    bad.batch = LN + 1;
    st = porta_batch_loader_create(ctx, s, &bad, &l);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "batch > count", "batch 51");
    bad = c;
    bad.std[2] = 0.0f;
    st = porta_batch_loader_create(ctx, s, &bad, &l);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "std 0", "std[2]");
    bad = c;
    bad.mean[1] = NAN;
    st = porta_batch_loader_create(ctx, s, &bad, &l);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "mean NaN", "mean[1]");
    porta_image_set five = *s;
    five.channels = 5;
    st = porta_batch_loader_create(ctx, &five, &c, &l);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "5 channels", "channels");
}

static void test_loader(test_state *t, porta_context *ctx)
{
    static uint8_t pixels[LN * LIMG], labels[LN];
    porta_image_set s;
    make_set(&s, pixels, labels);
    test_loader_order(t, ctx, &s);
    test_loader_augment(t, ctx, &s);
    test_loader_lifecycle(t, ctx, &s);
}

/* ---- text ---------------------------------------------------------------- */

#define EXPECT_TEXT_FAIL(t, ctx, name, frac, want, ...)                                            \
    do {                                                                                           \
        porta_text x_;                                                                             \
        memset(&x_, 0xA5, sizeof(x_));                                                             \
        porta_status st_ = porta_text_load((ctx), path_of(name), (frac), &x_);                     \
        CHECK_ERROR((t), (ctx), st_, (want), name, __VA_ARGS__);                                   \
        CHECK((t), x_.bytes == NULL && x_.size == 0, "%s: output not zeroed", name);               \
        if (st_ == PORTA_OK)                                                                       \
            porta_text_destroy((ctx), &x_);                                                        \
    } while (0)

/* Offset of the first occurrence of w[0, n) in hay[0, len), or -1. */
static long find(const uint8_t *hay, size_t len, const uint32_t *w, const uint32_t *last, size_t n)
{
    for (size_t o = 0; o + n < len; o++) {
        size_t k = 0;
        while (k < n && hay[o + k] == w[k])
            k++;
        if (k == n && hay[o + n] == *last)
            return (long)o;
    }
    return -1;
}

static void test_text(test_state *t, porta_context *ctx)
{
    /* 1000 pseudo-random letters and punctuation plus some UTF-8 */
    uint8_t buf[1024];
    uint32_t x = 12345;
    const char *alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:\n";
    size_t alen = strlen(alphabet);
    for (size_t i = 0; i < 1000; i++) {
        x = x * 1664525u + 1013904223u;
        buf[i] = (uint8_t)alphabet[(x >> 16) % alen];
    }
    memcpy(buf + 100, "\xC3\xA9\xE6\xBC\xA2\xF0\x9F\x98\x80", 9); /* é 漢 😀 */
    write_plain("text.txt", buf, 1000);
    porta_text tx;
    porta_status st = porta_text_load(ctx, path_of("text.txt"), 0.1f, &tx);
    CHECK_OK(t, ctx, st, "text load");
    if (st)
        return;
    CHECK(t, tx.size == 1000 && memcmp(tx.bytes, buf, 1000) == 0, "text bytes");
    CHECK(t, tx.train_size == 900, "split 0.1: train %zu of %zu", tx.train_size, tx.size);
    porta_text t0;
    st = porta_text_load(ctx, path_of("text.txt"), 0.0f, &t0);
    CHECK(t, st == PORTA_OK && t0.train_size == 1000, "split 0: train %zu", t0.train_size);
    porta_text_destroy(ctx, &t0);
    CHECK(t, t0.bytes == NULL && t0.size == 0, "text free zeroes");
    write_gzip("text.txt.gz", buf, 1000);
    st = porta_text_load(ctx, path_of("text.txt.gz"), 0.25f, &t0);
    CHECK(t,
          st == PORTA_OK && t0.size == 1000 && t0.train_size == 750 &&
              memcmp(t0.bytes, buf, 1000) == 0,
          "gzip text");
    porta_text_destroy(ctx, &t0);

    /* batches: windows of the split, targets shifted by one */
    enum { B = 16, T = 12 };
    uint32_t in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    for (int split = 0; split < 2; split++) {
        const uint8_t *base = tx.bytes + (split ? tx.train_size : 0);
        size_t len = split ? tx.size - tx.train_size : tx.train_size;
        size_t outside = 0, shifted = 0, lo = len, hi = 0;
        for (uint64_t step = 0; step < 40; step++) {
            st = porta_text_batch(ctx, &tx, (porta_text_split)split, B, T, 42, step, in, tg);
            CHECK_OK(t, ctx, st, "text batch");
            for (size_t b = 0; b < B; b++) {
                for (size_t k = 0; k + 1 < T; k++)
                    shifted += tg[b * T + k] != in[b * T + k + 1];
                long o = find(base, len, in + b * T, tg + b * T + T - 1, T);
                if (o < 0) {
                    outside++;
                    continue;
                }
                lo = (size_t)o < lo ? (size_t)o : lo;
                hi = (size_t)o > hi ? (size_t)o : hi;
            }
        }
        CHECK(t, outside == 0 && shifted == 0,
              "split %d: %zu windows not from the split, %zu targets not shifted", split, outside,
              shifted);
        /* 640 draws over the possible starts reach both ends' neighbourhood */
        CHECK(t, lo < len / 10 && hi > len - T - 1 - len / 10 && hi <= len - T - 1,
              "split %d: starts span %zu..%zu of %zu", split, lo, hi, len - T - 1);
    }
    st = porta_text_batch(ctx, &tx, PORTA_TEXT_TRAIN, B, T, 42, 7, in, tg);
    porta_status st2 = porta_text_batch(ctx, &tx, PORTA_TEXT_TRAIN, B, T, 42, 7, in2, tg2);
    CHECK(t, !st && !st2 && !memcmp(in, in2, sizeof(in)) && !memcmp(tg, tg2, sizeof(tg)),
          "text batch: same (seed, step) gives the same batch");
    porta_text_batch(ctx, &tx, PORTA_TEXT_TRAIN, B, T, 42, 8, in2, tg2);
    CHECK(t, memcmp(in, in2, sizeof(in)) != 0, "text batch: step 8 equals step 7");
    porta_text_batch(ctx, &tx, PORTA_TEXT_TRAIN, B, T, 43, 7, in2, tg2);
    CHECK(t, memcmp(in, in2, sizeof(in)) != 0, "text batch: seed 43 equals seed 42");
    CHECK(t, memcmp(in, in + T, T * sizeof(uint32_t)) != 0, "text batch: rows 0 and 1 equal");

    st = porta_text_batch(ctx, &tx, PORTA_TEXT_VALIDATION, 1, 100, 1, 0, in, tg);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "context too long", "validation",
                "100 bytes");
    st = porta_text_batch(ctx, &tx, (porta_text_split)2, 1, 4, 1, 0, in, tg);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "split 2", "split 2");
    st = porta_text_batch(ctx, &tx, PORTA_TEXT_TRAIN, 0, 4, 1, 0, in, tg);
    CHECK_ERROR(t, ctx, st, PORTA_ERROR_INVALID_ARGUMENT, "batch 0", "batch 0");
    porta_text_destroy(ctx, &tx);
    porta_text_destroy(ctx, NULL);

    EXPECT_TEXT_FAIL(t, ctx, "no-such.txt", 0.1f, PORTA_ERROR_IO, "no-such.txt", "cannot open");
    write_plain("empty.txt", "", 0);
    EXPECT_TEXT_FAIL(t, ctx, "empty.txt", 0.1f, PORTA_ERROR_CORRUPT_DATA, "empty.txt", "empty");
    uint8_t bin[1000];
    memcpy(bin, buf, 1000);
    bin[500] = 0;
    write_plain("nul.txt", bin, 1000);
    EXPECT_TEXT_FAIL(t, ctx, "nul.txt", 0.1f, PORTA_ERROR_CORRUPT_DATA, "nul.txt", "binary",
                     "NUL byte at offset 500");
    /* 10 stray bytes in 1000 (1%) pass; 11 do not */
    memcpy(bin, buf, 1000);
    for (int i = 0; i < 10; i++)
        bin[200 + 50 * i] = (uint8_t)(0x80 + i); /* lone continuation bytes */
    write_plain("ten-stray.txt", bin, 1000);
    st = porta_text_load(ctx, path_of("ten-stray.txt"), 0.1f, &t0);
    CHECK_OK(t, ctx, st, "10 stray bytes in 1000");
    porta_text_destroy(ctx, &t0);
    bin[900] = 0x01; /* a control character */
    write_plain("eleven-stray.txt", bin, 1000);
    EXPECT_TEXT_FAIL(t, ctx, "eleven-stray.txt", 0.1f, PORTA_ERROR_CORRUPT_DATA, "eleven-stray.txt",
                     "binary", "11 of 1000", "offset 200");
    /* overlong and surrogate UTF-8 are not text */
    memcpy(bin, buf, 1000);
    for (int i = 0; i < 8; i++)
        memcpy(bin + 200 + 40 * i, i % 2 ? "\xC0\xAF" : "\xED\xA0\x80", i % 2 ? 2 : 3);
    write_plain("bad-utf8.txt", bin, 1000);
    EXPECT_TEXT_FAIL(t, ctx, "bad-utf8.txt", 0.1f, PORTA_ERROR_CORRUPT_DATA, "bad-utf8.txt",
                     "binary");
    EXPECT_TEXT_FAIL(t, ctx, "text.txt", 1.0f, PORTA_ERROR_INVALID_ARGUMENT, "val_fraction");
    EXPECT_TEXT_FAIL(t, ctx, "text.txt", NAN, PORTA_ERROR_INVALID_ARGUMENT, "val_fraction");
}

/* The text scripts/setup-debian.sh writes for the GPT demo, if it is there. */
static void test_kjv(test_state *t, porta_context *ctx)
{
    char path[1024];
    const char *env = getenv("PORTA_KJV_TEXT"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else if (xdg && *xdg)
        snprintf(path, sizeof(path), "%s/porta/kjv.txt", xdg);
    else
        snprintf(path, sizeof(path), "%s/.cache/porta/kjv.txt", home ? home : "");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("note: %s absent (scripts/setup-debian.sh writes it): check skipped\n", path);
        return;
    }
    porta_text tx;
    porta_status st = porta_text_load(ctx, path, 0.1f, &tx);
    CHECK_OK(t, ctx, st, path);
    CHECK(t, st != PORTA_OK || (tx.size > 4000000 && !memcmp(tx.bytes, "In the beginning", 16)),
          "%s: %zu bytes, starts \"%.16s\"", path, tx.size, st ? "" : (const char *)tx.bytes);
    porta_text_destroy(ctx, &tx);
}

int main(void)
{
    test_state t = {0};
    const char *base = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/porta-test-data-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK_OK(&t, ctx, st, "context");
    if (st == PORTA_OK) {
        test_idx_round_trip(&t, ctx);
        test_idx_corrupt(&t, ctx);
        test_cifar(&t, ctx);
        test_dir(&t, ctx);
        test_fashion_mnist(&t, ctx);
        test_loader(&t, ctx);
        test_text(&t, ctx);
        test_kjv(&t, ctx);
    }
    porta_context_destroy(ctx);
    remove_tree(g_dir);
    return test_finish(&t);
}
