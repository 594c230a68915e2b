/* prelude_cl.h: the porta kernel dialect, expanded as OpenCL C 1.2.
 *
 * Included (by the C preprocessor, at build time) before every shaders/*.kc
 * to produce the OpenCL C the library embeds. prelude_glsl.h defines the
 * same names for GLSL; the dialect is documented in shaders/README.md.
 * PORTA_LOCAL_SIZE and PORTA_SPEC0..3 come from the program build options.
 */

/* Results must not depend on the compiler's choice to fuse a*b+c: kernels
 * that want a fused multiply-add say FMA(a, b, c). */
#pragma OPENCL FP_CONTRACT OFF

/* ---- declarations from the kernel's X-macro lists ---- */
#define PORTA_CL_PARAM_FIELD(type, name) type name;
/* BUFFER_RESTRICT qualifies every buffer pointer: empty, unless a kernel
 * whose buffers never overlap redefines it as `restrict` (#undef, then
 * #define, before KERNEL_BEGIN). Then the compiler may keep a value it
 * read from one buffer across stores to another: PoCL moves such loads
 * out of its loop over work-items. */
#define BUFFER_RESTRICT
#define PORTA_CL_BUFFER_ARG(slot, type, name) __global type *BUFFER_RESTRICT name,
#define PORTA_CL_SHARED_DECL(type, name, count) __local type name[count];

