/* check_run.c: porta_check_device() and the list of checks it runs.
 *
 * Each check is a function over a porta__check (check_internal.h); this
 * file selects them, runs them in order on the open device, times them,
 * turns Vulkan validation messages during a check into a failure of that
 * check, and reports each result through the caller's callback.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_internal.h"

typedef struct check_entry {
    const char *name;
    const char *description;
    const char *tolerance;
    void (*fn)(porta__check *c);
} check_entry;

/* u is the float unit roundoff 2^-24; "the float sum bound" of T terms is
 * a small multiple of T u times the sum of the terms' magnitudes (the
 * reference sums in double, the device in float in its own fixed order). */
static const check_entry checks[] = {
    {"kernels.vec",
     "fill, copy, scale, axpy, add, mul, sum and sum of squares at n = 1, 7, 4099 "
     "and a prime past a grid-stride pass",
     "elementwise: the same bits; sums: 4 (log2 n + 2) 1.2e-7 sum |x| (sum x^2)", porta__check_vec},
    {"kernels.gemm",
     "porta_gemm NN/NT/TN/TT at 1, odd, prime and past-a-tile shapes, padded "
     "leading dimensions, offsets, batches with strides and broadcasts, K over one "
     "dispatch, every block shape and split-K forced",
     "(k + 3) u (|alpha| sum_q |a_iq b_qj| + |beta c_ij|); elements outside C keep their bits",
     porta__check_gemm},
    {"kernels.gemm_epilogue",
     "porta_gemm_bias_act: every activation and none, bias and the "
     "pre-activation output on and off, every variant, forced plans, "
     "split-K (the epilogue in the reduction)",
     "pre: (k + 4) u (|alpha| sum |ab| + |beta c| + |bias|); C: 1.2 times that + 1e-5 |f| + 4e-6 "
     "(1 + |v|)",
     porta__check_gemm_epilogue},
    {"kernels.conv2d_forward",
     "porta_conv2d_forward with and without bias: 1x1 everything, odd "
     "sizes, stride, padding, dilation, asymmetric kernels, channels off "
     "the tiles, the CNN and ResNet layers, split reductions",
     "2 (T + 4) u M + 2 u |ref|, M the same sum over magnitudes, T the products summed",
     porta__check_conv_forward},
    {"kernels.conv2d_backward_data",
     "porta_conv2d_backward_data, overwriting and accumulating, "
     "the same shapes, split reductions",
     "2 (T + 4) u M + 2 u |ref| (+ u |old| accumulating)", porta__check_conv_backward_data},
    {"kernels.conv2d_backward_filter",
     "porta_conv2d_backward_filter with and without dbias, "
     "overwriting and accumulating, split pixel ranges",
     "2 (T + 4) u M + 2 u |ref| (+ u |old| accumulating)", porta__check_conv_backward_filter},
    {"kernels.pool",
     "porta_pool_forward and porta_pool_backward, max and average: odd inputs, "
     "overlapping windows, padding, global average; ties, -inf and NaN for max",
     "max forward: the same bits; otherwise the float sum bound over the window",
     porta__check_pool},
    {"kernels.activations",
     "ReLU, GELU, tanh and sigmoid forward and backward (accumulating on "
     "odd sizes) at n = 1, 7, 1000, a prime; inputs up to +-100",
     "1e-5 |ref| + 4e-6 (1 + |x|) max(1, |dy|) (+ u |old|)", porta__check_activations},
    {"kernels.layernorm",
     "porta_layernorm_forward (y, mean, rstd) and _backward (dx, dgamma, "
     "dbeta) at 1x1, odd, wide and tall shapes, off-zero rows",
     "32 (cols + 16) u (scale + |ref|) per row; dgamma, dbeta: 8 (rows + 16) u sum |terms|",
     porta__check_layernorm},
    {"kernels.softmax",
     "porta_softmax_forward and _backward (accumulating on some) at 1x1 to "
     "1 x 4099, logits far from zero",
     "y: (64 + 4 cols) u |ref|; dx: (16 + 4 cols) u |y| (2 + |dy|) (+ u |old|)",
     porta__check_softmax},
    {"kernels.bias",
     "porta_bias_add and porta_bias_backward at 1x1 to 70001 x 3 (several chunks "
     "of the column sum), overwriting and accumulating",
     "add: the same bits; backward: 8 (rows + 16) u sum |terms|", porta__check_bias},
    {"kernels.embedding",
     "porta_embedding_forward and _backward: one token, odd dims, repeats, "
     "a token out of range, more tokens than one dispatch, none",
     "forward: the same bits; backward: 8 (tokens + 16) u sum |terms|", porta__check_embedding},
    {"kernels.dropout",
     "porta_dropout_forward and _backward: p = 0, 0.1, 0.5, 0.9, 64-bit seeds "
     "and steps, in place, a new mask per step",
     "the same bits as the reference's Philox mask", porta__check_dropout},
    {"kernels.attention_softmax",
     "porta_attention_softmax_forward and _backward, causal and not, "
     "T = 1 to 1100 (both sides of the one-invocation rows)",
     "forward: (64 + 4 T) u |ref|; masked entries exactly +0; backward: (16 + 4 T) u |scale| |y| "
     "(2 + |dy|)",
     porta__check_attention},
    {"kernels.tensor_gather",
     "porta_tensor_gather: the QKV head split and its one-call "
     "backward, head merge and unmerge, broadcast, one element, six "
     "dimensions, accumulating",
     "the same bits", porta__check_gather},
    {"kernels.cross_entropy",
     "porta_cross_entropy: 1x1 to 1000 x 10 and 65 x 300, logits up to "
     "+-100, in place, a label out of range, rows over several dispatches",
     "loss: 1e-5 (|row loss| + 2 max|x| + 1) per row + rows 2^-23 sum|row loss|; dlogits: 2e-5 "
     "|ref| + 2e-6 / rows",
     porta__check_cross_entropy},
    {"kernels.accuracy",
     "porta_accuracy_count: random problems, ties across invocations, NaN, "
     "rows over several dispatches",
     "the exact count", porta__check_accuracy},
    {"kernels.optimizer_adamw",
     "the fused AdamW step (two groups, weight decay, with and without "
     "the gradient-norm pass and clipping) against porta_ref_adamw_step",
     "1e-6 relative to max(|ref|, 0.01) after every compared step", porta__check_adamw},
    {"kernels.optimizer_sgd",
     "the fused SGD step (momentum, Nesterov, dampening, weight decay, "
     "clipping) against porta_ref_sgd_step",
     "1e-6 relative to max(|ref|, 0.01) after every compared step", porta__check_sgd},
    {"gradients.linear", "linear layers with and without bias, and residual add",
     "along a random direction u: |fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_linear},
    {"gradients.matmul", "matmul with a parameter, transposed and not",
     "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_matmul},
    {"gradients.conv2d", "conv2d: 3x3 padding 1, stride 2, 1x1, with and without bias",
     "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_conv2d},
    {"gradients.pool", "max pooling, average pooling, global average pooling, reshape",
     "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_pool},
    {"gradients.activations", "ReLU, GELU, tanh and sigmoid", "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|",
     porta__check_grad_activations},
    {"gradients.layernorm", "layer norm (weight and bias)", "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|",
     porta__check_grad_layernorm},
    {"gradients.embedding", "token and position embeddings, an output head tied to the table",
     "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_embedding},
    {"gradients.attention", "multi-head self-attention, causal and not",
     "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_attention},
    {"gradients.dropout",
     "dropout at p = 0 in a graph (evaluation turns dropout off, so a finite "
     "difference sees no mask; kernels.dropout checks the mask bit for bit)",
     "|fd - g.u| <= 2e-2 |g.u| + 2e-4 |u|", porta__check_grad_dropout},
    {"greedylr.scenarios",
     "docs/GREEDYLR.md scenarios 1-16 on the device scheduler against the "
     "host's: the rate after every step, the events, the final state",
     "the same bits on CPU devices; rates 1e-6 relative elsewhere",
     porta__check_greedylr_scenarios},
    {"greedylr.checkpoint",
     "scenario 17: a device run checkpointed mid-way through the host "
     "format and continued equals the uninterrupted run",
     "the same bits", porta__check_greedylr_checkpoint},
    {"greedylr.validation",
     "scenario 18: impossible settings are refused by the device "
     "configuration with a message naming the parameter",
     "the message names the parameter and the value", porta__check_greedylr_validation},
    {"greedylr.kinds",
     "every scheduler kind (GreedyLR raw and smoothed, plateau, constant, "
     "cosine, step, exponential, restarts) over a noisy metric with NaN steps",
     "the same bits on CPU devices; rates 1e-6 relative elsewhere", porta__check_scheduler_kinds},
    {"greedylr.fused",
     "GreedyLR inside the fused optimizer step, observing the training loss "
     "and in evaluation mode, against the host scheduler",
     "rates 1e-6 relative; the NaN step skipped", porta__check_greedylr_fused},
    {"training.cnn",
     "a small CNN (conv-ReLU-pool twice, two linear layers) on synthetic images, "
     "AdamW with warmup-cosine: every step's loss against the same run by the C "
     "reference on the host from the same initial weights",
     "see the check's tolerance text", porta__check_train_cnn},
    {"training.gpt",
     "a small GPT (embeddings, two pre-norm blocks of causal attention and a GELU "
     "MLP, tied head) on a synthetic token stream, AdamW with warmup-cosine and "
     "clipping: every step's loss against the C reference on the host",
     "see the check's tolerance text", porta__check_train_gpt},
};
#define CHECK_COUNT (sizeof(checks) / sizeof(checks[0]))

porta_status porta_check_count(porta_context *ctx, size_t *count)
{
    if (!ctx || !count)
        return ctx ? porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                   "porta_check_count: count is NULL")
                   : PORTA_ERROR_INVALID_ARGUMENT;
    *count = CHECK_COUNT;
    return PORTA_OK;
}

porta_status porta_check_describe(porta_context *ctx, size_t i, const char **name,
                                  const char **description)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (i >= CHECK_COUNT)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_check_describe: check %zu of %zu", i, (size_t)CHECK_COUNT);
    if (name)
        *name = checks[i].name;
    if (description)
        *description = checks[i].description;
    return PORTA_OK;
}

/* Whether `name` is selected by the comma-separated list: a token equal to
 * it, or naming its group ("kernels" for "kernels.gemm"). */
static bool selected(const char *only, const char *name)
{
    if (!only || !*only)
        return true;
    for (const char *p = only; *p;) {
        const size_t n = strcspn(p, ",");
        if (n > 0 && strncmp(p, name, n) == 0 && (name[n] == '\0' || name[n] == '.'))
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t validation_messages(porta_context *ctx)
{
    porta_counters k;
    return porta_counters_get(ctx, &k) == PORTA_OK ? k.validation_messages : 0;
}

/* Run one check and report it; returns its outcome. */
static porta_check_outcome run_one(porta_context *ctx, const porta_device_info *info,
                                   const check_entry *e, const porta_check_options *o,
                                   porta_status *fatal)
{
    porta__check c;
    memset(&c, 0, sizeof(c));
    c.ctx = ctx;
    c.info = *info;
    c.quick = o->quick;
    c.tolerance = e->tolerance;
    const uint64_t messages = validation_messages(ctx);
    const double t0 = now_s();
    e->fn(&c);
    const double seconds = now_s() - t0;
    const uint64_t more = validation_messages(ctx) - messages;
    if (more)
        porta__check_fail(&c, "the Vulkan validation layer reported %llu problem(s): %s",
                          (unsigned long long)more, porta_context_message(ctx));
    porta_check_result r;
    memset(&r, 0, sizeof(r));
    r.name = e->name;
    r.description = e->description;
    r.tolerance = c.tolerance;
    r.outcome = c.failures                  ? PORTA_CHECK_FAILED
                : c.cases == 0 && c.skip[0] ? PORTA_CHECK_SKIPPED
                                            : PORTA_CHECK_PASSED;
    if (r.outcome == PORTA_CHECK_PASSED && c.cases == 0) {
        /* A check that compared nothing has not shown anything. */
        r.outcome = PORTA_CHECK_FAILED;
        snprintf(c.first, sizeof(c.first), "no case ran");
    }
    r.cases = c.cases;
    r.failures = c.failures;
    r.first_failure = r.outcome == PORTA_CHECK_SKIPPED ? c.skip : c.first;
    r.status = c.status;
    r.driver_message = c.driver;
    r.worst = c.worst;
    r.seconds = seconds;
    r.series = c.series;
    r.reference_series = c.reference_series;
    r.series_count = c.series_count;
    if (o->on_result)
        o->on_result(o->user, &r);
    free(c.series);
    free(c.reference_series);
    *fatal = c.fatal;
    return r.outcome;
}

porta_status porta_check_device(porta_context *ctx, const porta_check_options *options,
                                porta_check_summary *summary)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    porta_check_options o;
    memset(&o, 0, sizeof(o));
    if (options)
        o = *options;
    size_t count = 0;
    for (size_t i = 0; i < CHECK_COUNT; i++)
        count += selected(o.only, checks[i].name);
    if (count == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_check_device: only \"%s\" selects no check (names such as "
                             "kernels, kernels.gemm, gradients, greedylr, training)",
                             o.only);
    porta_device_info info;
    st = porta_device_current(ctx, &info);
    if (st)
        return st;
    porta_check_summary sum;
    memset(&sum, 0, sizeof(sum));
    const double t0 = now_s();
    const char *first_failed = NULL;
    porta_status fatal = PORTA_OK;
    for (size_t i = 0, index = 0; i < CHECK_COUNT && !fatal; i++) {
        if (!selected(o.only, checks[i].name))
            continue;
        if (o.on_start)
            o.on_start(o.user, index, count, checks[i].name);
        index++;
        const porta_check_outcome out = run_one(ctx, &info, &checks[i], &o, &fatal);
        sum.checks++;
        sum.passed += out == PORTA_CHECK_PASSED;
        sum.skipped += out == PORTA_CHECK_SKIPPED;
        if (out == PORTA_CHECK_FAILED) {
            sum.failed++;
            if (!first_failed)
                first_failed = checks[i].name;
        }
    }
    sum.seconds = now_s() - t0;
    if (summary)
        *summary = sum;
    if (fatal)
        return fatal; /* the failing call's message is the context's */
    if (first_failed)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_MISMATCH,
                             "porta_check_device: %zu of %zu checks failed on %s, first %s",
                             sum.failed, sum.checks, info.spec, first_failed);
    return PORTA_OK;
}
