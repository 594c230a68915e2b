/* train_common.c: options and set-up shared by porta-train's workloads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "optim_options.h"
#include "train_options.h"

void train_common_defaults(train_common *c, const char *out, size_t batch)
{
    memset(c, 0, sizeof *c);
    c->opt = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    c->opt.groups[0].lr = 1e-3f;
    c->opt.groups[0].weight_decay = 0.01f;
    c->sched = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    c->sched.smooth = true;
    c->out = out;
    c->seed = 1;
    c->batch = batch;
    c->log_every = 100;
}

int train_usage(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "porta-train: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s%s", usage, porta_cli_optim_usage(true));
    return PORTA_CLI_EXIT_USAGE;
}

int train_help(const char *usage)
{
    return porta_cli_help(usage, porta_cli_optim_usage(true));
}

static int parse_count(const char *v, long long min, long long *out)
{
    char *end = NULL;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || x < min)
        return -1;
    *out = x;
    return 0;
}

int train_common_option(train_common *c, const char *a, const char *v, const char *usage)
{
    long long n = 0;
    if (strcmp(a, "--device") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--resume") == 0) {
        if (!v) {
            train_usage(usage, "%s: missing value", a);
            return -1;
        }
        *(a[2] == 'd' ? &c->device : a[2] == 'o' ? &c->out : &c->resume) = v;
        return 2;
    }
    if (strcmp(a, "--seed") == 0 || strcmp(a, "--batch") == 0 || strcmp(a, "--eval-every") == 0 ||
        strcmp(a, "--log-every") == 0 || strcmp(a, "--max-steps") == 0) {
        const bool positive = strcmp(a, "--batch") == 0 || strcmp(a, "--log-every") == 0;
        if (parse_count(v, positive ? 1 : 0, &n) != 0 ||
            (strcmp(a, "--log-every") == 0 && n > 1000)) {
            train_usage(usage, "%s: not a valid count", a);
            return -1;
        }
        if (a[2] == 's')
            c->seed = (uint64_t)n;
        else if (a[2] == 'b')
            c->batch = (size_t)n;
        else if (a[2] == 'e')
            c->eval_every = (int)n;
        else if (a[2] == 'l')
            c->log_every = (int)n;
        else
            c->max_steps = (int)n;
        return 2;
    }
    /* --optimizer resets the weight decay; keep a --weight-decay given before it */
    const float wd = c->opt.groups[0].weight_decay;
    switch (porta_cli_optim_option(a, v, true, &c->opt, &c->sched)) {
    case PORTA_CLI_NOT_MINE:
        return 0;
    case PORTA_CLI_FLAG:
        return 1;
    case PORTA_CLI_VALUE:
        c->lr_set |= strcmp(a, "--lr") == 0;
        c->min_lr_set |= strcmp(a, "--min-lr") == 0;
        c->max_lr_set |= strcmp(a, "--max-lr") == 0;
        c->wd_set |= strcmp(a, "--weight-decay") == 0;
        c->total_set |= strcmp(a, "--total-steps") == 0;
        if (strcmp(a, "--optimizer") == 0 && c->wd_set)
            c->opt.groups[0].weight_decay = wd;
        return 2;
    case PORTA_CLI_BAD_VALUE:
        train_usage(usage, "%s: not a valid value", a);
        return -1;
    case PORTA_CLI_NO_VALUE:
        train_usage(usage, "%s: missing value", a);
        return -1;
    }
    return 0;
}

int train_common_finish(train_common *c, const char *usage)
{
    porta_param_group *g = &c->opt.groups[0];
    if (!c->lr_set && c->opt.kind == PORTA_OPTIMIZER_SGD)
        g->lr = 0.05f, c->opt.momentum = c->opt.momentum > 0 ? c->opt.momentum : 0.9f;
    if (!c->wd_set && c->opt.kind == PORTA_OPTIMIZER_SGD)
        g->weight_decay = 5e-4f;
    if (!c->min_lr_set)
        g->min_lr = c->sched.kind == PORTA_SCHEDULER_WARMUP_COSINE ||
                            c->sched.kind == PORTA_SCHEDULER_COSINE_RESTARTS
                        ? 0.0f
                        : g->lr / 10;
    if (!c->max_lr_set)
        g->max_lr = 4 * g->lr;
    if (!(g->lr > 0.0f))
        return train_usage(usage, "--lr must be positive%s", "");
    return PORTA_CLI_RUN;
}

void train_common_schedule(train_common *c, uint64_t total_steps)
{
    if (c->sched.kind == PORTA_SCHEDULER_WARMUP_COSINE && !c->total_set) {
        c->sched.total_steps = (int)total_steps;
        if (c->sched.warmup_steps > c->sched.total_steps)
            c->sched.warmup_steps = c->sched.total_steps / 10;
    }
}

void train_print_graph(const char *program, porta_context *ctx, porta_graph *g, const char *name)
{
    porta_graph_info gi;
    if (porta_graph_info_get(ctx, g, &gi) != PORTA_OK)
        return;
    char planned[32], unplanned[32];
    fprintf(stderr,
            "%s: model %s: %zu parameters in %zu tensors, %zu layers; activations and gradients "
            "planned into %s (%s unshared)\n",
            program, name, gi.parameters, gi.parameter_tensors, gi.forward_ops,
            porta_cli_bytes(planned, sizeof planned, gi.arena_bytes),
            porta_cli_bytes(unplanned, sizeof unplanned, gi.unplanned_bytes));
}
