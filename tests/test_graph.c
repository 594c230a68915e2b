/* test_graph: model graphs on every device.
 *
 *  - whole-graph gradient checks: a small MLP (residual, layer norm,
 *    dropout at p = 0), a small CNN (conv, max and average pooling, global
 *    average pooling) and one transformer block (embeddings, causal
 *    attention, GELU MLP, an output head tied to the token embedding): the
 *    gradient of every parameter tensor, along a random direction, against
 *    a central finite difference of the loss on the device;
 *  - training steps enqueue only: zero host waits and zero reads;
 *  - the same seed on the same device gives the same bits, twice;
 *  - training lowers the loss; memory planning shares memory;
 *  - (test_graph agreement) 100 AdamW + GreedyLR steps of a small CNN, and
 *    50 of the transformer block, give losses within 1e-4 relative on
 *    every pair of an OpenCL and a Vulkan device (skipped, saying so,
 *    where the devices are all of one API);
 *  - a linear layer and the activation after it (fused into one GEMM)
 *    leave the same values as the two layers apart would;
 *  - impossible graphs are refused with a clear message;
 *  - porta_graph_options::profile: OFF keeps profiling off even with
 *    PORTA_GRAPH_PROFILE=1 (no host wait during the steps, no summary), ON
 *    turns it on whatever the variable says, the default follows the
 *    variable as it was when the graph was created; results unchanged.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ref/ref.h"

#define AGREE_STEPS 100
#define GPT_AGREE_STEPS 50
#define MAX_DEVICES 8

typedef struct run_log {
    int n;
    char spec[MAX_DEVICES][32];
    char api[MAX_DEVICES][16];
    float loss[MAX_DEVICES][AGREE_STEPS];    /* the small CNN */
    float gpt[MAX_DEVICES][GPT_AGREE_STEPS]; /* the transformer block */
} run_log;

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

/* A deterministic value in [-1, 1). */
static float noise(uint32_t seed, uint32_t i)
{
    return (float)((double)hash32(seed * 0x9E3779B1u + i) / 4294967296.0 * 2.0 - 1.0);
}

/* A graph with `seed` and the profile as $PORTA_GRAPH_PROFILE says (unset
 * in the test environment). */
static porta_status graph_create(porta_context *ctx, uint64_t seed, porta_graph **g)
{
    const porta_graph_options options = {.seed = seed, .profile = PORTA_SETTING_DEFAULT};
    return porta_graph_create(ctx, &options, g);
}

typedef struct model {
    porta_graph *g;
    porta_tensor inputs[3];
    size_t input_n[3];
    porta_dtype input_dtype[3];
    unsigned n_inputs;
    uint32_t label_classes; /* labels are the last input */
} model;

static porta_status add_input(porta_context *ctx, model *m, const char *name, porta_dtype dtype,
                              unsigned ndim, const size_t *shape)
{
    size_t n = 1;
    for (unsigned d = 0; d < ndim; d++)
        n *= shape[d];
    m->input_n[m->n_inputs] = n;
    m->input_dtype[m->n_inputs] = dtype;
    return porta_graph_input(ctx, m->g, name, dtype, ndim, shape, &m->inputs[m->n_inputs++]);
}

/* Fill every input with data from `seed` (labels < label_classes, tokens
 * < the vocabulary passed as classes too). */
static porta_status set_inputs(porta_context *ctx, model *m, uint32_t seed, uint32_t vocab)
{
    porta_status st = PORTA_OK;
    for (unsigned i = 0; i < m->n_inputs && !st; i++) {
        void *data = malloc(m->input_n[i] * 4);
        if (!data)
            return PORTA_ERROR_OUT_OF_HOST_MEMORY;
        for (size_t j = 0; j < m->input_n[i]; j++) {
            if (m->input_dtype[i] == PORTA_F32)
                ((float *)data)[j] = noise(seed + i, (uint32_t)j);
            else
                ((uint32_t *)data)[j] = hash32(seed * 31u + i * 7u + (uint32_t)j) %
                                        (i + 1 == m->n_inputs ? m->label_classes : vocab);
        }
        st = porta_graph_set_input(ctx, m->g, m->inputs[i], data, m->input_n[i] * 4);
        free(data);
    }
    return st;
}

/* An MLP with a residual block, layer norm and dropout (p given). */
static porta_status build_mlp(porta_context *ctx, model *m, size_t batch, float dropout)
{
    porta_tensor h, r, y, loss;
    const size_t xs[2] = {batch, 12};
    m->label_classes = 5;
    porta_status st = add_input(ctx, m, "x", PORTA_F32, 2, xs);
    if (!st)
        st = add_input(ctx, m, "labels", PORTA_U32, 1, &batch);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 16, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, m->g, h, 16, true, "fc2", &r);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_GELU, r, &r);
    if (!st)
        st = porta_graph_dropout(ctx, m->g, r, dropout, &r);
    if (!st)
        st = porta_graph_add(ctx, m->g, h, r, &h);
    if (!st)
        st = porta_graph_layernorm(ctx, m->g, h, 1e-5f, "ln", &h);
    if (!st)
        st = porta_graph_linear(ctx, m->g, h, 5, true, "head", &y);
    if (!st)
        st = porta_graph_cross_entropy(ctx, m->g, y, m->inputs[1], &loss);
    return st;
}

