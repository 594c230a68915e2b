/* bench_gemm.c: porta-bench gemm, GFLOP/s of porta_gemm per device.
 *
 *   porta-bench gemm [--device SPEC] [--json] [--large] [--time S]
 *
 * Points: square NN, NT and TN at 256, 512 and 1024 (2048 too with --large,
 * or on a GPU), and the GEMMs of a small MLP / CNN classifier at batch 64:
 * 784 -> 512 -> 10 forward (NN), its input gradients (NT) and weight
 * gradients (TN), and two skinny weight gradients of convolutions, where k
 * is batch * positions (the split-K path). Variants are "nn", "nt", "tn"
 * (op(A) m x k times op(B) k x n, row-major; a "t" means that operand is
 * stored transposed).
 *
 * Timing: one warm-up call (kernel builds, first touch), then groups of
 * calls each ended by porta_finish (a group is sized to take >= 20 ms),
 * repeated until about --time seconds (default 0.3) have passed; the
 * figure is the MEDIAN group's time per call. GFLOP/s = 2 m n k / time.
 *
 * Comparisons, when the build found them: CLBlast (CLBlastSgemm on the
 * same OpenCL device, see bench_clblast.c; field clblast_gflops) and
 * OpenBLAS (cblas_sgemm on the host CPU with its own threads, for scale;
 * field openblas_gflops, measured once per point). --json: one object per
 * line with device, m, n, k, variant, gflops and those fields. --help (or
 * -h) prints the usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_gemm.h"
#include "cli.h"

#ifdef PORTA_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct gemm_point {
    const char *what;
    bool ta, tb; /* op(A), op(B) transposed */
    size_t m, n, k;
    bool large; /* only with --large (or on a GPU) */
} gemm_point;

static const gemm_point points[] = {
    {"square", false, false, 256, 256, 256, false},
    {"square", false, false, 512, 512, 512, false},
    {"square", false, false, 1024, 1024, 1024, false},
    {"square", false, false, 2048, 2048, 2048, true},
    {"square", false, true, 256, 256, 256, false},
    {"square", false, true, 512, 512, 512, false},
    {"square", false, true, 1024, 1024, 1024, false},
    {"square", true, false, 256, 256, 256, false},
    {"square", true, false, 512, 512, 512, false},
    {"square", true, false, 1024, 1024, 1024, false},
    {"fc1 forward", false, false, 64, 512, 784, false},
    {"fc1 input grad", false, true, 64, 784, 512, false},
    {"fc1 weight grad", true, false, 784, 512, 64, false},
    {"fc2 forward", false, false, 64, 10, 512, false},
    {"fc2 input grad", false, true, 64, 512, 10, false},
    {"fc2 weight grad", true, false, 512, 10, 64, false},
    {"conv1 weight grad", true, false, 32, 9, 50176, false},
    {"conv2 weight grad", true, false, 64, 288, 12544, false},
};
#define N_POINTS (sizeof(points) / sizeof(points[0]))

typedef struct gemm_options {
    const char *device;
    bool json;
    bool large;
    double min_time;
} gemm_options;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *variant_name(const gemm_point *p)
{
    return p->ta ? (p->tb ? "tt" : "tn") : (p->tb ? "nt" : "nn");
}

/* Something to time: run(user) enqueues one call, finish(user) waits. */
typedef struct timed {
    int (*run)(void *user);
    int (*finish)(void *user);
    void *user;
} timed;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per call (see the top of the file); -1 on failure. */
static double time_calls(const timed *t, double min_time)
{
    if (t->run(t->user) || t->finish(t->user))
        return -1.0;
    /* Size a group: double the calls until a group takes >= 20 ms. */
    size_t reps = 1;
    double group = 0.0;
    for (;;) {
        double t0 = now_s();
        for (size_t i = 0; i < reps; i++)
            if (t->run(t->user))
                return -1.0;
        if (t->finish(t->user))
            return -1.0;
        group = now_s() - t0;
        if (group >= 0.02 || reps >= (1u << 16))
            break;
        reps *= 2;
    }
    double samples[64];
    size_t n = 0;
    samples[n++] = group / (double)reps;
    double start = now_s();
    while (n < 64 && (now_s() - start < min_time || n < 3)) {
        double t0 = now_s();
        for (size_t i = 0; i < reps; i++)
            if (t->run(t->user))
                return -1.0;
        if (t->finish(t->user))
            return -1.0;
        samples[n++] = (now_s() - t0) / (double)reps;
    }
    qsort(samples, n, sizeof(double), cmp_double);
    return samples[n / 2];
}

