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
 * (porta_vec_stream, its fastest of several layouts): the roofline the
 * step can at best reach. The step and the stream layouts run in 21
 * rounds of --steps / 21 runs each (default 21: one), each layout right after
 * the step, and the figures are the median round's for the fastest layout
 * (time_step_and_stream says why), so other work on the machine disturbs
 * the ratio less. Also the host synchronisations per step (from the
 * backend counters, expected 0) and the time per step when the
 * gradient-norm pass runs too (clipping or non-finite-gradient checks add
 * one reduction dispatch reading the gradients again). --json: one JSON
 * object per line. --help (or -h), alone or after a subcommand, prints the
 * usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gemm.h"
#include "bench_optimizer.h"
#include "bench_train.h"
#include "cli.h"

typedef struct bench_options {
    size_t params;
    int steps;
    const char *device;
    bool json;
} bench_options;

static int bench_optimizer_device(const char *spec, void *user)
{
    const bench_options *o = user;
    porta_context *ctx = porta_cli_open_device("porta-bench", spec);
    if (!ctx)
        return 1;
    porta_device_info info;
    porta_device_current(ctx, &info);
    bench_optimizer_result r;
    porta_status st = bench_optimizer_step_and_stream(ctx, o->params, o->steps, &r);
    if (!st)
        st = bench_optimizer_with_norm(ctx, o->params, o->steps, &r.ms_per_step_with_norm);
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

static const char usage[] =
    "usage: porta-bench optimizer [--params N] [--steps K] [--device SPEC] [--json]\n"
    "       porta-bench gemm [--device SPEC] [--json] [--large] [--time S]\n"
    "       porta-bench train [--workload NAME|all] [--device SPEC] [--steps N] [--json]\n"
    "                         [--torch-device cpu|cuda]\n"
    "       porta-bench SUBCOMMAND --help   the options of a subcommand\n";

static const char optimizer_usage[] =
    "usage: porta-bench optimizer [--params N] [--steps K] [--device SPEC] [--json]\n"
    "  --params N          parameters of the flat AdamW + GreedyLR model (16777216)\n"
    "  --steps K           fused steps timed, in 21 rounds (21)\n"
    "  --device SPEC       only this device (default: every device)\n"
    "  --json              one JSON object per device and line\n"
    "ms per fused step, its bandwidth against a streaming kernel's (the roofline), host\n"
    "syncs per step, and ms per step with the gradient-norm pass\n";

/* argv[1] is "optimizer". PORTA_CLI_RUN, or the exit status (cli.h). */
static int parse(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){.params = 16u << 20, .steps = 21, .device = NULL, .json = false};
    for (int i = 2; i < argc; i++) {
        if (porta_cli_is_help(argv[i]))
            return porta_cli_help(optimizer_usage, NULL);
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc)
            o->params = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            o->steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o->device = argv[++i];
        else
            return porta_cli_usage_error("porta-bench optimizer", optimizer_usage, NULL,
                                         "unknown option or missing value: %s", argv[i]);
    }
    if (o->params == 0 || o->steps <= 0)
        return porta_cli_usage_error("porta-bench optimizer", optimizer_usage, NULL,
                                     "--params and --steps must be positive");
    return PORTA_CLI_RUN;
}

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    if (argc >= 2 && strcmp(argv[1], "gemm") == 0)
        return porta_bench_gemm(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "train") == 0)
        return porta_bench_train(argc - 1, argv + 1);
    if (argc >= 2 && porta_cli_is_help(argv[1]))
        return porta_cli_help(usage, NULL);
    if (argc < 2 || strcmp(argv[1], "optimizer") != 0)
        return porta_cli_usage_error("porta-bench", usage, NULL,
                                     argc < 2 ? "no subcommand given%s" : "unknown subcommand %s",
                                     argc < 2 ? "" : argv[1]);
    bench_options o;
    const int rc = parse(argc, argv, &o);
    if (rc != PORTA_CLI_RUN)
        return rc;
    return porta_cli_each_device(o.device, bench_optimizer_device, &o);
}
