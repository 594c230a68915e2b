/* vec.c: the flat float32 vector kernels of the public API. */

#include "check_mode.h"
#include "internal.h"

#define PORTA_REDUCE_MAX_GROUPS 256u

porta_status porta_vec_fill(porta_context *ctx, porta_view yv, size_t n, float value)
{
    if (porta__check_active(ctx))
        return porta__checked_vec_fill(ctx, yv, n, value);
    porta_buffer *y = yv.buffer;
    const size_t y_off = yv.offset;
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = porta__check_view(ctx, yv, n, "porta_vec_fill y");
    if (st || n == 0)
        return st;
    porta_params_fill p = {.n = (uint32_t)n, .y_off = (uint32_t)y_off, .value = value};
    porta_bbuffer *bufs[] = {y->impl};
    return porta__launch(ctx, PORTA_KERNEL_fill, porta__groups_for(ctx, n), bufs, &p);
}

/* The checks every two-operand call starts with: a device, x and y. */
static porta_status check_xy(porta_context *ctx, porta_view x, porta_view y, size_t n,
                             const char *call)
{
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = porta__check_arg(ctx, x, n, call, "x");
    if (!st)
        st = porta__check_arg(ctx, y, n, call, "y");
    return st;
}

porta_status porta_vec_copy(porta_context *ctx, porta_view xv, porta_view yv, size_t n)
{
    if (porta__check_active(ctx))
        return porta__checked_vec_copy(ctx, xv, yv, n);
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    porta_status st = check_xy(ctx, xv, yv, n, "porta_vec_copy");
    if (st || n == 0)
        return st;
    porta_params_copy p = {.n = (uint32_t)n, .x_off = (uint32_t)x_off, .y_off = (uint32_t)y_off};
    porta_bbuffer *bufs[] = {x->impl, y->impl};
    return porta__launch(ctx, PORTA_KERNEL_copy, porta__groups_for(ctx, n), bufs, &p);
}

porta_status porta_vec_scale(porta_context *ctx, float alpha, porta_view xv, porta_view yv,
                             size_t n)
{
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    porta_status st = check_xy(ctx, xv, yv, n, "porta_vec_scale");
    if (st || n == 0)
        return st;
    porta_params_scale p = {
        .n = (uint32_t)n, .x_off = (uint32_t)x_off, .y_off = (uint32_t)y_off, .alpha = alpha};
    porta_bbuffer *bufs[] = {x->impl, y->impl};
    return porta__launch(ctx, PORTA_KERNEL_scale, porta__groups_for(ctx, n), bufs, &p);
}

porta_status porta_vec_axpy(porta_context *ctx, float alpha, porta_view xv, porta_view yv, size_t n)
{
    if (porta__check_active(ctx))
        return porta__checked_vec_axpy(ctx, alpha, xv, yv, n);
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    porta_status st = check_xy(ctx, xv, yv, n, "porta_vec_axpy");
    if (st || n == 0)
        return st;
    porta_params_axpy p = {
        .n = (uint32_t)n, .x_off = (uint32_t)x_off, .y_off = (uint32_t)y_off, .alpha = alpha};
    porta_bbuffer *bufs[] = {x->impl, y->impl};
    return porta__launch(ctx, PORTA_KERNEL_axpy, porta__groups_for(ctx, n), bufs, &p);
}

enum { ELEMENTWISE_ADD = 0, ELEMENTWISE_MUL = 1 };

static porta_status elementwise(porta_context *ctx, uint32_t op, porta_view a, porta_view b,
                                porta_view z, size_t n)
{
    const char *call = op == ELEMENTWISE_ADD ? "porta_vec_add" : "porta_vec_mul";
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = porta__check_arg(ctx, a, n, call, "a");
    if (!st)
        st = porta__check_arg(ctx, b, n, call, "b");
    if (!st)
        st = porta__check_arg(ctx, z, n, call, "z");
    if (st || n == 0)
        return st;
    porta_params_elementwise p = {.n = (uint32_t)n,
                                  .a_off = (uint32_t)a.offset,
                                  .b_off = (uint32_t)b.offset,
                                  .z_off = (uint32_t)z.offset,
                                  .op = op};
    porta_bbuffer *bufs[] = {a.buffer->impl, b.buffer->impl, z.buffer->impl};
    return porta__launch(ctx, PORTA_KERNEL_elementwise, porta__groups_for(ctx, n), bufs, &p);
}

porta_status porta_vec_add(porta_context *ctx, porta_view a, porta_view b, porta_view z, size_t n)
{
    if (porta__check_active(ctx))
        return porta__checked_vec_add(ctx, a, b, z, n);
    return elementwise(ctx, ELEMENTWISE_ADD, a, b, z, n);
}

porta_status porta_vec_mul(porta_context *ctx, porta_view a, porta_view b, porta_view z, size_t n)
{
    return elementwise(ctx, ELEMENTWISE_MUL, a, b, z, n);
}

/* The context's scratch buffer for reduction partials, allocated once. */
static porta_status scratch(porta_context *ctx, porta_buffer **out)
{
    if (!ctx->scratch) {
        porta_status st =
            porta_buffer_create(ctx, PORTA_REDUCE_MAX_GROUPS * sizeof(float), &ctx->scratch);
        if (st)
            return st;
    }
    *out = ctx->scratch;
    return PORTA_OK;
}

