/* dropout.c: inverted dropout from a counter-based generator
 * (shaders/dropout.kc). The mask is regenerated from (seed, step) in the
 * backward pass, so nothing is stored between the passes.
 */
#include <math.h>
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* A device, p in [0, 1), and the two ranges. */
static porta_status check_call(porta_context *ctx, const char *call, float p, size_t n,
                               porta_view a, const char *a_name, porta_view y, const char *y_name)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!(p >= 0.0f && p < 1.0f))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s p: %g is not in [0, 1)",
                             call, (double)p);
    st = porta__check_arg(ctx, a, n, call, a_name);
    return st ? st : porta__check_arg(ctx, y, n, call, y_name);
}

/* One dropout.kc dispatch; pass 0 forward, 1 backward. */
static porta_status launch(porta_context *ctx, uint32_t pass, float p, uint64_t seed, uint64_t step,
                           size_t n, porta_buffer *a, size_t a_off, porta_buffer *y, size_t y_off,
                           bool accumulate)
{
    /* Kept when the top 24 bits of the word are >= ceil(p 2^24) (p 2^24 is
     * exact in double); the scale rounds 1 - p and its reciprocal in float,
     * as the reference does. */
    const float kept = 1.0f - p;
    porta_params_dropout prm = {.n = (uint32_t)n,
                                .a_off = (uint32_t)a_off,
                                .y_off = (uint32_t)y_off,
                                .accumulate = accumulate ? 1u : 0u,
                                .threshold = (uint32_t)ceil((double)p * 16777216.0),
                                .scale = 1.0f / kept,
                                .seed_lo = (uint32_t)seed,
                                .seed_hi = (uint32_t)(seed >> 32),
                                .step_lo = (uint32_t)step,
                                .step_hi = (uint32_t)(step >> 32)};
    porta_bbuffer *bufs[] = {a->impl, y->impl};
    const uint32_t per = porta__elements_per_invocation(ctx);
    const uint32_t spec[PORTA_SPEC_COUNT] = {per, pass, 1, 1};
    const size_t blocks = (n + 3) / 4, per_group = (size_t)ctx->variant.local_size * per;
    uint32_t grid[3];
    porta__grid_2d((blocks + per_group - 1) / per_group, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_dropout, spec, grid, bufs, &prm);
}

porta_status porta_dropout_forward(porta_context *ctx, float p, uint64_t seed, uint64_t step,
                                   size_t n, porta_view x, porta_view y)
{
    if (porta__check_active(ctx))
        return porta__checked_dropout_forward(ctx, p, seed, step, n, x, y);
    porta_status st = check_call(ctx, "porta_dropout_forward", p, n, x, "x", y, "y");
    if (st || n == 0)
        return st;
    return launch(ctx, 0, p, seed, step, n, x.buffer, x.offset, y.buffer, y.offset, false);
}

porta_status porta_dropout_backward(porta_context *ctx, float p, uint64_t seed, uint64_t step,
                                    size_t n, porta_view dy, porta_view dx, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_dropout_backward(ctx, p, seed, step, n, dy, dx, accumulate);
    porta_status st = check_call(ctx, "porta_dropout_backward", p, n, dy, "dy", dx, "dx");
    if (st || n == 0)
        return st;
    return launch(ctx, 1, p, seed, step, n, dy.buffer, dy.offset, dx.buffer, dx.offset, accumulate);
}
