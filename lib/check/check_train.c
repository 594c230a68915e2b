/* check_train.c: training.cnn and training.gpt, short training runs of a
 * small CNN and a small GPT on the device against the same runs computed
 * by the C reference on the host (train_ref.c).
 *
 * The reference path: after compiling, every parameter is read back, so
 * the host starts from the device's own initial weights; both sides then
 * see the same synthetic batches (no data set needed), and the host runs
 * each layer with the lib/ref/ function of the kernel the graph runs,
 * then porta_ref_adamw_step with the rate the host scheduler gives. The
 * schedule is warmup + cosine, a function of the step alone: a schedule
 * that decides from the loss (GreedyLR) could take a different branch on
 * a last-bit difference and make the runs incomparable; GreedyLR's
 * decisions are checked bit for bit by the greedylr checks instead.
 *
 * What is compared: every step's loss, and the rate every step used. The
 * two runs differ only by float rounding (sums in another order, exp and
 * tanh a few ulp off on the device), a few units of 1e-7 in a loss per
 * step; the tolerance, 1e-4 relative (porta's OpenCL / Vulkan agreement
 * bound, tests/test_graph.c), leaves room for a GPU's coarser exp and for
 * training amplifying differences over the steps (hence the growth with
 * the step), yet a wrong gradient, rate or update moves the loss by far
 * more within a few steps. A loss near zero is a difference of nearly
 * equal terms whose float error is absolute, not relative: below 0.1 the
 * tolerance is relative to 0.1. Finally, the run must have learnt: the
 * mean loss of its last tenth well under its first.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "optim/scheduler.h"
#include "train_ref.h"

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

static float unit(uint32_t seed, uint32_t i)
{
    return (float)((double)mix(seed * 0x9E3779B1u + i) / 4294967296.0 * 2.0 - 1.0);
}

/* The loss tolerance at step s (0-based), relative to max(|reference
 * loss|, 0.1): see the top of the file. */
static double loss_tolerance(int s)
{
    return 1e-4 * (1.0 + (double)s / 200.0);
}

/* |a - b| over the scale the tolerance is relative to. */
static double loss_difference(float dev, float ref)
{
    return fabs((double)dev - (double)ref) / fmax(fabs((double)ref), 0.1);
}

/* ---- what both models share ----------------------------------------- */

typedef struct run {
    porta_graph *g;
    int steps;
    float lr, weight_decay, clip_norm;
    float *dev_loss, *ref_loss, *dev_lr, *ref_lr;
    train_ref_params ref;
} run;

static void run_free(porta_context *ctx, run *r)
{
    porta_graph_destroy(ctx, r->g);
    free(r->dev_loss);
    free(r->ref_loss);
    free(r->dev_lr);
    free(r->ref_lr);
    train_ref_free(&r->ref);
}

static bool run_alloc(run *r, int steps)
{
    r->steps = steps;
    r->dev_loss = porta__check_alloc((size_t)steps, sizeof(float));
    r->ref_loss = porta__check_alloc((size_t)steps, sizeof(float));
    r->dev_lr = porta__check_alloc((size_t)steps, sizeof(float));
    r->ref_lr = porta__check_alloc((size_t)steps, sizeof(float));
    return r->dev_loss && r->ref_loss && r->dev_lr && r->ref_lr;
}

/* AdamW (warmup + cosine to a tenth of lr) on the graph, and the rate of
 * every step from the host's schedule. */
static porta_status compile(porta_context *ctx, run *r)
{
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    oc.groups[0].lr = r->lr;
    oc.groups[0].min_lr = r->lr / 10.0f;
    oc.groups[0].max_lr = r->lr;
    oc.groups[0].weight_decay = r->weight_decay;
    oc.clip_norm = r->clip_norm;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_WARMUP_COSINE);
    sc.warmup_steps = r->steps / 10;
    sc.total_steps = r->steps;
    porta_status st = porta_graph_compile(ctx, r->g, &oc, &sc);
    /* the host's schedule arithmetic (lib/optim/schedules.c), which the
     * device scheduler mirrors */
    porta_sched_config hc = porta_sched_defaults(PORTA_SCHED_WARMUP_COSINE);
    hc.n_groups = 1;
    hc.base_lr[0] = oc.groups[0].lr;
    hc.final_lr[0] = oc.groups[0].min_lr;
    hc.warmup_steps = sc.warmup_steps;
    hc.total_steps = sc.total_steps;
    for (int s = 0; s < r->steps; s++)
        r->ref_lr[s] = porta_sched_lr(&hc, 0, (uint32_t)s);
    return st;
}

