/* prelude_glsl.h: the porta kernel dialect, expanded as GLSL 4.50 compute.
 *
 * Included (by the C preprocessor, at build time) before every shaders/*.kc;
 * the build then prepends "#version 450" and compiles with glslc. The
 * local size is specialisation constant 0, SPEC0..3 are constants 1..4.
 * Mirror of prelude_cl.h; the dialect is documented in shaders/README.md.
 */

#define PORTA_GLSL_PARAM_FIELD(type, name) type name;
#define PORTA_GLSL_BUFFER_DECL(slot, type, name)                                                \
    layout(std430, set = 0, binding = slot) buffer porta_buffer_##name                          \
    {                                                                                              \
        type name[];                                                                               \
    };
#define PORTA_GLSL_SHARED_DECL(type, name, count) shared type name[count];

#define KERNEL_BEGIN(kname)                                                                        \
    layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;                            \
    layout(constant_id = 1) const uint SPEC0 = 1u;                                                 \
    layout(constant_id = 2) const uint SPEC1 = 1u;                                                 \
    layout(constant_id = 3) const uint SPEC2 = 1u;                                                 \
    layout(constant_id = 4) const uint SPEC3 = 1u;                                                 \
    layout(push_constant) uniform porta_params_block                                               \
    {                                                                                              \
        PORTA_PARAMS(PORTA_GLSL_PARAM_FIELD)                                                       \
    }                                                                                              \
    p_;                                                                                            \
    PORTA_BUFFERS(PORTA_GLSL_BUFFER_DECL)                                                          \
    PORTA_SHARED(PORTA_GLSL_SHARED_DECL)                                                           \
    void main()                                                                                    \
    {
#define KERNEL_END }
/* Helpers (see prelude_cl.h): a plain function, the buffers, shared
 * arrays and params being globals here. BUFFER_RESTRICT: GLSL leaves its
 * buffers unqualified (a kernel may still redefine it). */
#define BUFFER_RESTRICT
#define HELPER_DECLARE(name) void name();
#define HELPER_BEGIN(name)                                                                         \
    void name()                                                                                    \
    {
#define HELPER_END }
#define HELPER_CALL(name) name()

#include "local_size_max.h"
#define P(name) (p_.name)
#define LOCAL_SIZE (gl_WorkGroupSize.x)
#define GLOBAL_ID (gl_GlobalInvocationID.x)
#define LOCAL_ID (gl_LocalInvocationID.x)
#define GROUP_ID (gl_WorkGroupID.x)
#define GROUP_ID_Y (gl_WorkGroupID.y)
#define GROUP_ID_Z (gl_WorkGroupID.z)
#define NUM_GROUPS (gl_NumWorkGroups.x)
#define NUM_GROUPS_Y (gl_NumWorkGroups.y)
#define NUM_GROUPS_Z (gl_NumWorkGroups.z)

/* UNROLL: see prelude_cl.h; Mesa and GPU compilers unroll constant-trip
 * loops by themselves. */
#define UNROLL

#define BARRIER_SHARED()                                                                           \
    memoryBarrierShared();                                                                         \
    barrier()
#define BARRIER_ALL()                                                                              \
    memoryBarrier();                                                                               \
    barrier()
/* BARRIER_SHARED_CL: see prelude_cl.h. */
#define BARRIER_SHARED_CL()

/* Hand-over between workgroups (prelude_cl.h): coherent buffer members,
 * atomicAdd, memoryBarrierBuffer. */
#define COHERENT(type) coherent type
#define ATOMIC_INC(buf, i) atomicAdd((buf)[i], 1u)
#define FENCE_GLOBAL() memoryBarrierBuffer()

#define STRUCT_BEGIN(name) struct name {
#define STRUCT_END(name)                                                                           \
    }                                                                                              \
    ;

#define CAST(type, x) type(x)
#define FMA(a, b, c) fma((a), (b), (c))
#define FABS(x) abs(x)
#define FMIN(a, b) min((a), (b))
#define FMAX(a, b) max((a), (b))
#define UMIN(a, b) min(uint(a), uint(b))
/* SUM8_RUN: see prelude_cl.h. GLSL has no 8-wide vector: SUM8_VECTOR 0
 * tells the caller to leave every pass to its own scalar loop. */
#define SUM8_VECTOR 0u
#define SUM8_RUN(a0, a1, a2, a3, a4, a5, a6, a7, x, b, count, sq)
#define UMAX(a, b) max(uint(a), uint(b))
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
#define FLOAT_BITS(x) floatBitsToUint(x)
#define BITS_FLOAT(x) uintBitsToFloat(x)

/* Exact arithmetic (see README.md, "Bit-exact arithmetic"): `precise`
 * gives every operation that computes the variable's value SPIR-V's
 * NoContraction (no fused a*b+c, and to Mesa's NIR: no value-changing
 * algebraic rewrites). The OpenCL prelude defines PRECISE as nothing. */
#define PRECISE precise
#include "div_rn.kh"
