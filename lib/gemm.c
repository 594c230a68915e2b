/* gemm.c: strided batched matrix multiplication (shaders/gemm.kc). */
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

/* The kernel's fixed shape: 256 invocations computing a 64 x 64 block. */
#define GEMM_LOCAL_SIZE 256u
#define GEMM_TILE 64u
/* K per dispatch: keeps an invocation under llvmpipe's 65535 loop
 * iterations (see shaders/gemm.kc); longer K runs as several dispatches
 * that accumulate into C with beta = 1. */
#define GEMM_K_CHUNK 16384u
/* Workgroups per grid dimension that every API allows. */
#define GEMM_MAX_GROUPS 65535u
#define GEMM_INDEX_LIMIT 0x7fffffffu

typedef struct gemm_args {
    int ta, tb;
    size_t m, n, k, batch;
    float alpha, beta;
    porta_buffer *a, *b, *c;
    size_t a_off, b_off, c_off;
    size_t lda, ldb, ldc;
    size_t stride_a, stride_b, stride_c;
} gemm_args;

/* Elements spanned by a rows x cols row-major matrix with leading dimension
 * ld, repeated `batch` times `stride` apart; 0 if empty. Returns 0 when the
 * span overflows size_t. */
static int batch_span(size_t rows, size_t cols, size_t ld, size_t batch, size_t stride, size_t *out)
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
 * (and below 2^31), then its whole batch range inside the buffer. */
static porta_status check_operand(porta_context *ctx, const char *name, const porta_buffer *buf,
                                  size_t off, size_t rows, size_t cols, size_t ld, size_t batch,
                                  size_t stride)
{
    size_t min_ld = cols > 1 ? cols : 1;
    if (ld < min_ld)
        return porta_msg_set(
            &ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
            "porta_gemm ld%s: %zu is less than %zu, the row length of %s as stored", name, ld,
            min_ld, name);
    if (ld > GEMM_INDEX_LIMIT)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_gemm ld%s: %zu is beyond the 2^31 elements kernels index", name,
                             ld);
    size_t span;
    if (!batch_span(rows, cols, ld, batch, stride, &span))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_gemm %s: the batch range overflows (stride_%s %zu)", name, name,
                             stride);
    char what[32];
    snprintf(what, sizeof(what), "porta_gemm %s", name);
    return porta__check_range(ctx, buf, off, span, what);
}

static porta_status validate(porta_context *ctx, const gemm_args *g)
{
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = check_operand(ctx, "a", g->a, g->a_off, g->ta ? g->k : g->m, g->ta ? g->m : g->k,
                           g->lda, g->batch, g->stride_a);
    if (!st)
        st = check_operand(ctx, "b", g->b, g->b_off, g->tb ? g->n : g->k, g->tb ? g->k : g->n,
                           g->ldb, g->batch, g->stride_b);
    if (!st)
        st = check_operand(ctx, "c", g->c, g->c_off, g->m, g->n, g->ldc, g->batch, g->stride_c);
    if (st)
        return st;
    size_t c_one = g->m && g->n ? (g->m - 1) * g->ldc + g->n : 0;
    if (g->batch > 1 && g->stride_c < c_one)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_gemm stride_c: %zu is less than %zu, the span of one C, so "
                             "batches would overwrite each other",
                             g->stride_c, c_one);
    if (ctx->variant.local_size != GEMM_LOCAL_SIZE)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "porta_gemm: the kernel needs workgroups of %u invocations; this "
                             "device allows %u",
                             GEMM_LOCAL_SIZE, (unsigned)ctx->variant.local_size);
    return PORTA_OK;
}

/* One block of the problem: batches [b0, b0 + nb), rows [i0, i0 + mi),
 * columns [j0, j0 + nj), k [k0, k0 + kk), all non-empty except kk, on one
 * dispatch. The block's origin goes into the offsets. */
typedef struct gemm_block {
    size_t b0, nb, i0, mi, j0, nj, k0, kk;
} gemm_block;

