/* check_gradients.c: gradients.*, every backward pass of the graph API
 * against finite differences, one small graph per layer kind.
 *
 * Each graph feeds the layer under test from a parameterised layer and
 * into a linear head and the softmax cross-entropy, so every backward the
 * kind has is on the path of some parameter. With SGD at lr 0 a training
 * step leaves the gradients and changes nothing; then for every parameter
 * tensor p and a random direction u, the directional derivative g . u is
 * compared with the central difference (L(p + eps u) - L(p - eps u)) /
 * 2 eps of the loss evaluated on the device (eps = 2e-3 / rms(u)): within
 * 2e-2 |g . u| + 2e-4 |u|, what float evaluations of a loss of order 1
 * allow at that step, yet far below what a wrong or missing term gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

#define MAX_INPUTS 3
#define POSITIONS UINT32_MAX /* an input holding t for each position */

typedef struct model {
    porta_graph *g;
    porta_tensor inputs[MAX_INPUTS];
    size_t input_n[MAX_INPUTS];
    uint32_t range[MAX_INPUTS]; /* 0: float noise; else uint32 below it; POSITIONS */
    size_t period[MAX_INPUTS];  /* positions: the sequence length */
    unsigned n_inputs;
    size_t rows; /* rows of the loss (labels) */
} model;

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

static float noise(uint32_t seed, uint32_t i)
{
    return (float)((double)hash32(seed * 0x9E3779B1u + i) / 4294967296.0 * 2.0 - 1.0);
}

static porta_status add_input(porta_context *ctx, model *m, const char *name, uint32_t range,
                              unsigned ndim, const size_t *shape)
{
    size_t n = 1;
    for (unsigned d = 0; d < ndim; d++)
        n *= shape[d];
    const unsigned i = m->n_inputs++;
    m->input_n[i] = n;
    m->range[i] = range;
    m->period[i] = shape[ndim - 1];
    return porta_graph_input(ctx, m->g, name, range ? PORTA_U32 : PORTA_F32, ndim, shape,
                             &m->inputs[i]);
}

static porta_status set_inputs(porta_context *ctx, model *m, uint32_t seed)
{
    porta_status st = PORTA_OK;
    for (unsigned i = 0; i < m->n_inputs && !st; i++) {
        uint32_t *data = malloc(m->input_n[i] * 4);
        if (!data)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "graph inputs");
        for (size_t j = 0; j < m->input_n[i]; j++) {
            if (m->range[i] == 0) {
                const float v = noise(seed + i, (uint32_t)j);
                memcpy(&data[j], &v, 4);
            } else if (m->range[i] == POSITIONS) {
                data[j] = (uint32_t)(j % m->period[i]);
            } else {
                data[j] = hash32(seed * 31u + i * 7u + (uint32_t)j) % m->range[i];
            }
        }
        st = porta_graph_set_input(ctx, m->g, m->inputs[i], data, m->input_n[i] * 4);
        free(data);
    }
    return st;
}

/* The graphs, one per kind; each returns the status of building it. */
typedef porta_status (*build_fn)(porta_context *ctx, model *m);

static porta_status head_and_loss(porta_context *ctx, model *m, porta_tensor h, size_t classes,
                                  porta_tensor labels)
{
    porta_tensor y, loss;
    porta_status st = porta_graph_linear(ctx, m->g, h, classes, true, "head", &y);
    return st ? st : porta_graph_cross_entropy(ctx, m->g, y, labels, &loss);
}

/* x [6, 12] and labels [6] of 5 classes. */
static porta_status dense_inputs(porta_context *ctx, model *m)
{
    const size_t xs[2] = {6, 12}, ls = 6;
    m->rows = 6;
    porta_status st = add_input(ctx, m, "x", 0, 2, xs);
    return st ? st : add_input(ctx, m, "labels", 5, 1, &ls);
}

static porta_status build_linear(porta_context *ctx, model *m)
{
    porta_tensor h, r;
    porta_status st = dense_inputs(ctx, m);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 16, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, m->g, h, 16, false, "fc2", &r);
    if (!st)
        st = porta_graph_add(ctx, m->g, h, r, &h);
    return st ? st : head_and_loss(ctx, m, h, 5, m->inputs[1]);
}

