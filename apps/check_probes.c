/* check_probes.c: porta-check's performance probes (check_probes.h).
 *
 * Each probe reports a number and fails only when the measurement itself
 * fails (a call returns an error): speed is for the user to judge, not a
 * pass mark. Timings are wall clock around enqueued work ended by
 * porta_finish, the median of several groups, so a busy machine moves the
 * figure less.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_gemm.h"
#include "bench_optimizer.h"
#include "check_probes.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add(device_report *d, const char *name, const char *unit, double value,
                const char *note)
{
    if (d->n_probes >= REPORT_MAX_PROBES)
        return;
    probe_record *p = &d->probes[d->n_probes++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->unit, sizeof(p->unit), "%s", unit);
    p->value = value;
    snprintf(p->note, sizeof(p->note), "%s", note);
}

static void add_failure(device_report *d, porta_context *ctx, const char *name, const char *unit,
                        porta_status st)
{
    char note[256];
    snprintf(note, sizeof(note), "the measurement failed: %s: %s", porta_strerror(st),
             porta_context_message(ctx));
    add(d, name, unit, -1.0, note);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds per call of `call` (repeated `reps` times per group, each group
 * ended by porta_finish): the median of 7 groups after a warm-up group. */
typedef porta_status (*call_fn)(porta_context *ctx, void *user);

static porta_status time_median(porta_context *ctx, call_fn call, void *user, int reps,
                                double *seconds)
{
    double t[7];
    porta_status st = PORTA_OK;
    for (int g = -1; g < 7 && !st; g++) {
        const double t0 = now_s();
        for (int i = 0; i < reps && !st; i++)
            st = call(ctx, user);
        if (!st)
            st = porta_finish(ctx);
        if (g >= 0)
            t[g] = (now_s() - t0) / reps;
    }
    if (!st) {
        qsort(t, 7, sizeof(double), cmp_double);
        *seconds = t[3];
    }
    return st;
}

typedef struct copy_args {
    porta_buffer *a, *b;
    size_t n;
    void *host;
} copy_args;

static porta_status device_copy(porta_context *ctx, void *user)
{
    const copy_args *c = user;
    return porta_vec_copy(ctx, porta_view_of(c->a), porta_view_of(c->b), c->n);
}

static porta_status host_write(porta_context *ctx, void *user)
{
    const copy_args *c = user;
    return porta_buffer_write(ctx, c->a, 0, c->n * sizeof(float), c->host);
}

static porta_status host_read(porta_context *ctx, void *user)
{
    const copy_args *c = user;
    return porta_buffer_read(ctx, c->a, 0, c->n * sizeof(float), c->host);
}

static porta_status tiny_fill(porta_context *ctx, void *user)
{
    const copy_args *c = user;
    return porta_vec_fill(ctx, porta_view_of(c->a), 1, 1.0f);
}

static porta_status fill_and_wait(porta_context *ctx, void *user)
{
    porta_status st = tiny_fill(ctx, user);
    return st ? st : porta_finish(ctx);
}

/* Elements of a streaming buffer: `want`, within the largest allocation. */
static size_t stream_elements(const device_report *d, size_t want)
{
    const size_t most = (size_t)(d->info.max_alloc_bytes / sizeof(float));
    return want < most ? want : most;
}

