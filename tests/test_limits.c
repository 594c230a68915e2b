/* test_limits.c: the device capabilities policy keys on, and emulated
 * limits (porta_context_set_device_limits, PORTA_DEVICE_LIMITS).
 *
 * Every kernel must fit the limits every Vulkan device meets (shared
 * memory, parameters); a device opened under "small-gpu" must report the
 * lowered limits, refuse what exceeds them with a message naming the
 * limit, and still compute right within them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "harness.h"
#include "internal.h"

#define MIB (1024ull * 1024ull)

/* Vulkan's guaranteed minimums (maxComputeSharedMemorySize,
 * maxPushConstantsSize). */
#define VULKAN_MIN_SHARED 16384u
#define VULKAN_MIN_PUSH 128u

static void check_kernel_table(test_state *t)
{
    for (int i = 0; i < PORTA_KERNEL_COUNT; i++) {
        const porta_kernel_desc *d = porta_kernel_table[i];
        CHECK(t, d->shared_bytes <= VULKAN_MIN_SHARED, "%s: %u bytes of shared arrays > %u",
              d->name, d->shared_bytes, VULKAN_MIN_SHARED);
        CHECK(t, d->params_bytes <= VULKAN_MIN_PUSH, "%s: %u bytes of params > %u", d->name,
              d->params_bytes, VULKAN_MIN_PUSH);
        CHECK(t, d->n_buffers <= PORTA_MAX_BINDINGS, "%s: %u buffers", d->name, d->n_buffers);
        CHECK(t, d->max_local_size == 0 || d->max_local_size == 256u, "%s: max_local_size %u",
              d->name, d->max_local_size);
    }
    /* a kernel whose shared arrays hold a workgroup says so */
    CHECK(t, porta_kernel_table[PORTA_KERNEL_reduce_sum]->max_local_size == 256u,
          "reduce_sum is capped at LOCAL_SIZE_MAX");
    CHECK(t, porta_kernel_table[PORTA_KERNEL_reduce_sum]->shared_bytes == 256u * 4u,
          "reduce_sum's shared bytes %u",
          porta_kernel_table[PORTA_KERNEL_reduce_sum]->shared_bytes);
}

/* Open `spec` in a new context under `limits`; NULL on failure (recorded
 * unless expect_fail). */
static porta_context *open_limited(test_state *t, const char *spec, const char *limits,
                                   const char *preset, porta_status *status)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK(t, st == PORTA_OK, "context_create: %s", porta_strerror(st));
    if (st)
        return NULL;
    st = porta_context_set_device_limits(ctx, limits);
    if (!st)
        st = porta_context_set_device_preset(ctx, preset);
    if (!st)
        st = porta_device_open(ctx, spec, NULL);
    *status = st;
    return ctx;
}