#define KERNEL_BEGIN(kname)                                                                        \
    typedef struct porta_params_s {                                                                \
        PORTA_PARAMS(PORTA_CL_PARAM_FIELD)                                                         \
    } porta_params_t;                                                                              \
    __kernel __attribute__((reqd_work_group_size(PORTA_LOCAL_SIZE, 1, 1))) void kname(             \
        PORTA_BUFFERS(PORTA_CL_BUFFER_ARG) const porta_params_t p_)                                \
    {                                                                                              \
        PORTA_SHARED(PORTA_CL_SHARED_DECL)
#define KERNEL_END }

/* ---- helpers: part of a kernel as a function of its own ---- */
/* HELPER_DECLARE(name) before KERNEL_BEGIN, HELPER_CALL(name) in the
 * kernel, and the body between HELPER_BEGIN(name) and HELPER_END after
 * KERNEL_END: the body sees the kernel's buffers, shared arrays and params
 * by their names, as the kernel does. Here it is a function the compiler
 * does not inline: PoCL gives every work-item of a workgroup its own copy
 * of each private array or struct in a kernel with a barrier, so a serial
 * part with large locals (optim_step's bookkeeping, ~740 bytes) grew the
 * kernel's stack frame to 190 KB per 256 work-items (1.5 MB at 2048); in a
 * function of its own it takes them once, when called. */
#define PORTA_CL_SHARED_ARG(type, name, count) __local type *name,
#define PORTA_CL_BUFFER_NAME(slot, type, name) name,
#define PORTA_CL_SHARED_NAME(type, name, count) name,
#define PORTA_CL_HELPER_ARGS                                                                       \
    PORTA_BUFFERS(PORTA_CL_BUFFER_ARG)                                                             \
    PORTA_SHARED(PORTA_CL_SHARED_ARG) const struct porta_params_s *pp_
#define HELPER_DECLARE(name)                                                                       \
    struct porta_params_s;                                                                         \
    void name(PORTA_CL_HELPER_ARGS);
#define HELPER_BEGIN(name)                                                                         \
    __attribute__((noinline)) void name(PORTA_CL_HELPER_ARGS)                                      \
    {                                                                                              \
        const porta_params_t p_ = *pp_;
#define HELPER_END }
#define HELPER_CALL(name)                                                                          \
    name(PORTA_BUFFERS(PORTA_CL_BUFFER_NAME) PORTA_SHARED(PORTA_CL_SHARED_NAME) & p_)

/* ---- parameters, ids, sizes ---- */
#include "local_size_max.h"
#define P(name) (p_.name)
#define SPEC0 PORTA_SPEC0
#define SPEC1 PORTA_SPEC1
#define SPEC2 PORTA_SPEC2
#define SPEC3 PORTA_SPEC3
#define LOCAL_SIZE ((uint)PORTA_LOCAL_SIZE)
#define GLOBAL_ID ((uint)get_global_id(0))
#define LOCAL_ID ((uint)get_local_id(0))
#define GROUP_ID ((uint)get_group_id(0))
#define GROUP_ID_Y ((uint)get_group_id(1))
#define GROUP_ID_Z ((uint)get_group_id(2))
#define NUM_GROUPS ((uint)get_num_groups(0))
#define NUM_GROUPS_Y ((uint)get_num_groups(1))
#define NUM_GROUPS_Z ((uint)get_num_groups(2))

/* ---- loops ---- */
/* UNROLL before a loop with a constant trip count (a SPEC value) asks for
 * it to be unrolled. PoCL vectorises a kernel across work-items only when
 * no loop is left inside the body: a blocked elementwise loop (SPEC1
 * elements per invocation) that stays a loop keeps every element scalar,
 * sqrt and division included. */
#define UNROLL _Pragma("unroll")

/* ---- synchronisation (never in divergent code) ---- */
#define BARRIER_SHARED() barrier(CLK_LOCAL_MEM_FENCE)
#define BARRIER_ALL() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
/* BARRIER_SHARED_CL(): a barrier only OpenCL compiles, for PoCL, which
 * needs one to keep two loops over a kernel's work-items apart
 * (optim_step.kc). GLSL leaves it out: lavapipe paid for such a barrier
 * even where a specialisation constant turned it off. */
#define BARRIER_SHARED_CL() BARRIER_SHARED()

/* ---- hand-over between workgroups of one dispatch (README.md) ---- */
/* COHERENT(type) as a buffer's type: its loads and stores go to memory
 * every workgroup sees. ATOMIC_INC(buf, i): buf[i] += 1 atomically, the
 * old value. FENCE_GLOBAL(): this invocation's earlier buffer stores are
 * visible before its later ones (and its atomics). */
#define COHERENT(type) volatile type
#define ATOMIC_INC(buf, i) atomic_inc(&(buf)[i])
#define FENCE_GLOBAL() mem_fence(CLK_GLOBAL_MEM_FENCE)

/* ---- structs (plain 32-bit fields; also usable as buffer element types) ---- */
#define STRUCT_BEGIN(name) typedef struct name {
#define STRUCT_END(name)                                                                           \
    }                                                                                              \
    name;

/* ---- types and math ---- */
#define CAST(type, x) ((type)(x))
#define FMA(a, b, c) fma((a), (b), (c))
#define FABS(x) fabs(x)
#define FMIN(a, b) fmin((a), (b))
#define FMAX(a, b) fmax((a), (b))
#define UMIN(a, b) min((uint)(a), (uint)(b))
/* SUM8_RUN(a0, .., a7, x, b, count, sq): a<k> += x[b + j + k] (squared when
 * sq != 0) for j = 0, 8, .. < count (a multiple of 8), each a<k> in order
 * of j: as one float8 accumulator fed by vload8, lane k being a<k> (the
 * same additions in the same order, so the same bits as eight scalars).
 * SUM8_VECTOR 1: it does (GLSL's does nothing, SUM8_VECTOR 0). */
#define SUM8_VECTOR 1u
#define SUM8_RUN(a0, a1, a2, a3, a4, a5, a6, a7, x, b, count, sq)                                  \
    {                                                                                              \
        float8 sum8_ = (float8)(a0, a1, a2, a3, a4, a5, a6, a7);                                   \
        for (uint sum8_j_ = 0u; sum8_j_ < (count); sum8_j_ += 8u) {                                \
            float8 sum8_v_ = vload8(0, (x) + (b) + sum8_j_);                                       \
            if ((sq) != 0u)                                                                        \
                sum8_v_ = sum8_v_ * sum8_v_;                                                       \
            sum8_ += sum8_v_;                                                                      \
        }                                                                                          \
        a0 = sum8_.s0;                                                                             \
        a1 = sum8_.s1;                                                                             \
        a2 = sum8_.s2;                                                                             \
        a3 = sum8_.s3;                                                                             \
        a4 = sum8_.s4;                                                                             \
        a5 = sum8_.s5;                                                                             \
        a6 = sum8_.s6;                                                                             \
        a7 = sum8_.s7;                                                                             \
    }
#define UMAX(a, b) max((uint)(a), (uint)(b))
#define SQRT(x) sqrt(x)
#define EXP(x) exp(x)
#define LOG(x) log(x)
#define TANH(x) tanh(x)
#define POW(a, b) pow((a), (b))
#define COS(x) cos(x)
/* Finite and NaN tests on the bits, never isnan/isinf: a compiler that may
 * assume no NaN or infinity occurs (Vulkan without SignedZeroInfNanPreserve,
 * Metal's default fast math under MoltenVK, -cl-fast-relaxed-math) folds
 * those to false. The exponent all ones is infinity or NaN; with a
 * non-zero mantissa, NaN. */
#define IS_FINITE(x) ((FLOAT_BITS(x) & 0x7F800000u) != 0x7F800000u)
#define IS_NAN(x) ((FLOAT_BITS(x) & 0x7FFFFFFFu) > 0x7F800000u)
#define FLOAT_BITS(x) as_uint(x)
#define BITS_FLOAT(x) as_float(x)

/* ---- exact arithmetic (see README.md, "Bit-exact arithmetic") ---- */
/* PRECISE marks a local whose value must be computed exactly as written:
 * nothing to do here (FP_CONTRACT is off and no fast-math option is used);
 * it is GLSL's `precise`. */
#define PRECISE
/* OpenCL C's fma() is correctly rounded by specification (a single
 * rounding), so corrected_div_sqrt.kh may take its residuals from it. */
#define PORTA_FMA_EXACT 1
#include "div_rn.kh"