static double gflops_of(const gemm_point *p, double seconds)
{
    return 2.0 * (double)p->m * (double)p->n * (double)p->k / seconds / 1e9;
}

/* ---- porta ---------------------------------------------------------------- */

typedef struct porta_call {
    porta_context *ctx;
    const gemm_point *p;
    porta_buffer *a, *b, *c;
} porta_call;

static int porta_run(void *user)
{
    porta_call *c = user;
    const gemm_point *p = c->p;
    porta_matrix a = porta_matrix_of(porta_view_of(c->a), p->ta ? p->m : p->k);
    porta_matrix b = porta_matrix_of(porta_view_of(c->b), p->tb ? p->k : p->n);
    a.transposed = p->ta;
    b.transposed = p->tb;
    return porta_gemm(c->ctx, p->m, p->n, p->k, 1.0f, a, b, 0.0f,
                      porta_matrix_of(porta_view_of(c->c), p->n), 1) != PORTA_OK;
}

static int porta_wait(void *user)
{
    porta_call *c = user;
    return porta_finish(c->ctx) != PORTA_OK;
}

static porta_status fill_random(porta_context *ctx, porta_buffer *buf, size_t n, unsigned seed)
{
    float *h = malloc(n * sizeof(float));
    if (!h)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        h[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
    }
    porta_status st = porta_buffer_write(ctx, buf, 0, n * sizeof(float), h);
    free(h);
    return st;
}

porta_status bench_gemm_point(porta_context *ctx, bool ta, bool tb, size_t m, size_t n, size_t k,
                              double min_time, double *gflops)
{
    const gemm_point p = {"point", ta, tb, m, n, k, false};
    porta_call c = {ctx, &p, NULL, NULL, NULL};
    porta_status st = porta_buffer_create(ctx, p.m * p.k * sizeof(float), &c.a);
    if (!st)
        st = porta_buffer_create(ctx, p.k * p.n * sizeof(float), &c.b);
    if (!st)
        st = porta_buffer_create(ctx, p.m * p.n * sizeof(float), &c.c);
    if (!st)
        st = fill_random(ctx, c.a, p.m * p.k, 1);
    if (!st)
        st = fill_random(ctx, c.b, p.k * p.n, 2);
    double s = -1.0;
    if (!st) {
        timed t = {porta_run, porta_wait, &c};
        s = time_calls(&t, min_time);
        if (s < 0) /* a call failed: the context's message says why */
            st = PORTA_ERROR_DRIVER;
    }
    porta_buffer_destroy(ctx, c.a);
    porta_buffer_destroy(ctx, c.b);
    porta_buffer_destroy(ctx, c.c);
    *gflops = st ? -1.0 : gflops_of(&p, s);
    return st;
}

/* GFLOP/s of porta_gemm at one point; -1 on failure (reported). */
static double porta_point(porta_context *ctx, const gemm_point *p, double min_time)
{
    double g = -1.0;
    porta_status st = bench_gemm_point(ctx, p->ta, p->tb, p->m, p->n, p->k, min_time, &g);
    if (st)
        porta_cli_report("porta-bench gemm", ctx, "porta_gemm", st);
    return g;
}

/* ---- OpenBLAS ------------------------------------------------------------- */

#ifdef PORTA_HAVE_OPENBLAS
typedef struct blas_call {
    const gemm_point *p;
    float *a, *b, *c;
} blas_call;

static int blas_run(void *user)
{
    blas_call *c = user;
    const gemm_point *p = c->p;
    int lda = (int)(p->ta ? p->m : p->k), ldb = (int)(p->tb ? p->k : p->n);
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans,
                (int)p->m, (int)p->n, (int)p->k, 1.0f, c->a, lda, c->b, ldb, 0.0f, c->c, (int)p->n);
    return 0;
}

static int blas_wait(void *user)
{
    (void)user;
    return 0;
}

static double openblas_point(const gemm_point *p, double min_time)
{
    blas_call c = {p, calloc(p->m * p->k, sizeof(float)), calloc(p->k * p->n, sizeof(float)),
                   calloc(p->m * p->n, sizeof(float))};
    double s = -1.0;
    if (c.a && c.b && c.c) {
        for (size_t i = 0; i < p->m * p->k; i++)
            c.a[i] = (float)(i % 7) * 0.125f;
        for (size_t i = 0; i < p->k * p->n; i++)
            c.b[i] = (float)(i % 5) * 0.25f;
        timed t = {blas_run, blas_wait, &c};
        s = time_calls(&t, min_time);
    }
    free(c.a);
    free(c.b);
    free(c.c);
    return s > 0 ? gflops_of(p, s) : -1.0;
}
#endif

/* ---- one device ------------------------------------------------------------ */

