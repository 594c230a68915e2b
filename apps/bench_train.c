/* bench_train.c: porta-bench train: milliseconds per training step of the
 * sample models, host synchronisations per step, and the same model in
 * PyTorch on the same machine in the same run when python3 has torch.
 *
 *   porta-bench train [--workload fashion-cnn|fashion-mlp|gpt-small|all]
 *                     [--device SPEC] [--steps N] [--json] [--torch-device cpu|cuda]
 *
 * Batches are random data of the real shapes (64 Fashion-MNIST images;
 * 16 x 128 bytes for gpt-small), uploaded before every step as the
 * training programs do. The timed stretch of steps ends with one wait.
 * --help (or -h) prints the usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_train.h"
#include "cli.h"
#include "progress.h"
#include "text_models.h"
#include "vision_models.h"

typedef struct bench_train_options {
    const char *workload;
    const char *device;
    const char *torch_device;
    int steps;
    bool json;
} bench_train_options;

typedef struct workload_result {
    double ms_per_step, syncs_per_step, tokens_per_step;
} workload_result;

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    return x ^ (x >> 16);
}

/* Build the workload's graph; its inputs and their element counts. */
static porta_status build(porta_context *ctx, porta_graph *g, const char *workload,
                          porta_tensor *inputs, size_t *sizes, uint32_t *ranges, int *n_inputs,
                          double *tokens)
{
    porta_status st;
    if (strcmp(workload, "gpt-small") == 0) {
        const gpt_config c = {.vocab = 256, .context = 128, .layers = 4, .heads = 4, .dim = 128};
        gpt_model m;
        st = gpt_build(ctx, g, &c, 16, &m);
        inputs[0] = m.tokens;
        inputs[1] = m.targets;
        inputs[2] = m.positions;
        sizes[0] = sizes[1] = sizes[2] = 16 * 128;
        ranges[0] = ranges[1] = 256;
        ranges[2] = 128;
        *n_inputs = 3;
        *tokens = 16.0 * 128.0;
    } else {
        vision_model m;
        st = vision_model_build(ctx, g, strcmp(workload, "fashion-mlp") == 0 ? "mlp" : "cnn", 64, 1,
                                28, 28, 10, 1, &m);
        inputs[0] = m.images;
        inputs[1] = m.labels;
        sizes[0] = 64 * 28 * 28;
        sizes[1] = 64;
        ranges[0] = 0; /* float */
        ranges[1] = 10;
        *n_inputs = 2;
        *tokens = 0.0;
    }
    return st;
}

static porta_status run_porta(porta_context *ctx, const char *workload, int steps,
                              workload_result *r)
{
    porta_graph *g = NULL;
    porta_tensor inputs[3];
    size_t sizes[3];
    uint32_t ranges[3];
    int n_inputs = 0;
    porta_status st = porta_graph_create(ctx, &(porta_graph_options){.seed = 1}, &g);
    if (!st)
        st = build(ctx, g, workload, inputs, sizes, ranges, &n_inputs, &r->tokens_per_step);
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    oc.groups[0] =
        (porta_param_group){.lr = 1e-3f, .min_lr = 1e-4f, .max_lr = 4e-3f, .weight_decay = 0.01f};
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.smooth = true;
    if (!st)
        st = porta_graph_compile(ctx, g, &oc, &sc);
    /* a few batches of random data, cycled */
    enum { BATCHES = 4 };
    void *data[BATCHES][3] = {{NULL}};
    for (int b = 0; b < BATCHES && !st; b++) {
        for (int i = 0; i < n_inputs && !st; i++) {
            data[b][i] = malloc(sizes[i] * 4);
            if (!data[b][i]) {
                st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
                break;
            }
            for (size_t j = 0; j < sizes[i]; j++) {
                const uint32_t h = mix((uint32_t)(b * 7919 + i * 104729) ^ (uint32_t)j);
                if (ranges[i] == 0)
                    ((float *)data[b][i])[j] = (float)(h % 2001) / 1000.0f - 1.0f;
                else if (i == 2) /* positions */
                    ((uint32_t *)data[b][i])[j] = (uint32_t)(j % ranges[i]);
                else
                    ((uint32_t *)data[b][i])[j] = h % ranges[i];
            }
        }
    }
    porta_counters before, after;
    double t0 = 0.0;
    for (int s = -3; s < steps && !st; s++) { /* 3 warm-up steps: builds, first touch */
        if (s == 0) {
            st = porta_finish(ctx);
            porta_counters_get(ctx, &before);
            t0 = progress_now();
        }
        for (int i = 0; i < n_inputs && !st; i++)
            st = porta_graph_set_input(ctx, g, inputs[i], data[(s + 3) % BATCHES][i], sizes[i] * 4);
        if (!st)
            st = porta_graph_train_step(ctx, g);
    }
    if (!st) {
        porta_counters_get(ctx, &after);
        st = porta_finish(ctx);
    }
    if (!st) {
        r->ms_per_step = (progress_now() - t0) * 1e3 / steps;
        r->syncs_per_step = (double)((after.host_waits - before.host_waits) +
                                     (after.device_reads - before.device_reads)) /
                            steps;
    }
    for (int b = 0; b < BATCHES; b++)
        for (int i = 0; i < 3; i++)
            free(data[b][i]);
    porta_graph_destroy(ctx, g);
    return st;
}

/* Where bench_torch.py is: $PORTA_TORCH_SCRIPT, else ../share/porta/ from
 * this executable's directory (where the install puts it, and where the
 * build tree keeps a copy), into buf. */
