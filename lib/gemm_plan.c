/* gemm_plan.c: the GEMM presets, per device type and shape class.
 *
 * CPU devices (PoCL, llvmpipe behind Rusticl and lavapipe) take the direct
 * path: large register blocks per invocation, no shared memory, no
 * barriers (llvmpipe runs a workgroup's barriers as coroutine switches,
 * PoCL splits its work-item loops at them). GPUs take the tiled path:
 * 64 x 64 blocks staged through shared memory by 16 x 16 invocations.
 *
 * Shape classes: the register block shrinks to fit a small M or N (the
 * batch-64 rows of a classifier, its 10 classes); small workgroups (16
 * invocations) keep every core busy on small outputs; and a problem
 * whose output is still too small to do that while K is long (weight
 * gradients: K = batch * positions) is split along K (split-K: partial
 * products into scratch, then gemm_reduce). The numbers come from
 * porta-bench gemm on this project's CPU devices (see the commit notes).
 */

#include "gemm_internal.h"

/* Workgroups that keep a device busy: CPUs run one per core at a time, so
 * a few per core; a GPU wants many more. */
#define CPU_GROUPS_WANTED 16u
#define GPU_GROUPS_WANTED 64u
/* Split-K only when each slice still has this much K. */
#define SPLIT_MIN_K 512u

uint32_t porta__gemm_vec_width(const porta_context *ctx)
{
    return ctx->backend.caps.api == PORTA_API_OPENCL ? 8u : 4u;
}

static int is_cpu(const porta_context *ctx)
{
    return porta__cpu_like(ctx);
}

static size_t div_up(size_t x, size_t y)
{
    return (x + y - 1) / y;
}

/* Workgroups of a direct plan for one batch entry. */
static size_t direct_groups(const porta__gemm_plan *p, uint32_t vw, size_t m, size_t n)
{
    size_t cols = (size_t)p->wx * p->nv * vw;
    size_t rows = (size_t)(p->local_size / p->wx) * p->tm;
    return div_up(n, cols) * div_up(m, rows);
}

/* Shape the workgroup: 16 invocations (PoCL loops over them, llvmpipe
 * runs them as two SIMD batches), 16, 4 or 1 of them along N, whichever
 * the problem's width fills; a handful of shapes, so a handful of kernel
 * builds. */
static void shape_workgroup(porta__gemm_plan *p, uint32_t vw, size_t n)
{
    size_t tiles_n = div_up(n, (size_t)p->nv * vw);
    p->local_size = 16;
    p->wx = tiles_n >= 16 ? 16 : tiles_n >= 4 ? 4 : 1;
}

/* Rows per invocation: the preset, or for a smaller M the largest of
 * 4, 2, 1 that fits. */
static uint32_t rows_for(uint32_t preset, size_t m)
{
    if (preset <= m)
        return preset;
    return m >= 4 ? 4 : m >= 2 ? 2 : 1;
}

void porta__gemm_plan_choose(const porta_context *ctx, int transpose_a, int transpose_b, size_t m,
                             size_t n, size_t k, size_t batch, porta__gemm_plan *plan)
{
    (void)transpose_a;
    const uint32_t vw = porta__gemm_vec_width(ctx);
    const uint32_t max_local = ctx->backend.caps.max_workgroup_size;
    porta__gemm_plan p = {.tiled = 0, .tm = 4, .nv = 1, .wx = 1, .local_size = 64, .splits = 1};
    const int cpu = is_cpu(ctx);
    if ((!cpu || n < vw) && max_local >= 256) {
        p = (porta__gemm_plan){.tiled = 1,
                               .tm = 1,
                               .nv = 1,
                               .wx = 1,
                               .local_size = 256,
                               .splits = 1,
                               .preset = cpu ? "tiled (n below the vector width)" : "gpu tiled"};
    } else if (porta__masked_lanes(ctx)) {
        /* llvmpipe runs 8 invocations in SIMD lanes; each vector is
         * 4 (vec4) or 8 (float8) registers, so small blocks. */
        p.tm = vw == 4 ? 4 : 2;
        p.nv = 1;
        p.preset = "llvmpipe direct";
    } else {
        /* PoCL: 16 AVX registers: 6 rows x 2 float8 accumulators. */
        p.tm = 6;
        p.nv = transpose_b ? 1 : 2;
        p.preset = cpu ? "cpu direct" : "gpu direct (small workgroups)";
    }
    if (!p.tiled) {
        p.tm = rows_for(p.tm, m);
        if (p.nv > 1 && n < (size_t)p.nv * vw)
            p.nv = 1;
        shape_workgroup(&p, vw, n);
    }
    if (!p.tiled && n < vw) {
        /* narrower than one vector, and no room for the tiled path's
         * workgroup: one invocation per element */
        p = (porta__gemm_plan){.scalar = 1,
                               .tm = 1,
                               .nv = 1,
                               .wx = 1,
                               .local_size = max_local < 64 ? max_local : 64,
                               .splits = 1,
                               .preset = "scalar (n below the vector width)"};
    }
    /* Split-K: too few workgroups for the device, yet long K. */
    const size_t wanted = cpu ? CPU_GROUPS_WANTED : GPU_GROUPS_WANTED;
    size_t groups = p.tiled    ? div_up(m, 64) * div_up(n, 64)
                    : p.scalar ? m * div_up(n, p.local_size)
                               : direct_groups(&p, vw, m, n);
    if (batch == 1 && groups < wanted && k >= 2 * SPLIT_MIN_K) {
        size_t s = div_up(wanted, groups);
        if (s > k / SPLIT_MIN_K)
            s = k / SPLIT_MIN_K;
        if (s > PORTA_GEMM_MAX_SPLITS)
            s = PORTA_GEMM_MAX_SPLITS;
        while (s > 1 && s * m * n > PORTA_GEMM_MAX_SCRATCH)
            s--;
        p.splits = s > 1 ? (uint32_t)s : 1u;
    }
    p.fma = porta__fast_fma(ctx);
    *plan = p;
}

porta_status porta__gemm_plan_check(porta_context *ctx, const porta__gemm_plan *p, size_t m,
                                    size_t n)
{
    const uint32_t vw = porta__gemm_vec_width(ctx);
    const char *why = NULL;
    if (p->local_size > ctx->backend.caps.max_workgroup_size)
        why = "more invocations per workgroup than the device allows";
    else if (p->scalar)
        why = p->tiled ? "a plan is the tiled path or the scalar one, not both" : NULL;
    else if (p->tiled && p->local_size != 256)
        why = "the tiled path needs workgroups of 256 invocations";
    else if (!p->tiled && (p->tm < 1 || p->tm > 8 || p->tm > m))
        why = "rows per invocation must be 1..8 and at most m";
    else if (!p->tiled && (p->nv < 1 || p->nv > 2 || (size_t)p->nv * vw > n))
        why = "columns per invocation must be 1 or 2 vectors and at most n";
    else if (!p->tiled && (p->wx < 1 || p->local_size % p->wx != 0))
        why = "invocations along n must divide the workgroup";
    else if (p->splits < 1 || p->splits > PORTA_GEMM_MAX_SPLITS)
        why = "split-K slices must be 1..64";
    if (!why)
        return PORTA_OK;
    return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                         "porta_gemm: no way to run a %zu x %zu product on this device: %s", m, n,
                         why);
}