static void check_small_gpu(test_state *t, const porta_device_info *info)
{
    porta_status st;
    porta_context *ctx = open_limited(t, info->spec, "small-gpu", NULL, &st);
    CHECK_OK(t, ctx, st, "open under small-gpu");
    if (st) {
        porta_context_destroy(ctx);
        return;
    }
    porta_device_capabilities c;
    st = porta_device_capabilities_get(ctx, &c);
    CHECK_OK(t, ctx, st, "capabilities_get");
    CHECK(t, c.max_alloc_bytes <= 128 * MIB, "%s: max_alloc %llu", info->spec,
          (unsigned long long)c.max_alloc_bytes);
    CHECK(t, c.max_storage_buffers <= 8, "%s: storage buffers %u", info->spec,
          c.max_storage_buffers);
    CHECK(t, c.local_mem_bytes <= 16384, "%s: local memory %llu", info->spec,
          (unsigned long long)c.local_mem_bytes);
    CHECK(t, c.max_workgroup_size <= 128, "%s: workgroup %u", info->spec, c.max_workgroup_size);
    CHECK(t, !c.group_handover, "%s: handover off", info->spec);
    CHECK(t, strcmp(c.limits, "small-gpu") == 0, "%s: limits text \"%s\"", info->spec, c.limits);
    CHECK(t, c.preset[0] != '\0', "%s: a preset", info->spec);

    /* beyond the emulated largest allocation: refused, naming the size */
    porta_buffer *big = NULL;
    st = porta_buffer_create(ctx, (size_t)(129 * MIB), &big);
    CHECK(t, st == PORTA_ERROR_ALLOCATION_TOO_LARGE, "%s: 129 MiB buffer: %s (%s)", info->spec,
          porta_strerror(st), porta_context_message(ctx));
    CHECK(t, strstr(porta_context_message(ctx), "134217728") != NULL, "message names the limit: %s",
          porta_context_message(ctx));
    porta_buffer_destroy(ctx, big);

    /* a reduction within the limits (workgroups of at most 128) is right */
    enum { N = 100000 };
    float *x = malloc(N * sizeof(float));
    porta_buffer *bx = NULL, *bs = NULL;
    double want = 0.0;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(i % 7) * 0.25f;
        want += x[i];
    }
    st = porta_buffer_create(ctx, N * sizeof(float), &bx);
    if (!st)
        st = porta_buffer_create(ctx, sizeof(float), &bs);
    if (!st)
        st = porta_buffer_write(ctx, bx, 0, N * sizeof(float), x);
    if (!st)
        st = porta_vec_sum(ctx, porta_view_of(bx), N, porta_view_of(bs));
    float got = 0.0f;
    if (!st)
        st = porta_buffer_read(ctx, bs, 0, sizeof(float), &got);
    CHECK_OK(t, ctx, st, "sum under small-gpu");
    CHECK(t, st || (double)got == want, "%s: sum %.1f, want %.1f", info->spec, got, want);
    porta_buffer_destroy(ctx, bx);
    porta_buffer_destroy(ctx, bs);
    free(x);
    porta_context_destroy(ctx);
}

/* Fewer storage buffers than the optimizer's smallest step binds (the
 * scalar pass 3, optim_step_small 4): refused with the limit named, never
 * a wrong result. */
static void check_too_few_buffers(test_state *t, const porta_device_info *info)
{
    static const char *const limits[] = {"storage_buffers=2", "storage_buffers=3"};
    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        porta_status st;
        porta_context *ctx = open_limited(t, info->spec, limits[l], NULL, &st);
        CHECK_OK(t, ctx, st, limits[l]);
        if (!st) {
            porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
            porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
            porta_optimizer *opt = NULL;
            size_t index = 0;
            porta_buffer *loss = NULL;
            st = porta_optimizer_create(ctx, &oc, &sc, &opt);
            if (!st)
                st = porta_optimizer_add_tensor(ctx, opt, 1000, 0, &index);
            if (!st)
                st = porta_optimizer_finalize(ctx, opt);
            if (!st)
                st = porta_buffer_create(ctx, sizeof(float), &loss);
            if (!st)
                st = porta_optimizer_step(ctx, opt, porta_view_of(loss), 1, 1.0f);
            if (!st)
                st = porta_finish(ctx);
            CHECK(t, st == PORTA_ERROR_UNSUPPORTED, "%s: step with %s: %s", info->spec, limits[l],
                  porta_strerror(st));
            CHECK(t,
                  strstr(porta_context_message(ctx), "storage buffers") != NULL &&
                      strstr(porta_context_message(ctx), "PORTA_DEVICE_LIMITS") != NULL,
                  "message names the limit: %s", porta_context_message(ctx));
            porta_buffer_destroy(ctx, loss);
            porta_optimizer_destroy(ctx, opt);
        }
        porta_context_destroy(ctx);
    }
}

/* What STEPS optimizer steps left: parameters and the saved state. */
#define STEPS 6
#define TENSORS 8
#define TENSOR_ELEMENTS 2000
#define ELEMENTS (TENSORS * TENSOR_ELEMENTS)
typedef struct stepped {
    porta_status st;
    int split; /* the arenas were several buffers */
    float params[ELEMENTS];
    unsigned char *state;
    size_t state_bytes;
} stepped;

/* Write (or, read != 0, read) n floats of tensor `view` from / into v. */
static porta_status tensor_io(porta_context *ctx, porta_view view, float *v, int read)
{
    const size_t at = view.offset * sizeof(float), bytes = view.length * sizeof(float);
    return read ? porta_buffer_read(ctx, view.buffer, at, bytes, v)
                : porta_buffer_write(ctx, view.buffer, at, bytes, v);
}