/* Every parameter into the host reference, with the device's values.
 * Weights (of linear, conv and embedding layers) are decayed; biases and
 * layer norms are not, as the graph groups them. */
static porta_status read_parameters(porta_context *ctx, run *r)
{
    size_t count = 0;
    porta_status st = porta_graph_parameter_count(ctx, r->g, &count);
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor t;
        const char *name = "";
        unsigned ndim = 0;
        size_t shape[PORTA_MAX_DIMS], n = 1;
        st = porta_graph_parameter_at(ctx, r->g, i, &t, &name);
        if (!st)
            st = porta_graph_shape(ctx, r->g, t, &ndim, shape);
        for (unsigned d = 0; d < ndim; d++)
            n *= shape[d];
        float *v = malloc(n * sizeof(float));
        if (!st && !v)
            st = porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "training check");
        if (!st)
            st = porta_graph_parameter_read(ctx, r->g, t, false, v, n);
        const size_t len = strlen(name);
        const bool decay =
            len > 7 && strcmp(name + len - 7, ".weight") == 0 && strstr(name, "ln") == NULL;
        if (!st && !train_ref_add(&r->ref, name, n, decay, v))
            st = porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "training reference");
        free(v);
    }
    return st;
}

/* The losses and rates of steps [from, to) from the metrics ring. */
static porta_status drain(porta_context *ctx, run *r, int from, int to)
{
    porta_optimizer *opt = NULL;
    porta_step_metrics m[64];
    size_t count = 0, lost = 0;
    porta_status st = porta_graph_optimizer(ctx, r->g, &opt);
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, m, 64, &count, &lost);
    if (!st && (count != (size_t)(to - from) || lost))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_MISMATCH,
                           "the metrics ring gave %zu steps (%zu lost), expected %d", count, lost,
                           to - from);
    for (size_t i = 0; !st && i < count; i++) {
        r->dev_loss[from + (int)i] = m[i].loss;
        r->dev_lr[from + (int)i] = m[i].lr[0];
    }
    return st;
}

/* Compare the two runs; the series go to the result. */
static void compare(porta__check *c, run *r, const char *what)
{
    int worst_at = -1, lr_at = -1;
    double worst = 0.0;
    for (int s = 0; s < r->steps; s++) {
        const double ratio = loss_difference(r->dev_loss[s], r->ref_loss[s]) / loss_tolerance(s);
        if (!(ratio <= worst)) {
            worst = ratio;
            worst_at = s;
        }
        if (lr_at < 0 && fabs((double)r->dev_lr[s] - r->ref_lr[s]) > 1e-6 * fabs(r->ref_lr[s]))
            lr_at = s;
    }
    if (worst <= 1.0 && worst > c->worst)
        c->worst = worst;
    const int s = worst_at < 0 ? 0 : worst_at;
    porta__check_case(c, worst <= 1.0,
                      "%s step %d: loss %.9g, host reference %.9g (%.3g relative, tolerance %.3g "
                      "at that step)",
                      what, s, (double)r->dev_loss[s], (double)r->ref_loss[s],
                      loss_difference(r->dev_loss[s], r->ref_loss[s]), loss_tolerance(s));
    const int l = lr_at < 0 ? 0 : lr_at;
    porta__check_case(c, lr_at < 0,
                      "%s step %d: the rate used %.9g, the host scheduler's %.9g (tolerance 1e-6 "
                      "relative)",
                      what, l, (double)r->dev_lr[l], (double)r->ref_lr[l]);
    const int tenth = r->steps / 10 > 0 ? r->steps / 10 : 1;
    double last = 0.0;
    for (int k = r->steps - tenth; k < r->steps; k++)
        last += r->dev_loss[k] / tenth;
    porta__check_case(c, last < 0.85 * r->dev_loss[0],
                      "%s: the loss went from %.4f to %.4f over %d steps (the run did not learn)",
                      what, (double)r->dev_loss[0], last, r->steps);
    c->series = r->dev_loss;
    c->reference_series = r->ref_loss;
    c->series_count = (size_t)r->steps;
    r->dev_loss = r->ref_loss = NULL;
}

