/* make_fixture: small datasets for the porta-train tests.
 *
 *   make_fixture mnist DIR N_TRAIN N_TEST   an MNIST-format directory of 12x12
 *                                           images, 10 classes, learnable
 *   make_fixture cifar DIR N_TRAIN N_TEST   CIFAR-10 binary batches (32x32x3)
 *   make_fixture text FILE BYTES SEED       plain text made of a few sentences
 *
 * Deterministic: the same arguments give the same bytes. The class of an
 * image is where its bright square sits, plus noise, so a few steps learn it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void put32(FILE *f, uint32_t v)
{
    const unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
    fwrite(b, 1, 4, f);
}

/* One image: noise, and a bright 3x3 square at a place set by the label. */
static void image(unsigned char *px, unsigned side, unsigned channels, unsigned label,
                  uint32_t *rng)
{
    for (unsigned i = 0; i < side * side * channels; i++)
        px[i] = (unsigned char)(next(rng) % 64);
    const unsigned cx = 1 + (label % 5) * (side - 4) / 4, cy = 1 + (label / 5) * (side - 4) / 2;
    for (unsigned c = 0; c < channels; c++)
        for (unsigned y = cy; y < cy + 3; y++)
            for (unsigned x = cx; x < cx + 3; x++)
                px[c * side * side + y * side + x] = 250;
}

static int mnist(const char *dir, const char *prefix, unsigned n, uint32_t seed)
{
    char path[1024];
    const unsigned side = 12;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *fi = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *fl = fopen(path, "wb");
    if (!fi || !fl)
        return 1;
    put32(fi, 0x803);
    put32(fi, n);
    put32(fi, side);
    put32(fi, side);
    put32(fl, 0x801);
    put32(fl, n);
    unsigned char px[12 * 12];
    for (unsigned i = 0; i < n; i++) {
        const unsigned label = next(&seed) % 10;
        image(px, side, 1, label, &seed);
        fwrite(px, 1, sizeof px, fi);
        fputc((int)label, fl);
    }
    return fclose(fi) | fclose(fl);
}

static int cifar(const char *dir, const char *name, unsigned n, uint32_t seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    static unsigned char px[3 * 32 * 32];
    for (unsigned i = 0; i < n; i++) {
        const unsigned label = next(&seed) % 10;
        image(px, 32, 3, label, &seed);
        fputc((int)label, f);
        fwrite(px, 1, sizeof px, f);
    }
    return fclose(f);
}

static int text(const char *path, unsigned bytes, uint32_t seed)
{
    static const char *const words[] = {"the",  "lord", "said",  "unto", "moses", "and",
                                        "land", "of",   "light", "was",  "good",  "in"};
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    unsigned written = 0, in_line = 0;
    while (written < bytes) {
        const char *w = words[next(&seed) % 12];
        written += (unsigned)fprintf(f, "%s", w);
        if (++in_line == 8) {
            written += (unsigned)fprintf(f, ".\n");
            in_line = 0;
        } else {
            fputc(' ', f);
            written++;
        }
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr,
                "usage: make_fixture mnist|cifar DIR N_TRAIN N_TEST | text FILE BYTES SEED\n");
        return 2;
    }
    const unsigned a = (unsigned)strtoul(argv[3], NULL, 10),
                   b = (unsigned)strtoul(argv[4], NULL, 10);
    if (strcmp(argv[1], "mnist") == 0)
        return mnist(argv[2], "train", a, 1) | mnist(argv[2], "t10k", b, 2);
    if (strcmp(argv[1], "cifar") == 0) {
        int rc = 0;
        char name[32];
        for (int i = 1; i <= 5; i++) {
            snprintf(name, sizeof name, "data_batch_%d.bin", i);
            rc |= cifar(argv[2], name, a / 5, 10u + (uint32_t)i);
        }
        return rc | cifar(argv[2], "test_batch.bin", b, 99);
    }
    if (strcmp(argv[1], "text") == 0)
        return text(argv[2], a, b ? b : 1);
    return 2;
}