/* Steps [from, to) of kind (clipping at `clip`, 0 off; on, the gradient
 * norm runs too) on `spec` under `limits`, over TENSORS tensors reached
 * through their views (whatever the arenas' split); from the checkpoint
 * `resume` when not NULL, else from step 0. */
static void run_steps(test_state *t, const char *spec, const char *limits,
                      porta_optimizer_kind kind, float clip, int from, int to,
                      const stepped *resume, stepped *r)
{
    memset(r, 0, sizeof(*r));
    porta_context *ctx = open_limited(t, spec, limits, NULL, &r->st);
    CHECK_OK(t, ctx, r->st, limits);
    porta_optimizer *opt = NULL;
    porta_buffer *loss = NULL;
    porta_view params[TENSORS], grads[TENSORS];
    porta_optimizer_config oc = porta_optimizer_config_default(kind);
    oc.momentum = kind == PORTA_OPTIMIZER_SGD ? 0.9f : oc.momentum;
    oc.clip_norm = clip;
    oc.tuning.ignore_environment = true;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    porta_status st = r->st;
    if (!st)
        st = porta_optimizer_create(ctx, &oc, &sc, &opt);
    for (int i = 0; i < TENSORS && !st; i++)
        st = porta_optimizer_add_tensor(ctx, opt, TENSOR_ELEMENTS, 0, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, opt);
    for (int i = 0; i < TENSORS && !st; i++)
        st = porta_optimizer_tensor_views(ctx, opt, (size_t)i, &params[i], &grads[i]);
    if (!st) {
        porta_buffer *whole = NULL;
        r->split = porta_optimizer_arenas(ctx, opt, &whole, NULL, NULL) == PORTA_ERROR_UNSUPPORTED;
    }
    if (!st)
        st = porta_buffer_create(ctx, sizeof(float), &loss);
    float *v = malloc(ELEMENTS * sizeof(float));
    for (int i = 0; i < ELEMENTS; i++)
        v[i] = (float)((i * 37) % 101 - 50) * 0.01f;
    if (resume && !st)
        st = porta_optimizer_state_set(ctx, opt, resume->state, resume->state_bytes, "resume");
    for (int i = 0; i < TENSORS && !st && !resume; i++)
        st = tensor_io(ctx, params[i], v + i * TENSOR_ELEMENTS, 0);
    for (int s = from; s < to && !st; s++) {
        const float l = 2.0f - 0.1f * (float)s;
        for (int i = 0; i < ELEMENTS; i++)
            v[i] = (float)((i * 13 + s * 7) % 29 - 14) * 0.003f;
        for (int i = 0; i < TENSORS && !st; i++)
            st = tensor_io(ctx, grads[i], v + i * TENSOR_ELEMENTS, 0);
        if (!st)
            st = porta_buffer_write(ctx, loss, 0, sizeof(l), &l);
        if (!st)
            st = porta_optimizer_step(ctx, opt, porta_view_of(loss), 1, 1.0f);
    }
    free(v);
    for (int i = 0; i < TENSORS && !st; i++)
        st = tensor_io(ctx, params[i], r->params + i * TENSOR_ELEMENTS, 1);
    if (!st)
        st = porta_optimizer_state_size(ctx, opt, &r->state_bytes);
    if (!st) {
        r->state = malloc(r->state_bytes);
        st = porta_optimizer_state_get(ctx, opt, r->state, r->state_bytes);
    }
    CHECK_OK(t, ctx, st, "optimizer steps");
    r->st = st;
    porta_buffer_destroy(ctx, loss);
    porta_optimizer_destroy(ctx, opt);
    porta_context_destroy(ctx);
}

/* The largest difference between a's and b's parameters, relative to
 * the largest of a's. */
static double params_apart(const stepped *a, const stepped *b)
{
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < ELEMENTS; i++) {
        const double d = fabs((double)a->params[i] - b->params[i]);
        worst = d > worst ? d : worst;
        scale = fabs((double)a->params[i]) > scale ? fabs((double)a->params[i]) : scale;
    }
    return scale > 0.0 ? worst / scale : worst;
}

