/* attention.c: attention probabilities from scores with an optional causal
 * mask, forward and backward (shaders/attention_softmax.kc): one invocation
 * per row of T scores on CPU devices (T up to ATT_ROW_MAX_T), one workgroup
 * per row otherwise.
 */
#include <math.h>
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* The longest row one invocation reduces alone on a CPU device (three
 * loops over the row stay far under llvmpipe's 65535 iterations); longer
 * rows amortise a workgroup's barriers and take one workgroup each. */
#define ATT_ROW_MAX_T 1024u

/* A device, a finite scale, T >= 1 (with rows) and no overflow of
 * batch_heads * T * T elements. */
static porta_status check_shape(porta_context *ctx, const char *call, size_t batch_heads, size_t T,
                                float scale)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!isfinite(scale))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s scale: %g is not finite",
                             call, (double)scale);
    if (batch_heads > 0 && T == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s T: 0 with %zu blocks (T must be >= 1)", call, batch_heads);
    if (T > 0 && (T > SIZE_MAX / T || batch_heads > SIZE_MAX / (T * T)))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu blocks of %zu x %zu elements overflow", call, batch_heads, T,
                             T);
    return PORTA_OK;
}

/* One attention_softmax.kc dispatch over the rows: SPEC0 = pass, SPEC1 =
 * one invocation per row (CPU devices, rows up to ATT_ROW_MAX_T) or one
 * workgroup per row. */
static porta_status launch(porta_context *ctx, uint32_t pass, size_t rows, size_t T,
                           porta_bbuffer *const *bufs, const porta_params_attention_softmax *p)
{
    const uint32_t per_invocation = porta__cpu_like(ctx) && T <= ATT_ROW_MAX_T ? 1u : 0u;
    const uint32_t spec[PORTA_SPEC_COUNT] = {pass, per_invocation, 1, 1};
    const size_t local = ctx->variant.local_size;
    uint32_t grid[3];
    porta__grid_2d(per_invocation ? (rows + local - 1) / local : rows, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_attention_softmax, spec, grid, bufs, p);
}

porta_status porta_attention_softmax_forward(porta_context *ctx, size_t batch_heads, size_t T,
                                             float scale, bool causal, porta_view xv, porta_view yv)
{
    if (porta__check_active(ctx))
        return porta__checked_attention_softmax_forward(ctx, batch_heads, T, scale, causal, xv, yv);
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    const char *call = "porta_attention_softmax_forward";
    porta_status st = check_shape(ctx, call, batch_heads, T, scale);
    const size_t n = batch_heads * T * T;
    if (!st)
        st = porta__check_arg(ctx, xv, n, call, "x");
    if (!st)
        st = porta__check_arg(ctx, yv, n, call, "y");
    if (st || n == 0)
        return st;
    porta_params_attention_softmax p = {.rows = (uint32_t)(batch_heads * T),
                                        .T = (uint32_t)T,
                                        .causal = causal ? 1u : 0u,
                                        .scale = scale,
                                        .a_off = (uint32_t)x_off,
                                        .b_off = (uint32_t)x_off,
                                        .z_off = (uint32_t)y_off};
    porta_bbuffer *bufs[] = {x->impl, x->impl, y->impl};
    return launch(ctx, 0, batch_heads * T, T, bufs, &p);
}

porta_status porta_attention_softmax_backward(porta_context *ctx, size_t batch_heads, size_t T,
                                              float scale, porta_view yv, porta_view dyv,
                                              porta_view dxv, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_attention_softmax_backward(ctx, batch_heads, T, scale, yv, dyv, dxv,
                                                         accumulate);
    porta_buffer *y = yv.buffer, *dy = dyv.buffer, *dx = dxv.buffer;
    const size_t y_off = yv.offset, dy_off = dyv.offset, dx_off = dxv.offset;
    const char *call = "porta_attention_softmax_backward";
    porta_status st = check_shape(ctx, call, batch_heads, T, scale);
    const size_t n = batch_heads * T * T;
    if (!st)
        st = porta__check_arg(ctx, yv, n, call, "y");
    if (!st)
        st = porta__check_arg(ctx, dyv, n, call, "dy");
    if (!st)
        st = porta__check_arg(ctx, dxv, n, call, "dx");
    if (st || n == 0)
        return st;
    porta_params_attention_softmax p = {.rows = (uint32_t)(batch_heads * T),
                                        .T = (uint32_t)T,
                                        .scale = scale,
                                        .a_off = (uint32_t)y_off,
                                        .b_off = (uint32_t)dy_off,
                                        .z_off = (uint32_t)dx_off,
                                        .accumulate = accumulate ? 1u : 0u};
    porta_bbuffer *bufs[] = {y->impl, dy->impl, dx->impl};
    return launch(ctx, 1, batch_heads * T, T, bufs, &p);
}