static porta_status launch_block(porta_context *ctx, const gemm_args *g, const gemm_block *blk)
{
    size_t a_at = g->ta ? blk->k0 * g->lda + blk->i0 : blk->i0 * g->lda + blk->k0;
    size_t b_at = g->tb ? blk->j0 * g->ldb + blk->k0 : blk->k0 * g->ldb + blk->j0;
    if (blk->kk == 0)
        a_at = b_at = 0; /* A and B are not read */
    porta_params_gemm p = {
        .m = (uint32_t)blk->mi,
        .n = (uint32_t)blk->nj,
        .k = (uint32_t)blk->kk,
        .lda = (uint32_t)g->lda,
        .ldb = (uint32_t)g->ldb,
        .ldc = (uint32_t)g->ldc,
        .a_off = (uint32_t)(g->a_off + blk->b0 * g->stride_a + a_at),
        .b_off = (uint32_t)(g->b_off + blk->b0 * g->stride_b + b_at),
        .c_off = (uint32_t)(g->c_off + blk->b0 * g->stride_c + blk->i0 * g->ldc + blk->j0),
        .stride_a = (uint32_t)(blk->nb > 1 ? g->stride_a : 0),
        .stride_b = (uint32_t)(blk->nb > 1 ? g->stride_b : 0),
        .stride_c = (uint32_t)(blk->nb > 1 ? g->stride_c : 0),
        .alpha = g->alpha,
        .beta = blk->k0 == 0 ? g->beta : 1.0f,
    };
    const uint32_t spec[PORTA_SPEC_COUNT] = {g->ta ? 1u : 0u, g->tb ? 1u : 0u, 1u, 1u};
    const uint32_t grid[3] = {(uint32_t)((blk->nj + GEMM_TILE - 1) / GEMM_TILE),
                              (uint32_t)((blk->mi + GEMM_TILE - 1) / GEMM_TILE), (uint32_t)blk->nb};
    porta_bbuffer *bufs[] = {g->a->impl, g->b->impl, g->c->impl};
    return porta__launch_spec(ctx, PORTA_KERNEL_gemm, spec, grid, bufs, &p);
}

/* The K chunks of one output block, in ascending k (the first applies beta,
 * the others add to C). k == 0 is one dispatch that scales C by beta. */
static porta_status launch_k_chunks(porta_context *ctx, const gemm_args *g, gemm_block blk)
{
    porta_status st = PORTA_OK;
    blk.k0 = 0;
    do {
        blk.kk = porta__min_size(GEMM_K_CHUNK, g->k - blk.k0);
        st = launch_block(ctx, g, &blk);
        blk.k0 += blk.kk;
    } while (!st && blk.k0 < g->k);
    return st;
}

/* Split the grid where a dimension would exceed the API limit. */
static porta_status launch_all(porta_context *ctx, const gemm_args *g)
{
    const size_t span = (size_t)GEMM_MAX_GROUPS * GEMM_TILE;
    porta_status st = PORTA_OK;
    gemm_block blk = {0};
    for (blk.b0 = 0; !st && blk.b0 < g->batch; blk.b0 += blk.nb) {
        blk.nb = porta__min_size(GEMM_MAX_GROUPS, g->batch - blk.b0);
        for (blk.i0 = 0; !st && blk.i0 < g->m; blk.i0 += blk.mi) {
            blk.mi = porta__min_size(span, g->m - blk.i0);
            for (blk.j0 = 0; !st && blk.j0 < g->n; blk.j0 += blk.nj) {
                blk.nj = porta__min_size(span, g->n - blk.j0);
                st = launch_k_chunks(ctx, g, blk);
            }
        }
    }
    return st;
}

porta_status porta_gemm(porta_context *ctx, int transpose_a, int transpose_b, size_t m, size_t n,
                        size_t k, float alpha, porta_buffer *a, size_t a_off, size_t lda,
                        porta_buffer *b, size_t b_off, size_t ldb, float beta, porta_buffer *c,
                        size_t c_off, size_t ldc, size_t batch, size_t stride_a, size_t stride_b,
                        size_t stride_c)
{
    const gemm_args g = {.ta = transpose_a != 0,
                         .tb = transpose_b != 0,
                         .m = m,
                         .n = n,
                         .k = k,
                         .batch = batch,
                         .alpha = alpha,
                         .beta = beta,
                         .a = a,
                         .b = b,
                         .c = c,
                         .a_off = a_off,
                         .b_off = b_off,
                         .c_off = c_off,
                         .lda = lda,
                         .ldb = ldb,
                         .ldc = ldc,
                         .stride_a = stride_a,
                         .stride_b = stride_b,
                         .stride_c = stride_c};
    porta_status st = validate(ctx, &g);
    if (st || m == 0 || n == 0 || batch == 0)
        return st;
    return launch_all(ctx, &g);
}
