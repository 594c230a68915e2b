/* batch_loader.c: shuffled, normalised, optionally augmented batches,
 * prepared by a background thread into a small ring. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "counter_rng.h"
#include "train_internal.h"

#define RING 3
#define PAD 4

typedef struct slot {
    float *images;
    uint32_t *labels;
    uint64_t epoch;
    size_t index;
} slot;

struct porta_batch_loader {
    porta_image_set set; /* borrowed pixels and labels */
    porta_batch_loader_config cfg;
    size_t image;      /* channels * height * width */
    size_t batches;    /* per epoch */
    float lut[4][256]; /* normalised value of each byte, per channel */

    /* the producer's own: the order of perm_epoch (valid if have_perm) */
    uint32_t *perm;
    uint64_t perm_epoch;
    bool have_perm;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled; /* the producer published a slot */
    pthread_cond_t space;  /* the consumer freed a slot, or seek / stop */
    /* guarded by mu */
    slot ring[RING];
    size_t head, count;  /* ring[head .. head + count) hold batches in order */
    uint64_t gen;        /* bumped by seek: batches of an older generation are dropped */
    uint64_t next_epoch; /* the next batch to produce */
    size_t next_batch;
    bool stop;
};

/* The order of epoch e: a Fisher-Yates shuffle whose draw for position i is
 * a pure function of (seed, e, i). */
static void epoch_order(const porta_batch_loader *l, uint64_t epoch, uint32_t *perm)
{
    size_t n = l->set.count;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    if (!l->cfg.shuffle)
        return;
    for (size_t i = n - 1; i > 0; i--) {
        uint64_t r = porta__counter_rng(l->cfg.seed, PORTA__RNG_SHUFFLE, epoch, i);
        size_t j = (size_t)porta__below(r, (uint64_t)i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Normalise (and augment) image `sample` of `epoch` into dst. */
static void prepare_image(const porta_batch_loader *l, uint64_t epoch, size_t sample, float *dst)
{
    const unsigned C = l->set.channels, H = l->set.height, W = l->set.width;
    const uint8_t *src = l->set.pixels + sample * l->image;
    if (!l->cfg.augment) {
        for (unsigned c = 0; c < C; c++)
            for (size_t p = 0; p < (size_t)H * W; p++)
                dst[c * (size_t)H * W + p] = l->lut[c][src[c * (size_t)H * W + p]];
        return;
    }
    uint64_t r = porta__counter_rng(l->cfg.seed, PORTA__RNG_AUGMENT, epoch, sample);
    /* The crop's top-left corner in the padded image, 0..2*PAD per axis. */
    int dy = (int)porta__below(r & 0xffffffffu, 2 * PAD + 1) - PAD;
    int dx = (int)porta__below(r >> 32, 2 * PAD + 1) - PAD;
    int flip = (int)((porta__mix64(r) >> 63) & 1u);
    for (unsigned c = 0; c < C; c++) {
        const uint8_t *plane = src + c * (size_t)H * W;
        float *out = dst + c * (size_t)H * W;
        for (unsigned y = 0; y < H; y++) {
            int sy = (int)y + dy;
            for (unsigned x = 0; x < W; x++) {
                int sx = (int)(flip ? W - 1 - x : x) + dx;
                uint8_t p = 0;
                if (sy >= 0 && sy < (int)H && sx >= 0 && sx < (int)W)
                    p = plane[(size_t)sy * W + (size_t)sx];
                out[(size_t)y * W + x] = l->lut[c][p];
            }
        }
    }
}

static void fill_slot(porta_batch_loader *l, slot *s, uint64_t epoch, size_t batch)
{
    if (!l->have_perm || l->perm_epoch != epoch) {
        epoch_order(l, epoch, l->perm);
        l->perm_epoch = epoch;
        l->have_perm = true;
    }
    size_t B = l->cfg.batch;
    for (size_t i = 0; i < B; i++) {
        size_t sample = l->perm[batch * B + i];
        s->labels[i] = l->set.labels[sample];
        prepare_image(l, epoch, sample, s->images + i * l->image);
    }
    s->epoch = epoch;
    s->index = batch;
}

static void *producer(void *arg)
{
    porta_batch_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && l->count == RING)
            pthread_cond_wait(&l->space, &l->mu);
        if (l->stop)
            break;
        uint64_t gen = l->gen, epoch = l->next_epoch;
        size_t batch = l->next_batch;
        slot *s = &l->ring[(l->head + l->count) % RING];
        /* The slot is outside [head, head + count): the consumer never reads it
         * until it is published, and a seek only empties the ring. */
        pthread_mutex_unlock(&l->mu);
        fill_slot(l, s, epoch, batch);
        pthread_mutex_lock(&l->mu);
        if (gen != l->gen)
            continue; /* a seek happened meanwhile: start over from the new position */
        l->count++;
        if (++l->next_batch == l->batches) {
            l->next_batch = 0;
            l->next_epoch++;
        }
        pthread_cond_signal(&l->filled);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

size_t porta_batch_loader_batches_per_epoch(const porta_batch_loader *l)
{
    return l ? l->batches : 0;
}

static void free_loader(porta_batch_loader *l)
{
    for (int i = 0; i < RING; i++) {
        free(l->ring[i].images);
        free(l->ring[i].labels);
    }
    free(l->perm);
    free(l);
}

static porta_status check_config(porta_context *ctx, const porta_image_set *set,
                                 const porta_batch_loader_config *cfg)
{
    if (!set || !cfg)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_batch_loader_create: %s",
                                         set ? "cfg is NULL" : "set is NULL");
    if (!set->pixels || !set->labels || set->count == 0)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_batch_loader_create: set is empty");
    if (set->count > UINT32_MAX)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_batch_loader_create: set->count %zu exceeds 2^32 - 1", set->count);
    if (set->channels < 1 || set->channels > 4 || set->height < 1 || set->width < 1)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_batch_loader_create: set shape %ux%ux%u (channels must be "
            "1..4, sides >= 1)",
            set->channels, set->height, set->width);
    if (cfg->batch < 1 || cfg->batch > set->count)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_batch_loader_create: cfg->batch %zu must be 1..%zu (the "
            "set's count)",
            cfg->batch, set->count);
    for (unsigned c = 0; c < set->channels; c++) {
        if (!isfinite(cfg->mean[c]))
            return porta_context_set_message(
                ctx, PORTA_ERROR_INVALID_ARGUMENT,
                "porta_batch_loader_create: cfg->mean[%u] is not finite", c);
        if (!isfinite(cfg->std[c]) || !(cfg->std[c] > 0.0f))
            return porta_context_set_message(
                ctx, PORTA_ERROR_INVALID_ARGUMENT,
                "porta_batch_loader_create: cfg->std[%u] = %g must be finite "
                "and > 0",
                c, (double)cfg->std[c]);
    }
    return PORTA_OK;
}

porta_status porta_batch_loader_create(porta_context *ctx, const porta_image_set *set,
                                       const porta_batch_loader_config *cfg,
                                       porta_batch_loader **out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_batch_loader_create: out is NULL");
    *out = NULL;
    porta_status st = check_config(ctx, set, cfg);
    if (st)
        return st;
    porta_batch_loader *l = calloc(1, sizeof(*l));
    if (!l)
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                         "porta_batch_loader_create");
    l->set = *set;
    l->cfg = *cfg;
    l->image = (size_t)set->channels * set->height * set->width;
    l->batches = set->count / cfg->batch;
    for (unsigned c = 0; c < set->channels; c++)
        for (int p = 0; p < 256; p++)
            l->lut[c][p] = ((float)p / 255.0f - cfg->mean[c]) / cfg->std[c];
    l->perm = malloc(set->count * sizeof(uint32_t));
    bool ok = l->perm != NULL && cfg->batch <= SIZE_MAX / sizeof(float) / l->image;
    for (int i = 0; i < RING && ok; i++) {
        l->ring[i].images = malloc(cfg->batch * l->image * sizeof(float));
        l->ring[i].labels = malloc(cfg->batch * sizeof(uint32_t));
        ok = l->ring[i].images != NULL && l->ring[i].labels != NULL;
    }
    if (!ok) {
        size_t image = l->image;
        free_loader(l);
        return porta_context_set_message(
            ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
            "porta_batch_loader_create: %d batches of %zu images of %zu floats", RING, cfg->batch,
            image);
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->filled, NULL);
    pthread_cond_init(&l->space, NULL);
    int err = pthread_create(&l->thread, NULL, producer, l);
    if (err) {
        pthread_cond_destroy(&l->space);
        pthread_cond_destroy(&l->filled);
        pthread_mutex_destroy(&l->mu);
        free_loader(l);
        return porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                         "porta_batch_loader_create: pthread_create: %s",
                                         strerror(err));
    }
    *out = l;
    return PORTA_OK;
}

