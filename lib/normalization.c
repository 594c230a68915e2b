/* normalization.c: layer normalisation and softmax, forward and backward
 * (shaders/layernorm.kc, layernorm_backward.kc, softmax.kc).
 *
 * Row-wise layer-norm kernels run one invocation per row on CPU devices
 * (rows up to ROW_PER_INVOCATION_MAX_COLS) and one workgroup per row
 * otherwise (softmax: always), on a 2-D grid. dgamma and
 * dbeta are deterministic without atomics or scratch: one invocation per
 * column sums its column over rows in ascending order, the rows split into
 * chunks (one dispatch each, the later ones adding to the first) that keep
 * an invocation under llvmpipe's 65535 loop iterations.
 */
#include <math.h>
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* Rows per dgamma/dbeta dispatch: one loop iteration each. */
#define LN_ROW_CHUNK 16384u

/* The longest row one invocation reduces alone on a CPU device (a few
 * loops over the row stay far under llvmpipe's 65535 iterations); longer
 * rows amortise a workgroup's barriers and take one workgroup each. */
#define ROW_PER_INVOCATION_MAX_COLS 1024u

/* 1 when rows of cols elements take one invocation each (CPU devices:
 * PoCL runs a workgroup as a loop over its invocations, cut at every
 * barrier; llvmpipe switches coroutines there), 0 for one workgroup each. */
static uint32_t row_per_invocation(const porta_context *ctx, size_t cols)
{
    return porta__cpu_like(ctx) && cols <= ROW_PER_INVOCATION_MAX_COLS ? 1u : 0u;
}

/* The grid of a row-wise kernel: a workgroup per row, or per LOCAL_SIZE
 * rows when each invocation takes a row. */
static void row_grid(const porta_context *ctx, size_t rows, uint32_t per_invocation,
                     uint32_t grid[3])
{
    const size_t local = ctx->variant.local_size;
    porta__grid_2d(per_invocation ? (rows + local - 1) / local : rows, grid);
}

/* A device and a well-formed rows x cols matrix size (rows * cols
 * elements must not overflow; cols >= 1 unless rows == 0). */
static porta_status check_shape(porta_context *ctx, size_t rows, size_t cols, const char *what)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (rows > 0 && cols == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s cols: 0 with %zu rows (rows need at least one element)", what,
                             rows);
    if (cols > 0 && rows > SIZE_MAX / cols)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu x %zu elements overflow", what, rows, cols);
    return PORTA_OK;
}

porta_status porta_layernorm_forward(porta_context *ctx, size_t rows, size_t cols, float eps,
                                     porta_view xv, porta_view gammav, porta_view betav,
                                     porta_view yv, porta_view meanv, porta_view rstdv)
{
    if (porta__check_active(ctx))
        return porta__checked_layernorm_forward(ctx, rows, cols, eps, xv, gammav, betav, yv, meanv,
                                                rstdv);
    porta_buffer *x = xv.buffer, *gamma = gammav.buffer, *beta = betav.buffer, *y = yv.buffer,
                 *mean = meanv.buffer, *rstd = rstdv.buffer;
    const size_t x_off = xv.offset, gamma_off = gammav.offset, beta_off = betav.offset,
                 y_off = yv.offset, mean_off = meanv.offset, rstd_off = rstdv.offset;
    const char *call = "porta_layernorm_forward";
    porta_status st = check_shape(ctx, rows, cols, call);
    if (!st && !(isfinite(eps) && eps >= 0.0f))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s eps: %g is not finite and >= 0", call, (double)eps);
    if (!st)
        st = porta__check_arg(ctx, xv, rows * cols, call, "x");
    if (!st)
        st = porta__check_arg(ctx, gammav, cols, call, "gamma");
    if (!st)
        st = porta__check_arg(ctx, betav, cols, call, "beta");
    if (!st)
        st = porta__check_arg(ctx, yv, rows * cols, call, "y");
    if (!st)
        st = porta__check_arg(ctx, meanv, rows, call, "mean");
    if (!st)
        st = porta__check_arg(ctx, rstdv, rows, call, "rstd");
    if (st || rows == 0)
        return st;
    porta_params_layernorm p = {.rows = (uint32_t)rows,
                                .cols = (uint32_t)cols,
                                .x_off = (uint32_t)x_off,
                                .gamma_off = (uint32_t)gamma_off,
                                .beta_off = (uint32_t)beta_off,
                                .y_off = (uint32_t)y_off,
                                .mean_off = (uint32_t)mean_off,
                                .rstd_off = (uint32_t)rstd_off,
                                .eps = eps};
    porta_bbuffer *bufs[] = {x->impl, gamma->impl, beta->impl, y->impl, mean->impl, rstd->impl};
    const uint32_t mode = row_per_invocation(ctx, cols);
    const uint32_t spec[PORTA_SPEC_COUNT] = {mode, 1, 1, 1};
    uint32_t grid[3];
    row_grid(ctx, rows, mode, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_layernorm, spec, grid, bufs, &p);
}

/* Every range porta_layernorm_backward reads or writes. */
static porta_status check_ln_backward(porta_context *ctx, size_t rows, size_t cols,
                                      const porta_view *v)
{
    static const char *const names[] = {"dy",   "x",  "gamma",  "mean",
                                        "rstd", "dx", "dgamma", "dbeta"};
    const size_t n = rows * cols;
    const size_t lens[] = {n, n, cols, rows, rows, n, cols, cols};
    porta_status st = check_shape(ctx, rows, cols, "porta_layernorm_backward");
    for (size_t i = 0; !st && i < 8; i++)
        st = porta__check_arg(ctx, v[i], lens[i], "porta_layernorm_backward", names[i]);
    return st;
}

