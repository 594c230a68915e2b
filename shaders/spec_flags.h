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

/* optim_step.kc and optim_step_small.kc, SPEC0: the update rule. */
#define OPTIM_RULE_SGD 0u
#define OPTIM_RULE_ADAMW 1u
#define OPTIM_RULE_MOMENTUM 2u /* SGD with momentum */
#define OPTIM_RULE_NESTEROV 3u /* SGD with Nesterov momentum */

/* optim_step.kc and optim_step_small.kc, SPEC3 (optim_step.kc's top says
 * what each variant does). */
#define OPTIM_FLAG_PER_WORKGROUP 1u    /* every workgroup computes the scalars */
#define OPTIM_FLAG_CHECKED 2u          /* bounds checks and a group choice per element */
#define OPTIM_FLAG_CORRECT_DIV 4u      /* correct the device's division and square root */
#define OPTIM_FLAG_FUSED 8u            /* the fused variant (no gradient norm) */
#define OPTIM_FLAG_SKIP_BRANCH 16u     /* a skipped step skips the update by a branch */
#define OPTIM_FLAG_CLIP 32u            /* clipping is on */
#define OPTIM_FLAG_FUSED_BARRIER 64u   /* the fused variant's barrier before its bookkeeping */
#define OPTIM_FLAG_LOSS_WORDS_SHIFT 8u /* the fused loss's word count (0: read P(loss_count)) */
#define OPTIM_FLAG_LOSS_WORDS_MASK 255u
#define OPTIM_FLAG_SCHED_KIND_SHIFT 16u /* the scheduler kind + 1 (0: every kind) */
#define OPTIM_FLAG_SCHED_KIND_MASK 15u

#endif
