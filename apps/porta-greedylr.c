/* porta-greedylr: what would GreedyLR have done with my loss log?
 *
 *   porta-greedylr replay [options] < metrics.txt
 *
 * Reads one metric per line on stdin (a loss, an accuracy with --mode max;
 * "nan" and "inf" are metrics too) and prints, one per line, the learning
 * rate in effect after each step. By default the real fused device kernel
 * runs the schedule (one optimizer step per metric, the metric as the
 * training loss, no parameters), so a device can be checked against the
 * host implementation (--host) on any machine. --help (or -h) prints the
 * usage. Exit status 2 for a usage error or a malformed line, 1 for a
 * device failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "optim_options.h"

static const char usage[] =
    "usage: porta-greedylr replay [options] < metrics.txt\n"
    "       porta-greedylr --help\n"
    "  --lr X              initial learning rate (default 0.1)\n"
    "  --mode min|max      lower or higher metric is better (min)\n"
    "  --factor F          decrease lr*F, increase lr/F, 0 < F < 1 (0.95)\n"
    "  --patience N        act on the (N+1)-th good or bad step (10)\n"
    "  --threshold X       improvement margin (1e-6)\n"
    "  --threshold-mode abs|rel (abs)\n"
    "  --cooldown N        steps frozen after a decrease (0)\n"
    "  --warmup N          steps frozen after an increase (0)\n"
    "  --min-lr X          floor (1e-3)\n"
    "  --max-lr X          ceiling (1.0)\n"
    "  --eps X             smallest change applied (1e-8)\n"
    "  --smooth            compare a rolling mean of the metric\n"
    "  --window N          rolling-mean window (50)\n"
    "  --reset-start N     decreases at the floor before a reset (500)\n"
    "  --device SPEC       run on this device (default: PORTA_DEVICE or the best)\n"
    "  --host              run the host implementation instead of a device\n"
    "prints the learning rate in effect after each step, one per line\n";

typedef struct options {
    porta_optimizer_config opt;
    porta_scheduler_config sched;
    const char *device;
    bool host;
} options;

static int fail_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "porta-greedylr: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

/* PORTA_CLI_RUN, or the exit status (cli.h). */
static int parse_options(int argc, char **argv, options *o)
{
    o->opt = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    o->opt.groups[0] = (porta_param_group){.lr = 0.1f, .min_lr = 1e-3f, .max_lr = 1.0f};
    o->opt.check_gradients = false;
    o->sched = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    o->device = NULL;
    o->host = false;
    if (argc >= 2 && porta_cli_is_help(argv[1]))
        return porta_cli_help(usage, NULL);
    if (argc < 2 || strcmp(argv[1], "replay") != 0)
        return fail_usage("expected the command \"replay\"%s", "");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (porta_cli_is_help(a))
            return porta_cli_help(usage, NULL);
        if (strcmp(a, "--host") == 0) {
            o->host = true;
            continue;
        }
        if (strcmp(a, "--device") == 0) {
            if (!v)
                return fail_usage("%s: missing value", a);
            o->device = v;
            i++;
            continue;
        }
        switch (porta_cli_optim_option(a, v, false, &o->opt, &o->sched)) {
        case PORTA_CLI_FLAG:
            break;
        case PORTA_CLI_VALUE:
            i++;
            break;
        case PORTA_CLI_BAD_VALUE:
            return fail_usage("%s: not a valid value", a);
        case PORTA_CLI_NO_VALUE:
            return fail_usage("%s: missing value", a);
        case PORTA_CLI_NOT_MINE:
            return fail_usage("unknown option %s", a);
        }
    }
    return PORTA_CLI_RUN;
}

/* Read every line of stdin as a metric. Returns 0, or 2 after reporting. */
static int read_metrics(float **out, size_t *n)
{
    size_t cap = 1024, count = 0, line_no = 0;
    float *v = malloc(cap * sizeof(float));
    char line[256];
    while (v && fgets(line, sizeof(line), stdin)) {
        line_no++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "porta-greedylr: line %zu: too long to be a number\n", line_no);
            free(v);
            return 2;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            line[--len] = '\0';
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        float x;
        if (porta_cli_parse_float(s, &x) != 0) {
            fprintf(stderr, "porta-greedylr: line %zu: \"%s\" is not a number\n", line_no, s);
            free(v);
            return 2;
        }
        if (count == cap) {
            float *bigger = realloc(v, 2 * cap * sizeof(float));
            if (!bigger)
                break;
            v = bigger;
            cap *= 2;
        }
        v[count++] = x;
    }
    if (!v || count < line_no) {
        fprintf(stderr, "porta-greedylr: out of memory reading the metrics\n");
        free(v);
        return 1;
    }
    *out = v;
    *n = count;
    return 0;
}