porta_status porta_batch_loader_seek(porta_context *ctx, porta_batch_loader *l, uint64_t epoch,
                                     size_t batch)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!l)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_batch_loader_seek: l is NULL");
    if (batch >= l->batches)
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_batch_loader_seek: batch %zu >= %zu batches per epoch", batch, l->batches);
    pthread_mutex_lock(&l->mu);
    l->gen++;
    l->count = 0;
    l->next_epoch = epoch;
    l->next_batch = batch;
    pthread_cond_signal(&l->space);
    pthread_mutex_unlock(&l->mu);
    return PORTA_OK;
}

porta_status porta_batch_loader_next(porta_context *ctx, porta_batch_loader *l, float *images,
                                     uint32_t *labels, uint64_t *epoch, size_t *index)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!l || !images || !labels)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "porta_batch_loader_next: %s is NULL",
                                         !l        ? "l"
                                         : !images ? "images"
                                                   : "labels");
    pthread_mutex_lock(&l->mu);
    while (l->count == 0)
        pthread_cond_wait(&l->filled, &l->mu);
    slot *s = &l->ring[l->head];
    pthread_mutex_unlock(&l->mu);
    /* The producer writes only outside [head, head + count): s is ours. */
    memcpy(images, s->images, l->cfg.batch * l->image * sizeof(float));
    memcpy(labels, s->labels, l->cfg.batch * sizeof(uint32_t));
    if (epoch)
        *epoch = s->epoch;
    if (index)
        *index = s->index;
    pthread_mutex_lock(&l->mu);
    l->head = (l->head + 1) % RING;
    l->count--;
    pthread_cond_signal(&l->space);
    pthread_mutex_unlock(&l->mu);
    return PORTA_OK;
}

void porta_batch_loader_destroy(porta_context *ctx, porta_batch_loader *l)
{
    /* Nothing here can fail, so nothing is reported into ctx. */
    (void)ctx;
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->space);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->space);
    pthread_cond_destroy(&l->filled);
    pthread_mutex_destroy(&l->mu);
    free_loader(l);
}
