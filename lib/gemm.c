/* gemm.c: strided batched matrix multiplication (shaders/gemm.kc, and
 * shaders/gemm_reduce.kc for split-K): argument checks, then the plan
 * (gemm_plan.c) cut into dispatches. porta_gemm_bias_act (gemm_epilogue.c)
 * runs through here too: its epilogue goes to the one dispatch that
 * finishes C (the last K chunk, or the split-K reduction).
 *
 * Split-K scratch: the context's scratch buffer (ctx->scratch, which
 * porta_vec_sum's partials also use: both only use it within their own
 * in-order, barrier-separated dispatches), grown on demand to the largest
 * split-K problem seen and kept, so a training loop allocates it once. */
#include <stdint.h>

#include "check_mode.h"
#include "gemm_internal.h"

/* Workgroups per grid dimension that every API allows. */
#define GEMM_MAX_GROUPS 65535u
#define GEMM_INDEX_LIMIT 0x7fffffffu

typedef struct gemm_args {
    const char *call; /* the public function, for messages */
    int ta, tb, tc;   /* tc: C marked transposed, which is refused */
    size_t m, n, k, batch;
    float alpha, beta;
    porta_view a, b, c;
    size_t lda, ldb, ldc;
    size_t stride_a, stride_b, stride_c;
    /* the epilogue (gemm_epilogue.c): SPEC0 bits 4..8 of gemm.kc, applied
     * by the dispatch that finishes C; unused buffers are C */
    uint32_t epilogue;
    porta_view bias, pre;
} gemm_args;

int porta__gemm_span(size_t rows, size_t cols, size_t ld, size_t batch, size_t stride, size_t *out)
{
    *out = 0;
    if (rows == 0 || cols == 0 || batch == 0)
        return 1;
    if ((rows - 1) > (SIZE_MAX - cols) / ld)
        return 0;
    size_t one = (rows - 1) * ld + cols;
    if (stride != 0 && (batch - 1) > (SIZE_MAX - one) / stride)
        return 0;
    *out = (batch - 1) * stride + one;
    return 1;
}

/* Check one operand: a leading dimension at least its stored row length
 * (and below 2^31), then its whole batch range inside its view and
 * buffer. */
static porta_status check_operand(porta_context *ctx, const char *call, const char *name,
                                  porta_view v, size_t rows, size_t cols, size_t ld, size_t batch,
                                  size_t stride)
{
    size_t min_ld = cols > 1 ? cols : 1;
    if (ld < min_ld)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s %s.ld: %zu is less than %zu, the row length of %s as stored", call,
                             name, ld, min_ld, name);
    if (ld > GEMM_INDEX_LIMIT)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s %s.ld: %zu is beyond the 2^31 elements kernels index", call, name,
                             ld);
    size_t span;
    if (!porta__gemm_span(rows, cols, ld, batch, stride, &span))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s %s: the batch range overflows (%s.batch_stride %zu)", call, name,
                             name, stride);
    return porta__check_arg(ctx, v, span, call, name);
}

/* Whether [o1, o1 + n1) of b1 and [o2, o2 + n2) of b2 share an element. */
static int ranges_overlap(const porta_buffer *b1, size_t o1, size_t n1, const porta_buffer *b2,
                          size_t o2, size_t n2)
{
    return b1 == b2 && n1 > 0 && n2 > 0 && o1 < o2 + n2 && o2 < o1 + n1;
}

/* The epilogue's buffers (batch 1): bias n floats, pre laid out like C
 * (c_one elements), neither overlapping C nor each other. */
