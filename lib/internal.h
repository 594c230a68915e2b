/* internal.h: what lib/ files share. Not installed, not public. */
#ifndef PORTA_INTERNAL_H
#define PORTA_INTERNAL_H

#include "backend.h"
#include "porta/porta.h"
#include "porta_kernels.h"

struct porta_buffer {
    porta_bbuffer *impl;
    size_t bytes;
    porta_buffer *prev, *next; /* the context's list of live buffers */
};

struct porta_context {
    porta_msg msg;
    char cache_dir[1024];
    int validate;
    int keep_source;
    /* porta_context_set_device_limits / _preset: set (else from the
     * environment at open) and the text */
    int limits_set, preset_set;
    char device_limits[256];
    char device_preset[32];
    char limits_applied[256]; /* the limits the open device got */
    /* check mode (check_mode.h): on, and inside a checked call */
    int check_mode, in_check;
    char corrupt_call[64]; /* PORTA_TEST_HOOKS: porta__test_corrupt_next() */
    size_t corrupt_element;

    /* enumeration, done once */
    int enumerated;
    porta_device_caps *devices;
    size_t n_devices;
    char enumerate_notes[1024]; /* why an API contributed no devices */

    /* the open device */
    int open;
    porta_backend backend;
    porta_bkernel *kernels[PORTA_KERNEL_COUNT]; /* default variant, built on first use */
    porta_kernel_variant variant;               /* the default variant for this device */
    porta_buffer *scratch;                      /* reduction partials */
    porta_buffer *buffers;                      /* every live buffer, freed at destroy */
};

/* Whether a porta_setting is one of its three values. */
static inline int porta__setting_known(porta_setting s)
{
    return s == PORTA_SETTING_DEFAULT || s == PORTA_SETTING_OFF || s == PORTA_SETTING_ON;
}

/* Whether setting s (porta__setting_known) is on: ON / OFF as given,
 * DEFAULT from environment variable `env`, on unless unset, empty or "0".
 * context.c */
int porta__setting_on(porta_setting s, const char *env);

/* Fail with PORTA_ERROR_NO_DEVICE_OPEN unless a device is open. */
porta_status porta__require_device(porta_context *ctx);

/* Lower caps to the emulated limits in `text` (device_limits.c; the
 * syntax is porta_context_set_device_limits()'s). On failure caps are
 * unchanged and the message names the bad item. */
porta_status porta__device_limits_apply(porta_context *ctx, const char *text,
                                        porta_device_caps *caps);

/* Describe caps in the public form. */
void porta__device_info_from_caps(const porta_device_caps *caps, porta_device_info *info);

/* PORTA_OK if kernel d may run on the device with local_size invocations
 * per workgroup: its buffers, params and shared arrays within the limits
 * the device reports (emulated ones included); else
 * PORTA_ERROR_UNSUPPORTED naming the limit. Every launch checks it. */
porta_status porta__kernel_fits(porta_context *ctx, const porta_kernel_desc *d,
                                uint32_t local_size);

/* Build (once) and enqueue kernel `id` on `groups` workgroups of the
 * context's default local size, then a barrier so the next dispatch sees
 * its writes. `params` must be the kernel's porta_params_NAME. */
porta_status porta__launch(porta_context *ctx, porta_kernel_id id, uint32_t groups,
                           porta_bbuffer *const *bufs, const void *params);

/* porta__launch with specialisation constants SPEC0..3 = spec (kernels
 * compiled per value, so a branch on them costs nothing) on a grid of
 * grid[0] x grid[1] x grid[2] workgroups. */
porta_status porta__launch_spec(porta_context *ctx, porta_kernel_id id,
                                const uint32_t spec[PORTA_SPEC_COUNT], const uint32_t grid[3],
                                porta_bbuffer *const *bufs, const void *params);

/* porta__launch_spec with local_size invocations per workgroup instead of
 * the context's default (a power of two the device allows), and
 * own_rounding as in porta_kernel_variant (backends/backend.h). */
porta_status porta__launch_spec_local(porta_context *ctx, porta_kernel_id id, uint32_t local_size,
                                      uint32_t own_rounding, const uint32_t spec[PORTA_SPEC_COUNT],
                                      const uint32_t grid[3], porta_bbuffer *const *bufs,
                                      const void *params);

/* `groups` workgroups as a 2-D grid no wider than 65535 (every API's
 * minimum limit): grid[0] * grid[1] >= groups. Kernels index with
 * (GROUP_ID_Y * NUM_GROUPS + GROUP_ID). */
void porta__grid_2d(size_t groups, uint32_t grid[3]);

/* Elements each invocation of a blocked elementwise kernel (activation,
 * bias, dropout, ...) handles on this device: their SPEC1. */
uint32_t porta__elements_per_invocation(const porta_context *ctx);