static porta_status build_cnn(porta_context *ctx, model *m, size_t batch)
{
    porta_tensor h, y, loss;
    const size_t xs[4] = {batch, 3, 9, 9};
    m->label_classes = 4;
    porta_status st = add_input(ctx, m, "x", PORTA_F32, 4, xs);
    if (!st)
        st = add_input(ctx, m, "labels", PORTA_U32, 1, &batch);
    if (!st)
        st = porta_graph_conv2d(ctx, m->g, m->inputs[0], 4, 3, 1, 1, true, "conv1", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    if (!st)
        st = porta_graph_pool(ctx, m->g, PORTA_POOL_MAX, h, 2, 2, 0, &h); /* 4x4 */
    if (!st)
        st = porta_graph_conv2d(ctx, m->g, h, 6, 3, 1, 1, false, "conv2", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_SIGMOID, h, &h);
    porta_tensor a = 0, b = 0;
    if (!st)
        st = porta_graph_pool(ctx, m->g, PORTA_POOL_AVG, h, 2, 2, 0, &a); /* 2x2 */
    if (!st)
        st = porta_graph_global_avg_pool(ctx, m->g, h, &b); /* [N, 6] */
    const size_t flat[2] = {batch, 6 * 2 * 2};
    if (!st)
        st = porta_graph_reshape(ctx, m->g, a, 2, flat, &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, a, 4, true, "fc_a", &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, b, 4, false, "fc_b", &b);
    if (!st)
        st = porta_graph_add(ctx, m->g, a, b, &y);
    if (!st)
        st = porta_graph_cross_entropy(ctx, m->g, y, m->inputs[1], &loss);
    return st;
}

#define VOCAB 11

/* One pre-norm transformer block with a tied output head. */
static porta_status build_transformer(porta_context *ctx, model *m, size_t batch, size_t T)
{
    porta_tensor tok, pos, table, h, a, f, y, loss;
    const size_t ts[2] = {batch, T};
    const size_t C = 8;
    m->label_classes = VOCAB;
    porta_status st = add_input(ctx, m, "tokens", PORTA_U32, 2, ts);
    if (!st)
        st = add_input(ctx, m, "positions", PORTA_U32, 2, ts);
    if (!st)
        st = add_input(ctx, m, "targets", PORTA_U32, 2, ts);
    if (!st)
        st = porta_graph_embedding(ctx, m->g, m->inputs[0], VOCAB, C, "wte", &tok, &table);
    if (!st)
        st = porta_graph_embedding(ctx, m->g, m->inputs[1], T, C, "wpe", &pos, NULL);
    if (!st)
        st = porta_graph_add(ctx, m->g, tok, pos, &h);
    if (!st)
        st = porta_graph_layernorm(ctx, m->g, h, 1e-5f, "ln1", &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, a, 3 * C, true, "qkv", &a);
    if (!st)
        st = porta_graph_attention(ctx, m->g, a, 2, true, &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, a, C, true, "proj", &a);
    if (!st)
        st = porta_graph_add(ctx, m->g, h, a, &h);
    if (!st)
        st = porta_graph_layernorm(ctx, m->g, h, 1e-5f, "ln2", &f);
    if (!st)
        st = porta_graph_linear(ctx, m->g, f, 4 * C, true, "fc", &f);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_GELU, f, &f);
    if (!st)
        st = porta_graph_linear(ctx, m->g, f, C, true, "fc_proj", &f);
    if (!st)
        st = porta_graph_add(ctx, m->g, h, f, &h);
    if (!st)
        st = porta_graph_layernorm(ctx, m->g, h, 1e-5f, "ln_f", &h);
    if (!st)
        st = porta_graph_matmul(ctx, m->g, h, table, true, &y);
    if (!st)
        st = porta_graph_cross_entropy(ctx, m->g, y, m->inputs[2], &loss);
    return st;
}

/* Positions input of the transformer: t for every batch row. */
static porta_status set_positions(porta_context *ctx, model *m, size_t batch, size_t T)
{
    uint32_t *p = malloc(batch * T * sizeof *p);
    if (!p)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < batch * T; i++)
        p[i] = (uint32_t)(i % T);
    porta_status st = porta_graph_set_input(ctx, m->g, m->inputs[1], p, batch * T * 4);
    free(p);
    return st;
}

static porta_status compile_sgd_frozen(porta_context *ctx, model *m)
{
    /* SGD with lr 0: a train step leaves the gradients and changes nothing */
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    oc.groups[0].lr = 0.0f;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    return porta_graph_compile(ctx, m->g, &oc, &sc);
}

