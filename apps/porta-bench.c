/* porta-bench: speed of porta's kernels, measured as ratios in one run.
 *
 *   porta-bench optimizer [--params N] [--steps K] [--device SPEC] [--json]
 *   porta-bench gemm [--device SPEC] [--json] [--large] [--time S]   (bench_gemm.c)
 *   porta-bench train [--workload W] [--device SPEC] [--json]         (bench_train.c)
 *
 * optimizer: a flat model of N parameters (default 16M) with AdamW +
 * GreedyLR. For each device (or the one --device names): milliseconds per
 * fused step, the bandwidth the step achieves (the bytes it must move:
 * params, grads, m, v read, params, m, v written = 28 bytes per parameter,
 * divided by the time), and, in the same run on the same device, the
 * bandwidth of a plain streaming kernel that reads 4 arrays and writes 3
 * (porta_vec_stream): the roofline the step can at best reach. Also the
 * host synchronisations per step (from the backend counters, expected 0)
 * and the time per step when the gradient-norm pass runs too (clipping or
 * non-finite-gradient checks add one reduction dispatch reading the
 * gradients again). --json: one JSON object per line.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_gemm.h"
#include "bench_train.h"
#include "cli.h"

typedef struct bench_options {
    size_t params;
    int steps;
    const char *device;
    int json;
} bench_options;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct optimizer_result {
    double ms_per_step;
    double ms_per_step_with_norm;
    double stream_ms;
    double host_syncs_per_step;
} optimizer_result;

/* Time `steps` fused steps of an optimizer over n parameters. */
static porta_status time_optimizer(porta_context *ctx, size_t n, int steps, int check_norm,
                                   double *ms, double *syncs)
{
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    oc.check_gradients = check_norm;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    porta_optimizer *opt = NULL;
    porta_buffer *loss = NULL, *params = NULL, *grads = NULL;
    porta_status st = porta_optimizer_create(ctx, &oc, &sc, &opt);
    if (!st)
        st = porta_optimizer_add_tensor(ctx, opt, n, 0, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, opt);
    if (!st)
        st = porta_optimizer_arenas(ctx, opt, &params, &grads, NULL);
    if (!st)
        st = porta_vec_fill(ctx, grads, 0, n, 1e-3f);
    if (!st)
        st = porta_buffer_create(ctx, sizeof(float), &loss);
    float one = 1.0f;
    if (!st)
        st = porta_buffer_write(ctx, loss, 0, sizeof(one), &one);
    for (int i = 0; i < 3 && !st; i++) /* warm up: build, first touch */
        st = porta_optimizer_step(ctx, opt, loss, 0, 1, 1.0f);
    if (!st)
        st = porta_finish(ctx);
    porta_counters before, after;
    porta_counters_get(ctx, &before);
    double t0 = now_s();
    for (int i = 0; i < steps && !st; i++)
        st = porta_optimizer_step(ctx, opt, loss, 0, 1, 1.0f);
    porta_counters_get(ctx, &after);
    if (!st)
        st = porta_finish(ctx);
    double t1 = now_s();
    *ms = (t1 - t0) * 1e3 / steps;
    *syncs = (double)((after.host_waits - before.host_waits) +
                      (after.device_reads - before.device_reads)) /
             steps;
    porta_buffer_destroy(ctx, loss);
    porta_optimizer_destroy(ctx, opt);
    return st;
}

/* Time the stream kernel with `per` elements per invocation (0: the
 * device's preset). */
static porta_status time_stream_layout(porta_context *ctx, size_t n, int steps, unsigned per,
                                       double *ms)
{
    porta_buffer *b[4] = {NULL, NULL, NULL, NULL};
    porta_status st = PORTA_OK;
    for (int i = 0; i < 4 && !st; i++) {
        st = porta_buffer_create(ctx, n * sizeof(float), &b[i]);
        if (!st)
            st = porta_vec_fill(ctx, b[i], 0, n, 0.25f * (float)i);
    }
    for (int i = 0; i < 3 && !st; i++)
        st = porta_vec_stream(ctx, b[0], b[1], b[2], b[3], n, per);
    if (!st)
        st = porta_finish(ctx);
    double t0 = now_s();
    for (int i = 0; i < steps && !st; i++)
        st = porta_vec_stream(ctx, b[0], b[1], b[2], b[3], n, per);
    if (!st)
        st = porta_finish(ctx);
    *ms = (now_s() - t0) * 1e3 / steps;
    for (int i = 0; i < 4; i++)
        porta_buffer_destroy(ctx, b[i]);
    return st;
}