static const char tolerance_text[] =
    "every step's loss within 1e-4 (1 + step / 200) of the host reference's, relative to "
    "max(|loss|, 0.1); the rate every step used within 1e-6 relative of the host schedule's; the "
    "mean loss of the last tenth of the steps below 0.85 times the first step's";

/* ---- the CNN --------------------------------------------------------- */

static const train_ref_cnn cnn = {
    .batch = 8, .side = 12, .c1 = 4, .c2 = 8, .hidden = 32, .classes = 4};

static porta_status build_cnn(porta_context *ctx, porta_graph *g, porta_tensor *images,
                              porta_tensor *labels)
{
    const size_t ishape[4] = {cnn.batch, 1, cnn.side, cnn.side};
    const size_t flat[2] = {cnn.batch, cnn.c2 * (cnn.side / 4) * (cnn.side / 4)};
    porta_tensor h, logits, loss;
    porta_status st = porta_graph_input(ctx, g, "images", PORTA_F32, 4, ishape, images);
    if (!st)
        st = porta_graph_input(ctx, g, "labels", PORTA_U32, 1, &cnn.batch, labels);
    if (!st)
        st = porta_graph_conv2d(ctx, g, *images, cnn.c1, 3, 1, 1, true, "conv1", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_pool(ctx, g, PORTA_POOL_MAX, h, 2, 2, 0, &h);
    if (!st)
        st = porta_graph_conv2d(ctx, g, h, cnn.c2, 3, 1, 1, true, "conv2", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_pool(ctx, g, PORTA_POOL_MAX, h, 2, 2, 0, &h);
    if (!st)
        st = porta_graph_reshape(ctx, g, h, 2, flat, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, cnn.hidden, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, cnn.classes, true, "classifier", &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, *labels, &loss);
    return st;
}

/* Step s's batch: each class a fixed pattern, each image its class's
 * pattern under noise. */
static void cnn_batch(int s, float *images, uint32_t *labels)
{
    const size_t pixels = cnn.side * cnn.side;
    for (size_t b = 0; b < cnn.batch; b++) {
        labels[b] = mix((uint32_t)s * 131u + (uint32_t)b) % (uint32_t)cnn.classes;
        for (size_t i = 0; i < pixels; i++)
            images[b * pixels + i] = 0.5f * unit(1000u + labels[b], (uint32_t)i) +
                                     0.5f * unit((uint32_t)s + 7u, (uint32_t)(b * pixels + i));
    }
}

void porta__check_train_cnn(porta__check *c)
{
    porta_context *ctx = c->ctx;
    c->tolerance = tolerance_text;
    run r;
    memset(&r, 0, sizeof(r));
    r.lr = 1e-2f;
    r.weight_decay = 0.01f;
    float *images = porta__check_alloc(cnn.batch * cnn.side * cnn.side, sizeof(float));
    uint32_t *labels = porta__check_alloc(cnn.batch, sizeof(uint32_t));
    porta_tensor ti = 0, tl = 0;
    const porta_graph_options go = {.seed = 42, .profile = PORTA_SETTING_OFF};
    porta_status st = run_alloc(&r, c->quick ? 50 : 200) && images && labels
                          ? porta_graph_create(ctx, &go, &r.g)
                          : porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "training");
    if (!st)
        st = build_cnn(ctx, r.g, &ti, &tl);
    if (!st)
        st = compile(ctx, &r);
    if (!st)
        st = read_parameters(ctx, &r);
    for (int s = 0; s < r.steps && !st; s++) {
        cnn_batch(s, images, labels);
        st = porta_graph_set_input(ctx, r.g, ti, images, cnn.batch * cnn.side * cnn.side * 4);
        if (!st)
            st = porta_graph_set_input(ctx, r.g, tl, labels, cnn.batch * 4);
        if (!st)
            st = porta_graph_train_step(ctx, r.g);
        if (!st && ((s + 1) % 32 == 0 || s + 1 == r.steps))
            st = drain(ctx, &r, s - s % 32, s + 1);
    }
    if (porta__check_call(c, st, "CNN training on the device")) {
        bool ok = true;
        for (int s = 0; s < r.steps && ok; s++) {
            double loss = 0.0;
            cnn_batch(s, images, labels);
            ok = train_ref_cnn_step(&cnn, &r.ref, images, labels, &loss);
            r.ref_loss[s] = (float)loss;
            const porta_optimizer_config d = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
            train_ref_adamw(&r.ref, (unsigned)s + 1, r.ref_lr[s], r.weight_decay, d.beta1, d.beta2,
                            d.eps, r.clip_norm);
        }
        if (porta__check_host_memory(c, ok))
            compare(c, &r, "CNN");
    }
    run_free(ctx, &r);
    free(images);
    free(labels);
}

/* ---- the GPT --------------------------------------------------------- */

static const train_ref_gpt gpt = {
    .batch = 4, .context = 8, .vocab = 16, .dim = 16, .heads = 2, .layers = 2};

static porta_status gpt_block(porta_context *ctx, porta_graph *g, int i, porta_tensor x,
                              porta_tensor *y)
{
    char n[64];
    porta_tensor a, f;
    snprintf(n, sizeof n, "h.%d.ln_1", i);
    porta_status st = porta_graph_layernorm(ctx, g, x, 1e-5f, n, &a);
    snprintf(n, sizeof n, "h.%d.attn.c_attn", i);
    if (!st)
        st = porta_graph_linear(ctx, g, a, 3 * gpt.dim, true, n, &a);
    if (!st)
        st = porta_graph_attention(ctx, g, a, gpt.heads, true, &a);
    snprintf(n, sizeof n, "h.%d.attn.c_proj", i);
    if (!st)
        st = porta_graph_linear(ctx, g, a, gpt.dim, true, n, &a);
    if (!st)
        st = porta_graph_add(ctx, g, x, a, &x);
    snprintf(n, sizeof n, "h.%d.ln_2", i);
    if (!st)
        st = porta_graph_layernorm(ctx, g, x, 1e-5f, n, &f);
    snprintf(n, sizeof n, "h.%d.mlp.c_fc", i);
    if (!st)
        st = porta_graph_linear(ctx, g, f, 4 * gpt.dim, true, n, &f);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_GELU, f, &f);
    snprintf(n, sizeof n, "h.%d.mlp.c_proj", i);
    if (!st)
        st = porta_graph_linear(ctx, g, f, gpt.dim, true, n, &f);
    if (!st)
        st = porta_graph_add(ctx, g, x, f, y);
    return st;
}