static porta_status validate_epilogue(porta_context *ctx, const gemm_args *g, size_t c_one)
{
    const int bias = (g->epilogue & GEMM_EPI_BIAS) != 0;
    const int pre = (g->epilogue & GEMM_EPI_PRE) != 0;
    porta_status st = PORTA_OK;
    if (bias)
        st = porta__check_arg(ctx, g->bias, g->n, g->call, "epilogue->bias");
    if (!st && pre)
        st = porta__check_arg(ctx, g->pre, c_one, g->call, "epilogue->pre");
    if (st)
        return st;
    if (pre && ranges_overlap(g->pre.buffer, g->pre.offset, c_one, g->c.buffer, g->c.offset, c_one))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s epilogue->pre: its range overlaps c's (pre at element %zu, c at "
                             "%zu)",
                             g->call, g->pre.offset, g->c.offset);
    if (bias &&
        ranges_overlap(g->bias.buffer, g->bias.offset, g->n, g->c.buffer, g->c.offset, c_one))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s epilogue->bias: its range overlaps c's (bias at element %zu, c "
                             "at %zu)",
                             g->call, g->bias.offset, g->c.offset);
    if (bias && pre &&
        ranges_overlap(g->bias.buffer, g->bias.offset, g->n, g->pre.buffer, g->pre.offset, c_one))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s epilogue->bias: its range overlaps pre's (bias at element %zu, "
                             "pre at %zu)",
                             g->call, g->bias.offset, g->pre.offset);
    return PORTA_OK;
}

static porta_status validate(porta_context *ctx, const gemm_args *g)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (g->tc)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s c: transposed is set; C is written as stored and cannot be "
                             "transposed",
                             g->call);
    st = check_operand(ctx, g->call, "a", g->a, g->ta ? g->k : g->m, g->ta ? g->m : g->k, g->lda,
                       g->batch, g->stride_a);
    if (!st)
        st = check_operand(ctx, g->call, "b", g->b, g->tb ? g->n : g->k, g->tb ? g->k : g->n,
                           g->ldb, g->batch, g->stride_b);
    if (!st)
        st = check_operand(ctx, g->call, "c", g->c, g->m, g->n, g->ldc, g->batch, g->stride_c);
    if (st)
        return st;
    size_t c_one = g->m && g->n ? (g->m - 1) * g->ldc + g->n : 0;
    if (g->batch > 1 && g->stride_c < c_one)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s c.batch_stride: %zu is less than %zu, the span of one C, so "
                             "batches would overwrite each other",
                             g->call, g->stride_c, c_one);
    return g->epilogue ? validate_epilogue(ctx, g, c_one) : PORTA_OK;
}

/* Enqueue shaders/gemm.kc as `plan` says on a grid, then a barrier.
 * bufs: A, B, C, bias, pre; `epilogue` the bits this dispatch applies. */
static porta_status dispatch_gemm(porta_context *ctx, const porta__gemm_plan *plan,
                                  const gemm_args *g, uint32_t epilogue, const uint32_t grid[3],
                                  porta_bbuffer *const *bufs, const porta_params_gemm *p)
{
    porta_backend *be = &ctx->backend;
    const uint32_t flags = (g->ta ? GEMM_TRANSPOSE_A : 0u) | (g->tb ? GEMM_TRANSPOSE_B : 0u) |
                           (plan->tiled ? GEMM_TILED : 0u) | (plan->fma ? GEMM_FMA : 0u) | epilogue;
    porta_kernel_variant v = {.local_size = plan->local_size, .spec = {flags, 1u, 1u, 1u}};
    const porta_kernel_id id = plan->scalar ? PORTA_KERNEL_gemm_scalar : PORTA_KERNEL_gemm;
    if (!plan->tiled && !plan->scalar) {
        v.spec[1] = plan->tm;
        v.spec[2] = plan->nv;
        v.spec[3] = plan->wx;
    }
    porta_bkernel *kern = NULL; /* the backend caches it per (kernel, variant) */
    porta_status st = porta__kernel_fits(ctx, porta_kernel_table[id], v.local_size);
    if (!st)
        st = be->ops->kernel_get(be, porta_kernel_table[id], &v, &kern);
    if (!st)
        st = be->ops->dispatch(be, kern, grid, bufs, p);
    return st ? st : be->ops->barrier(be);
}

/* Rows and columns of C one workgroup covers. */
static void block_extent(const porta_context *ctx, const porta__gemm_plan *plan, size_t *rows,
                         size_t *cols)
{
    if (plan->tiled) {
        *rows = *cols = 64;
        return;
    }
    if (plan->scalar) {
        *rows = 1;
        *cols = plan->local_size;
        return;
    }
    *rows = (size_t)(plan->local_size / plan->wx) * plan->tm;
    *cols = (size_t)plan->wx * plan->nv * porta__gemm_vec_width(ctx);
}

