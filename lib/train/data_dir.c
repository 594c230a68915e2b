/* data_dir.c: find a known data set's files in a directory and load them. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "train_internal.h"

#define PATH_CAP 4096

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The first of dir/<prefix><suffix_i> that exists into path; false if none. */
static bool find_first(char path[PATH_CAP], const char *dir, const char *prefix,
                       const char *const *suffixes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(path, PATH_CAP, "%s/%s%s", dir, prefix, suffixes[i]);
        if (len > 0 && len < PATH_CAP && is_file(path))
            return true;
    }
    return false;
}

/* true and the pair's paths if dir holds an MNIST-style split. */
static bool find_mnist(const char *dir, bool train, char images[PATH_CAP], char labels[PATH_CAP])
{
    static const char *const img_suffixes[] = {"-images-idx3-ubyte.gz", "-images-idx3-ubyte",
                                               "-images.idx3-ubyte"};
    static const char *const lab_suffixes[] = {"-labels-idx1-ubyte.gz", "-labels-idx1-ubyte",
                                               "-labels.idx1-ubyte"};
    const char *prefix = train ? "train" : "t10k";
    if (!find_first(images, dir, prefix, img_suffixes, 3))
        return false;
    if (!find_first(labels, dir, prefix, lab_suffixes, 3))
        /* Name the file the caller has to supply. */
        snprintf(labels, PATH_CAP, "%s/%s%s", dir, prefix, lab_suffixes[0]);
    return true;
}

static porta_status load_cifar_dir(porta_context *ctx, const char *base, bool train,
                                   porta_image_set *out)
{
    char names[5][PATH_CAP];
    const char *paths[5];
    size_t n = train ? 5 : 1;
    for (size_t i = 0; i < n; i++) {
        int len = train ? snprintf(names[i], PATH_CAP, "%s/data_batch_%zu.bin", base, i + 1)
                        : snprintf(names[i], PATH_CAP, "%s/test_batch.bin", base);
        if (len < 0 || len >= PATH_CAP)
            return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                             "porta_image_set_load_dir: dir too long: %s", base);
        paths[i] = names[i];
    }
    return porta_image_set_load_cifar10(ctx, paths, n, out);
}

porta_status porta_image_set_load_dir(porta_context *ctx, const char *dir, bool train,
                                      porta_image_set *out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_image_set_load_dir: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!dir)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_image_set_load_dir: dir is NULL");
    if (strlen(dir) > PATH_CAP - 64)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_image_set_load_dir: dir too long (%zu bytes)",
                                         strlen(dir));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return porta_context_set_message(ctx, PORTA_ERROR_IO, "%s: not a directory", dir);

    char images[PATH_CAP], labels[PATH_CAP];
    if (find_mnist(dir, train, images, labels))
        return porta_image_set_load_idx(ctx, images, labels, out);

    char sub[PATH_CAP];
    int len = snprintf(sub, PATH_CAP, "%s/cifar-10-batches-bin", dir);
    const char *bases[2] = {dir, sub};
    for (int b = 0; b < 2 && len > 0 && len < PATH_CAP; b++) {
        char first[PATH_CAP];
        const char *name = train ? "data_batch_1.bin" : "test_batch.bin";
        int n = snprintf(first, PATH_CAP, "%s/%s", bases[b], name);
        if (n > 0 && n < PATH_CAP && is_file(first))
            return load_cifar_dir(ctx, bases[b], train, out);
    }
    const char *p = train ? "train" : "t10k";
    return porta_context_set_message(
        ctx, PORTA_ERROR_IO,
        "%s: no %s split found: looked for %s-images-idx3-ubyte[.gz] + "
        "%s-labels-idx1-ubyte[.gz] (MNIST family) and %s (CIFAR-10, also in "
        "cifar-10-batches-bin/)",
        dir, train ? "training" : "test", p, p,
        train ? "data_batch_1.bin .. data_batch_5.bin" : "test_batch.bin");
}
