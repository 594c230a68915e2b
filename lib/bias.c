/* bias.c: a bias over the columns of a matrix and its gradient
 * (shaders/bias_add.kc, bias_backward.kc).
 *
 * The gradient is a column sum over many rows (up to ~65536) of few (10) to
 * many (4096) columns. One invocation per column would leave a GPU nearly
 * idle for narrow matrices, so the rows are cut into chunks summed by
 * separate workgroups into the context's scratch buffer (one row of partial
 * sums per chunk), and a second dispatch sums the chunks' rows. Both
 * dispatches add in a fixed order: deterministic without atomics.
 */
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* Loop iterations a lane spends on one chunk in the first pass. */
#define BIAS_LANE_ROWS 32u
/* At most this many chunks: the second pass's lanes loop over them. */
#define BIAS_MAX_CHUNKS 8192u
/* Columns per workgroup at most: 32 neighbour floats, 128 bytes per row. */
#define BIAS_MAX_BLOCK_COLS 32u
/* The scratch buffer vec.c creates (PORTA_REDUCE_MAX_GROUPS floats): never
 * make it smaller than that. */
#define BIAS_MIN_SCRATCH_FLOATS 256u

/* A device and a well-formed rows x cols matrix size. */
static porta_status check_shape(porta_context *ctx, size_t rows, size_t cols, const char *call)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (rows > 0 && cols == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s cols: 0 with %zu rows (rows need at least one element)", call,
                             rows);
    if (cols > 0 && rows > SIZE_MAX / cols)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu x %zu elements overflow", call, rows, cols);
    return PORTA_OK;
}

porta_status porta_bias_add(porta_context *ctx, size_t rows, size_t cols, porta_view biasv,
                            porta_view yv)
{
    porta_buffer *bias = biasv.buffer, *y = yv.buffer;
    const size_t bias_off = biasv.offset, y_off = yv.offset;
    porta_status st = check_shape(ctx, rows, cols, "porta_bias_add");
    if (!st)
        st = porta__check_view(ctx, biasv, cols, "porta_bias_add bias");
    if (!st)
        st = porta__check_view(ctx, yv, rows * cols, "porta_bias_add y");
    if (st || rows == 0)
        return st;
    porta_params_bias_add p = {.n = (uint32_t)(rows * cols),
                               .cols = (uint32_t)cols,
                               .bias_off = (uint32_t)bias_off,
                               .y_off = (uint32_t)y_off};
    porta_bbuffer *bufs[] = {bias->impl, y->impl};
    const uint32_t per = porta__elements_per_invocation(ctx);
    const uint32_t spec[PORTA_SPEC_COUNT] = {per, 1, 1, 1};
    const size_t block = (size_t)ctx->variant.local_size * per;
    uint32_t grid[3];
    porta__grid_2d((rows * cols + block - 1) / block, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_bias_add, spec, grid, bufs, &p);
}

/* The context's scratch buffer with room for `floats` floats: grown (the
 * old one freed; the backends keep it alive until queued work is done)
 * when a call needs more than it holds. */
static porta_status scratch_floats(porta_context *ctx, size_t floats, porta_buffer **out)
{
    if (floats < BIAS_MIN_SCRATCH_FLOATS)
        floats = BIAS_MIN_SCRATCH_FLOATS;
    if (!ctx->scratch || ctx->scratch->bytes < floats * sizeof(float)) {
        porta_buffer_destroy(ctx, ctx->scratch); /* clears ctx->scratch */
        porta_status st = porta_buffer_create(ctx, floats * sizeof(float), &ctx->scratch);
        if (st)
            return st;
    }
    *out = ctx->scratch;
    return PORTA_OK;
}

/* One bias_backward.kc dispatch: column sums of x (rows x cols) over chunks
 * of chunk_rows rows into z, one row of z per chunk. */
static porta_status column_sums(porta_context *ctx, uint32_t block_cols, porta_buffer *x,
                                size_t x_off, size_t rows, size_t cols, size_t chunk_rows,
                                porta_buffer *z, size_t z_off, bool accumulate)
{
    const size_t chunks = rows ? (rows + chunk_rows - 1) / chunk_rows : 1;
    const size_t col_blocks = (cols + block_cols - 1) / block_cols;
    porta_params_bias_backward p = {.rows = (uint32_t)rows,
                                    .cols = (uint32_t)cols,
                                    .chunk_rows = (uint32_t)chunk_rows,
                                    .chunks = (uint32_t)chunks,
                                    .block_cols = block_cols,
                                    .col_blocks = (uint32_t)col_blocks,
                                    .x_off = (uint32_t)x_off,
                                    .z_off = (uint32_t)z_off,
                                    .accumulate = accumulate ? 1u : 0u};
    porta_bbuffer *bufs[] = {x->impl, z->impl};
    const uint32_t spec[PORTA_SPEC_COUNT] = {1, 1, 1, 1};
    uint32_t grid[3];
    porta__grid_2d(chunks * col_blocks, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_bias_backward, spec, grid, bufs, &p);
}

porta_status porta_bias_backward(porta_context *ctx, size_t rows, size_t cols, porta_view dyv,
                                 porta_view dbiasv, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_bias_backward(ctx, rows, cols, dyv, dbiasv, accumulate);
    porta_buffer *dy = dyv.buffer, *dbias = dbiasv.buffer;
    const size_t dy_off = dyv.offset, dbias_off = dbiasv.offset;
    porta_status st = check_shape(ctx, rows, cols, "porta_bias_backward");
    if (!st)
        st = porta__check_view(ctx, dyv, rows * cols, "porta_bias_backward dy");
    if (!st)
        st = porta__check_view(ctx, dbiasv, cols, "porta_bias_backward dbias");
    if (st || cols == 0)
        return st;
    /* Block columns: a power of two up to 32 that covers narrow matrices
     * (and divides the power-of-two local size); the rest of the workgroup
     * are lanes splitting the rows. */
    const uint32_t local = ctx->variant.local_size;
    uint32_t block_cols = 1;
    while (block_cols < cols && block_cols < BIAS_MAX_BLOCK_COLS && block_cols < local)
        block_cols *= 2;
    const size_t lanes = local / block_cols;
    size_t chunk_rows = lanes * BIAS_LANE_ROWS;
    if ((rows + chunk_rows - 1) / chunk_rows > BIAS_MAX_CHUNKS) {
        chunk_rows = (rows + BIAS_MAX_CHUNKS - 1) / BIAS_MAX_CHUNKS;
        chunk_rows = (chunk_rows + lanes - 1) / lanes * lanes;
    }
    if (rows <= chunk_rows) /* one chunk (rows == 0 too): straight into dbias */
        return column_sums(ctx, block_cols, dy, dy_off, rows, cols, rows ? rows : 1, dbias,
                           dbias_off, accumulate);
    const size_t chunks = (rows + chunk_rows - 1) / chunk_rows;
    porta_buffer *partials = NULL;
    st = scratch_floats(ctx, chunks * cols, &partials);
    if (!st)
        st = column_sums(ctx, block_cols, dy, dy_off, rows, cols, chunk_rows, partials, 0, false);
    if (!st)
        st = column_sums(ctx, block_cols, partials, 0, chunks, cols, chunks, dbias, dbias_off,
                         accumulate);
    return st;
}