/* The graph of porta-train text's GPT (apps/text_models.c), small. */
static porta_status build_gpt(porta_context *ctx, porta_graph *g, porta_tensor *inputs)
{
    const size_t shape[2] = {gpt.batch, gpt.context};
    porta_tensor tok, pos, table, h, logits, loss;
    porta_status st = porta_graph_input(ctx, g, "tokens", PORTA_U32, 2, shape, &inputs[0]);
    if (!st)
        st = porta_graph_input(ctx, g, "positions", PORTA_U32, 2, shape, &inputs[1]);
    if (!st)
        st = porta_graph_input(ctx, g, "targets", PORTA_U32, 2, shape, &inputs[2]);
    if (!st)
        st = porta_graph_embedding(ctx, g, inputs[0], gpt.vocab, gpt.dim, "wte", &tok, &table);
    if (!st)
        st = porta_graph_embedding(ctx, g, inputs[1], gpt.context, gpt.dim, "wpe", &pos, NULL);
    if (!st)
        st = porta_graph_add(ctx, g, tok, pos, &h);
    for (size_t i = 0; i < gpt.layers && !st; i++)
        st = gpt_block(ctx, g, (int)i, h, &h);
    if (!st)
        st = porta_graph_layernorm(ctx, g, h, 1e-5f, "ln_f", &h);
    if (!st)
        st = porta_graph_matmul(ctx, g, h, table, true, &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, inputs[2], &loss);
    return st;
}

