/* activation.c: elementwise activation functions, forward and backward
 * (shaders/activation.kc). */
#include "check_mode.h"
#include "internal.h"

/* The checks both calls start with: a device, a known function. */
static porta_status check_fn(porta_context *ctx, porta_activation fn, const char *what)
{
    porta_status st = porta__require_device(ctx);
    if (!st && ((int)fn < (int)PORTA_RELU || (int)fn > (int)PORTA_SIGMOID))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s fn: %d is not a porta_activation", what, (int)fn);
    return st;
}

/* One dispatch of activation.kc: SPEC0 the function, SPEC1 the pass,
 * SPEC2 elements per invocation, SPEC3 accumulate, on a 2-D grid of
 * blocks. */
static porta_status launch(porta_context *ctx, porta_activation fn, uint32_t pass,
                           uint32_t accumulate, porta_bbuffer *const *bufs,
                           const porta_params_activation *p)
{
    const uint32_t per = porta__elements_per_invocation(ctx);
    const uint32_t spec[PORTA_SPEC_COUNT] = {(uint32_t)fn, pass, per, accumulate};
    const size_t block = (size_t)ctx->variant.local_size * per;
    uint32_t grid[3];
    porta__grid_2d((p->n + block - 1) / block, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_activation, spec, grid, bufs, p);
}

porta_status porta_activation_forward(porta_context *ctx, porta_activation fn, porta_view xv,
                                      porta_view yv, size_t n)
{
    if (porta__check_active(ctx))
        return porta__checked_activation_forward(ctx, fn, xv, yv, n);
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    porta_status st = check_fn(ctx, fn, "porta_activation_forward");
    if (!st)
        st = porta__check_view(ctx, xv, n, "porta_activation_forward x");
    if (!st)
        st = porta__check_view(ctx, yv, n, "porta_activation_forward y");
    if (st || n == 0)
        return st;
    porta_params_activation p = {
        .n = (uint32_t)n, .x_off = (uint32_t)x_off, .dy_off = 0, .y_off = (uint32_t)y_off};
    porta_bbuffer *bufs[] = {x->impl, x->impl, y->impl};
    return launch(ctx, fn, 0, 0, bufs, &p);
}

porta_status porta_activation_backward(porta_context *ctx, porta_activation fn, porta_view xv,
                                       porta_view dyv, porta_view dxv, size_t n, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_activation_backward(ctx, fn, xv, dyv, dxv, n, accumulate);
    porta_buffer *x = xv.buffer, *dy = dyv.buffer, *dx = dxv.buffer;
    const size_t x_off = xv.offset, dy_off = dyv.offset, dx_off = dxv.offset;
    porta_status st = check_fn(ctx, fn, "porta_activation_backward");
    if (!st)
        st = porta__check_view(ctx, xv, n, "porta_activation_backward x");
    if (!st)
        st = porta__check_view(ctx, dyv, n, "porta_activation_backward dy");
    if (!st)
        st = porta__check_view(ctx, dxv, n, "porta_activation_backward dx");
    if (st || n == 0)
        return st;
    porta_params_activation p = {.n = (uint32_t)n,
                                 .x_off = (uint32_t)x_off,
                                 .dy_off = (uint32_t)dy_off,
                                 .y_off = (uint32_t)dx_off};
    porta_bbuffer *bufs[] = {x->impl, dy->impl, dx->impl};
    return launch(ctx, fn, 1, accumulate ? 1u : 0u, bufs, &p);
}
