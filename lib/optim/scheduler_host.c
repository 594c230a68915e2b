/* scheduler_host.c: the public host-stepped scheduler, the same arithmetic
 * as SCHED_ADVANCE in the fused kernel (porta__sched_host_advance). */
#include <stdlib.h>

#include "optim/optimizer_internal.h"

struct porta_scheduler {
    porta_sched_device_config config;
    porta_sched_device_state state;
};

porta_status porta_scheduler_create(porta_context *ctx, const porta_optimizer_config *groups,
                                    const porta_scheduler_config *config, porta_scheduler **out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!groups || !config || !out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_scheduler_create: NULL argument");
    *out = NULL;
    porta_scheduler *s = calloc(1, sizeof(*s));
    if (!s)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "scheduler: no memory");
    porta_status st = porta__scheduler_configure(ctx, groups, config, &s->config, &s->state);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return PORTA_OK;
}

porta_status porta_scheduler_step(porta_context *ctx, porta_scheduler *s, float metric, float *lr,
                                  size_t n_lr)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!s || (n_lr && !lr) || n_lr > s->config.n_groups)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "porta_scheduler_step: %s",
                             !s              ? "scheduler is NULL"
                             : (n_lr && !lr) ? "lr is NULL"
                                             : "more groups than "
                                               "the scheduler has");
    porta__sched_host_advance(&s->config, &s->state, metric);
    for (size_t g = 0; g < n_lr; g++)
        lr[g] = s->state.lr[g];
    return PORTA_OK;
}

void porta_scheduler_destroy(porta_context *ctx, porta_scheduler *s)
{
    (void)ctx; /* host memory only */
    free(s);
}