/* Step s's batch: sequences that mostly follow next = 3 prev + 1 (mod
 * vocab), with a random token one time in four. */
static void gpt_batch(int s, uint32_t *tokens, uint32_t *positions, uint32_t *targets)
{
    const uint32_t V = (uint32_t)gpt.vocab;
    for (size_t b = 0; b < gpt.batch; b++) {
        uint32_t t = mix((uint32_t)s * 977u + (uint32_t)b) % V;
        for (size_t j = 0; j <= gpt.context; j++) {
            const size_t i = b * gpt.context + j;
            if (j < gpt.context) {
                tokens[i] = t;
                positions[i] = (uint32_t)j;
            }
            if (j > 0)
                targets[i - 1] = t;
            const uint32_t h = mix((uint32_t)s * 7919u + (uint32_t)(b * 64 + j) + 0x5bd1e995u);
            t = h % 4u == 0 ? (h >> 8) % V : (3u * t + 1u) % V;
        }
    }
}

void porta__check_train_gpt(porta__check *c)
{
    porta_context *ctx = c->ctx;
    c->tolerance = tolerance_text;
    run r;
    memset(&r, 0, sizeof(r));
    r.lr = 1e-2f;
    r.weight_decay = 0.01f;
    r.clip_norm = 1.0f;
    const size_t n = gpt.batch * gpt.context;
    uint32_t *tokens = porta__check_alloc(n, sizeof(uint32_t));
    uint32_t *positions = porta__check_alloc(n, sizeof(uint32_t));
    uint32_t *targets = porta__check_alloc(n, sizeof(uint32_t));
    porta_tensor in[3] = {0, 0, 0};
    const porta_graph_options go = {.seed = 43, .profile = PORTA_SETTING_OFF};
    porta_status st = run_alloc(&r, c->quick ? 50 : 200) && tokens && positions && targets
                          ? porta_graph_create(ctx, &go, &r.g)
                          : porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "training");
    if (!st)
        st = build_gpt(ctx, r.g, in);
    if (!st)
        st = compile(ctx, &r);
    if (!st)
        st = read_parameters(ctx, &r);
    for (int s = 0; s < r.steps && !st; s++) {
        gpt_batch(s, tokens, positions, targets);
        st = porta_graph_set_input(ctx, r.g, in[0], tokens, n * 4);
        if (!st)
            st = porta_graph_set_input(ctx, r.g, in[1], positions, n * 4);
        if (!st)
            st = porta_graph_set_input(ctx, r.g, in[2], targets, n * 4);
        if (!st)
            st = porta_graph_train_step(ctx, r.g);
        if (!st && ((s + 1) % 32 == 0 || s + 1 == r.steps))
            st = drain(ctx, &r, s - s % 32, s + 1);
    }
    if (porta__check_call(c, st, "GPT training on the device")) {
        bool ok = true;
        for (int s = 0; s < r.steps && ok; s++) {
            double loss = 0.0;
            gpt_batch(s, tokens, positions, targets);
            ok = train_ref_gpt_step(&gpt, &r.ref, tokens, positions, targets, &loss);
            r.ref_loss[s] = (float)loss;
            const porta_optimizer_config d = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
            train_ref_adamw(&r.ref, (unsigned)s + 1, r.ref_lr[s], r.weight_decay, d.beta1, d.beta2,
                            d.eps, r.clip_norm);
        }
        if (porta__check_host_memory(c, ok))
            compare(c, &r, "GPT");
    }
    run_free(ctx, &r);
    free(tokens);
    free(positions);
    free(targets);
}