static double mean_loss(test_state *t, porta_context *ctx, model *m)
{
    double sum = 0.0;
    size_t correct = 0;
    porta_status st = porta_graph_evaluate(ctx, m->g, 0, &sum, &correct);
    CHECK_OK(t, ctx, st, "evaluate");
    return st ? NAN : sum / (double)m->input_n[m->n_inputs - 1];
}

/* For every parameter tensor: g . u against (L(p + eps u) - L(p - eps u)) / 2 eps. */
static void check_gradients(test_state *t, porta_context *ctx, model *m, const char *what)
{
    porta_status st = porta_graph_train_step(ctx, m->g);
    CHECK_OK(t, ctx, st, "train step");
    size_t count = 0;
    porta_graph_parameter_count(ctx, m->g, &count);
    int bad = 0;
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor p;
        const char *name;
        unsigned ndim;
        size_t shape[PORTA_MAX_DIMS], n = 1;
        porta_graph_parameter_at(ctx, m->g, i, &p, &name);
        porta_graph_shape(ctx, m->g, p, &ndim, shape);
        for (unsigned d = 0; d < ndim; d++)
            n *= shape[d];
        float *v = malloc(n * sizeof *v), *gr = malloc(n * sizeof *gr), *w = malloc(n * sizeof *w);
        double dot = 0.0, unorm = 0.0;
        st = porta_graph_parameter_read(ctx, m->g, p, false, v, n);
        if (!st)
            st = porta_graph_parameter_read(ctx, m->g, p, true, gr, n);
        for (size_t j = 0; j < n; j++) {
            const double u = noise(1234u + (uint32_t)i, (uint32_t)j);
            dot += u * gr[j];
            unorm += u * u;
        }
        const double eps = 2e-3 / sqrt(unorm / (double)n);
        double l[2] = {0, 0};
        for (int s = 0; s < 2 && !st; s++) {
            for (size_t j = 0; j < n; j++)
                w[j] = (float)(v[j] + (s ? -eps : eps) * noise(1234u + (uint32_t)i, (uint32_t)j));
            st = porta_graph_parameter_write(ctx, m->g, p, w, n);
            l[s] = mean_loss(t, ctx, m);
        }
        if (!st)
            st = porta_graph_parameter_write(ctx, m->g, p, v, n);
        CHECK_OK(t, ctx, st, "parameter access");
        const double fd = (l[0] - l[1]) / (2 * eps);
        const double err = fabs(fd - dot);
        const int ok = err <= 2e-2 * fabs(dot) + 2e-4 * sqrt(unorm);
        bad += !ok;
        CHECK(t, ok, "%s: %s: gradient along u %.6g, finite difference %.6g", what, name, dot, fd);
        free(v);
        free(gr);
        free(w);
    }
    CHECK(t, count > 0 && bad == 0, "%s: %zu parameter tensors checked", what, count);
}

static void gradient_checks(test_state *t, porta_context *ctx)
{
    model m = {0};
    porta_status st = graph_create(ctx, 7, &m.g);
    if (!st)
        st = build_mlp(ctx, &m, 6, 0.0f);
    if (!st)
        st = compile_sgd_frozen(ctx, &m);
    if (!st)
        st = set_inputs(ctx, &m, 11, 0);
    CHECK_OK(t, ctx, st, "MLP");
    if (!st)
        check_gradients(t, ctx, &m, "MLP");
    porta_graph_destroy(ctx, m.g);

    memset(&m, 0, sizeof m);
    st = graph_create(ctx, 8, &m.g);
    if (!st)
        st = build_cnn(ctx, &m, 3);
    if (!st)
        st = compile_sgd_frozen(ctx, &m);
    if (!st)
        st = set_inputs(ctx, &m, 12, 0);
    CHECK_OK(t, ctx, st, "CNN");
    if (!st)
        check_gradients(t, ctx, &m, "CNN");
    porta_graph_destroy(ctx, m.g);

    memset(&m, 0, sizeof m);
    st = graph_create(ctx, 9, &m.g);
    if (!st)
        st = build_transformer(ctx, &m, 2, 5);
    if (!st)
        st = compile_sgd_frozen(ctx, &m);
    if (!st)
        st = set_inputs(ctx, &m, 13, VOCAB);
    if (!st)
        st = set_positions(ctx, &m, 2, 5);
    /* GPT's N(0, 0.02^2) embeddings put the first layer norm where its
     * curvature swamps any finite difference: check at unit scale */
    for (size_t i = 0; i < 2 && !st; i++) {
        porta_tensor p;
        const char *name;
        float values[VOCAB * 8];
        st = porta_graph_parameter_at(ctx, m.g, i, &p, &name);
        const size_t n = strcmp(name, "wte.weight") == 0 ? VOCAB * 8 : 5 * 8;
        for (size_t j = 0; j < n; j++)
            values[j] = noise(77u + (uint32_t)i, (uint32_t)j);
        if (!st)
            st = porta_graph_parameter_write(ctx, m.g, p, values, n);
    }
    CHECK_OK(t, ctx, st, "transformer block");
    if (!st)
        check_gradients(t, ctx, &m, "transformer block");
    porta_graph_destroy(ctx, m.g);
}