static porta_status build_matmul(porta_context *ctx, model *m)
{
    porta_tensor h, w_t, w, a, b;
    const size_t st_shape[2] = {7, 8}, s_shape[2] = {8, 7};
    porta_status st = dense_inputs(ctx, m);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 8, true, "fc", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    if (!st)
        st = porta_graph_parameter(ctx, m->g, "w_t", 2, st_shape, PORTA_INIT_UNIFORM_FAN_IN, 0.0f,
                                   true, &w_t);
    if (!st)
        st = porta_graph_parameter(ctx, m->g, "w", 2, s_shape, PORTA_INIT_XAVIER_UNIFORM, 0.0f,
                                   true, &w);
    if (!st)
        st = porta_graph_matmul(ctx, m->g, h, w_t, true, &a);
    if (!st)
        st = porta_graph_matmul(ctx, m->g, h, w, false, &b);
    if (!st)
        st = porta_graph_add(ctx, m->g, a, b, &a);
    return st ? st : head_and_loss(ctx, m, a, 5, m->inputs[1]);
}

/* images [3, 3, 9, 9] and labels [3] of 4 classes. */
static porta_status image_inputs(porta_context *ctx, model *m)
{
    const size_t xs[4] = {3, 3, 9, 9}, ls = 3;
    m->rows = 3;
    porta_status st = add_input(ctx, m, "x", 0, 4, xs);
    return st ? st : add_input(ctx, m, "labels", 4, 1, &ls);
}