/* With 4 storage buffers (Vulkan's minimum) the step runs optim_step_small
 * (its moments in one buffer): the same parameters and the same
 * checkpoint, byte for byte, as with the device's own limits; and so
 * again with the arenas split over 56 KiB buffers (just more than the
 * optimizer's block; six 2048-element blocks: two chunks with optim_step;
 * with optim_step_small, whose moments buffer is the largest, three
 * chunks for AdamW, two for SGD). A split arena sums the gradient norm
 * in another order: clipped, the parameters are then equal within
 * rounding, and the checkpoint's recorded norm may differ in its last
 * bits (checkpoints across splits: test_optimizer's round trips). */
static void check_four_buffers(test_state *t, const porta_device_info *info)
{
    static const porta_optimizer_kind kinds[] = {PORTA_OPTIMIZER_ADAMW, PORTA_OPTIMIZER_SGD};
    static const char *const limits[] = {"storage_buffers=4", "max_alloc=56K",
                                         "max_alloc=56K,storage_buffers=4"};
    for (size_t k = 0; k < 4; k++) {
        const porta_optimizer_kind kind = kinds[k / 2];
        const float clip = k % 2 ? 1.0f : 0.0f;
        char what[64];
        snprintf(what, sizeof what, "%s%s",
                 kind == PORTA_OPTIMIZER_ADAMW ? "AdamW" : "SGD+momentum",
                 clip > 0.0f ? ", clipped" : "");
        stepped *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
        run_steps(t, info->spec, "", kind, clip, 0, STEPS, NULL, a);
        CHECK(t, a->st || !a->split, "%s %s: the arenas are one buffer without limits", info->spec,
              what);
        for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
            run_steps(t, info->spec, limits[l], kind, clip, 0, STEPS, NULL, b);
            const int split = strstr(limits[l], "max_alloc") != NULL;
            if (!a->st && !b->st) {
                CHECK(t, b->split == split, "%s %s under %s: split %d", info->spec, what, limits[l],
                      b->split);
                CHECK(t, a->state_bytes == b->state_bytes,
                      "%s %s: %s: %zu checkpoint bytes, not %zu", info->spec, what, limits[l],
                      b->state_bytes, a->state_bytes);
                if (split && clip > 0.0f) {
                    const double apart = params_apart(a, b);
                    CHECK(t, apart < 1e-5, "%s %s: %s: parameters %.3g apart", info->spec, what,
                          limits[l], apart);
                } else {
                    CHECK(t, memcmp(a->params, b->params, sizeof(a->params)) == 0,
                          "%s %s: %s gives other parameters", info->spec, what, limits[l]);
                }
                /* Split, the recorded gradient norm may differ in its last bits. */
                CHECK(t,
                      split || (a->state_bytes == b->state_bytes &&
                                memcmp(a->state, b->state, a->state_bytes) == 0),
                      "%s %s: %s gives another checkpoint", info->spec, what, limits[l]);
            }
            free(b->state);
        }
        free(a->state);
        free(a);
        free(b);
    }
}

/* A checkpoint's layout does not depend on the arenas' split or on where
 * the moments live: one saved half way with the device's own limits
 * loads under 4 storage buffers and 56 KiB buffers, saves back the same
 * bytes, and finishes the run as the uninterrupted one does (unclipped:
 * bit for bit); and one saved there loads back with the device's limits. */