static void copy_probes(porta_context *ctx, bool quick, device_report *d)
{
    copy_args c = {NULL, NULL, stream_elements(d, quick ? (4u << 20) : (16u << 20)), NULL};
    char note[256];
    double s = 0.0;
    porta_status st = porta_buffer_create(ctx, c.n * sizeof(float), &c.a);
    if (!st)
        st = porta_buffer_create(ctx, c.n * sizeof(float), &c.b);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(c.a), c.n, 0.5f);
    if (!st)
        st = time_median(ctx, device_copy, &c, 4, &s);
    snprintf(note, sizeof(note), "porta_vec_copy of %zu MiB: bytes read + written per second",
             c.n * sizeof(float) >> 20);
    if (st)
        add_failure(d, ctx, "copy_bandwidth", "GB/s", st);
    else
        add(d, "copy_bandwidth", "GB/s", 2.0 * (double)(c.n * sizeof(float)) / s / 1e9, note);
    c.host = calloc(c.n, sizeof(float));
    st = st ? st : c.host ? PORTA_OK : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = time_median(ctx, host_write, &c, 2, &s);
    snprintf(note, sizeof(note), "porta_buffer_write of %zu MiB, then a wait",
             c.n * sizeof(float) >> 20);
    if (st)
        add_failure(d, ctx, "host_to_device", "GB/s", st);
    else
        add(d, "host_to_device", "GB/s", (double)(c.n * sizeof(float)) / s / 1e9, note);
    if (!st)
        st = time_median(ctx, host_read, &c, 2, &s);
    snprintf(note, sizeof(note), "porta_buffer_read of %zu MiB", c.n * sizeof(float) >> 20);
    if (st)
        add_failure(d, ctx, "device_to_host", "GB/s", st);
    else
        add(d, "device_to_host", "GB/s", (double)(c.n * sizeof(float)) / s / 1e9, note);
    if (!st)
        st = time_median(ctx, tiny_fill, &c, quick ? 200 : 1000, &s);
    if (st)
        add_failure(d, ctx, "dispatch_latency", "us", st);
    else
        add(d, "dispatch_latency", "us", s * 1e6,
            "a one-element porta_vec_fill, many enqueued back to back: time per dispatch");
    if (!st)
        st = time_median(ctx, fill_and_wait, &c, quick ? 20 : 100, &s);
    if (st)
        add_failure(d, ctx, "round_trip_latency", "us", st);
    else
        add(d, "round_trip_latency", "us", s * 1e6,
            "a one-element porta_vec_fill and porta_finish: time from enqueue to the host "
            "knowing it is done");
    free(c.host);
    porta_buffer_destroy(ctx, c.a);
    porta_buffer_destroy(ctx, c.b);
}

static void gemm_probes(porta_context *ctx, bool quick, device_report *d)
{
    static const struct {
        const char *what;
        bool ta, tb, full_only;
        size_t m, n, k;
    } shapes[] = {
        {"square", false, false, false, 256, 256, 256},
        {"square", false, true, false, 512, 512, 512},
        {"square", false, false, true, 1024, 1024, 1024},
        {"an MLP layer's forward pass", false, false, false, 64, 512, 784},
        {"its weight gradient", true, false, false, 784, 512, 64},
        {"a convolution's weight gradient (split-K)", true, false, false, 32, 9, 50176},
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (quick && shapes[i].full_only)
            continue;
        char name[64], note[256];
        snprintf(name, sizeof(name), "gemm_%zux%zux%zu_%c%c", shapes[i].m, shapes[i].n, shapes[i].k,
                 shapes[i].ta ? 't' : 'n', shapes[i].tb ? 't' : 'n');
        snprintf(note, sizeof(note), "porta_gemm, %s: 2 m n k flops per second, median group",
                 shapes[i].what);
        double g = -1.0;
        porta_status st = bench_gemm_point(ctx, shapes[i].ta, shapes[i].tb, shapes[i].m,
                                           shapes[i].n, shapes[i].k, quick ? 0.1 : 0.3, &g);
        if (st)
            add_failure(d, ctx, name, "GFLOP/s", st);
        else
            add(d, name, "GFLOP/s", g, note);
    }
}

static void optimizer_probe(porta_context *ctx, bool quick, device_report *d)
{
    const size_t n = stream_elements(d, quick ? (1u << 20) : (4u << 20));
    bench_optimizer_result r;
    porta_status st = bench_optimizer_step_and_stream(ctx, n, 21, &r);
    if (st) {
        add_failure(d, ctx, "optimizer_roofline_ratio", "ratio", st);
        return;
    }
    char note[256];
    const double bytes = 28.0 * (double)n;
    snprintf(note, sizeof(note), "fused AdamW + GreedyLR step over %zu parameters, 28 bytes each",
             n);
    add(d, "optimizer_step", "ms", r.ms_per_step, note);
    add(d, "optimizer_bandwidth", "GB/s", bytes / (r.ms_per_step * 1e-3) / 1e9, note);
    add(d, "stream_bandwidth", "GB/s", bytes / (r.stream_ms * 1e-3) / 1e9,
        "porta_vec_stream moving the same bytes, its fastest layout (the roofline)");
    add(d, "optimizer_roofline_ratio", "ratio", r.stream_ms / r.ms_per_step,
        "the step's bandwidth over the stream's, the median of 21 rounds (porta-bench optimizer)");
}

void check_probes_run(porta_context *ctx, bool quick, device_report *d)
{
    copy_probes(ctx, quick, d);
    gemm_probes(ctx, quick, d);
    optimizer_probe(ctx, quick, d);
}