static porta_status reduce(porta_context *ctx, uint32_t square, porta_view xv, size_t n,
                           porta_view rv)
{
    porta_buffer *x = xv.buffer, *result = rv.buffer;
    const size_t x_off = xv.offset, result_off = rv.offset;
    const char *call = square ? "porta_vec_sum_squares" : "porta_vec_sum";
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = porta__check_arg(ctx, xv, n, call, "x");
    if (!st)
        st = porta__check_arg(ctx, rv, 1, call, "result");
    if (st)
        return st;
    /* Pass 1: each group sums a strided share into partials; every group
     * reads four elements per invocation before the tree, at most
     * PORTA_REDUCE_MAX_GROUPS groups. Pass 2: one group sums the partials. */
    size_t per_group = (size_t)ctx->variant.local_size * 4u;
    size_t groups = (n + per_group - 1) / per_group;
    if (groups < 1)
        groups = 1;
    if (groups > PORTA_REDUCE_MAX_GROUPS)
        groups = PORTA_REDUCE_MAX_GROUPS;
    porta_buffer *partials = NULL;
    if (groups > 1 && (st = scratch(ctx, &partials)) != PORTA_OK)
        return st;
    porta_buffer *first_out = groups > 1 ? partials : result;
    porta_params_reduce_sum p1 = {.n = (uint32_t)n,
                                  .x_off = (uint32_t)x_off,
                                  .sums_off = groups > 1 ? 0u : (uint32_t)result_off,
                                  .square = square};
    porta_bbuffer *b1[] = {x->impl, first_out->impl};
    st = porta__reduce_sum_pass(ctx, (uint32_t)groups, b1, &p1);
    if (st || groups == 1)
        return st;
    porta_params_reduce_sum p2 = {
        .n = (uint32_t)groups, .x_off = 0, .sums_off = (uint32_t)result_off, .square = 0};
    porta_bbuffer *b2[] = {partials->impl, result->impl};
    return porta__reduce_sum_pass(ctx, 1, b2, &p2);
}

porta_status porta__reduce_sum_pass(porta_context *ctx, uint32_t groups, porta_bbuffer *const *bufs,
                                    const porta_params_reduce_sum *params)
{
    const uint32_t spec[PORTA_SPEC_COUNT] = {porta__reduce_runs(ctx), 1u, 1u, 1u};
    const uint32_t grid[3] = {groups, 1u, 1u};
    return porta__launch_spec(ctx, PORTA_KERNEL_reduce_sum, spec, grid, bufs, params);
}

porta_status porta_vec_sum(porta_context *ctx, porta_view x, size_t n, porta_view result)
{
    return reduce(ctx, 0, x, n, result);
}

porta_status porta_vec_sum_squares(porta_context *ctx, porta_view x, size_t n, porta_view result)
{
    return reduce(ctx, 1, x, n, result);
}

/* shaders/stream.kc indexes its arrays from element 0 (it is the
 * roofline of the optimizer's arenas, which start there): a view elsewhere
 * is refused rather than silently read from the buffer's start. */
static porta_status check_stream(porta_context *ctx, porta_view v, size_t n, const char *name)
{
    porta_status st = porta__check_arg(ctx, v, n, "porta_vec_stream", name);
    if (!st && v.offset != 0)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_vec_stream %s: offset %zu (the stream kernel reads its arrays "
                           "from element 0)",
                           name, v.offset);
    return st;
}

porta_status porta_vec_stream(porta_context *ctx, porta_view a, porta_view b, porta_view c,
                              porta_view d, size_t n, unsigned local_size, unsigned per_invocation)
{
    porta_status st = porta__require_device(ctx);
    const porta_view views[] = {a, b, c, d};
    static const char *const names[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < 4 && !st; i++)
        st = check_stream(ctx, views[i], n, names[i]);
    if (st || n == 0)
        return st;
    porta__stream_layout layout = porta__stream_layout_for(ctx);
    if (local_size || per_invocation) {
        layout.local_size = local_size ? local_size : ctx->variant.local_size;
        layout.per_invocation = per_invocation ? per_invocation : 1u;
    }
    if (layout.per_invocation > 256)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_vec_stream: %u elements per invocation (at most 256)",
                             layout.per_invocation);
    if (!porta__is_pow2(layout.local_size) ||
        layout.local_size > ctx->backend.caps.max_workgroup_size)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_vec_stream: workgroups of %u invocations (a power of two up "
                             "to %u)",
                             layout.local_size, ctx->backend.caps.max_workgroup_size);
    porta_params_stream p = {.n = (uint32_t)n, .alpha = 0.5f};
    porta_bbuffer *bufs[] = {a.buffer->impl, b.buffer->impl, c.buffer->impl, d.buffer->impl};
    const uint32_t spec[PORTA_SPEC_COUNT] = {1, 0, 1, 1};
    return porta__launch_stream(ctx, PORTA_KERNEL_stream, layout, n, 0, spec, bufs, &p);
}