static const char *torch_script(char *buf, size_t cap)
{
    const char *env = getenv("PORTA_TORCH_SCRIPT");
    if (env && *env)
        return env;
    char exe[1024];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    snprintf(buf, cap, "%s/../share/porta/bench_torch.py", exe);
    return buf;
}

/* bench_torch.py with python3: its ms per step, or a negative number when
 * the script or torch is not there. */
static double run_torch(const char *workload, int steps, const char *torch_device)
{
    char path[1200];
    const char *script = torch_script(path, sizeof path);
    if (!script)
        return -1.0;
    if (access(script, R_OK) != 0)
        return -1.0;
    char cmd[2048];
    const long threads = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import torch' 2>/dev/null && python3 '%s' --workload %s --steps %d "
             "--threads %ld --device %s 2>/dev/null",
             script, workload, steps, threads > 0 ? threads : 1, torch_device);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1.0;
    char line[512] = "";
    double ms = -1.0;
    while (fgets(line, sizeof line, p)) {
        const char *at = strstr(line, "\"torch_ms_per_step\":");
        if (at)
            ms = strtod(at + strlen("\"torch_ms_per_step\":"), NULL);
    }
    pclose(p);
    return ms;
}

/* One workload's run over the devices. */
typedef struct train_run_of {
    const bench_train_options *o;
    const char *workload;
} train_run_of;

static int bench_device(const char *spec, void *user)
{
    const train_run_of *run = user;
    const bench_train_options *o = run->o;
    const char *workload = run->workload;
    porta_context *ctx = porta_cli_open_device("porta-bench", spec);
    if (!ctx)
        return 1;
    porta_device_info info;
    porta_device_current(ctx, &info);
    workload_result r = {0};
    porta_status st = run_porta(ctx, workload, o->steps, &r);
    if (st) {
        porta_cli_report("porta-bench", ctx, workload, st);
        porta_context_destroy(ctx);
        return 1;
    }
    const double torch_ms = run_torch(workload, o->steps, o->torch_device);
    if (o->json) {
        printf("{\"device\":\"%s\",\"device_name\":\"%s\",\"workload\":\"%s\",\"ms_per_step\":%.3f,"
               "\"host_syncs_per_step\":%.3f",
               info.spec, info.name, workload, r.ms_per_step, r.syncs_per_step);
        if (r.tokens_per_step > 0)
            printf(",\"tokens_per_s\":%.1f", r.tokens_per_step * 1e3 / r.ms_per_step);
        if (torch_ms > 0)
            printf(",\"torch_ms_per_step\":%.3f,\"torch_device\":\"%s\"", torch_ms,
                   o->torch_device);
        else
            printf(",\"torch_ms_per_step\":null");
        printf("}\n");
    } else {
        printf("%-9s %-40.40s %-12s %9.2f ms/step  %5.2f host syncs/step", info.spec, info.name,
               workload, r.ms_per_step, r.syncs_per_step);
        if (r.tokens_per_step > 0)
            printf("  %8.0f tokens/s", r.tokens_per_step * 1e3 / r.ms_per_step);
        if (torch_ms > 0)
            printf("  PyTorch (%s) %.2f ms/step: porta/PyTorch time %.2f", o->torch_device,
                   torch_ms, r.ms_per_step / torch_ms);
        else
            printf("  (no PyTorch: python3 with torch not found)");
        printf("\n");
    }
    fflush(stdout);
    porta_context_destroy(ctx);
    return 0;
}

static const char usage[] =
    "usage: porta-bench train [--workload fashion-cnn|fashion-mlp|gpt-small|all]\n"
    "                         [--device SPEC] [--steps N] [--json] [--torch-device cpu|cuda]\n"
    "  --workload W        the model timed (all)\n"
    "  --device SPEC       only this device (default: every device)\n"
    "  --steps N           training steps timed (10)\n"
    "  --json              one JSON object per workload, device and line\n"
    "  --torch-device D    where PyTorch runs the same model, when python3 has torch (cpu)\n"
    "ms per training step and host syncs per step, beside PyTorch's ms per step\n";

int porta_bench_train(int argc, char **argv)
{
    bench_train_options o = {.workload = "all", .torch_device = "cpu", .steps = 10};
    const char *bad = ""; /* the option a usage error is about */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (porta_cli_is_help(a))
            return porta_cli_help(usage, NULL);
        if (strcmp(a, "--json") == 0) {
            o.json = true;
            continue;
        }
        bad = a;
        if (!v)
            goto usage;
        if (strcmp(a, "--workload") == 0)
            o.workload = v;
        else if (strcmp(a, "--device") == 0)
            o.device = v;
        else if (strcmp(a, "--torch-device") == 0)
            o.torch_device = v;
        else if (strcmp(a, "--steps") == 0 && (o.steps = atoi(v)) > 0)
            ;
        else
            goto usage;
        i++;
    }
    static const char *const all[] = {"fashion-mlp", "fashion-cnn", "gpt-small"};
    int first = 0, last = 2;
    if (strcmp(o.workload, "all") != 0) {
        for (first = 0; first < 3 && strcmp(all[first], o.workload) != 0; first++)
            ;
        if (first == 3)
            return porta_cli_usage_error("porta-bench train", usage, NULL,
                                         "--workload %s: not a workload", o.workload);
        last = first;
    }
    int rc = 0;
    for (int w = first; w <= last; w++) {
        train_run_of run = {&o, all[w]};
        rc |= porta_cli_each_device(o.device, bench_device, &run);
    }
    return rc;
usage:
    return porta_cli_usage_error("porta-bench train", usage, NULL,
                                 "unknown option, missing or bad value: %s", bad);
}