static porta_status compile_adamw_greedy(porta_context *ctx, model *m, float lr)
{
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    oc.groups[0].lr = lr;
    oc.groups[0].min_lr = lr / 100;
    oc.groups[0].max_lr = lr * 10;
    oc.groups[0].weight_decay = 0.01f;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    return porta_graph_compile(ctx, m->g, &oc, &sc);
}

/* Train `steps` steps of the small CNN (a new batch uploaded each step),
 * losses from the metrics ring; *syncs: host waits and reads during the
 * steps. */
static porta_status train_cnn(porta_context *ctx, model *m, int steps, float *losses,
                              uint64_t *syncs)
{
    porta_status st = graph_create(ctx, 42, &m->g);
    if (!st)
        st = build_cnn(ctx, m, 8);
    if (!st)
        st = compile_adamw_greedy(ctx, m, 3e-3f);
    porta_counters before, after;
    if (!st)
        st = porta_counters_get(ctx, &before);
    for (int s = 0; s < steps && !st; s++) {
        st = set_inputs(ctx, m, 100u + (uint32_t)(s % 2), 0);
        if (!st)
            st = porta_graph_train_step(ctx, m->g);
    }
    if (!st)
        st = porta_counters_get(ctx, &after);
    if (!st)
        *syncs =
            (after.host_waits - before.host_waits) + (after.device_reads - before.device_reads);
    porta_optimizer *opt = NULL;
    if (!st)
        st = porta_graph_optimizer(ctx, m->g, &opt);
    porta_step_metrics metrics[AGREE_STEPS];
    size_t n = 0, lost = 0;
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, metrics, AGREE_STEPS, &n, &lost);
    if (!st && (n != (size_t)steps || lost))
        st = PORTA_ERROR_MISMATCH;
    for (size_t i = 0; !st && i < n; i++)
        losses[i] = metrics[i].loss;
    return st;
}

static porta_status set_positions(porta_context *ctx, model *m, size_t batch, size_t T);

/* `steps` AdamW + GreedyLR steps of the transformer block on two batches
 * in turn; losses from the metrics ring. */
static porta_status train_transformer(porta_context *ctx, int steps, float *losses)
{
    model m = {0};
    porta_status st = graph_create(ctx, 43, &m.g);
    if (!st)
        st = build_transformer(ctx, &m, 2, 5);
    if (!st)
        st = compile_adamw_greedy(ctx, &m, 3e-3f);
    for (int s = 0; s < steps && !st; s++) {
        st = set_inputs(ctx, &m, 200u + (uint32_t)(s % 2), VOCAB);
        if (!st)
            st = set_positions(ctx, &m, 2, 5);
        if (!st)
            st = porta_graph_train_step(ctx, m.g);
    }
    porta_optimizer *opt = NULL;
    porta_step_metrics metrics[GPT_AGREE_STEPS];
    size_t n = 0, lost = 0;
    if (!st)
        st = porta_graph_optimizer(ctx, m.g, &opt);
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, metrics, GPT_AGREE_STEPS, &n, &lost);
    if (!st && (n != (size_t)steps || lost))
        st = PORTA_ERROR_MISMATCH;
    for (size_t i = 0; !st && i < n; i++)
        losses[i] = metrics[i].loss;
    porta_graph_destroy(ctx, m.g);
    return st;
}

