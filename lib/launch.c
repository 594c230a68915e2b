/* launch.c: building kernels on first use and enqueueing them. */

#include "internal.h"

/* Grid-stride kernels need no more groups than this to fill any device;
 * fewer groups also keeps the count under every API's limit. */
#define PORTA_MAX_STRIDE_GROUPS 4096u

uint32_t porta__groups_for(const porta_context *ctx, size_t n)
{
    size_t local = ctx->variant.local_size;
    size_t groups = (n + local - 1) / local;
    if (groups < 1)
        groups = 1;
    if (groups > PORTA_MAX_STRIDE_GROUPS)
        groups = PORTA_MAX_STRIDE_GROUPS;
    return (uint32_t)groups;
}

porta_status porta__kernel_fits(porta_context *ctx, const porta_kernel_desc *d, uint32_t local_size)
{
    const porta_device_caps *c = &ctx->backend.caps;
    const char *limit = NULL;
    unsigned long long need = 0, have = 0;
    if (d->n_buffers > c->max_storage_buffers) {
        limit = "storage buffers per kernel";
        need = d->n_buffers;
        have = c->max_storage_buffers;
    } else if (d->params_bytes > c->max_push_bytes) {
        limit = "parameter (push constant) bytes";
        need = d->params_bytes;
        have = c->max_push_bytes;
    } else if (d->shared_bytes > c->local_mem_bytes) {
        limit = "shared memory bytes per workgroup";
        need = d->shared_bytes;
        have = c->local_mem_bytes;
    } else if (local_size > c->max_workgroup_size) {
        limit = "invocations per workgroup";
        need = local_size;
        have = c->max_workgroup_size;
    } else if (d->max_local_size && local_size > d->max_local_size) {
        /* a caller's bug, not the device's: the kernel's shared arrays hold
         * max_local_size invocations */
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "kernel %s asked to run %u invocations per workgroup; its shared "
                             "arrays hold %u (LOCAL_SIZE_MAX)",
                             d->name, local_size, d->max_local_size);
    }
    if (!limit)
        return PORTA_OK;
    return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                         "kernel %s needs %llu %s; %s allows %llu%s", d->name, need, limit, c->name,
                         have,
                         ctx->limits_applied[0] ? " (device limits emulated: PORTA_DEVICE_LIMITS "
                                                  "or porta_context_set_device_limits)"
                                                : "");
}

static porta_status dispatch(porta_context *ctx, porta_bkernel *k, const uint32_t grid[3],
                             porta_bbuffer *const *bufs, const void *params)
{
    porta_backend *b = &ctx->backend;
    porta_status st = b->ops->dispatch(b, k, grid, bufs, params);
    return st ? st : b->ops->barrier(b);
}

void porta__grid_2d(size_t groups, uint32_t grid[3])
{
    const size_t max_x = 65535;
    if (groups < 1)
        groups = 1;
    /* As few rows as fit, then the rows as short as they can be: fewer
     * than grid[1] workgroups past `groups` (65536 workgroups as 65535 x 2
     * would add 65534 idle ones, which cost PoCL ~5 us each). */
    grid[1] = (uint32_t)((groups + max_x - 1) / max_x);
    grid[0] = (uint32_t)((groups + grid[1] - 1) / grid[1]);
    grid[2] = 1;
}

porta_status porta__launch(porta_context *ctx, porta_kernel_id id, uint32_t groups,
                           porta_bbuffer *const *bufs, const void *params)
{
    porta_backend *b = &ctx->backend;
    if (!ctx->kernels[id]) {
        porta_status st = porta__kernel_fits(ctx, porta_kernel_table[id], ctx->variant.local_size);
        if (!st)
            st = b->ops->kernel_get(b, porta_kernel_table[id], &ctx->variant, &ctx->kernels[id]);
        if (st)
            return st;
    }
    const uint32_t grid[3] = {groups, 1, 1};
    return dispatch(ctx, ctx->kernels[id], grid, bufs, params);
}

porta_status porta__launch_spec(porta_context *ctx, porta_kernel_id id,
                                const uint32_t spec[PORTA_SPEC_COUNT], const uint32_t grid[3],
                                porta_bbuffer *const *bufs, const void *params)
{
    return porta__launch_spec_local(ctx, id, ctx->variant.local_size, 0, spec, grid, bufs, params);
}

