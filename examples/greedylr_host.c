/* greedylr_host.c: step a GreedyLR schedule from your own training loop.
 *
 *   greedylr_host
 *
 * porta runs GreedyLR inside its fused optimizer step on the device, but
 * the same schedule, with the same fp32 arithmetic, is also a host object:
 * a training loop of your own (another framework, a simulation, a replay
 * of a logged run) can ask it for the next learning rate. This needs only
 * the core library and no device at all: a context is enough.
 *
 * GreedyLR (Subramanian, Krishnamoorthy, Murthy, arXiv 2512.14527) divides
 * the rate by F < 1 after `patience` + 1 improving steps in a row and
 * multiplies it by F after as many steps that do not improve, within
 * [min_lr, max_lr]. The loop below feeds it a loss that falls, then sits
 * on a plateau, then falls again, and prints every change of the rate.
 */
#include <math.h>
#include <stdio.h>

#include <porta/porta.h>

/* A made-up loss curve: quick progress, a plateau from step 60 to 140
 * (with a little noise), then slow progress again. */
static float loss_at(int step)
{
    const float noise = 0.002f * (float)((step * 7919) % 13 - 6);
    if (step < 60)
        return 2.0f * expf(-0.03f * (float)step) + noise;
    if (step < 140)
        return 2.0f * expf(-0.03f * 60.0f) + noise;
    return 2.0f * expf(-0.03f * 60.0f) - 0.004f * (float)(step - 140) + noise;
}

int main(void)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (st) {
        fprintf(stderr, "greedylr_host: %s\n", porta_strerror(st));
        return 1;
    }

    /* The rates: one parameter group starting at 0.01, kept within
     * [0.001, 0.05]. Only the groups of an optimizer configuration are
     * read by a host schedule. */
    porta_optimizer_config groups = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    groups.groups[0].lr = 0.01f;
    groups.groups[0].min_lr = 0.001f;
    groups.groups[0].max_lr = 0.05f;

    /* GreedyLR: F = 0.9, act after 5 steps in a row (patience 4), no
     * smoothing, lower loss is better. */
    porta_scheduler_config cfg = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    cfg.factor = 0.9f;
    cfg.patience = 4;

    porta_scheduler *sched = NULL;
    st = porta_scheduler_create(ctx, &groups, &cfg, &sched);
    if (st) {
        /* A rejected setting names the parameter, e.g. "factor 1.5 ...". */
        fprintf(stderr, "greedylr_host: %s: %s\n", porta_strerror(st), porta_context_message(ctx));
        porta_context_destroy(ctx);
        return 1;
    }

    float lr = groups.groups[0].lr, previous = lr;
    printf("step   loss     lr\n");
    for (int step = 0; step < 200 && !st; step++) {
        /* ... your own forward, backward and update with `lr` here ... */
        const float loss = loss_at(step);
        st = porta_scheduler_step(ctx, sched, loss, &lr, 1);
        if (!st && lr != previous)
            printf("%4d   %.4f   %.6f  (%s)\n", step, (double)loss, (double)lr,
                   lr > previous ? "increased" : "decreased");
        previous = lr;
    }
    if (st)
        fprintf(stderr, "greedylr_host: %s: %s\n", porta_strerror(st), porta_context_message(ctx));
    else
        printf("final learning rate %.6f\n", (double)lr);

    porta_scheduler_destroy(ctx, sched);
    porta_context_destroy(ctx);
    return st ? 1 : 0;
}
