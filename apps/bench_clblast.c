/* bench_clblast.c: CLBlastSgemm timings for porta-bench gemm.
 *
 * Built only when CMake found CLBlast (PORTA_HAVE_CLBLAST). The app, not
 * lib/, talks to OpenCL here: it opens the device porta calls "opencl:N"
 * by listing devices the way porta's OpenCL backend does (every platform
 * in clGetPlatformIDs order, each platform's devices of CL_DEVICE_TYPE_ALL
 * in clGetDeviceIDs order; N counts across all of them) and creates a
 * cl_context and in-order queue of its own on it. Times are wall clock
 * around groups of CLBlastSgemm calls ended by clFinish, after one warm-up
 * call (CLBlast compiles its kernels then); the median group counts.
 */
#define _POSIX_C_SOURCE 200809L
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_gemm.h"

struct bench_clblast {
    cl_context context;
    cl_command_queue queue;
    cl_device_id device;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Device number `index` in porta's numbering; 0 if found. */
static int find_device(unsigned index, cl_device_id *out)
{
    cl_uint np = 0;
    if (clGetPlatformIDs(0, NULL, &np) != CL_SUCCESS || np == 0)
        return -1;
    cl_platform_id *platforms = malloc(np * sizeof(*platforms));
    if (!platforms || clGetPlatformIDs(np, platforms, NULL) != CL_SUCCESS) {
        free(platforms);
        return -1;
    }
    int rc = -1;
    unsigned seen = 0;
    for (cl_uint p = 0; p < np && rc != 0; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS)
            continue;
        cl_device_id *ids = malloc(nd * sizeof(*ids));
        if (ids && clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL) == CL_SUCCESS &&
            index < seen + nd) {
            *out = ids[index - seen];
            rc = 0;
        }
        seen += nd;
        free(ids);
    }
    free(platforms);
    return rc;
}

bench_clblast *bench_clblast_open(unsigned cl_index)
{
    cl_device_id dev;
    if (find_device(cl_index, &dev) != 0) {
        fprintf(stderr, "porta-bench gemm: clblast: no OpenCL device %u\n", cl_index);
        return NULL;
    }
    bench_clblast *b = calloc(1, sizeof(*b));
    cl_int err = CL_OUT_OF_HOST_MEMORY;
    if (b) {
        b->device = dev;
        b->context = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    }
    if (b && err == CL_SUCCESS)
        b->queue = clCreateCommandQueue(b->context, dev, 0, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "porta-bench gemm: clblast: cannot open OpenCL device %u (error %d)\n",
                cl_index, (int)err);
        bench_clblast_close(b);
        return NULL;
    }
    return b;
}

void bench_clblast_close(bench_clblast *b)
{
    if (!b)
        return;
    if (b->queue)
        clReleaseCommandQueue(b->queue);
    if (b->context)
        clReleaseContext(b->context);
    free(b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct sgemm_call {
    bench_clblast *b;
    bool ta, tb;
    size_t m, n, k;
    cl_mem a, bm, c;
} sgemm_call;

static int run(const sgemm_call *s)
{
    cl_command_queue q = s->b->queue;
    CLBlastStatusCode st = CLBlastSgemm(
        CLBlastLayoutRowMajor, s->ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        s->tb ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k, 1.0f, s->a, 0,
        s->ta ? s->m : s->k, s->bm, 0, s->tb ? s->k : s->n, 0.0f, s->c, 0, s->n, &q, NULL);
    if (st != CLBlastSuccess) {
        fprintf(stderr, "porta-bench gemm: CLBlastSgemm failed: status %d\n", (int)st);
        return -1;
    }
    return 0;
}

static double time_sgemm(const sgemm_call *s, double min_time)
{
    if (run(s) || clFinish(s->b->queue) != CL_SUCCESS)
        return -1.0;
    size_t reps = 1;
    double samples[64];
    size_t n = 0;
    double start = now_s();
    for (;;) {
        double t0 = now_s();
        for (size_t i = 0; i < reps; i++)
            if (run(s))
                return -1.0;
        if (clFinish(s->b->queue) != CL_SUCCESS)
            return -1.0;
        double t = now_s() - t0;
        if (t < 0.02 && reps < (1u << 16) && n == 0) {
            reps *= 2;
            start = now_s();
            continue;
        }
        samples[n++] = t / (double)reps;
        if (n == 64 || (n >= 3 && now_s() - start >= min_time))
            break;
    }
    qsort(samples, n, sizeof(double), cmp_double);
    return samples[n / 2];
}

static cl_mem make_buffer(cl_context ctx, size_t n, cl_int *err)
{
    float *h = malloc(n * sizeof(float));
    if (!h) {
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        h[i] = (float)(i % 13) * 0.0625f - 0.375f;
    cl_mem m =
        clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof(float), h, err);
    free(h);
    return m;
}

int bench_clblast_sgemm(bench_clblast *b, bool ta, bool tb, size_t m, size_t n, size_t k,
                        double min_time, double *gflops)
{
    sgemm_call s = {b, ta, tb, m, n, k, NULL, NULL, NULL};
    cl_int err = CL_SUCCESS;
    s.a = make_buffer(b->context, m * k, &err);
    if (err == CL_SUCCESS)
        s.bm = make_buffer(b->context, k * n, &err);
    if (err == CL_SUCCESS)
        s.c = make_buffer(b->context, m * n, &err);
    double t = err == CL_SUCCESS ? time_sgemm(&s, min_time) : -1.0;
    if (err != CL_SUCCESS)
        fprintf(stderr, "porta-bench gemm: clblast: clCreateBuffer failed (error %d)\n", (int)err);
    if (s.a)
        clReleaseMemObject(s.a);
    if (s.bm)
        clReleaseMemObject(s.bm);
    if (s.c)
        clReleaseMemObject(s.c);
    if (t <= 0)
        return -1;
    *gflops = 2.0 * (double)m * (double)n * (double)k / t / 1e9;
    return 0;
}