static void training_checks(test_state *t, porta_context *ctx, const porta_device_info *info,
                            run_log *log)
{
    /* enqueue only: no waits, no reads during steps */
    model m = {0};
    porta_status st = graph_create(ctx, 5, &m.g);
    if (!st)
        st = build_mlp(ctx, &m, 16, 0.1f);
    if (!st)
        st = compile_adamw_greedy(ctx, &m, 1e-2f);
    if (!st)
        st = set_inputs(ctx, &m, 21, 0);
    porta_counters before, after;
    if (!st)
        st = porta_counters_get(ctx, &before);
    for (int s = 0; s < 10 && !st; s++)
        st = porta_graph_train_step(ctx, m.g);
    if (!st)
        st = porta_counters_get(ctx, &after);
    CHECK_OK(t, ctx, st, "MLP steps");
    CHECK(t,
          !st && after.host_waits == before.host_waits && after.device_reads == before.device_reads,
          "10 training steps: %llu waits, %llu reads (%llu waits for queue room)",
          (unsigned long long)(after.host_waits - before.host_waits),
          (unsigned long long)(after.device_reads - before.device_reads),
          (unsigned long long)(after.queue_full_waits - before.queue_full_waits));
    porta_graph_info gi;
    if (!st)
        st = porta_graph_info_get(ctx, m.g, &gi);
    CHECK(t, !st && gi.arena_bytes < gi.unplanned_bytes && gi.arena_bytes > 0,
          "planned arena %zu bytes < %zu unplanned", gi.arena_bytes, gi.unplanned_bytes);
    /* training lowers the loss on a fixed batch */
    porta_optimizer *opt = NULL;
    porta_step_metrics first[16];
    size_t n = 0, lost = 0;
    if (!st)
        st = porta_graph_optimizer(ctx, m.g, &opt);
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, first, 16, &n, &lost);
    for (int s = 0; s < 60 && !st; s++)
        st = porta_graph_train_step(ctx, m.g);
    double sum = 0.0;
    size_t correct = 0, rows = 16;
    if (!st)
        st = porta_graph_evaluate(ctx, m.g, 0, &sum, &correct);
    CHECK_OK(t, ctx, st, "MLP training");
    CHECK(t, !st && n == 10 && sum / (double)rows < 0.5 * first[0].loss,
          "70 steps on one batch: loss %.4f -> %.4f (%zu/%zu right)", n ? first[0].loss : 0.0f,
          sum / (double)(rows ? rows : 1), correct, rows);
    porta_graph_destroy(ctx, m.g);

    /* the same seed twice: the same bits */
    float a[AGREE_STEPS], b[20];
    model m1 = {0}, m2 = {0};
    uint64_t syncs = 1, syncs2 = 1;
    st = train_cnn(ctx, &m1, AGREE_STEPS, a, &syncs);
    CHECK_OK(t, ctx, st, "CNN 100 steps");
    CHECK(t, syncs == 0, "CNN: %llu host waits and reads in 100 training steps (batches uploaded)",
          (unsigned long long)syncs);
    porta_status st2 = train_cnn(ctx, &m2, 20, b, &syncs2);
    CHECK_OK(t, ctx, st2, "CNN 20 steps again");
    CHECK(t, !st && !st2 && memcmp(a, b, sizeof b) == 0, "same seed, same device: same losses");
    CHECK(t, !st && a[AGREE_STEPS - 1] < a[0], "CNN loss %.4f -> %.4f", (double)a[0],
          (double)a[AGREE_STEPS - 1]);
    porta_graph_destroy(ctx, m1.g);
    porta_graph_destroy(ctx, m2.g);
    float g[GPT_AGREE_STEPS];
    st2 = train_transformer(ctx, GPT_AGREE_STEPS, g);
    CHECK_OK(t, ctx, st2, "transformer block 50 steps");
    CHECK(t, !st2 && g[GPT_AGREE_STEPS - 1] < g[0], "transformer loss %.4f -> %.4f", (double)g[0],
          (double)g[GPT_AGREE_STEPS - 1]);
    if (log && !st && !st2 && log->n < MAX_DEVICES) {
        snprintf(log->spec[log->n], sizeof log->spec[0], "%s", info->spec);
        snprintf(log->api[log->n], sizeof log->api[0], "%s", info->api);
        memcpy(log->loss[log->n], a, sizeof a);
        memcpy(log->gpt[log->n], g, sizeof g);
        log->n++;
    }
}

static void expect_error(test_state *t, porta_context *ctx, porta_status st, const char *needle,
                         const char *what)
{
    const char *msg = porta_context_message(ctx);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT && strstr(msg, needle), "%s: %s (%s)", what,
          porta_strerror(st), msg);
}

static void error_checks(test_state *t, porta_context *ctx)
{
    porta_graph *g = NULL;
    porta_status st = porta_graph_create(ctx, NULL, &g); /* NULL: all zero */
    CHECK_OK(t, ctx, st, "create");
    if (st)
        return;
    porta_tensor x, y, labels, img, bad;
    const size_t xs[2] = {4, 3}, ls = 5, is[4] = {1, 1, 2, 2}, zero[2] = {4, 0};
    st = porta_graph_input(ctx, g, "x", PORTA_F32, 2, xs, &x);
    CHECK_OK(t, ctx, st, "input");
    st = porta_graph_input(ctx, g, "labels", PORTA_U32, 1, &ls, &labels);
    CHECK_OK(t, ctx, st, "labels");
    st = porta_graph_input(ctx, g, "img", PORTA_F32, 4, is, &img);
    CHECK_OK(t, ctx, st, "image");
    expect_error(t, ctx, porta_graph_input(ctx, g, "x", PORTA_F32, 2, xs, &bad), "taken",
                 "duplicate name");
    expect_error(t, ctx, porta_graph_input(ctx, g, "z", PORTA_F32, 2, zero, &bad), "dimension 1",
                 "zero size");
    expect_error(t, ctx, porta_graph_linear(ctx, g, labels, 3, true, "l0", &y), "uint32",
                 "linear on labels");
    expect_error(t, ctx, porta_graph_conv2d(ctx, g, x, 3, 3, 1, 0, true, "c0", &y), "4",
                 "conv2d of a matrix");
    expect_error(t, ctx, porta_graph_conv2d(ctx, g, img, 3, 3, 1, 0, true, "c1", &y), "",
                 "conv2d kernel larger than the image");
    const size_t wrong[1] = {7};
    expect_error(t, ctx, porta_graph_reshape(ctx, g, x, 1, wrong, &y), "12 elements",
                 "reshape to another size");
    expect_error(t, ctx, porta_graph_add(ctx, g, x, img, &y), "differ", "add of two shapes");
    expect_error(t, ctx, porta_graph_attention(ctx, g, x, 2, true, &y), "[B, T, 3 C]",
                 "attention of a matrix");
    porta_tensor labels4;
    st = porta_graph_input(ctx, g, "labels4", PORTA_U32, 1, xs, &labels4);
    CHECK_OK(t, ctx, st, "labels");
    expect_error(t, ctx, porta_graph_cross_entropy(ctx, g, x, labels4, &y), "no parameter",
                 "a loss with nothing to train");
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    expect_error(t, ctx, porta_graph_compile(ctx, g, &oc, &sc), "no loss", "compile, no loss");
    st = porta_graph_linear(ctx, g, x, 3, true, "fc", &y);
    CHECK_OK(t, ctx, st, "linear");
    expect_error(t, ctx, porta_graph_cross_entropy(ctx, g, y, labels, &bad), "5 labels for 4",
                 "label count");
    porta_graph_destroy(ctx, g);
}