static void check_resume_across_limits(test_state *t, const porta_device_info *info)
{
    static const porta_optimizer_kind kinds[] = {PORTA_OPTIMIZER_ADAMW, PORTA_OPTIMIZER_SGD};
    const char *small = "max_alloc=56K,storage_buffers=4";
    for (size_t k = 0; k < 2; k++) {
        stepped *whole = malloc(sizeof(*whole)), *half = malloc(sizeof(*half));
        stepped *moved = malloc(sizeof(*moved)), *back = malloc(sizeof(*back));
        run_steps(t, info->spec, "", kinds[k], 0.0f, 0, STEPS, NULL, whole);
        run_steps(t, info->spec, "", kinds[k], 0.0f, 0, STEPS / 2, NULL, half);
        memset(moved, 0, sizeof(*moved));
        memset(back, 0, sizeof(*back));
        if (!half->st)
            run_steps(t, info->spec, small, kinds[k], 0.0f, STEPS / 2, STEPS / 2, half, moved);
        if (!half->st && !moved->st) {
            CHECK(t,
                  moved->split && moved->state_bytes == half->state_bytes &&
                      memcmp(moved->state, half->state, half->state_bytes) == 0,
                  "%s: a checkpoint loaded under %s saves back other bytes", info->spec, small);
            run_steps(t, info->spec, "", kinds[k], 0.0f, STEPS / 2, STEPS / 2, moved, back);
            CHECK(t,
                  !back->st && back->state_bytes == half->state_bytes &&
                      memcmp(back->state, half->state, half->state_bytes) == 0,
                  "%s: a checkpoint saved under %s loads back other bytes", info->spec, small);
            free(back->state);
            run_steps(t, info->spec, small, kinds[k], 0.0f, STEPS / 2, STEPS, half, back);
            CHECK(t,
                  !whole->st && !back->st &&
                      memcmp(whole->params, back->params, sizeof(whole->params)) == 0,
                  "%s: resumed under %s, other parameters than the uninterrupted run", info->spec,
                  small);
        }
        stepped *all[] = {whole, half, moved, back};
        for (size_t i = 0; i < 4; i++) {
            free(all[i]->state);
            free(all[i]);
        }
    }
}

static void check_bad_text(test_state *t, const porta_device_info *info)
{
    static const char *const bad[] = {"max_alloc=", "max_alloc=12Q", "bogus=1",
                                      "tiny",       "workgroup=0",   "timestamps=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        porta_status st;
        porta_context *ctx = open_limited(t, info->spec, bad[i], NULL, &st);
        CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "limits \"%s\": %s", bad[i],
              porta_strerror(st));
        CHECK(t, strstr(porta_context_message(ctx), "device limits") != NULL, "message: %s",
              porta_context_message(ctx));
        porta_context_destroy(ctx);
    }
    porta_status st;
    porta_context *ctx = open_limited(t, info->spec, NULL, "no-such-preset", &st);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "preset: %s", porta_strerror(st));
    CHECK(t, strstr(porta_context_message(ctx), "llvmpipe") != NULL, "message lists presets: %s",
          porta_context_message(ctx));
    porta_context_destroy(ctx);
    /* a value above the device's own keeps the device's */
    ctx = open_limited(t, info->spec, "max_alloc=1024G,workgroup=100000", NULL, &st);
    CHECK_OK(t, ctx, st, "generous limits");
    porta_device_capabilities c;
    if (!st && !porta_device_capabilities_get(ctx, &c)) {
        CHECK(t, c.max_alloc_bytes == info->max_alloc_bytes, "max_alloc kept: %llu vs %llu",
              (unsigned long long)c.max_alloc_bytes, (unsigned long long)info->max_alloc_bytes);
        CHECK(t, c.max_workgroup_size == info->max_workgroup_size, "workgroup kept");
    }
    porta_context_destroy(ctx);
}

/* An MLP whose activations (batch 64 x 1024 hidden, values and
 * gradients) outgrow a 512 KiB buffer while its parameters (78 KiB) fit:
 * under max_alloc=512K the planner splits the activations over several
 * arenas, and training must give the parameters bit for bit. */
enum { MLP_BATCH = 64, MLP_IN = 8, MLP_HIDDEN = 1024, MLP_CLASSES = 10, MLP_STEPS = 4 };

static porta_status mlp_build(porta_context *ctx, porta_graph *g, porta_tensor *x, porta_tensor *y)
{
    const size_t xs[2] = {MLP_BATCH, MLP_IN}, ys[1] = {MLP_BATCH};
    porta_tensor h, logits, loss;
    porta_status st = porta_graph_input(ctx, g, "x", PORTA_F32, 2, xs, x);
    if (!st)
        st = porta_graph_input(ctx, g, "y", PORTA_U32, 1, ys, y);
    if (!st)
        st = porta_graph_linear(ctx, g, *x, MLP_HIDDEN, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, MLP_CLASSES, true, "fc2", &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, *y, &loss);
    if (!st) {
        porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
        porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
        st = porta_graph_compile(ctx, g, &oc, &sc);
    }
    return st;
}