static bool include_point(const gemm_options *o, const porta_device_info *info, const gemm_point *p)
{
    if (!p->large)
        return true;
    return o->large || strcmp(info->type, "cpu") != 0;
}

static void print_point(const gemm_options *o, const porta_device_info *info, const gemm_point *p,
                        double gflops, double clblast, double openblas)
{
    if (o->json) {
        printf("{\"device\": \"%s\", \"name\": \"%s\", \"what\": \"%s\", \"m\": %zu, \"n\": %zu, "
               "\"k\": %zu, \"variant\": \"%s\", \"gflops\": %.3f",
               info->spec, info->name, p->what, p->m, p->n, p->k, variant_name(p), gflops);
        if (clblast > 0)
            printf(", \"clblast_gflops\": %.3f", clblast);
        if (openblas > 0)
            printf(", \"openblas_gflops\": %.3f", openblas);
        printf("}\n");
    } else {
        printf("%-9s %-18s %s %5zu x %5zu x %5zu: %8.2f GFLOP/s", info->spec, p->what,
               variant_name(p), p->m, p->n, p->k, gflops);
        if (clblast > 0)
            printf("  clblast %8.2f", clblast);
        if (openblas > 0)
            printf("  openblas %8.2f", openblas);
        printf("\n");
    }
    fflush(stdout);
}

/* One run over the devices: the options, and OpenBLAS's GFLOP/s per point,
 * measured on the first device and reused for the others. */
typedef struct gemm_run {
    const gemm_options *o;
    double openblas[N_POINTS];
} gemm_run;

static int bench_device(const char *spec, void *user)
{
    gemm_run *run = user;
    const gemm_options *o = run->o;
    double *openblas = run->openblas;
    porta_context *ctx = porta_cli_open_device("porta-bench", spec);
    if (!ctx)
        return 1;
    porta_device_info info;
    porta_device_current(ctx, &info);
#ifdef PORTA_HAVE_CLBLAST
    bench_clblast *cb = NULL;
    if (strcmp(info.api, "opencl") == 0)
        cb = bench_clblast_open(info.index);
#endif
    int rc = 0;
    for (size_t i = 0; i < N_POINTS; i++) {
        const gemm_point *p = &points[i];
        if (!include_point(o, &info, p))
            continue;
        double g = porta_point(ctx, p, o->min_time);
        if (g < 0) {
            rc = 1;
            continue;
        }
        double clblast = -1.0;
#ifdef PORTA_HAVE_CLBLAST
        if (cb && bench_clblast_sgemm(cb, p->ta, p->tb, p->m, p->n, p->k, o->min_time, &clblast))
            clblast = -1.0;
#endif
#ifdef PORTA_HAVE_OPENBLAS
        if (openblas[i] == 0.0)
            openblas[i] = openblas_point(p, o->min_time);
#endif
        print_point(o, &info, p, g, clblast, openblas[i]);
    }
#ifdef PORTA_HAVE_CLBLAST
    bench_clblast_close(cb);
#endif
    porta_context_destroy(ctx);
    return rc;
}

static const char usage[] =
    "usage: porta-bench gemm [--device SPEC] [--json] [--large] [--time S]\n"
    "  --device SPEC       only this device (default: every device)\n"
    "  --json              one JSON object per point and line\n"
    "  --large             also the 2048 x 2048 x 2048 point on CPU devices\n"
    "  --time S            seconds of timing per point (0.3)\n"
    "GFLOP/s of porta_gemm (and CLBlast and OpenBLAS where the build found them)\n";

/* PORTA_CLI_RUN, or the exit status (cli.h). */
static int parse(int argc, char **argv, gemm_options *o)
{
    *o = (gemm_options){.device = NULL, .json = false, .large = false, .min_time = 0.3};
    for (int i = 1; i < argc; i++) {
        if (porta_cli_is_help(argv[i]))
            return porta_cli_help(usage, NULL);
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--large") == 0)
            o->large = true;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            o->device = argv[++i];
        else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc)
            o->min_time = strtod(argv[++i], NULL);
        else
            return porta_cli_usage_error("porta-bench gemm", usage, NULL,
                                         "unknown option or missing value: %s", argv[i]);
    }
    if (!(o->min_time > 0))
        return porta_cli_usage_error("porta-bench gemm", usage, NULL, "--time must be positive");
    return PORTA_CLI_RUN;
}

int porta_bench_gemm(int argc, char **argv)
{
    gemm_options o;
    const int rc = parse(argc, argv, &o);
    if (rc != PORTA_CLI_RUN)
        return rc;
    gemm_run run = {&o, {0}};
    return porta_cli_each_device(o.device, bench_device, &run);
}
