/* loss.c: the fused softmax cross-entropy (shaders/cross_entropy.kc) and
 * the accuracy count (shaders/accuracy.kc). */
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* Workgroups (= loss partials) of porta_cross_entropy: min(rows, this). */
#define LOSS_MAX_GROUPS 64u
/* Loop iterations an invocation may spend in one dispatch: under
 * llvmpipe's 65535, with room for the kernel's own overhead. */
#define LOSS_ITERATION_BUDGET 50000u

/* One call's shape, shared by both kernels. */
typedef struct loss_shape {
    porta_view logits, labels;
    size_t rows, classes;
} loss_shape;

/* floor(log2(x)) for x >= 1 (0 for x <= 1). */
static uint32_t log2_u32(uint32_t x)
{
    uint32_t l = 0;
    while (x > 1u) {
        x >>= 1;
        l++;
    }
    return l;
}

/* Loop iterations one row costs an invocation: `passes` sweeps over the
 * classes and `trees` tree reductions (see the kernels' comments).
 * llvmpipe counts one more iteration per loop entry (the exit test), and
 * the row loop itself. */
static size_t row_iterations(const porta_context *ctx, size_t classes, size_t passes, size_t trees)
{
    size_t local = ctx->variant.local_size;
    return passes * ((classes + local - 1) / local + 1) + trees * (log2_u32((uint32_t)local) + 1) +
           2;
}

/* The checks both calls start with: a device, the shape, the logits and
 * label ranges, a power-of-two local size, and rows short enough for one
 * dispatch's loop budget; *per_row is what a row costs (row_iterations). */
static porta_status check_shape(porta_context *ctx, const loss_shape *s, size_t passes,
                                size_t trees, const char *fn, size_t *per_row)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    *per_row = row_iterations(ctx, s->classes, passes, trees);
    if (s->classes == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s classes: must be >= 1",
                             fn);
    if (s->rows > SIZE_MAX / s->classes)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s rows: %zu rows of %zu classes overflow", fn, s->rows, s->classes);
    st = porta__check_arg(ctx, s->logits, s->rows * s->classes, fn, "logits");
    if (st)
        return st;
    st = porta__check_arg(ctx, s->labels, s->rows, fn, "labels");
    if (st)
        return st;
    uint32_t local = ctx->variant.local_size;
    if (!porta__is_pow2(local))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "%s: the kernel needs a power-of-two workgroup size, not %u", fn,
                             (unsigned)local);
    if (*per_row > LOSS_ITERATION_BUDGET)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "%s classes: %zu classes exceed what one dispatch can reduce on "
                             "this device",
                             fn, s->classes);
    return PORTA_OK;
}

/* Rows one dispatch of `groups` workgroups may cover: each group's share
 * stays within the loop budget (and within `cap` rows unless cap is 0). A
 * multiple of groups. */
static size_t rows_per_dispatch(size_t groups, size_t per_row, size_t cap)
{
    size_t per_group = LOSS_ITERATION_BUDGET / per_row;
    if (cap != 0 && cap < per_group)
        per_group = cap;
    return groups * per_group;
}

typedef struct xent_out {
    float grad_scale;
    porta_view dlogits, partials;
} xent_out;

static porta_status launch_cross_entropy(porta_context *ctx, const loss_shape *s, const xent_out *o,
                                         size_t groups, size_t chunk)
{
    porta_bbuffer *bufs[] = {s->logits.buffer->impl, s->labels.buffer->impl,
                             o->dlogits.buffer->impl, o->partials.buffer->impl};
    porta_status st = PORTA_OK;
    for (size_t r0 = 0; !st && r0 < s->rows; r0 += chunk) {
        porta_params_cross_entropy p = {.row_begin = (uint32_t)r0,
                                        .row_end = (uint32_t)porta__min_size(s->rows, r0 + chunk),
                                        .classes = (uint32_t)s->classes,
                                        .logits_off = (uint32_t)s->logits.offset,
                                        .labels_off = (uint32_t)s->labels.offset,
                                        .dlogits_off = (uint32_t)o->dlogits.offset,
                                        .partials_off = (uint32_t)o->partials.offset,
                                        .first = r0 == 0 ? 1u : 0u,
                                        .grad_scale = o->grad_scale};
        st = porta__launch(ctx, PORTA_KERNEL_cross_entropy, (uint32_t)groups, bufs, &p);
    }
    return st;
}

/* The one implementation: porta_cross_entropy is this with rows_per_group 0
 * (the loop budget's); tests pass less to take the path of a large problem. */
