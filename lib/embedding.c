/* embedding.c: token embedding lookup and its gradient
 * (shaders/embedding_forward.kc, embedding_backward.kc).
 *
 * The gradient has no atomics: every element of dtable is one invocation's
 * sum over the tokens that name its row, scanned in ascending order. Long
 * token lists go in several dispatches (the later ones adding) so an
 * invocation's loop stays under llvmpipe's 65535 iterations.
 */
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* Loop iterations per invocation and embedding_backward dispatch: a token
 * costs one for the scan and one per column of the invocation's block. */
#define EMB_LOOP_BUDGET 16384u

/* Columns per embedding_backward invocation: a power of two up to 32
 * (EMB_COLUMNS_MAX in shaders/embedding_backward.kc; 8
 * on llvmpipe), no wider than dim needs. Every token is read once per
 * column block, so wider blocks read the token list fewer times. */
static uint32_t emb_columns(const porta_context *ctx, size_t dim)
{
    const uint32_t most = porta__masked_lanes(ctx) ? 8u : 32u;
    uint32_t cols = 1;
    while (cols < dim && cols < most)
        cols *= 2;
    return cols;
}

/* A device, vocab and dim >= 1, and the tokens, table and n_tokens x dim
 * ranges inside their buffers. */
static porta_status check_call(porta_context *ctx, const char *call, porta_view tokens,
                               size_t n_tokens, porta_view table, const char *table_name,
                               size_t vocab, size_t dim, porta_view rows, const char *rows_name)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (vocab == 0 || dim == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s %s: must be >= 1", call,
                             vocab == 0 ? "vocab" : "dim");
    if (vocab > SIZE_MAX / dim || n_tokens > SIZE_MAX / dim)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu x %zu elements overflow", call,
                             vocab > SIZE_MAX / dim ? vocab : n_tokens, dim);
    st = porta__check_arg(ctx, tokens, n_tokens, call, "tokens");
    if (!st)
        st = porta__check_arg(ctx, table, vocab * dim, call, table_name);
    return st ? st : porta__check_arg(ctx, rows, n_tokens * dim, call, rows_name);
}

porta_status porta_embedding_forward(porta_context *ctx, porta_view tokensv, size_t n_tokens,
                                     porta_view tablev, size_t vocab, size_t dim, porta_view yv)
{
    if (porta__check_active(ctx))
        return porta__checked_embedding_forward(ctx, tokensv, n_tokens, tablev, vocab, dim, yv);
    porta_buffer *tokens = tokensv.buffer, *table = tablev.buffer, *y = yv.buffer;
    const size_t tokens_off = tokensv.offset, table_off = tablev.offset, y_off = yv.offset;
    porta_status st = check_call(ctx, "porta_embedding_forward", tokensv, n_tokens, tablev, "table",
                                 vocab, dim, yv, "y");
    if (st || n_tokens == 0)
        return st;
    porta_params_embedding_forward p = {.n = (uint32_t)(n_tokens * dim),
                                        .dim = (uint32_t)dim,
                                        .vocab = (uint32_t)vocab,
                                        .tokens_off = (uint32_t)tokens_off,
                                        .table_off = (uint32_t)table_off,
                                        .y_off = (uint32_t)y_off};
    porta_bbuffer *bufs[] = {tokens->impl, table->impl, y->impl};
    const uint32_t per = porta__elements_per_invocation(ctx);
    const uint32_t spec[PORTA_SPEC_COUNT] = {per, 1, 1, 1};
    const size_t block = (size_t)ctx->variant.local_size * per;
    uint32_t grid[3];
    porta__grid_2d((n_tokens * dim + block - 1) / block, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_embedding_forward, spec, grid, bufs, &p);
}

porta_status porta_embedding_backward(porta_context *ctx, porta_view tokensv, size_t n_tokens,
                                      porta_view dyv, size_t vocab, size_t dim, porta_view dtablev,
                                      bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_embedding_backward(ctx, tokensv, n_tokens, dyv, vocab, dim, dtablev,
                                                 accumulate);
    porta_buffer *tokens = tokensv.buffer, *dy = dyv.buffer, *dtable = dtablev.buffer;
    const size_t tokens_off = tokensv.offset, dy_off = dyv.offset, dtable_off = dtablev.offset;
    porta_status st = check_call(ctx, "porta_embedding_backward", tokensv, n_tokens, dtablev,
                                 "dtable", vocab, dim, dyv, "dy");
    if (st)
        return st;
    /* SPEC0 columns per invocation, fewer on llvmpipe, whose loop limit
     * counts the inner column loop once per token. */
    const uint32_t cols = emb_columns(ctx, dim);
    const size_t col_blocks = (dim + cols - 1) / cols;
    const size_t chunk = EMB_LOOP_BUDGET / (cols + 1);
    porta_params_embedding_backward p = {.vocab = (uint32_t)vocab,
                                         .dim = (uint32_t)dim,
                                         .col_blocks = (uint32_t)col_blocks,
                                         .tokens_off = (uint32_t)tokens_off,
                                         .dy_off = (uint32_t)dy_off,
                                         .dtable_off = (uint32_t)dtable_off};
    porta_bbuffer *bufs[] = {tokens->impl, dy->impl, dtable->impl};
    const uint32_t spec[PORTA_SPEC_COUNT] = {cols, 1, 1, 1};
    const size_t local = ctx->variant.local_size;
    uint32_t grid[3];
    porta__grid_2d((vocab * col_blocks + local - 1) / local, grid);
    /* Token chunks in ascending order, the later ones adding; at least one
     * dispatch, so that 0 tokens writes zeros. */
    size_t i0 = 0;
    do {
        p.i0 = (uint32_t)i0;
        p.count = (uint32_t)porta__min_size(n_tokens - i0, chunk);
        p.accumulate = (accumulate || i0 > 0) ? 1u : 0u;
        st = porta__launch_spec(ctx, PORTA_KERNEL_embedding_backward, spec, grid, bufs, &p);
        i0 += p.count;
    } while (!st && i0 < n_tokens);
    return st;
}