/* Run the schedule through the fused device kernel; lr_after[i] is the rate
 * in effect after step i. */
static int replay_device(const options *o, const float *metrics, size_t n, float *lr_after)
{
    porta_context *ctx = porta_cli_open_device("porta-greedylr", o->device);
    if (!ctx)
        return 1;
    porta_optimizer *opt = NULL;
    porta_buffer *loss = NULL;
    porta_step_metrics *ms = malloc((n + 1) * sizeof(*ms));
    porta_status st =
        ms ? porta_optimizer_create(ctx, &o->opt, &o->sched, &opt) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st && porta_context_message(ctx)[0])
        fprintf(stderr, "porta-greedylr: %s\n", porta_context_message(ctx));
    if (!st)
        st = porta_optimizer_finalize(ctx, opt);
    if (!st)
        st = porta_buffer_create(ctx, (n ? n : 1) * sizeof(float), &loss);
    if (!st && n)
        st = porta_buffer_write(ctx, loss, 0, n * sizeof(float), metrics);
    porta_optimizer_status status;
    status.ring_capacity = 1;
    if (!st)
        st = porta_optimizer_status_get(ctx, opt, &status);
    /* Drain the ring every ring_capacity steps: one read per chunk. */
    size_t done = 0;
    for (size_t i = 0; i < n && !st; i++) {
        st = porta_optimizer_step(ctx, opt, porta_view_at(loss, i), 1, 1.0f);
        if (!st && ((i + 1) % status.ring_capacity == 0 || i + 1 == n)) {
            size_t got = 0;
            st = porta_optimizer_metrics(ctx, opt, ms + done, n - done, &got, NULL);
            done += got;
        }
    }
    if (!st)
        st = porta_optimizer_status_get(ctx, opt, &status);
    if (st) {
        porta_cli_report("porta-greedylr", ctx, "replay", st);
    } else {
        /* The rate after step i is the rate step i + 1 used. */
        for (size_t i = 0; i + 1 < n; i++)
            lr_after[i] = ms[i + 1].lr[0];
        if (n)
            lr_after[n - 1] = status.lr[0];
    }
    free(ms);
    porta_optimizer_destroy(ctx, opt);
    porta_buffer_destroy(ctx, loss);
    porta_context_destroy(ctx);
    return st ? 1 : 0;
}

/* Run the host implementation. It also validates the options (no device
 * needed): returns 2 with the reason for an invalid configuration. */
static int replay_host(const options *o, const float *metrics, size_t n, float *lr_after)
{
    porta_context *ctx = NULL;
    porta_scheduler *s = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_scheduler_create(ctx, &o->opt, &o->sched, &s);
    if (!st && porta_context_message(ctx)[0])
        fprintf(stderr, "porta-greedylr: %s\n", porta_context_message(ctx));
    for (size_t i = 0; i < n && !st; i++)
        st = porta_scheduler_step(ctx, s, metrics[i], &lr_after[i], 1);
    if (st)
        porta_cli_report("porta-greedylr", ctx, "invalid options", st);
    porta_scheduler_destroy(ctx, s);
    porta_context_destroy(ctx);
    return st == PORTA_ERROR_INVALID_ARGUMENT ? 2 : st ? 1 : 0;
}

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != PORTA_CLI_RUN)
        return rc;
    float *metrics = NULL;
    size_t n = 0;
    if ((rc = read_metrics(&metrics, &n)) != 0)
        return rc;
    float *lr = malloc((n ? n : 1) * sizeof(float));
    if (!lr) {
        free(metrics);
        return 1;
    }
    rc = replay_host(&o, metrics, n, lr);
    if (rc == 0 && !o.host)
        rc = replay_device(&o, metrics, n, lr);
    for (size_t i = 0; rc == 0 && i < n; i++)
        printf("%.9g\n", lr[i]);
    free(metrics);
    free(lr);
    return rc;
}
