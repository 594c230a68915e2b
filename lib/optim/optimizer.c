/* optimizer.c: creating an optimizer, registering tensors, placing them in
 * the arenas, and releasing it all. */
#include <stdlib.h>
#include <string.h>

#include "optim/optimizer_internal.h"

porta_status porta_optimizer_create(porta_context *ctx, const porta_optimizer_config *config,
                                    const porta_scheduler_config *scheduler, porta_optimizer **out)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!config || !scheduler || !out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_create: NULL argument");
    *out = NULL;
    porta_optimizer *opt = calloc(1, sizeof(*opt));
    if (!opt)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "optimizer: no memory");
    opt->config = *config;
    opt->scheduler = *scheduler;
    st = porta__optimizer_configure(ctx, opt);
    /* The strings are parsed; do not keep the caller's pointers. */
    opt->scheduler.mode = NULL;
    opt->scheduler.threshold_mode = NULL;
    if (!st)
        st = porta__optimizer_read_overrides(ctx, opt);
    if (st) {
        free(opt);
        return st;
    }
    *out = opt;
    return PORTA_OK;
}

porta_status porta_optimizer_add_tensor(porta_context *ctx, porta_optimizer *opt, size_t n,
                                        unsigned group, size_t *index)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!opt || n == 0 || group >= opt->config.n_groups || opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_add_tensor: %s",
                             !opt                            ? "optimizer is NULL"
                             : n == 0                        ? "a tensor needs at least 1 element"
                             : group >= opt->config.n_groups ? "no such parameter group"
                                                             : "the optimizer is finalized");
    if (opt->n_tensors == opt->cap_tensors) {
        size_t cap = opt->cap_tensors ? 2 * opt->cap_tensors : 16;
        porta_opt_tensor *t = realloc(opt->tensors, cap * sizeof(*t));
        if (!t)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "tensors: no memory");
        opt->tensors = t;
        opt->cap_tensors = cap;
    }
    opt->tensors[opt->n_tensors] = (porta_opt_tensor){.n = n, .group = group, .offset = 0};
    if (index)
        *index = opt->n_tensors;
    opt->n_tensors++;
    return PORTA_OK;
}

/* Group by group, in registration order within a group, each tensor on a
 * multiple of PORTA_TENSOR_ALIGN elements, each group's end rounded up to
 * a multiple of PORTA_GROUP_ALIGN (the padding holds zeros: parameters
 * with zero gradients, which every optimizer leaves at zero). */
static porta_status place_tensors(porta_context *ctx, porta_optimizer *opt)
{
    size_t at = 0;
    for (unsigned g = 0; g < opt->config.n_groups; g++) {
        for (size_t i = 0; i < opt->n_tensors; i++) {
            porta_opt_tensor *t = &opt->tensors[i];
            if (t->group != g)
                continue;
            t->offset = at;
            at += (t->n + PORTA_TENSOR_ALIGN - 1) / PORTA_TENSOR_ALIGN * PORTA_TENSOR_ALIGN;
        }
        at = (at + PORTA_GROUP_ALIGN - 1) / PORTA_GROUP_ALIGN * PORTA_GROUP_ALIGN;
        if (at > 0x7fffffffu)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "optimizer: %zu parameters exceed the 2^31 kernels index", at);
        opt->dev.group_end[g] = (uint32_t)at;
    }
    opt->elements = at;
    return PORTA_OK;
}

static porta_status alloc_zeroed(porta_context *ctx, size_t bytes, porta_buffer **out)
{
    porta_status st = porta_buffer_create(ctx, bytes < 4 ? 4 : bytes, out);
    if (!st)
        st = ctx->backend.ops->buffer_fill(&ctx->backend, (*out)->impl, 0, (*out)->bytes, 0u);
    return st;
}

/* Upload the configuration blocks and the initial state halves into the
 * block (the rest of it starts zero: scalars, partials, ticket, ring). */