/* One block of the problem: batches [b0, b0 + nb), rows [i0, i0 + mi),
 * columns [j0, j0 + nj), k [k0, k0 + kk), all non-empty except kk, on one
 * dispatch. The block's origin goes into the offsets. */
typedef struct gemm_block {
    size_t b0, nb, i0, mi, j0, nj, k0, kk;
} gemm_block;

static porta_status launch_block(porta_context *ctx, const porta__gemm_plan *plan,
                                 const gemm_args *g, const gemm_block *blk)
{
    size_t a_at = g->ta ? blk->k0 * g->lda + blk->i0 : blk->i0 * g->lda + blk->k0;
    size_t b_at = g->tb ? blk->j0 * g->ldb + blk->k0 : blk->k0 * g->ldb + blk->j0;
    if (blk->kk == 0)
        a_at = b_at = 0; /* A and B are not read */
    porta_params_gemm p = {
        .m = (uint32_t)blk->mi,
        .n = (uint32_t)blk->nj,
        .k = (uint32_t)blk->kk,
        .k_last = (uint32_t)blk->kk,
        .lda = (uint32_t)g->lda,
        .ldb = (uint32_t)g->ldb,
        .ldc = (uint32_t)g->ldc,
        .a_off = (uint32_t)(g->a.offset + blk->b0 * g->stride_a + a_at),
        .b_off = (uint32_t)(g->b.offset + blk->b0 * g->stride_b + b_at),
        .c_off = (uint32_t)(g->c.offset + blk->b0 * g->stride_c + blk->i0 * g->ldc + blk->j0),
        .stride_a = (uint32_t)(blk->nb > 1 ? g->stride_a : 0),
        .stride_b = (uint32_t)(blk->nb > 1 ? g->stride_b : 0),
        .stride_c = (uint32_t)(blk->nb > 1 ? g->stride_c : 0),
        .alpha = g->alpha,
        .beta = blk->k0 == 0 ? g->beta : 1.0f,
        .bias_off = (uint32_t)(g->bias.offset + blk->j0),
        .pre_off = (uint32_t)(g->pre.offset + blk->b0 * g->stride_c + blk->i0 * g->ldc + blk->j0),
    };
    size_t rows, cols;
    block_extent(ctx, plan, &rows, &cols);
    const uint32_t grid[3] = {(uint32_t)((blk->nj + cols - 1) / cols),
                              (uint32_t)((blk->mi + rows - 1) / rows), (uint32_t)blk->nb};
    porta_bbuffer *bufs[] = {g->a.buffer->impl, g->b.buffer->impl, g->c.buffer->impl,
                             g->bias.buffer->impl, g->pre.buffer->impl};
    /* the epilogue once, on the dispatch that finishes C (its last K chunk) */
    const uint32_t epilogue = blk->k0 + blk->kk == g->k ? g->epilogue : 0u;
    return dispatch_gemm(ctx, plan, g, epilogue, grid, bufs, &p);
}

/* The K chunks of one output block, in ascending k (the first applies beta,
 * the others add to C, the last applies the epilogue). k == 0 is one
 * dispatch that scales C by beta (and applies the epilogue). */
static porta_status launch_k_chunks(porta_context *ctx, const porta__gemm_plan *plan,
                                    const gemm_args *g, gemm_block blk)
{
    porta_status st = PORTA_OK;
    blk.k0 = 0;
    do {
        blk.kk = porta__min_size(PORTA_GEMM_K_CHUNK, g->k - blk.k0);
        st = launch_block(ctx, plan, g, &blk);
        blk.k0 += blk.kk;
    } while (!st && blk.k0 < g->k);
    return st;
}

/* The next piece of `rest` elements no longer than `span`, leaving a
 * remainder of 0 or at least `least` (the direct path needs a block of at
 * least its register block in each dimension). */
static size_t next_extent(size_t rest, size_t span, size_t least)
{
    size_t e = porta__min_size(span, rest);
    if (rest > e && rest - e < least)
        e -= least;
    return e;
}