/* Train MLP_STEPS steps on `spec` under `limits`; the parameters into
 * out (fc1 weights), the arena count into *arenas. */
static porta_status mlp_train(const char *spec, const char *limits, float *out, size_t n_out,
                              size_t *arenas, char *why, size_t why_cap)
{
    porta_context *ctx = NULL;
    porta_graph *g = NULL;
    porta_tensor x = 0, y = 0;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_context_set_device_limits(ctx, limits);
    if (!st)
        st = porta_device_open(ctx, spec, NULL);
    porta_graph_options go = {.seed = 7};
    if (!st)
        st = porta_graph_create(ctx, &go, &g);
    if (!st)
        st = mlp_build(ctx, g, &x, &y);
    float xb[MLP_BATCH * MLP_IN];
    uint32_t yb[MLP_BATCH];
    unsigned r = 12345u;
    for (int step = 0; !st && step < MLP_STEPS; step++) {
        for (int i = 0; i < MLP_BATCH * MLP_IN; i++) {
            r = r * 1664525u + 1013904223u;
            xb[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
        }
        for (int i = 0; i < MLP_BATCH; i++)
            yb[i] = (unsigned)(xb[i * MLP_IN] > 0.0f) + 2u * (unsigned)(xb[i * MLP_IN + 1] > 0.0f);
        st = porta_graph_set_input(ctx, g, x, xb, sizeof xb);
        if (!st)
            st = porta_graph_set_input(ctx, g, y, yb, sizeof yb);
        if (!st)
            st = porta_graph_train_step(ctx, g);
    }
    porta_tensor w = 0;
    const char *name = NULL;
    if (!st)
        st = porta_graph_parameter_at(ctx, g, 0, &w, &name);
    if (!st)
        st = porta_graph_parameter_read(ctx, g, w, false, out, n_out);
    *arenas = g ? g->n_arenas : 0;
    snprintf(why, why_cap, "%s", ctx ? porta_context_message(ctx) : "");
    porta_graph_destroy(ctx, g);
    porta_context_destroy(ctx);
    return st;
}

static void check_split_arenas(test_state *t, const porta_device_info *info)
{
    const size_t n = MLP_IN * MLP_HIDDEN;
    float *whole = calloc(n, sizeof(float)), *split = calloc(n, sizeof(float));
    char why[512];
    size_t arenas_whole = 0, arenas_split = 0;
    porta_status st = mlp_train(info->spec, "", whole, n, &arenas_whole, why, sizeof why);
    CHECK(t, st == PORTA_OK, "%s: MLP without limits: %s: %s", info->spec, porta_strerror(st), why);
    porta_status st2 =
        mlp_train(info->spec, "max_alloc=512K", split, n, &arenas_split, why, sizeof why);
    CHECK(t, st2 == PORTA_OK, "%s: MLP under max_alloc=512K: %s: %s", info->spec,
          porta_strerror(st2), why);
    if (!st && !st2) {
        CHECK(t, arenas_whole == 1, "%s: one arena without limits (%zu)", info->spec, arenas_whole);
        CHECK(t, arenas_split > 1, "%s: activations split over %zu arenas", info->spec,
              arenas_split);
        CHECK(t, memcmp(whole, split, n * sizeof(float)) == 0,
              "%s: the same parameters with the activations split", info->spec);
    }
    /* a tensor no buffer can hold is refused, naming it */
    st = mlp_train(info->spec, "max_alloc=128K", split, n, &arenas_split, why, sizeof why);
    CHECK(t, st == PORTA_ERROR_ALLOCATION_TOO_LARGE && strstr(why, "per buffer") != NULL,
          "%s: 256 KiB activations under max_alloc=128K: %s: %s", info->spec, porta_strerror(st),
          why);
    free(whole);
    free(split);
}

/* An MLP of `layers` hidden layers of `width` on `in` inputs; trains
 * `steps` steps of batch `batch` on `spec` under `limits` (clipping at
 * `clip`, 0 off: the gradient norm then covers every parameter buffer),
 * returns every step's loss in losses and the first parameter tensor in
 * out (n_out elements, may be 0). */
typedef struct wide_mlp {
    size_t in, width, layers, batch, steps;
    float clip;
} wide_mlp;

static porta_status wide_train(const char *spec, const char *limits, const wide_mlp *w,
                               float *losses, float *out, size_t n_out, char *why, size_t why_cap)
{
    porta_context *ctx = NULL;
    porta_graph *g = NULL;
    porta_tensor x = 0, y = 0, h = 0, logits = 0, loss = 0;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_context_set_device_limits(ctx, limits);
    if (!st)
        st = porta_device_open(ctx, spec, NULL);
    porta_graph_options go = {.seed = 11};
    if (!st)
        st = porta_graph_create(ctx, &go, &g);
    const size_t xs[2] = {w->batch, w->in}, ys[1] = {w->batch};
    if (!st)
        st = porta_graph_input(ctx, g, "x", PORTA_F32, 2, xs, &x);
    if (!st)
        st = porta_graph_input(ctx, g, "y", PORTA_U32, 1, ys, &y);
    h = x;
    for (size_t l = 0; !st && l < w->layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "fc%u", (unsigned)l);
        st = porta_graph_linear(ctx, g, h, w->width, true, name, &h);
        if (!st)
            st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    }
    if (!st)
        st = porta_graph_linear(ctx, g, h, MLP_CLASSES, true, "head", &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, y, &loss);
    if (!st) {
        porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
        oc.clip_norm = w->clip;
        porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
        st = porta_graph_compile(ctx, g, &oc, &sc);
    }
    float *xb = calloc(w->batch * w->in, sizeof(float));
    uint32_t *yb = calloc(w->batch, sizeof(uint32_t));
    if (!st && (!xb || !yb))
        st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
    unsigned r = 777u;
    for (size_t step = 0; !st && step < w->steps; step++) {
        for (size_t i = 0; i < w->batch * w->in; i++) {
            r = r * 1664525u + 1013904223u;
            xb[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
        }
        for (size_t i = 0; i < w->batch; i++)
            yb[i] = (uint32_t)(xb[i * w->in] > 0.0f) + 2u * (uint32_t)(xb[i * w->in + 1] > 0.0f);
        st = porta_graph_set_input(ctx, g, x, xb, w->batch * w->in * sizeof(float));
        if (!st)
            st = porta_graph_set_input(ctx, g, y, yb, w->batch * sizeof(uint32_t));
        if (!st)
            st = porta_graph_train_step(ctx, g);
    }
    porta_optimizer *opt = NULL;
    porta_step_metrics m[16];
    size_t count = 0;
    if (!st)
        st = porta_graph_optimizer(ctx, g, &opt);
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, m, 16, &count, NULL);
    for (size_t i = 0; !st && i < count && i < w->steps; i++)
        losses[i] = m[i].loss;
    if (!st && count != w->steps)
        st = porta_context_set_message(ctx, PORTA_ERROR_MISMATCH, "%zu metrics for %zu steps",
                                       count, w->steps);
    porta_tensor p = 0;
    const char *name = NULL;
    if (!st && n_out)
        st = porta_graph_parameter_at(ctx, g, 0, &p, &name);
    if (!st && n_out)
        st = porta_graph_parameter_read(ctx, g, p, false, out, n_out);
    snprintf(why, why_cap, "%s", ctx ? porta_context_message(ctx) : "");
    free(xb);
    free(yb);
    porta_graph_destroy(ctx, g);
    porta_context_destroy(ctx);
    return st;
}