static porta_status build_conv2d(porta_context *ctx, model *m)
{
    porta_tensor h;
    const size_t flat[2] = {3, 3 * 5 * 5};
    porta_status st = image_inputs(ctx, m);
    if (!st) /* 3x3, padding 1, bias: 9x9 */
        st = porta_graph_conv2d(ctx, m->g, m->inputs[0], 4, 3, 1, 1, true, "conv1", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    if (!st) /* stride 2, no bias: 5x5 */
        st = porta_graph_conv2d(ctx, m->g, h, 5, 3, 2, 1, false, "conv2", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_SIGMOID, h, &h);
    if (!st) /* 1x1 projection */
        st = porta_graph_conv2d(ctx, m->g, h, 3, 1, 1, 0, true, "conv3", &h);
    if (!st)
        st = porta_graph_reshape(ctx, m->g, h, 2, flat, &h);
    return st ? st : head_and_loss(ctx, m, h, 4, m->inputs[1]);
}

static porta_status build_pool(porta_context *ctx, model *m)
{
    porta_tensor h, a, b, y, loss;
    const size_t flat[2] = {3, 4 * 4 * 4};
    porta_status st = image_inputs(ctx, m);
    if (!st)
        st = porta_graph_conv2d(ctx, m->g, m->inputs[0], 4, 3, 1, 1, true, "conv", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    if (!st) /* 9x9 -> 4x4, the last row and column dropped */
        st = porta_graph_pool(ctx, m->g, PORTA_POOL_MAX, h, 2, 2, 0, &h);
    if (!st) /* overlapping windows with padding: 4x4 */
        st = porta_graph_pool(ctx, m->g, PORTA_POOL_AVG, h, 3, 1, 1, &a);
    if (!st)
        st = porta_graph_global_avg_pool(ctx, m->g, a, &b);
    if (!st)
        st = porta_graph_reshape(ctx, m->g, a, 2, flat, &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, a, 4, true, "fc_a", &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, b, 4, false, "fc_b", &b);
    if (!st)
        st = porta_graph_add(ctx, m->g, a, b, &y);
    return st ? st : porta_graph_cross_entropy(ctx, m->g, y, m->inputs[1], &loss);
}

static porta_status build_activations(porta_context *ctx, model *m)
{
    static const porta_activation fns[] = {PORTA_RELU, PORTA_GELU, PORTA_TANH, PORTA_SIGMOID};
    static const char *const names[] = {"fc_relu", "fc_gelu", "fc_tanh", "fc_sigmoid"};
    porta_tensor h;
    porta_status st = dense_inputs(ctx, m);
    h = m->inputs[0];
    for (int i = 0; i < 4 && !st; i++) {
        st = porta_graph_linear(ctx, m->g, h, 12, true, names[i], &h);
        if (!st)
            st = porta_graph_activation(ctx, m->g, fns[i], h, &h);
    }
    return st ? st : head_and_loss(ctx, m, h, 5, m->inputs[1]);
}

static porta_status build_layernorm(porta_context *ctx, model *m)
{
    porta_tensor h;
    porta_status st = dense_inputs(ctx, m);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 16, true, "fc", &h);
    if (!st)
        st = porta_graph_layernorm(ctx, m->g, h, 1e-5f, "ln", &h);
    return st ? st : head_and_loss(ctx, m, h, 5, m->inputs[1]);
}

#define VOCAB 11

static porta_status build_embedding(porta_context *ctx, model *m)
{
    porta_tensor tok, pos, table, h, y, loss;
    const size_t ts[2] = {2, 5};
    m->rows = 10;
    porta_status st = add_input(ctx, m, "tokens", VOCAB, 2, ts);
    if (!st)
        st = add_input(ctx, m, "positions", POSITIONS, 2, ts);
    if (!st)
        st = add_input(ctx, m, "targets", VOCAB, 2, ts);
    if (!st)
        st = porta_graph_embedding(ctx, m->g, m->inputs[0], VOCAB, 8, "wte", &tok, &table);
    if (!st)
        st = porta_graph_embedding(ctx, m->g, m->inputs[1], 5, 8, "wpe", &pos, NULL);
    if (!st)
        st = porta_graph_add(ctx, m->g, tok, pos, &h);
    if (!st)
        st = porta_graph_linear(ctx, m->g, h, 8, true, "proj", &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_GELU, h, &h);
    if (!st) /* the head tied to the token table */
        st = porta_graph_matmul(ctx, m->g, h, table, true, &y);
    return st ? st : porta_graph_cross_entropy(ctx, m->g, y, m->inputs[2], &loss);
}

static porta_status build_attention(porta_context *ctx, model *m)
{
    porta_tensor a, b, h;
    const size_t xs[3] = {2, 5, 6}, ls[2] = {2, 5};
    m->rows = 10;
    porta_status st = add_input(ctx, m, "x", 0, 3, xs);
    if (!st)
        st = add_input(ctx, m, "labels", 5, 2, ls);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 3 * 8, true, "qkv_causal", &a);
    if (!st)
        st = porta_graph_attention(ctx, m->g, a, 2, true, &a);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 3 * 8, false, "qkv_full", &b);
    if (!st)
        st = porta_graph_attention(ctx, m->g, b, 4, false, &b);
    if (!st)
        st = porta_graph_add(ctx, m->g, a, b, &h);
    if (!st)
        st = porta_graph_linear(ctx, m->g, h, 8, true, "proj", &h);
    return st ? st : head_and_loss(ctx, m, h, 5, m->inputs[1]);
}

static porta_status build_dropout(porta_context *ctx, model *m)
{
    porta_tensor h;
    porta_status st = dense_inputs(ctx, m);
    if (!st)
        st = porta_graph_linear(ctx, m->g, m->inputs[0], 16, true, "fc", &h);
    if (!st)
        st = porta_graph_dropout(ctx, m->g, h, 0.0f, &h);
    if (!st)
        st = porta_graph_activation(ctx, m->g, PORTA_TANH, h, &h);
    return st ? st : head_and_loss(ctx, m, h, 5, m->inputs[1]);
}

static double mean_loss(porta_context *ctx, model *m, porta_status *st)
{
    double sum = 0.0;
    size_t correct = 0;
    if (!*st)
        *st = porta_graph_evaluate(ctx, m->g, 0, &sum, &correct);
    return sum / (double)m->rows;
}