/* Split the grid where a dimension would exceed the API limit. */
static porta_status launch_all(porta_context *ctx, const porta__gemm_plan *plan, const gemm_args *g)
{
    size_t rows, cols;
    block_extent(ctx, plan, &rows, &cols);
    const size_t span_m = (size_t)GEMM_MAX_GROUPS * rows, span_n = (size_t)GEMM_MAX_GROUPS * cols;
    const size_t least_m = plan->tiled || plan->scalar ? 1 : plan->tm;
    const size_t least_n =
        plan->tiled || plan->scalar ? 1 : (size_t)plan->nv * porta__gemm_vec_width(ctx);
    porta_status st = PORTA_OK;
    gemm_block blk = {0};
    for (blk.b0 = 0; !st && blk.b0 < g->batch; blk.b0 += blk.nb) {
        blk.nb = porta__min_size(GEMM_MAX_GROUPS, g->batch - blk.b0);
        for (blk.i0 = 0; !st && blk.i0 < g->m; blk.i0 += blk.mi) {
            blk.mi = next_extent(g->m - blk.i0, span_m, least_m);
            for (blk.j0 = 0; !st && blk.j0 < g->n; blk.j0 += blk.nj) {
                blk.nj = next_extent(g->n - blk.j0, span_n, least_n);
                st = launch_k_chunks(ctx, plan, g, blk);
            }
        }
    }
    return st;
}

/* The context's scratch buffer with room for `floats` (grown, never
 * shrunk; see the top of the file). */
static porta_status gemm_scratch(porta_context *ctx, size_t floats, porta_buffer **out)
{
    if (!ctx->scratch || ctx->scratch->bytes < floats * sizeof(float)) {
        if (ctx->scratch)
            porta_buffer_destroy(ctx, ctx->scratch); /* freed once its work is done */
        porta_status st = porta_buffer_create(ctx, floats * sizeof(float), &ctx->scratch);
        if (st)
            return st;
    }
    *out = ctx->scratch;
    return PORTA_OK;
}

/* Split-K (batch 1): slice q of `splits` multiplies K range [q kc, ...)
 * into scratch slice q (alpha 1, beta 0, no epilogue), all slices in one
 * dispatch (the grid's z); then gemm_reduce sums the slices in ascending q
 * into C with alpha, beta and the epilogue. */
static porta_status launch_split_k(porta_context *ctx, const porta__gemm_plan *plan,
                                   const gemm_args *g)
{
    size_t splits = plan->splits;
    size_t kc = (g->k + splits - 1) / splits;
    kc = (kc + 3) / 4 * 4; /* whole unrolled steps per slice */
    splits = (g->k + kc - 1) / kc;
    const size_t mn = g->m * g->n;
    porta_buffer *part = NULL;
    size_t floats = splits * mn;
    if (floats < 256)
        floats = 256; /* porta_vec_sum's partials share the buffer */
    porta_status st = gemm_scratch(ctx, floats, &part);
    if (st)
        return st;
    porta_params_gemm p = {
        .m = (uint32_t)g->m,
        .n = (uint32_t)g->n,
        .k = (uint32_t)kc,
        .k_last = (uint32_t)(g->k - (splits - 1) * kc),
        .lda = (uint32_t)g->lda,
        .ldb = (uint32_t)g->ldb,
        .ldc = (uint32_t)g->n,
        .a_off = (uint32_t)g->a.offset,
        .b_off = (uint32_t)g->b.offset,
        .c_off = 0,
        .stride_a = (uint32_t)(g->ta ? kc * g->lda : kc),
        .stride_b = (uint32_t)(g->tb ? kc : kc * g->ldb),
        .stride_c = (uint32_t)mn,
        .alpha = 1.0f,
        .beta = 0.0f,
        .bias_off = 0,
        .pre_off = 0,
    };
    size_t rows, cols;
    block_extent(ctx, plan, &rows, &cols);
    const uint32_t grid[3] = {(uint32_t)((g->n + cols - 1) / cols),
                              (uint32_t)((g->m + rows - 1) / rows), (uint32_t)splits};
    porta_bbuffer *bufs[] = {g->a.buffer->impl, g->b.buffer->impl, part->impl, part->impl,
                             part->impl};
    st = dispatch_gemm(ctx, plan, g, 0u, grid, bufs, &p);
    if (st)
        return st;
    porta_params_gemm_reduce r = {
        .m = (uint32_t)g->m,
        .n = (uint32_t)g->n,
        .splits = (uint32_t)splits,
        .ldc = (uint32_t)g->ldc,
        .c_off = (uint32_t)g->c.offset,
        .part_off = 0,
        .alpha = g->alpha,
        .beta = g->beta,
        .bias_off = (uint32_t)g->bias.offset,
        .pre_off = (uint32_t)g->pre.offset,
    };
    uint32_t rgrid[3];
    porta__grid_2d((mn + ctx->variant.local_size - 1) / ctx->variant.local_size, rgrid);
    const uint32_t spec[PORTA_SPEC_COUNT] = {1u | g->epilogue, 1u, 1u, 1u};
    porta_bbuffer *rbufs[] = {part->impl, g->c.buffer->impl, g->bias.buffer->impl,
                              g->pre.buffer->impl};
    return porta__launch_spec(ctx, PORTA_KERNEL_gemm_reduce, spec, rgrid, rbufs, &r);
}