/* Parameters (72 KiB with their padding) over two 64 KiB buffers: the same
 * losses and weights as in one buffer, with and without the gradient norm
 * (whose sum then spans both buffers: equal within rounding). */
static void check_split_parameters(test_state *t, const porta_device_info *info)
{
    const wide_mlp w = {.in = 64, .width = 96, .layers = 2, .batch = 4, .steps = 5};
    enum { N = 64 * 96 };
    for (int clip = 0; clip < 2; clip++) {
        wide_mlp v = w;
        v.clip = clip ? 0.5f : 0.0f;
        float l1[16], l2[16], p1[N], p2[N];
        char why[512];
        porta_status st = wide_train(info->spec, "", &v, l1, p1, N, why, sizeof why);
        CHECK(t, st == PORTA_OK, "%s: wide MLP: %s: %s", info->spec, porta_strerror(st), why);
        porta_status st2 = wide_train(info->spec, "max_alloc=64K", &v, l2, p2, N, why, sizeof why);
        CHECK(t, st2 == PORTA_OK, "%s: wide MLP under max_alloc=64K: %s: %s", info->spec,
              porta_strerror(st2), why);
        if (st || st2)
            continue;
        if (!clip) {
            CHECK(t, memcmp(l1, l2, w.steps * sizeof(float)) == 0 && memcmp(p1, p2, sizeof p1) == 0,
                  "%s: parameters over two buffers train bit for bit as in one (last loss %.9g "
                  "vs %.9g)",
                  info->spec, l2[w.steps - 1], l1[w.steps - 1]);
        } else {
            double worst = 0.0;
            for (size_t i = 0; i < w.steps; i++) {
                const double d = fabs((double)l1[i] - l2[i]) / fabs((double)l1[i]);
                worst = d > worst ? d : worst;
            }
            CHECK(t, worst < 1e-5, "%s: clipped, over two buffers: losses within 1e-5 (%.3g)",
                  info->spec, worst);
        }
    }
}