/* How the device runs a workgroup (caps.execution, from the tuning preset:
 * backends/backend.h), never its name. masked_lanes: every branch runs
 * masked, uniform or not, and a barrier switches coroutines (llvmpipe).
 * work_item_loop: a workgroup is a loop over its work-items, which LLVM
 * vectorises when no branch is left inside it (PoCL). cpu_like: either. */
int porta__masked_lanes(const porta_context *ctx);
int porta__is_work_item_loop(const porta_context *ctx);
int porta__cpu_like(const porta_context *ctx);
/* Whether a fused multiply-add costs no more than a multiply and an add
 * (caps.fast_fma). */
int porta__fast_fma(const porta_context *ctx);

/* How a kernel walks memory as shaders/stream.kc does (optim_step, stream):
 * workgroups of local_size invocations, each updating per_invocation
 * elements LOCAL_SIZE apart in one contiguous block per workgroup. */
typedef struct {
    uint32_t local_size;
    uint32_t per_invocation;
} porta__stream_layout;

/* The most elements a stream layout's workgroup covers: every layout's
 * block divides it (the optimizer aligns its groups to it). */
#define PORTA_STREAM_BLOCK_MAX 2048u

/* The device's stream layout (lib/launch.c says why). */
porta__stream_layout porta__stream_layout_for(const porta_context *ctx);

/* Enqueue stream-shaped kernel `id` over n elements in `layout`, with
 * SPEC1 = layout.per_invocation and the other SPEC words from spec
 * (own_rounding: as for porta__launch_spec_local). */
porta_status porta__launch_stream(porta_context *ctx, porta_kernel_id id,
                                  porta__stream_layout layout, size_t n, uint32_t own_rounding,
                                  const uint32_t spec[PORTA_SPEC_COUNT], porta_bbuffer *const *bufs,
                                  const void *params);

/* reduce_chunk.kh's `runs` for this device: 1 where a workgroup is a loop
 * over its work-items (PoCL adds 8 consecutive elements as one vector), 0
 * elsewhere (GPUs read a workgroup's lines together; llvmpipe's lanes are
 * invocations). */
uint32_t porta__reduce_runs(const porta_context *ctx);

/* One reduce_sum pass on `groups` workgroups (shaders/reduce_sum.kc) in
 * the device's order (porta__reduce_runs). */
porta_status porta__reduce_sum_pass(porta_context *ctx, uint32_t groups, porta_bbuffer *const *bufs,
                                    const porta_params_reduce_sum *params);

/* Workgroups for a grid-stride loop over n elements (at least 1). */
uint32_t porta__groups_for(const porta_context *ctx, size_t n);

static inline int porta__is_pow2(unsigned long x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static inline size_t porta__min_size(size_t x, size_t y)
{
    return x < y ? x : y;
}

/* Check that [off, off + n) 32-bit elements (float, uint) lie inside buffer and fit the kernels'
 * 32-bit element indices. `what` names the argument in the message. */
porta_status porta__check_range(porta_context *ctx, const porta_buffer *b, size_t off, size_t n,
                                const char *what);

/* porta__check_range for the n elements a call touches from a view's
 * offset: also refuses n beyond a non-zero view length, so a caller can
 * fence a call into part of a buffer (porta_view). */
porta_status porta__check_view(porta_context *ctx, porta_view v, size_t n, const char *what);

/* porta__check_view with the message naming "<call> <argument>", e.g.
 * "porta_conv2d_forward x". */
porta_status porta__check_arg(porta_context *ctx, porta_view v, size_t n, const char *call,
                              const char *arg);

/* porta_cross_entropy / porta_accuracy_count with at most rows_per_group
 * rows per workgroup in each dispatch (0: as many as llvmpipe's loop budget
 * allows), so a test can make a small problem take the path of a large one
 * (several dispatches adding into the partials). Same arguments, checks
 * and messages as the public calls, which are these with rows_per_group 0.
 * loss.c */
porta_status porta__cross_entropy_split(porta_context *ctx, porta_view logits, porta_view labels,
                                        size_t rows, size_t classes, float grad_scale,
                                        porta_view dlogits, porta_view loss_partials,
                                        size_t *partials_count, size_t rows_per_group);
porta_status porta__accuracy_count_split(porta_context *ctx, porta_view logits, porta_view labels,
                                         size_t rows, size_t classes, size_t *correct,
                                         size_t rows_per_group);

/* Self-test checks (selftest.c): the names porta__kernel_check accepts. */
extern const char *const porta__kernel_check_names[];
extern const size_t porta__kernel_check_count;

/* Run the public vector call `name` on n seeded random elements on the open
 * device and compare with lib/ref/ref_vec.c. PORTA_ERROR_MISMATCH says where. */
porta_status porta__kernel_check(porta_context *ctx, const char *name, size_t n, uint32_t seed);

#endif