/* g . u against the central difference for every parameter tensor. */
static void check_tensors(porta__check *c, model *m, const char *what)
{
    porta_context *ctx = c->ctx;
    porta_status st = porta_graph_train_step(ctx, m->g);
    size_t count = 0;
    if (!st)
        st = porta_graph_parameter_count(ctx, m->g, &count);
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor p;
        const char *name = "";
        unsigned ndim = 0;
        size_t shape[PORTA_MAX_DIMS], n = 1;
        st = porta_graph_parameter_at(ctx, m->g, i, &p, &name);
        if (!st)
            st = porta_graph_shape(ctx, m->g, p, &ndim, shape);
        for (unsigned d = 0; d < ndim; d++)
            n *= shape[d];
        float *v = malloc(n * sizeof(float)), *gr = malloc(n * sizeof(float));
        float *w = malloc(n * sizeof(float));
        if (!st && !(v && gr && w))
            st = porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "gradient check");
        if (!st)
            st = porta_graph_parameter_read(ctx, m->g, p, false, v, n);
        if (!st)
            st = porta_graph_parameter_read(ctx, m->g, p, true, gr, n);
        double dot = 0.0, unorm = 0.0;
        for (size_t j = 0; !st && j < n; j++) {
            const double u = noise(1234u + (uint32_t)i, (uint32_t)j);
            dot += u * gr[j];
            unorm += u * u;
        }
        const double eps = 2e-3 / sqrt(unorm / (double)n);
        double l[2] = {0.0, 0.0};
        for (int s = 0; s < 2 && !st; s++) {
            for (size_t j = 0; j < n; j++)
                w[j] = (float)(v[j] + (s ? -eps : eps) * noise(1234u + (uint32_t)i, (uint32_t)j));
            st = porta_graph_parameter_write(ctx, m->g, p, w, n);
            l[s] = mean_loss(ctx, m, &st);
        }
        if (!st)
            st = porta_graph_parameter_write(ctx, m->g, p, v, n);
        if (!st) {
            const double fd = (l[0] - l[1]) / (2 * eps);
            const double tol = 2e-2 * fabs(dot) + 2e-4 * sqrt(unorm);
            const double err = fabs(fd - dot);
            if (err <= tol && err / tol > c->worst)
                c->worst = err / tol;
            porta__check_case(c, err <= tol,
                              "%s: %s: gradient along u %.6g, finite difference %.6g (tolerance "
                              "%.3g)",
                              what, name, dot, fd, tol);
        }
        free(v);
        free(gr);
        free(w);
    }
    porta__check_call(c, st, "%s: gradient check", what);
    porta__check_case(c, count > 0, "%s: no parameter to check", what);
}

static void run_graph(porta__check *c, const char *what, build_fn build, uint64_t seed)
{
    porta_context *ctx = c->ctx;
    model m;
    memset(&m, 0, sizeof(m));
    const porta_graph_options go = {.seed = seed, .profile = PORTA_SETTING_OFF};
    porta_status st = porta_graph_create(ctx, &go, &m.g);
    if (!st)
        st = build(ctx, &m);
    /* SGD with lr 0: a training step leaves the gradients and changes nothing */
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    oc.groups[0].lr = 0.0f;
    const porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    if (!st)
        st = porta_graph_compile(ctx, m.g, &oc, &sc);
    if (!st)
        st = set_inputs(ctx, &m, (uint32_t)seed + 10u);
    if (porta__check_call(c, st, "%s: building the graph", what))
        check_tensors(c, &m, what);
    porta_graph_destroy(ctx, m.g);
}

void porta__check_grad_linear(porta__check *c)
{
    run_graph(c, "linear + residual add", build_linear, 7);
}

void porta__check_grad_matmul(porta__check *c)
{
    run_graph(c, "matmul", build_matmul, 8);
}

void porta__check_grad_conv2d(porta__check *c)
{
    run_graph(c, "conv2d", build_conv2d, 9);
}

void porta__check_grad_pool(porta__check *c)
{
    run_graph(c, "pooling", build_pool, 10);
}

void porta__check_grad_activations(porta__check *c)
{
    run_graph(c, "activations", build_activations, 11);
}

void porta__check_grad_layernorm(porta__check *c)
{
    run_graph(c, "layer norm", build_layernorm, 12);
}

void porta__check_grad_embedding(porta__check *c)
{
    run_graph(c, "embeddings + tied head", build_embedding, 13);
}

void porta__check_grad_attention(porta__check *c)
{
    run_graph(c, "attention", build_attention, 14);
}

void porta__check_grad_dropout(porta__check *c)
{
    run_graph(c, "dropout p = 0", build_dropout, 15);
}