/* On a device whose largest buffer is smaller than a model's parameters
 * (lavapipe: 128 MiB), the model trains all the same: three 4096-wide
 * layers, 33.8 M parameters, 135 MB. */
static void check_beyond_one_buffer(test_state *t, const porta_device_info *info)
{
    const wide_mlp w = {.in = 64, .width = 4096, .layers = 3, .batch = 8, .steps = 3};
    const uint64_t bytes = 4ull * (64 * 4096 + 2 * 4096ull * 4096 + 4096 * 10);
    if (info->max_alloc_bytes >= bytes) {
        printf("%s: its largest buffer (%llu bytes) holds the 135 MB model: nothing to show\n",
               info->spec, (unsigned long long)info->max_alloc_bytes);
        return;
    }
    float losses[16];
    char why[512];
    porta_status st = wide_train(info->spec, "", &w, losses, NULL, 0, why, sizeof why);
    CHECK(t, st == PORTA_OK, "%s: %llu bytes of parameters, %llu per buffer: %s: %s", info->spec,
          (unsigned long long)bytes, (unsigned long long)info->max_alloc_bytes, porta_strerror(st),
          why);
    if (!st) {
        printf("%s: 135 MB of parameters trained, losses %.6f %.6f %.6f\n", info->spec, losses[0],
               losses[1], losses[2]);
        CHECK(t, isfinite(losses[0]) && isfinite(losses[2]), "%s: finite losses", info->spec);
    }
}

static void per_device(test_state *t, porta_context *ctx, const porta_device_info *info, void *user)
{
    (void)user;
    porta_device_capabilities c;
    porta_status st = porta_device_capabilities_get(ctx, &c);
    CHECK_OK(t, ctx, st, "capabilities_get");
    if (!st) {
        printf("%s: preset %s, execution %s, storage buffers %u, range %llu, loop limit %u, "
               "fma %d, handover %d\n",
               info->spec, c.preset, c.execution, c.max_storage_buffers,
               (unsigned long long)c.max_storage_range, c.loop_limit, c.fast_fma, c.group_handover);
        CHECK(t, c.max_storage_buffers >= 4, "at least Vulkan's 4 storage buffers");
        CHECK(t, c.max_storage_range >= c.max_alloc_bytes, "range covers the largest buffer");
    }
    check_small_gpu(t, info);
    check_too_few_buffers(t, info);
    check_four_buffers(t, info);
    check_resume_across_limits(t, info);
    check_bad_text(t, info);
    check_split_arenas(t, info);
    check_split_parameters(t, info);
    check_beyond_one_buffer(t, info);
}

int main(void)
{
    test_init();
    test_state t = {0};
    /* the tests set their own limits: none from outside */
    unsetenv("PORTA_DEVICE_LIMITS");
    unsetenv("PORTA_DEVICE_PRESET");
    check_kernel_table(&t);
    test_for_each_device(&t, per_device, NULL);
    return test_finish(&t);
}