/* The roofline: the fastest of the stream kernel's layouts (elements per
 * invocation), so the ratio does not flatter the step with a slow stream. */
static porta_status time_stream(porta_context *ctx, size_t n, int steps, double *ms)
{
    static const unsigned layouts[] = {1, 4, 16, 64};
    porta_status st = PORTA_OK;
    *ms = 0.0;
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]) && !st; i++) {
        double t = 0.0;
        st = time_stream_layout(ctx, n, steps, layouts[i], &t);
        if (!st && (*ms == 0.0 || t < *ms))
            *ms = t;
    }
    return st;
}

static int bench_optimizer_device(const bench_options *o, const char *spec)
{
    porta_context *ctx = porta_cli_open_device("porta-bench", spec);
    if (!ctx)
        return 1;
    porta_device_info info;
    porta_device_current(ctx, &info);
    optimizer_result r;
    double unused;
    porta_status st =
        time_optimizer(ctx, o->params, o->steps, 0, &r.ms_per_step, &r.host_syncs_per_step);
    if (!st)
        st = time_stream(ctx, o->params, o->steps, &r.stream_ms);
    if (!st)
        st = time_optimizer(ctx, o->params, o->steps, 1, &r.ms_per_step_with_norm, &unused);
    if (st) {
        porta_cli_report("porta-bench", ctx, info.spec, st);
        porta_context_destroy(ctx);
        return 1;
    }
    const double bytes = 28.0 * (double)o->params;
    const double gbps = bytes / (r.ms_per_step * 1e-3) / 1e9;
    const double stream_gbps = bytes / (r.stream_ms * 1e-3) / 1e9;
    if (o->json)
        printf("{\"device\": \"%s\", \"name\": \"%s\", \"params\": %zu, \"ms_per_step\": %.4f, "
               "\"gbps\": %.3f, \"stream_gbps\": %.3f, \"ratio\": %.3f, "
               "\"host_syncs_per_step\": %.3g, \"ms_per_step_with_norm\": %.4f}\n",
               info.spec, info.name, o->params, r.ms_per_step, gbps, stream_gbps,
               gbps / stream_gbps, r.host_syncs_per_step, r.ms_per_step_with_norm);
    else
        printf("%-9s %-34s %zu params: %.3f ms/step, %.2f GB/s; stream %.2f GB/s; ratio %.3f; "
               "host syncs/step %.3g; with gradient-norm pass %.3f ms/step\n",
               info.spec, info.name, o->params, r.ms_per_step, gbps, stream_gbps,
               gbps / stream_gbps, r.host_syncs_per_step, r.ms_per_step_with_norm);
    fflush(stdout);
    porta_context_destroy(ctx);
    return 0;
}

static int parse(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){.params = 16u << 20, .steps = 20, .device = NULL, .json = 0};
    if (argc < 2 || strcmp(argv[1], "optimizer") != 0)
        return -1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc)
            o->params = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            o->steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o->device = argv[++i];
        else
            return -1;
    }
    return o->params > 0 && o->steps > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    if (argc >= 2 && strcmp(argv[1], "gemm") == 0)
        return porta_bench_gemm(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "train") == 0)
        return porta_bench_train(argc - 1, argv + 1);
    bench_options o;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr,
                "usage: porta-bench optimizer [--params N] [--steps K] "
                "[--device SPEC] [--json]\n"
                "       porta-bench gemm [--device SPEC] [--json] [--large] [--time S]\n"
                "       porta-bench train [--workload NAME|all] [--device SPEC] [--steps N] "
                "[--json] [--torch-device cpu|cuda]\n");
        return 2;
    }
    if (o.device)
        return bench_optimizer_device(&o, o.device);
    porta_context *ctx = NULL;
    size_t count = 0;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_count(ctx, &count);
    int rc = st || count == 0;
    for (size_t i = 0; i < count; i++) {
        porta_device_info d;
        if (porta_device_get_info(ctx, i, &d) == PORTA_OK)
            rc |= bench_optimizer_device(&o, d.spec);
    }
    porta_context_destroy(ctx);
    return rc;
}