porta_status porta_layernorm_backward(porta_context *ctx, size_t rows, size_t cols, porta_view dy,
                                      porta_view x, porta_view gamma, porta_view mean,
                                      porta_view rstd, porta_view dx, porta_view dgamma,
                                      porta_view dbeta, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_layernorm_backward(ctx, rows, cols, dy, x, gamma, mean, rstd, dx,
                                                 dgamma, dbeta, accumulate);
    const porta_view v[] = {dy, x, gamma, mean, rstd, dx, dgamma, dbeta};
    porta_status st = check_ln_backward(ctx, rows, cols, v);
    if (st || rows == 0)
        return st;
    porta_params_layernorm_backward p = {.rows = (uint32_t)rows,
                                         .cols = (uint32_t)cols,
                                         .dy_off = (uint32_t)dy.offset,
                                         .x_off = (uint32_t)x.offset,
                                         .gamma_off = (uint32_t)gamma.offset,
                                         .mean_off = (uint32_t)mean.offset,
                                         .rstd_off = (uint32_t)rstd.offset,
                                         .dx_off = (uint32_t)dx.offset,
                                         .dgamma_off = (uint32_t)dgamma.offset,
                                         .dbeta_off = (uint32_t)dbeta.offset,
                                         .accumulate = accumulate ? 1u : 0u};
    porta_bbuffer *bufs[8];
    for (size_t i = 0; i < 8; i++)
        bufs[i] = v[i].buffer->impl;
    const uint32_t mode = row_per_invocation(ctx, cols);
    uint32_t spec[PORTA_SPEC_COUNT] = {0, mode, 1, 1};
    uint32_t grid[3];
    row_grid(ctx, rows, mode, grid);
    st = porta__launch_spec(ctx, PORTA_KERNEL_layernorm_backward, spec, grid, bufs, &p);
    /* dgamma, dbeta: row chunks in ascending order, the later ones adding. */
    spec[0] = 1;
    spec[1] = 1;
    const size_t local = ctx->variant.local_size;
    porta__grid_2d((cols + local - 1) / local, grid);
    for (size_t r0 = 0; !st && r0 < rows; r0 += LN_ROW_CHUNK) {
        p.row0 = (uint32_t)r0;
        p.nrows = (uint32_t)(rows - r0 < LN_ROW_CHUNK ? rows - r0 : LN_ROW_CHUNK);
        p.accumulate = (accumulate || r0 > 0) ? 1u : 0u;
        st = porta__launch_spec(ctx, PORTA_KERNEL_layernorm_backward, spec, grid, bufs, &p);
    }
    return st;
}

/* One softmax.kc dispatch over rows: SPEC0 = pass. */
static porta_status softmax_launch(porta_context *ctx, uint32_t pass, size_t rows,
                                   porta_bbuffer *const *bufs, const porta_params_softmax *p)
{
    const uint32_t spec[PORTA_SPEC_COUNT] = {pass, 1, 1, 1};
    uint32_t grid[3];
    porta__grid_2d(rows, grid); /* one workgroup per row */
    return porta__launch_spec(ctx, PORTA_KERNEL_softmax, spec, grid, bufs, p);
}

porta_status porta_softmax_forward(porta_context *ctx, size_t rows, size_t cols, porta_view xv,
                                   porta_view yv)
{
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    const char *call = "porta_softmax_forward";
    porta_status st = check_shape(ctx, rows, cols, call);
    if (!st)
        st = porta__check_arg(ctx, xv, rows * cols, call, "x");
    if (!st)
        st = porta__check_arg(ctx, yv, rows * cols, call, "y");
    if (st || rows == 0)
        return st;
    porta_params_softmax p = {.rows = (uint32_t)rows,
                              .cols = (uint32_t)cols,
                              .a_off = (uint32_t)x_off,
                              .b_off = (uint32_t)x_off,
                              .z_off = (uint32_t)y_off};
    porta_bbuffer *bufs[] = {x->impl, x->impl, y->impl};
    return softmax_launch(ctx, 0, rows, bufs, &p);
}

porta_status porta_softmax_backward(porta_context *ctx, size_t rows, size_t cols, porta_view yv,
                                    porta_view dyv, porta_view dxv, bool accumulate)
{
    porta_buffer *y = yv.buffer, *dy = dyv.buffer, *dx = dxv.buffer;
    const size_t y_off = yv.offset, dy_off = dyv.offset, dx_off = dxv.offset;
    const char *call = "porta_softmax_backward";
    porta_status st = check_shape(ctx, rows, cols, call);
    if (!st)
        st = porta__check_arg(ctx, yv, rows * cols, call, "y");
    if (!st)
        st = porta__check_arg(ctx, dyv, rows * cols, call, "dy");
    if (!st)
        st = porta__check_arg(ctx, dxv, rows * cols, call, "dx");
    if (st || rows == 0)
        return st;
    porta_params_softmax p = {.rows = (uint32_t)rows,
                              .cols = (uint32_t)cols,
                              .a_off = (uint32_t)y_off,
                              .b_off = (uint32_t)dy_off,
                              .z_off = (uint32_t)dx_off,
                              .accumulate = accumulate ? 1u : 0u};
    porta_bbuffer *bufs[] = {y->impl, dy->impl, dx->impl};
    return softmax_launch(ctx, 1, rows, bufs, &p);
}
