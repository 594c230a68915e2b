/* gemm_internal.h: how porta_gemm runs a problem (gemm.c, gemm_plan.c), and
 * the entry point that lets tests force a plan. Not installed. */
#ifndef PORTA_GEMM_INTERNAL_H
#define PORTA_GEMM_INTERNAL_H

#include "internal.h"
#include "spec_flags.h"

/* One way to run a GEMM on shaders/gemm.kc (see the kernel's header). */
typedef struct porta__gemm_plan {
    int tiled;           /* 1: the shared-memory path (256 invocations, 64 x 64 blocks) */
    int scalar;          /* 1: shaders/gemm_scalar.kc, one invocation per element of C */
    uint32_t tm;         /* direct path: rows of C per invocation, 1..8 */
    uint32_t nv;         /* direct path: vectors of porta__gemm_vec_width columns, 1..2 */
    uint32_t wx;         /* direct path: invocations along N per workgroup */
    uint32_t local_size; /* invocations per workgroup (256 when tiled) */
    uint32_t splits;     /* > 1: split-K into this many K slices (batch 1 only) */
    int fma;             /* 1: fused multiply-adds (not on llvmpipe, where they are slow) */
    const char *preset;  /* which preset chose it (for porta-bench / tests) */
} porta__gemm_plan;

/* Lanes of the direct path's vector on this device's API: 8 on OpenCL
 * (float8), 4 on Vulkan (vec4); see shaders/gemm_vec.kh. */
uint32_t porta__gemm_vec_width(const porta_context *ctx);

/* Elements spanned by a rows x cols row-major matrix with leading dimension
 * ld, repeated `batch` times `stride` apart, into *out (0 if empty).
 * Returns 0 when the span overflows size_t (gemm.c). */
int porta__gemm_span(size_t rows, size_t cols, size_t ld, size_t batch, size_t stride, size_t *out);

/* The preset for a problem on the open device (gemm_plan.c). */
void porta__gemm_plan_choose(const porta_context *ctx, int transpose_a, int transpose_b, size_t m,
                             size_t n, size_t k, size_t batch, porta__gemm_plan *plan);

/* PORTA_OK if `plan` can run an m x n problem on this device, else
 * PORTA_ERROR_UNSUPPORTED with the reason. */
porta_status porta__gemm_plan_check(porta_context *ctx, const porta__gemm_plan *plan, size_t m,
                                    size_t n);

/* porta_gemm with a given plan (NULL: the preset): the same arguments,
 * checks and messages, so a test that forces a plan calls it as it would
 * call porta_gemm. porta_gemm is this with plan NULL. */
porta_status porta__gemm_planned(porta_context *ctx, const porta__gemm_plan *plan, size_t m,
                                 size_t n, size_t k, float alpha, porta_matrix a, porta_matrix b,
                                 float beta, porta_matrix c, size_t batch);

/* The epilogue's SPEC0 bits: GEMM_EPI_* in shaders/spec_flags.h. */

/* What porta_gemm_bias_act adds to a GEMM (gemm_epilogue.c): flags as
 * above; bias / pre none where the flags do not use them. */
typedef struct porta__gemm_epilogue {
    uint32_t flags;
    porta_view bias;
    porta_view pre;
} porta__gemm_epilogue;

/* Everything porta_gemm and porta_gemm_bias_act share: argument checks
 * (messages name `call`; every range inside its view and buffer, C not
 * transposed), the plan (NULL: the preset), the dispatches. The epilogue
 * (NULL: none) gets the same range checks and must not overlap C; its
 * activation is the caller's to check. */
porta_status porta__gemm_run(porta_context *ctx, const porta__gemm_plan *plan, const char *call,
                             size_t m, size_t n, size_t k, float alpha, porta_matrix a,
                             porta_matrix b, float beta, porta_matrix c, size_t batch,
                             const porta__gemm_epilogue *epi);

/* porta_gemm_bias_act with a given plan (NULL: the preset): the same
 * arguments, checks and messages, epilogue NULL: none. porta_gemm_bias_act
 * is this with plan NULL. */
porta_status porta__gemm_bias_act_planned(porta_context *ctx, const porta__gemm_plan *plan,
                                          size_t m, size_t n, size_t k, float alpha, porta_matrix a,
                                          porta_matrix b, float beta, porta_matrix c,
                                          const porta_gemm_epilogue *epilogue);

/* K per dispatch, and per split-K slice: keeps an invocation under
 * llvmpipe's 65535 loop iterations (see shaders/gemm.kc). */
#define PORTA_GEMM_K_CHUNK 16384u
/* Most split-K slices, and most floats of scratch split-K may use. */
#define PORTA_GEMM_MAX_SPLITS 64u
#define PORTA_GEMM_MAX_SCRATCH (8u << 20)

#endif