/* Split-K applies when asked for, the problem is one product with K to
 * split, and its grid fits one dispatch. */
static int use_split_k(const porta_context *ctx, const porta__gemm_plan *plan, const gemm_args *g)
{
    if (plan->splits < 2 || g->batch != 1 || g->k < 2 * (size_t)plan->splits ||
        g->k > (size_t)plan->splits * PORTA_GEMM_K_CHUNK ||
        (size_t)plan->splits * g->m * g->n > PORTA_GEMM_MAX_SCRATCH)
        return 0;
    size_t rows, cols;
    block_extent(ctx, plan, &rows, &cols);
    return (g->n + cols - 1) / cols <= GEMM_MAX_GROUPS &&
           (g->m + rows - 1) / rows <= GEMM_MAX_GROUPS;
}

porta_status porta__gemm_run(porta_context *ctx, const porta__gemm_plan *plan, const char *call,
                             size_t m, size_t n, size_t k, float alpha, porta_matrix a,
                             porta_matrix b, float beta, porta_matrix c, size_t batch,
                             const porta__gemm_epilogue *epi)
{
    gemm_args g = {.call = call,
                   .ta = a.transposed,
                   .tb = b.transposed,
                   .tc = c.transposed,
                   .m = m,
                   .n = n,
                   .k = k,
                   .batch = batch,
                   .alpha = alpha,
                   .beta = beta,
                   .a = a.data,
                   .b = b.data,
                   .c = c.data,
                   .lda = a.ld,
                   .ldb = b.ld,
                   .ldc = c.ld,
                   .stride_a = a.batch_stride,
                   .stride_b = b.batch_stride,
                   .stride_c = c.batch_stride,
                   .bias = porta_view_of(c.data.buffer),
                   .pre = porta_view_of(c.data.buffer)};
    if (epi) {
        g.epilogue = epi->flags;
        if (epi->bias.buffer)
            g.bias = epi->bias;
        if (epi->pre.buffer)
            g.pre = epi->pre;
    }
    porta_status st = validate(ctx, &g);
    if (st || m == 0 || n == 0 || batch == 0)
        return st;
    porta__gemm_plan chosen;
    if (!plan) {
        porta__gemm_plan_choose(ctx, g.ta, g.tb, m, n, k, batch, &chosen);
        plan = &chosen;
    }
    st = porta__gemm_plan_check(ctx, plan, m, n);
    if (st)
        return st;
    return use_split_k(ctx, plan, &g) ? launch_split_k(ctx, plan, &g) : launch_all(ctx, plan, &g);
}

porta_status porta__gemm_planned(porta_context *ctx, const porta__gemm_plan *plan, size_t m,
                                 size_t n, size_t k, float alpha, porta_matrix a, porta_matrix b,
                                 float beta, porta_matrix c, size_t batch)
{
    return porta__gemm_run(ctx, plan, "porta_gemm", m, n, k, alpha, a, b, beta, c, batch, NULL);
}

porta_status porta_gemm(porta_context *ctx, size_t m, size_t n, size_t k, float alpha,
                        porta_matrix a, porta_matrix b, float beta, porta_matrix c, size_t batch)
{
    if (porta__check_active(ctx))
        return porta__checked_gemm(ctx, m, n, k, alpha, a, b, beta, c, batch);
    return porta__gemm_planned(ctx, NULL, m, n, k, alpha, a, b, beta, c, batch);
}