/* A linear layer followed by an activation runs as one GEMM with an
 * epilogue: after a forward pass the linear's output must hold
 * x W^T + b (within the float summation bound) and the activation's
 * output f of it (test_activations' bound), for every activation, with and
 * without a bias. */
static void fusion_checks(test_state *t, porta_context *ctx)
{
    const size_t rows = 7, in = 12, out = 9, xs[2] = {rows, in};
    const porta_activation fns[] = {PORTA_RELU, PORTA_GELU, PORTA_TANH, PORTA_SIGMOID};
    for (int f = 0; f < 4; f++) {
        model m = {0};
        porta_tensor pre = 0, act = 0, y = 0, loss = 0;
        const int bias = f != 2;
        porta_status st = graph_create(ctx, 20 + (uint64_t)f, &m.g);
        if (!st)
            st = add_input(ctx, &m, "x", PORTA_F32, 2, xs);
        if (!st)
            st = add_input(ctx, &m, "labels", PORTA_U32, 1, &rows);
        if (!st)
            st = porta_graph_linear(ctx, m.g, m.inputs[0], out, bias, "fc", &pre);
        if (!st)
            st = porta_graph_activation(ctx, m.g, fns[f], pre, &act);
        if (!st)
            st = porta_graph_linear(ctx, m.g, act, 3, true, "head", &y);
        if (!st)
            st = porta_graph_cross_entropy(ctx, m.g, y, m.inputs[1], &loss);
        m.label_classes = 3;
        if (!st)
            st = compile_sgd_frozen(ctx, &m);
        if (!st)
            st = set_inputs(ctx, &m, 30 + (uint32_t)f, 0);
        if (!st)
            st = porta_graph_forward(ctx, m.g);
        float x[7 * 12], w[9 * 12], b[9] = {0}, got_pre[7 * 9], got_act[7 * 9];
        for (size_t i = 0; i < rows * in; i++)
            x[i] = noise(30 + (uint32_t)f, (uint32_t)i); /* as set_inputs wrote it */
        size_t count = 0;
        if (!st)
            st = porta_graph_parameter_count(ctx, m.g, &count);
        for (size_t i = 0; i < count && !st; i++) {
            porta_tensor p;
            const char *name;
            st = porta_graph_parameter_at(ctx, m.g, i, &p, &name);
            if (!st && strcmp(name, "fc.weight") == 0)
                st = porta_graph_parameter_read(ctx, m.g, p, false, w, out * in);
            else if (!st && strcmp(name, "fc.bias") == 0)
                st = porta_graph_parameter_read(ctx, m.g, p, false, b, out);
        }
        if (!st)
            st = porta_graph_read(ctx, m.g, pre, got_pre, sizeof got_pre);
        if (!st)
            st = porta_graph_read(ctx, m.g, act, got_act, sizeof got_act);
        CHECK_OK(t, ctx, st, "fused linear + activation graph");
        size_t bad = 0;
        for (size_t r = 0; r < rows && !st; r++)
            for (size_t c = 0; c < out; c++) {
                double v = b[c], mag = fabs(b[c]);
                for (size_t q = 0; q < in; q++) {
                    v += (double)x[r * in + q] * w[c * in + q];
                    mag += fabs((double)x[r * in + q] * w[c * in + q]);
                }
                const double p = got_pre[r * out + c], a = got_act[r * out + c];
                const double want_a = porta_ref_activation((int)fns[f], p);
                bad += !(fabs(p - v) <= (double)(in + 4) * 0x1p-24 * mag);
                bad += !(fabs(a - want_a) <= 1e-5 * fabs(want_a) + 4e-6 * (1.0 + fabs(p)));
            }
        CHECK(t, bad == 0, "fused linear + %d (bias %d): %zu values wrong", (int)fns[f], bias, bad);
        porta_graph_destroy(ctx, m.g);
    }
}

/* ---- porta_graph_options::profile against $PORTA_GRAPH_PROFILE ---- */

