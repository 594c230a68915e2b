/* test_limits.c: the device capabilities policy keys on, and emulated
 * limits (porta_context_set_device_limits, PORTA_DEVICE_LIMITS).
 *
 * Every kernel must fit the limits every Vulkan device meets (shared
 * memory, parameters); a device opened under "small-gpu" must report the
 * lowered limits, refuse what exceeds them with a message naming the
 * limit, and still compute right within them. */
#include <stdlib.h>
#include <string.h>

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
#define ELEMENTS 3000
typedef struct stepped {
    porta_status st;
    float params[ELEMENTS];
    unsigned char *state;
    size_t state_bytes;
} stepped;

/* STEPS steps of kind (clipping on, so the gradient norm too) on `spec`
 * under `limits`. */
static void run_steps(test_state *t, const char *spec, const char *limits,
                      porta_optimizer_kind kind, stepped *r)
{
    memset(r, 0, sizeof(*r));
    porta_context *ctx = open_limited(t, spec, limits, NULL, &r->st);
    CHECK_OK(t, ctx, r->st, limits);
    porta_optimizer *opt = NULL;
    porta_buffer *loss = NULL, *params = NULL, *grads = NULL;
    porta_optimizer_config oc = porta_optimizer_config_default(kind);
    oc.momentum = kind == PORTA_OPTIMIZER_SGD ? 0.9f : oc.momentum;
    oc.clip_norm = 1.0f;
    oc.tuning.ignore_environment = true;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    porta_status st = r->st;
    if (!st)
        st = porta_optimizer_create(ctx, &oc, &sc, &opt);
    if (!st)
        st = porta_optimizer_add_tensor(ctx, opt, ELEMENTS, 0, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, opt);
    if (!st)
        st = porta_optimizer_arenas(ctx, opt, &params, &grads, NULL);
    if (!st)
        st = porta_buffer_create(ctx, sizeof(float), &loss);
    float *v = malloc(ELEMENTS * sizeof(float));
    for (int i = 0; i < ELEMENTS; i++)
        v[i] = (float)((i * 37) % 101 - 50) * 0.01f;
    if (!st)
        st = porta_buffer_write(ctx, params, 0, ELEMENTS * sizeof(float), v);
    for (int s = 0; s < STEPS && !st; s++) {
        const float l = 2.0f - 0.1f * (float)s;
        for (int i = 0; i < ELEMENTS; i++)
            v[i] = (float)((i * 13 + s * 7) % 29 - 14) * 0.003f;
        st = porta_buffer_write(ctx, grads, 0, ELEMENTS * sizeof(float), v);
        if (!st)
            st = porta_buffer_write(ctx, loss, 0, sizeof(l), &l);
        if (!st)
            st = porta_optimizer_step(ctx, opt, porta_view_of(loss), 1, 1.0f);
    }
    free(v);
    if (!st)
        st = porta_buffer_read(ctx, params, 0, sizeof(r->params), r->params);
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

/* With 4 storage buffers (Vulkan's minimum) the step runs optim_step_small
 * (its moments in one buffer): the same parameters and the same
 * checkpoint, byte for byte, as with the device's own limits. */
static void check_four_buffers(test_state *t, const porta_device_info *info)
{
    static const porta_optimizer_kind kinds[] = {PORTA_OPTIMIZER_ADAMW, PORTA_OPTIMIZER_SGD};
    for (size_t k = 0; k < 2; k++) {
        stepped *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
        run_steps(t, info->spec, "", kinds[k], a);
        run_steps(t, info->spec, "storage_buffers=4", kinds[k], b);
        const char *what = kinds[k] == PORTA_OPTIMIZER_ADAMW ? "AdamW" : "SGD+momentum";
        if (!a->st && !b->st) {
            CHECK(t, memcmp(a->params, b->params, sizeof(a->params)) == 0,
                  "%s %s: 4 storage buffers give other parameters", info->spec, what);
            CHECK(t,
                  a->state_bytes == b->state_bytes &&
                      memcmp(a->state, b->state, a->state_bytes) == 0,
                  "%s %s: 4 storage buffers give another checkpoint", info->spec, what);
        }
        free(a->state);
        free(b->state);
        free(a);
        free(b);
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
    check_bad_text(t, info);
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