porta_status porta__launch_spec_local(porta_context *ctx, porta_kernel_id id, uint32_t local_size,
                                      uint32_t own_rounding, const uint32_t spec[PORTA_SPEC_COUNT],
                                      const uint32_t grid[3], porta_bbuffer *const *bufs,
                                      const void *params)
{
    porta_backend *b = &ctx->backend;
    porta_kernel_variant v = ctx->variant;
    v.local_size = local_size;
    v.own_rounding = own_rounding;
    for (int i = 0; i < PORTA_SPEC_COUNT; i++)
        v.spec[i] = spec[i];
    porta_bkernel *k = NULL; /* the backend caches it per (kernel, variant) */
    porta_status st = porta__kernel_fits(ctx, porta_kernel_table[id], local_size);
    if (!st)
        st = b->ops->kernel_get(b, porta_kernel_table[id], &v, &k);
    return st ? st : dispatch(ctx, k, grid, bufs, params);
}

int porta__masked_lanes(const porta_context *ctx)
{
    return ctx->backend.caps.execution == PORTA_EXECUTION_MASKED_LANES;
}

int porta__is_work_item_loop(const porta_context *ctx)
{
    return ctx->backend.caps.execution == PORTA_EXECUTION_WORK_ITEM_LOOP;
}

int porta__cpu_like(const porta_context *ctx)
{
    return ctx->backend.caps.execution != PORTA_EXECUTION_SIMT;
}

int porta__fast_fma(const porta_context *ctx)
{
    return ctx->backend.caps.fast_fma != 0;
}

uint32_t porta__reduce_runs(const porta_context *ctx)
{
    return porta__is_work_item_loop(ctx) ? 1u : 0u;
}

/* llvmpipe runs a workgroup as a loop over batches of subgroup-width
 * invocations (8 lanes with 256-bit vectors), each batch running the whole
 * kernel. With workgroups of one batch, each invocation walking 256
 * elements (2048 per workgroup, PORTA_STREAM_BLOCK_MAX), a batch reads its 8 x 256 elements front
 * to back: one stream per array for the prefetcher instead of one per element of the invocation
 * (256 apart), and the loads of per-step scalars (a loop over the lanes on Rusticl, whose global
 * loads have no uniform path) happen once per 2048 elements instead of once per 8. Measured on
 * Rusticl, 4M elements: the stream 84 ms against 90-170 ms for 256-wide workgroups with 1-64 per
 * invocation; an AdamW step with its scalars in a buffer 87 against 158-186 ms. Elsewhere the
 * default workgroup with one element per invocation: PoCL vectorises it across work-items, and a
 * GPU reads it coalesced with the most parallelism. */
porta__stream_layout porta__stream_layout_for(const porta_context *ctx)
{
    const uint32_t lanes = ctx->backend.caps.subgroup_max;
    if (porta__masked_lanes(ctx) && porta__is_pow2(lanes) && lanes <= ctx->variant.local_size)
        return (porta__stream_layout){lanes, lanes >= 8u ? PORTA_STREAM_BLOCK_MAX / lanes : 256u};
    return (porta__stream_layout){ctx->variant.local_size, 1};
}

porta_status porta__launch_stream(porta_context *ctx, porta_kernel_id id,
                                  porta__stream_layout layout, size_t n, uint32_t own_rounding,
                                  const uint32_t spec[PORTA_SPEC_COUNT], porta_bbuffer *const *bufs,
                                  const void *params)
{
    const size_t block = (size_t)layout.local_size * layout.per_invocation;
    uint32_t grid[3];
    porta__grid_2d((n + block - 1) / block, grid);
    uint32_t s[PORTA_SPEC_COUNT];
    for (int i = 0; i < PORTA_SPEC_COUNT; i++)
        s[i] = spec[i];
    s[1] = layout.per_invocation;
    return porta__launch_spec_local(ctx, id, layout.local_size, own_rounding, s, grid, bufs,
                                    params);
}

uint32_t porta__elements_per_invocation(const porta_context *ctx)
{
    /* The preset's figure (backends/common/device_presets.c), measured with
     * porta-bench optimizer (16M AdamW parameters): where every workgroup's
     * barrier is a coroutine switch (llvmpipe) few, long workgroups (64: 2.1
     * s -> 0.3 s per 4M-parameter step); PoCL and GPUs are best with a few
     * elements per invocation and many workgroups. */
    const uint32_t per = ctx->backend.caps.elements_per_invocation;
    return per ? per : 4u;
}