/* Run `steps` training steps of a small MLP created with profile `setting`
 * while $PORTA_GRAPH_PROFILE is `env` (NULL: unset) at creation and
 * `later_env` from then on. *waits: host waits during the steps; losses:
 * the steps' losses; *printed: whether destroying the graph wrote the
 * profile summary to stderr. */
static porta_status profiled_run(porta_context *ctx, porta_setting setting, const char *env,
                                 const char *later_env, int steps, uint64_t *waits, float *losses,
                                 int *printed)
{
    if (env)
        setenv("PORTA_GRAPH_PROFILE", env, 1);
    else
        unsetenv("PORTA_GRAPH_PROFILE");
    model m = {0};
    const porta_graph_options options = {.seed = 17, .profile = setting};
    porta_status st = porta_graph_create(ctx, &options, &m.g);
    if (later_env)
        setenv("PORTA_GRAPH_PROFILE", later_env, 1);
    else
        unsetenv("PORTA_GRAPH_PROFILE");
    if (!st)
        st = build_mlp(ctx, &m, 4, 0.0f);
    if (!st)
        st = compile_adamw_greedy(ctx, &m, 1e-2f);
    if (!st)
        st = set_inputs(ctx, &m, 3, 0);
    if (!st)
        st = porta_finish(ctx);
    porta_counters before, after;
    if (!st)
        st = porta_counters_get(ctx, &before);
    for (int s = 0; s < steps && !st; s++)
        st = porta_graph_train_step(ctx, m.g);
    if (!st)
        st = porta_counters_get(ctx, &after);
    if (!st)
        *waits = after.host_waits - before.host_waits;
    porta_optimizer *opt = NULL;
    porta_step_metrics metrics[8];
    size_t n = 0;
    if (!st)
        st = porta_graph_optimizer(ctx, m.g, &opt);
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, metrics, 8, &n, NULL);
    if (!st && n != (size_t)steps)
        st = PORTA_ERROR_MISMATCH;
    for (size_t i = 0; !st && i < n; i++)
        losses[i] = metrics[i].loss;
    /* The summary goes to stderr when the graph is destroyed: catch it. */
    *printed = -1;
    FILE *catch = tmpfile();
    fflush(stderr);
    const int saved = dup(2);
    if (catch && saved >= 0 && dup2(fileno(catch), 2) >= 0) {
        porta_graph_destroy(ctx, m.g);
        fflush(stderr);
        dup2(saved, 2);
        char text[4096] = "";
        rewind(catch);
        const size_t got = fread(text, 1, sizeof text - 1, catch);
        text[got] = '\0';
        *printed = strstr(text, "profile") != NULL;
    } else {
        porta_graph_destroy(ctx, m.g);
    }
    if (saved >= 0)
        close(saved);
    if (catch)
        fclose(catch);
    unsetenv("PORTA_GRAPH_PROFILE");
    return st;
}

/* profile = OFF keeps profiling off whatever $PORTA_GRAPH_PROFILE says, ON
 * turns it on whatever it says, DEFAULT follows it as it was when the
 * graph was created. Profiling waits after every layer (host waits during
 * the steps, which otherwise make none), prints a summary when the graph
 * is destroyed, and changes no result. */
static void profile_checks(test_state *t, porta_context *ctx, const char *dev)
{
    enum { STEPS = 3 };
    static const struct {
        porta_setting setting;
        const char *env, *later_env, *what;
        int on;
    } runs[] = {
        {PORTA_SETTING_OFF, "1", "1", "OFF with PORTA_GRAPH_PROFILE=1", 0},
        {PORTA_SETTING_ON, "0", "0", "ON with PORTA_GRAPH_PROFILE=0", 1},
        {PORTA_SETTING_ON, NULL, NULL, "ON with PORTA_GRAPH_PROFILE unset", 1},
        {PORTA_SETTING_DEFAULT, "1", "1", "DEFAULT with PORTA_GRAPH_PROFILE=1", 1},
        {PORTA_SETTING_DEFAULT, "0", "0", "DEFAULT with PORTA_GRAPH_PROFILE=0", 0},
        {PORTA_SETTING_DEFAULT, "", "", "DEFAULT with PORTA_GRAPH_PROFILE empty", 0},
        {PORTA_SETTING_DEFAULT, NULL, NULL, "DEFAULT with PORTA_GRAPH_PROFILE unset", 0},
        /* read when the graph is created, not later */
        {PORTA_SETTING_DEFAULT, "1", NULL, "DEFAULT, PORTA_GRAPH_PROFILE=1 only at creation", 1},
        {PORTA_SETTING_DEFAULT, NULL, "1", "DEFAULT, PORTA_GRAPH_PROFILE=1 only after creation", 0},
    };
    float first[STEPS] = {0};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        uint64_t waits = 0;
        float losses[STEPS] = {0};
        int printed = -1;
        porta_status st = profiled_run(ctx, runs[r].setting, runs[r].env, runs[r].later_env, STEPS,
                                       &waits, losses, &printed);
        char what[160];
        snprintf(what, sizeof what, "profile %s", runs[r].what);
        CHECK_OK(t, ctx, st, what);
        if (st)
            continue;
        if (runs[r].on)
            CHECK(t, waits >= STEPS,
                  "%s: %s: %llu host waits in %d steps, expected a wait per layer", dev, what,
                  (unsigned long long)waits, STEPS);
        else
            CHECK(t, waits == 0, "%s: %s: %llu host waits in %d steps, expected none", dev, what,
                  (unsigned long long)waits, STEPS);
        CHECK(t, printed == runs[r].on, "%s: %s: the summary was %s on destroy", dev, what,
              printed < 0 ? "not capturable"
              : printed   ? "printed"
                          : "not printed");
        if (r == 0)
            memcpy(first, losses, sizeof first);
        else
            CHECK(t, memcmp(first, losses, sizeof first) == 0,
                  "%s: %s: the losses differ from the run without profiling", dev, what);
    }
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    fusion_checks(t, ctx);
    gradient_checks(t, ctx);
    training_checks(t, ctx, info, NULL);
    error_checks(t, ctx);
    profile_checks(t, ctx, info->spec);
}

