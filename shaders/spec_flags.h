/* spec_flags.h: the names of the specialisation-constant flags that the
 * host sets and the kernels test, shared by both (plain #defines of uint
 * literals, valid in C, OpenCL C and GLSL): a flag means the same on each
 * side because it is spelt once, here. lib/ includes it beside the
 * generated kernel headers; a kernel includes it before KERNEL_BEGIN. */
#ifndef PORTA_SPEC_FLAGS_H
#define PORTA_SPEC_FLAGS_H

/* gemm.kc and gemm_reduce.kc, SPEC0. */
#define GEMM_TRANSPOSE_A 1u /* A stored transposed (K x M) */
#define GEMM_TRANSPOSE_B 2u /* B stored transposed (N x K) */
#define GEMM_TILED 4u       /* the tiled path (else the direct one) */
#define GEMM_FMA 8u         /* fused multiply-adds (else multiply, then add) */
#define GEMM_EPI_BIAS 16u   /* epilogue: v += bias[column] */
#define GEMM_EPI_ACT 32u    /* epilogue: v = f(v), f in the GEMM_EPI_ACT_SHIFT bits */
#define GEMM_EPI_ACT_SHIFT 6u
#define GEMM_EPI_ACT_MASK 3u
#define GEMM_EPI_PRE 256u /* epilogue: store v before f to pre */

#endif