static porta_status upload_state(porta_context *ctx, porta_optimizer *opt)
{
    /* Half 0 is current first; half 1 is overwritten by the first step. */
    porta_optim_state_dev ost[2] = {{0, 0, 0.0f, 0.0f}, {0, 0, 0.0f, 0.0f}};
    porta_sched_device_state sst[2];
    sst[0] = opt->sched_init;
    sst[1] = opt->sched_init;
    porta_status st =
        porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(ocfg), sizeof(opt->dev), &opt->dev);
    if (!st)
        st = porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(scfg), sizeof(opt->sched_dev),
                                &opt->sched_dev);
    if (!st)
        st = porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(ost), sizeof(ost), ost);
    if (!st)
        st = porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(sst), sizeof(sst), sst);
    return st;
}

porta_status porta_optimizer_finalize(porta_context *ctx, porta_optimizer *opt)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!opt || opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_finalize: %s",
                             opt ? "already finalized" : "optimizer is NULL");
    if ((st = place_tensors(ctx, opt)) != PORTA_OK)
        return st;
    const size_t bytes = opt->elements * sizeof(float);
    const int adamw = opt->config.kind == PORTA_OPTIMIZER_ADAMW;
    const int momentum = adamw || opt->config.momentum != 0.0f;
    porta_buffer **zeroed[] = {&opt->params, &opt->grads};
    for (size_t i = 0; i < 2 && !st; i++)
        st = alloc_zeroed(ctx, bytes, zeroed[i]);
    /* Moments only where the optimizer has them (unused bindings get a
     * 4-byte stand-in). On a device that binds fewer storage buffers than
     * optim_step, both in one buffer for optim_step_small. */
    opt->m1_bytes = momentum ? bytes : 4;
    opt->m2_bytes = adamw ? bytes : 4;
    opt->small_step = ctx->backend.caps.max_storage_buffers <
                      porta_kernel_table[PORTA_KERNEL_optim_step]->n_buffers;
    if (opt->small_step) {
        opt->m2_at = opt->m1_bytes;
        if (!st)
            st = alloc_zeroed(ctx, opt->m1_bytes + opt->m2_bytes, &opt->m1);
    } else {
        if (!st)
            st = alloc_zeroed(ctx, opt->m1_bytes, &opt->m1);
        if (!st)
            st = alloc_zeroed(ctx, opt->m2_bytes, &opt->m2);
    }
    if (!st)
        st = alloc_zeroed(ctx, sizeof(porta_optim_block), &opt->block);
    if (!st)
        st = alloc_zeroed(ctx, sizeof(float), &opt->metric);
    if (!st)
        st = upload_state(ctx, opt);
    if (st)
        return st; /* buffers made so far are released by porta_optimizer_destroy */
    opt->finalized = 1;
    return porta__optimizer_prepare(ctx, opt);
}

porta_status porta_optimizer_tensor_offset(porta_context *ctx, porta_optimizer *opt, size_t index,
                                           size_t *offset)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!opt || !offset || !opt->finalized || index >= opt->n_tensors)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_tensor_offset: %s",
                             !opt || !offset   ? "NULL argument"
                             : !opt->finalized ? "call porta_optimizer_finalize() first"
                                               : "no such tensor");
    *offset = opt->tensors[index].offset;
    return PORTA_OK;
}

porta_status porta_optimizer_arenas(porta_context *ctx, porta_optimizer *opt, porta_buffer **params,
                                    porta_buffer **grads, size_t *elements)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!opt || !opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "porta_optimizer_arenas: %s",
                             opt ? "call porta_optimizer_finalize() first" : "optimizer is NULL");
    if (params)
        *params = opt->params;
    if (grads)
        *grads = opt->grads;
    if (elements)
        *elements = opt->elements;
    return PORTA_OK;
}

void porta_optimizer_destroy(porta_context *ctx, porta_optimizer *opt)
{
    if (!opt)
        return;
    /* porta_buffer_destroy leaves the arenas alone without an open device
     * (the context frees them); the host side goes in any case. */
    porta_buffer *all[] = {opt->params, opt->grads, opt->m1, opt->m2, opt->block, opt->metric};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        porta_buffer_destroy(ctx, all[i]);
    free(opt->tensors);
    free(opt);
}