/* `test_graph agreement`: the small CNN's 100 steps and the transformer
 * block's 50 on this device, into the log the devices are compared by. */
static void agreement_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                             void *user)
{
    run_log *log = user;
    model m = {0};
    float a[AGREE_STEPS], g[GPT_AGREE_STEPS];
    uint64_t syncs = 1;
    porta_status st = train_cnn(ctx, &m, AGREE_STEPS, a, &syncs);
    CHECK_OK(t, ctx, st, "CNN 100 steps");
    porta_graph_destroy(ctx, m.g);
    porta_status st2 = train_transformer(ctx, GPT_AGREE_STEPS, g);
    CHECK_OK(t, ctx, st2, "transformer block 50 steps");
    CHECK(t, log->n < MAX_DEVICES, "more than %d devices: %s not compared", MAX_DEVICES,
          info->spec);
    if (!st && !st2 && log->n < MAX_DEVICES) {
        snprintf(log->spec[log->n], sizeof log->spec[0], "%s", info->spec);
        snprintf(log->api[log->n], sizeof log->api[0], "%s", info->api);
        memcpy(log->loss[log->n], a, sizeof a);
        memcpy(log->gpt[log->n], g, sizeof g);
        log->n++;
    }
}
/* Device i's losses against device j's, step by step: within 1e-4 relative. */
static void compare_runs(test_state *t, const run_log *log, int i, int j, const char *what,
                         const float *a, const float *b, int steps)
{
    double worst = 0.0;
    int at = 0;
    for (int s = 0; s < steps; s++) {
        const double rel = fabs((double)a[s] - b[s]) / fmax(fabs((double)a[s]), 1e-30);
        if (!(rel <= worst)) {
            worst = rel;
            at = s;
        }
    }
    CHECK(t, worst <= 1e-4,
          "%s: %s vs %s: %d steps, largest relative loss difference %.3g at step %d", what,
          log->spec[i], log->spec[j], steps, worst, at);
    printf("%s: %s vs %s: largest relative loss difference over %d steps: %.3g\n", what,
           log->spec[i], log->spec[j], steps, worst);
}

/*   test_graph             every check on every device
 *   test_graph agreement   every OpenCL device's losses against every
 *                          Vulkan device's (skipped without such a pair) */
int main(int argc, char **argv)
{
    test_state t = {0};
    test_init();
    const int agreement = argc > 1 && strcmp(argv[1], "agreement") == 0;
    CHECK(&t, argc < 2 || agreement, "unknown argument %s", argc > 1 ? argv[1] : "");
    if (!agreement) {
        if (argc < 2)
            test_for_each_device(&t, check_device, NULL);
        return test_finish(&t);
    }
    run_log *log = calloc(1, sizeof *log);
    if (!log)
        return 1;
    test_for_each_device(&t, agreement_device, log);
    /* every OpenCL device against every Vulkan device */
    int pairs = 0;
    for (int i = 0; i < log->n; i++) {
        for (int j = i + 1; j < log->n; j++) {
            if (strcmp(log->api[i], log->api[j]) == 0)
                continue;
            compare_runs(&t, log, i, j, "CNN", log->loss[i], log->loss[j], AGREE_STEPS);
            compare_runs(&t, log, i, j, "transformer", log->gpt[i], log->gpt[j], GPT_AGREE_STEPS);
            pairs++;
        }
    }
    if (pairs == 0) {
        char found[MAX_DEVICES * 34 + 1] = "";
        for (int i = 0; i < log->n; i++) {
            strcat(found, " ");
            strcat(found, log->spec[i]);
        }
        TEST_SKIP(&t,
                  "no OpenCL and Vulkan device to compare: the %d device(s) that trained here "
                  "(%s) are of one API",
                  log->n, log->n ? found + 1 : "none");
    }
    free(log);
    return test_finish(&t);
}