porta_status porta__cross_entropy_split(porta_context *ctx, porta_view logits, porta_view labels,
                                        size_t rows, size_t classes, float grad_scale,
                                        porta_view dlogits, porta_view loss_partials,
                                        size_t *partials_count, size_t rows_per_group)
{
    static const char fn[] = "porta_cross_entropy";
    if (partials_count)
        *partials_count = 0;
    const loss_shape s = {.logits = logits, .labels = labels, .rows = rows, .classes = classes};
    size_t per_row = 0;
    porta_status st = check_shape(ctx, &s, 3, 2, fn, &per_row);
    if (st)
        return st;
    if (!partials_count)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_cross_entropy partials_count: is NULL");
    st = porta__check_view(ctx, dlogits, rows * classes, "porta_cross_entropy dlogits");
    const size_t groups = porta__min_size(rows, LOSS_MAX_GROUPS);
    if (!st)
        st = porta__check_view(ctx, loss_partials, groups, "porta_cross_entropy loss_partials");
    if (st || rows == 0)
        return st;
    const xent_out o = {.grad_scale = grad_scale, .dlogits = dlogits, .partials = loss_partials};
    st = launch_cross_entropy(ctx, &s, &o, groups,
                              rows_per_dispatch(groups, per_row, rows_per_group));
    if (!st)
        *partials_count = groups;
    return st;
}

/* Count on the device into counts[0 .. groups), then read and sum. */
static porta_status count_correct(porta_context *ctx, const loss_shape *s, porta_buffer *counts,
                                  uint32_t *host, size_t groups, size_t chunk, size_t *correct)
{
    porta_bbuffer *bufs[] = {s->logits.buffer->impl, s->labels.buffer->impl, counts->impl};
    porta_status st = PORTA_OK;
    for (size_t r0 = 0; !st && r0 < s->rows; r0 += chunk) {
        porta_params_accuracy p = {.row_begin = (uint32_t)r0,
                                   .row_end = (uint32_t)porta__min_size(s->rows, r0 + chunk),
                                   .classes = (uint32_t)s->classes,
                                   .logits_off = (uint32_t)s->logits.offset,
                                   .labels_off = (uint32_t)s->labels.offset,
                                   .counts_off = 0,
                                   .first = r0 == 0 ? 1u : 0u};
        st = porta__launch(ctx, PORTA_KERNEL_accuracy, (uint32_t)groups, bufs, &p);
    }
    if (!st)
        st = porta_buffer_read(ctx, counts, 0, groups * sizeof(uint32_t), host);
    size_t total = 0;
    for (size_t g = 0; !st && g < groups; g++)
        total += host[g];
    if (!st)
        *correct = total;
    return st;
}

/* The one implementation: porta_accuracy_count is this with rows_per_group
 * 0 (the loop budget's). */
porta_status porta__accuracy_count_split(porta_context *ctx, porta_view logits, porta_view labels,
                                         size_t rows, size_t classes, size_t *correct,
                                         size_t rows_per_group)
{
    static const char fn[] = "porta_accuracy_count";
    if (correct)
        *correct = 0;
    const loss_shape s = {.logits = logits, .labels = labels, .rows = rows, .classes = classes};
    size_t per_row = 0;
    porta_status st = check_shape(ctx, &s, 1, 1, fn, &per_row);
    if (st)
        return st;
    if (!correct)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_accuracy_count correct: is NULL");
    if (rows == 0)
        return PORTA_OK;
    const size_t groups = porta__min_size(rows, LOSS_MAX_GROUPS);
    uint32_t host[LOSS_MAX_GROUPS];
    porta_buffer *counts = NULL;
    st = porta_buffer_create(ctx, groups * sizeof(uint32_t), &counts);
    if (!st)
        st = count_correct(ctx, &s, counts, host, groups,
                           rows_per_dispatch(groups, per_row, rows_per_group), correct);
    porta_buffer_destroy(ctx, counts);
    return st;
}

porta_status porta_cross_entropy(porta_context *ctx, porta_view logits, porta_view labels,
                                 size_t rows, size_t classes, float grad_scale, porta_view dlogits,
                                 porta_view loss_partials, size_t *partials_count)
{
    if (porta__check_active(ctx))
        return porta__checked_cross_entropy(ctx, logits, labels, rows, classes, grad_scale, dlogits,
                                            loss_partials, partials_count);
    return porta__cross_entropy_split(ctx, logits, labels, rows, classes, grad_scale, dlogits,
                                      loss_partials, partials_count, 0);
}

porta_status porta_accuracy_count(porta_context *ctx, porta_view logits, porta_view labels,
                                  size_t rows, size_t classes, size_t *correct)
{
    return porta__accuracy_count_split(ctx, logits, labels, rows, classes, correct, 0);
}
