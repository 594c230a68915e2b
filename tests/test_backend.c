/* test_backend: the backend contract (backends/backend.h) on every device.
 *
 * Below lib/: every device of both APIs is enumerated and opened directly
 * (porta_opencl_open / porta_vulkan_open) and driven through its vtable with
 * the generated kernels of porta_kernels.h. On each device, top to bottom:
 * caps, the kernel cache, exact axpy results with the zero-wait counters,
 * empty dispatches, fills and copies with range errors, a chain of
 * dependent dispatches ordered by barriers, a write after a dispatch that
 * reads the same buffer, a stretch of work that never blocks (with an
 * automatic submit and a buffer freed while in use), more submissions than
 * the staging ring holds, 100 MiB transfers, limits, build failures with
 * their log, timestamps, wait(), destroy with work and buffers left over,
 * and the on-disk caches across two opens. Vulkan devices run with
 * validation (synchronisation validation included, except under
 * AddressSanitizer) and must end with zero validation messages; the one
 * check that provokes them on purpose (a pipeline the layer rejects) opens
 * the device a separate time, and so does an open without the layer.
 *
 * Caches go to $PORTA_CACHE_DIR/backend-test-<pid> (removed at the end);
 * $PORTA_TEST_DEVICE selects devices as in the harness.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "backend.h"
#include "porta_kernels.h"

/* More than the Vulkan backend records in one batch (VKB_MAX_BATCH_DISPATCHES
 * = 4096), so recording must submit a batch by itself. */
#define MANY_DISPATCHES 5000
/* Three times the Vulkan backend's ring of batches in flight (VKB_RING = 8). */
#define RING_STEPS 24
/* More than a Vulkan staging piece (32 MiB); two of them are more than one
 * batch may stage (128 MiB). */
#define BIG_BYTES ((size_t)100 << 20)
/* A timestamp slot that no check writes. */
#define UNWRITTEN_SLOT 40
/* Grid-stride kernels: more groups than this add nothing. */
#define MAX_GROUPS 1024u

/* One device under test. */
typedef struct dev {
    test_state *t;
    porta_device_caps listed; /* as enumerate reported it */
    char spec[32];            /* "opencl:0" */
    char dir[3000];           /* this device's cache directories go here */
    porta_msg msg;            /* the backend's message buffer */
    porta_backend b;
} dev;

/* A built kernel and the local size it was built for. */
typedef struct kernel {
    porta_bkernel *k;
    uint32_t local_size;
} kernel;

/* ---- helpers ------------------------------------------------------------ */

#define CHECK_CALL(d, call) check_call((d), (call), #call, __LINE__)

/* Check that a backend call succeeded; on failure report its message. */
static int check_call(dev *d, porta_status st, const char *call, int line)
{
    test_check(d->t, st == PORTA_OK, __FILE__, line, "%s: %s: %s: %s", d->spec, call,
               porta_strerror(st), d->msg.text);
    return st == PORTA_OK;
}

/* Check that a call fails with `want` and says why (the message is
 * cleared before the call). */
#define CHECK_REFUSED(d, call, want, what)                                                         \
    ((d)->msg.text[0] = '\0', check_refused((d), (call), (want), (what), __LINE__))

static void check_refused(dev *d, porta_status st, porta_status want, const char *what, int line)
{
    test_check(d->t, st == want && d->msg.text[0] != '\0', __FILE__, line,
               "%s: %s gave %s (want %s): %s", d->spec, what, porta_strerror(st),
               porta_strerror(want), d->msg.text);
}

static int open_device(dev *d, const char *cache_dir, int keep_source)
{
    porta_backend_options opt = {.cache_dir = cache_dir, .validate = 1, .keep_source = keep_source};
    memset(&d->b, 0, sizeof(d->b));
    d->b.msg = &d->msg;
    d->msg.text[0] = '\0';
    porta_status st = d->listed.api == PORTA_API_OPENCL
                          ? porta_opencl_open(d->listed.index, &opt, &d->b)
                          : porta_vulkan_open(d->listed.index, &opt, &d->b);
    return CHECK_CALL(d, st);
}

/* Destroy, then check that the validation layer (Vulkan) said nothing. */
static void close_device(dev *d)
{
    d->b.ops->destroy(&d->b);
    CHECK(d->t, d->b.counters.validation_messages == 0, "%s: %llu validation messages:\n%s",
          d->spec, (unsigned long long)d->b.counters.validation_messages, d->msg.text);
}

static porta_bbuffer *alloc(dev *d, size_t bytes)
{
    porta_bbuffer *buf = NULL;
    CHECK_CALL(d, d->b.ops->buffer_alloc(&d->b, bytes, &buf));
    return buf;
}

static kernel get_kernel(dev *d, const porta_kernel_desc *desc, uint32_t local_size)
{
    kernel k = {NULL, local_size};
    porta_kernel_variant variant = {.local_size = local_size};
    CHECK_CALL(d, d->b.ops->kernel_get(&d->b, desc, &variant, &k.k));
    return k;
}

static uint32_t groups_for(const kernel *k, uint32_t n)
{
    uint32_t groups = (n + k->local_size - 1) / k->local_size;
    return groups == 0 ? 1 : groups > MAX_GROUPS ? MAX_GROUPS : groups;
}

/* Enqueue a 1-D dispatch of `groups` workgroups. */
static int dispatch(dev *d, const kernel *k, uint32_t groups, porta_bbuffer *const *bufs,
                    const void *params)
{
    const uint32_t grid[3] = {groups, 1, 1};
    return CHECK_CALL(d, d->b.ops->dispatch(&d->b, k->k, grid, bufs, params));
}

/* y[i] += alpha * x[i] for i < n. */
static int enqueue_axpy(dev *d, const kernel *k, porta_bbuffer *x, porta_bbuffer *y, uint32_t n,
                        float alpha)
{
    porta_params_axpy p = {.n = n, .alpha = alpha};
    porta_bbuffer *bufs[2] = {x, y};
    return dispatch(d, k, groups_for(k, n), bufs, &p);
}

/* Dyadic inputs: every axpy result is exact, so comparisons are bitwise. */
static float x_value(size_t i)
{
    return (float)(i % 1000) * 0.25f - 100.0f;
}

static float y_value(size_t i)
{
    return (float)(i % 37);
}

static float *host_floats(size_t n)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    return p;
}

/* Count the elements of got[0, n) that differ from want[]; report the first. */
static size_t count_mismatches(dev *d, const char *what, const float *got, const float *want,
                               size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &want[i], sizeof(float)) == 0)
            continue;
        if (bad++ == 0)
            CHECK(d->t, 0, "%s: %s: [%zu] = %.9g, want %.9g", d->spec, what, i, got[i], want[i]);
    }
    return bad;
}

/* Read bytes from offset 0: exactly one host wait and one device read,
 * however many pieces the backend copies them in. */
static int read_counted(dev *d, porta_bbuffer *buf, size_t bytes, void *dst)
{
    porta_backend_counters before = d->b.counters;
    if (!CHECK_CALL(d, d->b.ops->buffer_read(&d->b, buf, 0, bytes, dst)))
        return 0;
    const porta_backend_counters *c = &d->b.counters;
    CHECK(d->t,
          c->host_waits == before.host_waits + 1 && c->device_reads == before.device_reads + 1,
          "%s: a read of %zu bytes counted %llu host waits and %llu device reads", d->spec, bytes,
          (unsigned long long)(c->host_waits - before.host_waits),
          (unsigned long long)(c->device_reads - before.device_reads));
    return 1;
}

/* ---- caps and kernels ---------------------------------------------------- */

/* open() fills the caps that count; they describe the device enumerate
 * listed. Only open can probe timestamps, so that period may drop to 0. */
static void check_caps(dev *d)
{
    const porta_device_caps *c = &d->b.caps, *l = &d->listed;
    CHECK(d->t, c->api == l->api && c->index == l->index, "%s: open reports api %d index %u",
          d->spec, (int)c->api, c->index);
    CHECK(d->t, strcmp(c->name, l->name) == 0 && strcmp(c->cache_key, l->cache_key) == 0,
          "%s: open describes another device: %s / %s", d->spec, c->name, c->cache_key);
    CHECK(d->t, c->max_alloc_bytes == l->max_alloc_bytes && c->max_alloc_bytes > 0,
          "%s: max_alloc_bytes %llu after open, %llu listed", d->spec,
          (unsigned long long)c->max_alloc_bytes, (unsigned long long)l->max_alloc_bytes);
    CHECK(d->t, c->max_workgroup_size >= 256, "%s: max_workgroup_size %u (the checks use 256)",
          d->spec, c->max_workgroup_size);
    CHECK(d->t, c->max_push_bytes >= 128, "%s: max_push_bytes %u", d->spec, c->max_push_bytes);
    CHECK(d->t, c->timestamp_period_ns >= 0 && c->timestamp_period_ns <= l->timestamp_period_ns,
          "%s: timestamp period %g after open, %g listed", d->spec, c->timestamp_period_ns,
          l->timestamp_period_ns);
    if (c->timestamp_period_ns == 0 && l->timestamp_period_ns > 0)
        printf("  %s: no usable timestamps (listed with a %g ns period; open's probe found "
               "none)\n",
               d->spec, l->timestamp_period_ns);
}

/* One kernel per (desc pointer, variant), built once. */
static void check_kernel_cache(dev *d)
{
    kernel a = get_kernel(d, &porta_kernel_desc_axpy, 64);
    kernel again = get_kernel(d, &porta_kernel_desc_axpy, 64);
    kernel wider = get_kernel(d, &porta_kernel_desc_axpy, 128);
    kernel other = get_kernel(d, &porta_kernel_desc_scale, 64);
    CHECK(d->t, a.k && a.k == again.k, "%s: kernel_get built (axpy, 64) twice", d->spec);
    CHECK(d->t, wider.k != a.k && other.k != a.k, "%s: kernel_get mixed up variants or descs",
          d->spec);
}

/* ---- dispatch results and counters -------------------------------------- */

typedef struct axpy_case {
    uint32_t local_size, n, x_off, y_off;
} axpy_case;

/* y += 1.5 x twice (barrier between), with the offsets of the params. The
 * host waits zero times until the read, which counts one wait and one read. */
static void check_axpy_case(dev *d, const axpy_case *c)
{
    porta_backend *b = &d->b;
    const float alpha = 1.5f;
    size_t nx = (size_t)c->x_off + c->n, ny = (size_t)c->y_off + c->n;
    float *x = host_floats(nx), *y = host_floats(ny), *want = host_floats(ny);
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, c->local_size);
    porta_bbuffer *bx = alloc(d, nx * sizeof(float)), *by = alloc(d, ny * sizeof(float));
    for (size_t i = 0; i < nx; i++)
        x[i] = x_value(i);
    for (size_t i = 0; i < ny; i++) {
        y[i] = want[i] = y_value(i);
        if (i >= c->y_off) {
            float xi = x_value(i - c->y_off + c->x_off);
            want[i] += alpha * xi;
            want[i] += alpha * xi;
        }
    }
    porta_backend_counters before = b->counters;
    if (k.k && bx && by && CHECK_CALL(d, b->ops->buffer_write(b, bx, 0, nx * sizeof(float), x)) &&
        CHECK_CALL(d, b->ops->buffer_write(b, by, 0, ny * sizeof(float), y))) {
        memset(x, 0xff, nx * sizeof(float)); /* the source may be reused at once */
        porta_params_axpy p = {.n = c->n, .x_off = c->x_off, .y_off = c->y_off, .alpha = alpha};
        porta_bbuffer *bufs[2] = {bx, by};
        dispatch(d, &k, groups_for(&k, c->n), bufs, &p);
        CHECK_CALL(d, b->ops->barrier(b));
        dispatch(d, &k, groups_for(&k, c->n), bufs, &p);
        CHECK_CALL(d, b->ops->submit(b));
        porta_backend_counters after = b->counters;
        CHECK(d->t, after.host_waits == before.host_waits, "%s: host waited during the enqueue",
              d->spec);
        CHECK(d->t, after.device_reads == before.device_reads, "%s: a device read was counted",
              d->spec);
        CHECK(d->t, after.dispatches == before.dispatches + 2,
              "%s: %llu dispatches counted, 2 made", d->spec,
              (unsigned long long)(after.dispatches - before.dispatches));
        CHECK(d->t, after.submits >= before.submits + 1, "%s: submit not counted", d->spec);
        char what[96];
        snprintf(what, sizeof(what), "axpy local %u n %u offsets %u/%u", c->local_size, c->n,
                 c->x_off, c->y_off);
        if (read_counted(d, by, ny * sizeof(float), y))
            count_mismatches(d, what, y, want, ny);
    }
    b->ops->buffer_free(b, bx);
    b->ops->buffer_free(b, by);
    free(x);
    free(y);
    free(want);
}

static void check_axpy(dev *d)
{
    static const axpy_case cases[] = {
        {64, 1, 0, 0},  {64, 7, 0, 0},        {64, 1000003, 0, 0}, {256, 1, 0, 0},
        {256, 7, 0, 0}, {256, 1000003, 0, 0}, {64, 1000, 17, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_axpy_case(d, &cases[i]);
}

/* Any group count 0 is an empty dispatch: OK, not counted, runs nothing. */
static void check_empty_dispatch(dev *d)
{
    enum { N = 256 };
    porta_backend *b = &d->b;
    static const uint32_t grids[3][3] = {{0, 1, 1}, {4, 0, 1}, {4, 1, 0}};
    kernel k = get_kernel(d, &porta_kernel_desc_fill, 64);
    porta_bbuffer *y = alloc(d, N * sizeof(float));
    float got[N], zero[N] = {0};
    if (k.k && y && CHECK_CALL(d, b->ops->buffer_fill(b, y, 0, sizeof(got), 0))) {
        porta_params_fill p = {.n = N, .value = 7.0f};
        uint64_t dispatches = b->counters.dispatches;
        for (int i = 0; i < 3; i++)
            CHECK_CALL(d, b->ops->dispatch(b, k.k, grids[i], &y, &p));
        CHECK(d->t, b->counters.dispatches == dispatches, "%s: empty dispatches were counted",
              d->spec);
        CHECK_CALL(d, b->ops->buffer_read(b, y, 0, sizeof(got), got));
        count_mismatches(d, "after empty dispatches", got, zero, N);
    }
    b->ops->buffer_free(b, y);
}

/* ---- transfers ------------------------------------------------------------ */

static void check_range_errors(dev *d, porta_bbuffer *s, porta_bbuffer *t, size_t bytes)
{
    porta_backend *b = &d->b;
    uint32_t word[2] = {0, 0};
    CHECK_REFUSED(d, b->ops->buffer_write(b, s, bytes - 4, 8, word), PORTA_ERROR_INVALID_ARGUMENT,
                  "write past the end");
    CHECK_REFUSED(d, b->ops->buffer_read(b, s, bytes - 4, 8, word), PORTA_ERROR_INVALID_ARGUMENT,
                  "read past the end");
    CHECK_REFUSED(d, b->ops->buffer_fill(b, s, 2, 8, 0), PORTA_ERROR_INVALID_ARGUMENT,
                  "fill at an unaligned offset");
    CHECK_REFUSED(d, b->ops->buffer_fill(b, s, 0, 6, 0), PORTA_ERROR_INVALID_ARGUMENT,
                  "fill of an unaligned size");
    CHECK_REFUSED(d, b->ops->buffer_copy(b, s, 0, s, 8, 16), PORTA_ERROR_INVALID_ARGUMENT,
                  "overlapping copy");
    CHECK_REFUSED(d, b->ops->buffer_copy(b, s, 8, t, 0, bytes), PORTA_ERROR_INVALID_ARGUMENT,
                  "copy past the end");
}

/* Fills (whole and partial) and a copy between offsets, in stream order. */
static void check_fill_copy(dev *d)
{
    enum { N = 300000 };
    porta_backend *b = &d->b;
    porta_bbuffer *s = alloc(d, N * 4), *t = alloc(d, N * 4);
    uint32_t *got = malloc(N * 4);
    if (got && s && t && CHECK_CALL(d, b->ops->buffer_fill(b, s, 0, N * 4, 0xdeadbeefu)) &&
        CHECK_CALL(d, b->ops->buffer_fill(b, s, 400, 800, 0x01020304u)) &&
        CHECK_CALL(d, b->ops->buffer_fill(b, t, 0, N * 4, 0)) &&
        CHECK_CALL(d, b->ops->buffer_copy(b, s, 0, t, 4000, (N - 1000) * 4)) &&
        CHECK_CALL(d, b->ops->buffer_read(b, t, 0, N * 4, got))) {
        size_t bad = 0;
        for (size_t i = 0; i < N; i++) {
            uint32_t want = 0;
            if (i >= 1000)
                want = i - 1000 >= 100 && i - 1000 < 300 ? 0x01020304u : 0xdeadbeefu;
            bad += got[i] != want;
        }
        CHECK(d->t, bad == 0, "%s: fill/copy: %zu words wrong", d->spec, bad);
        check_range_errors(d, s, t, N * 4);
    }
    b->ops->buffer_free(b, s);
    b->ops->buffer_free(b, t);
    free(got);
}

/* A dispatch that reads B is enqueued, then B is overwritten: the dispatch
 * must see the old B. Sizes and alignment pick the write path (Vulkan:
 * inline update, staged copy, unaligned staged copy). */
static void check_write_after_dispatch_case(dev *d, uint32_t n, size_t extra)
{
    porta_backend *b = &d->b;
    float *old_b = host_floats(n + 1), *new_b = host_floats(n + 1), *got = host_floats(n);
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, 64);
    porta_bbuffer *bb = alloc(d, n * sizeof(float) + 4), *bc = alloc(d, n * sizeof(float));
    for (uint32_t i = 0; i <= n; i++) {
        old_b[i] = x_value(i);
        new_b[i] = -7.0f;
    }
    if (k.k && bb && bc &&
        CHECK_CALL(d, b->ops->buffer_write(b, bb, 0, n * sizeof(float), old_b)) &&
        CHECK_CALL(d, b->ops->buffer_fill(b, bc, 0, n * sizeof(float), 0)) &&
        enqueue_axpy(d, &k, bb, bc, n, 1.0f) && /* c = old b */
        CHECK_CALL(d, b->ops->buffer_write(b, bb, 0, n * sizeof(float) + extra, new_b)) &&
        CHECK_CALL(d, b->ops->buffer_read(b, bc, 0, n * sizeof(float), got))) {
        char what[64];
        snprintf(what, sizeof(what), "write after dispatch, n %u + %zu bytes", n, extra);
        if (count_mismatches(d, what, got, old_b, n) == 0 &&
            CHECK_CALL(d, b->ops->buffer_read(b, bb, 0, n * sizeof(float), got)))
            count_mismatches(d, what, got, new_b, n);
    }
    b->ops->buffer_free(b, bb);
    b->ops->buffer_free(b, bc);
    free(old_b);
    free(new_b);
    free(got);
}

static void check_write_after_dispatch(dev *d)
{
    check_write_after_dispatch_case(d, 1000, 0);   /* small and aligned */
    check_write_after_dispatch_case(d, 100000, 0); /* large */
    check_write_after_dispatch_case(d, 1000, 2);   /* unaligned size */
}

/* 100 MiB transfers: more than a staging piece, two of them more than a
 * batch stages (the Vulkan backend then submits by itself). */
static void check_big_transfers(dev *d)
{
    porta_backend *b = &d->b;
    size_t bytes = BIG_BYTES < b->caps.max_alloc_bytes ? BIG_BYTES : b->caps.max_alloc_bytes;
    size_t words = bytes / 4;
    bytes = words * 4;
    uint32_t *p1 = malloc(bytes), *p2 = malloc(bytes), *got = malloc(bytes);
    porta_bbuffer *s = alloc(d, bytes), *t = alloc(d, bytes);
    for (size_t i = 0; p1 && p2 && i < words; i++) {
        p1[i] = (uint32_t)i * 2654435761u;
        p2[i] = ~(uint32_t)i;
    }
    uint64_t submits = b->counters.submits;
    if (p1 && p2 && got && s && t &&
        CHECK_CALL(d, b->ops->buffer_fill(b, t, 0, bytes, 0)) && /* the writes are not first */
        CHECK_CALL(d, b->ops->buffer_write(b, s, 0, bytes, p1)) &&
        CHECK_CALL(d, b->ops->buffer_write(b, t, 0, bytes, p2))) {
        if (b->caps.api == PORTA_API_VULKAN && bytes == BIG_BYTES)
            CHECK(d->t, b->counters.submits > submits,
                  "%s: %zu MiB staged twice without an automatic submit", d->spec, bytes >> 20);
        size_t half = words / 2 * 4;
        if (CHECK_CALL(d, b->ops->buffer_copy(b, s, 4096, t, 8192, half)) &&
            read_counted(d, t, bytes, got)) {
            size_t bad = 0;
            for (size_t i = 0; i < words; i++) {
                int copied = i >= 2048 && i < 2048 + half / 4;
                bad += got[i] != (copied ? p1[i - 1024] : p2[i]);
            }
            CHECK(d->t, bad == 0, "%s: big transfers: %zu words wrong", d->spec, bad);
        }
    }
    b->ops->buffer_free(b, s);
    b->ops->buffer_free(b, t);
    free(p1);
    free(p2);
    free(got);
}

/* ---- ordering and synchronisation ---------------------------------------- */

static void check_floats_equal(dev *d, porta_bbuffer *buf, uint32_t n, float value,
                               const char *what)
{
    float *got = host_floats(n), *want = host_floats(n);
    for (uint32_t i = 0; i < n; i++)
        want[i] = value;
    if (CHECK_CALL(d, d->b.ops->buffer_read(&d->b, buf, 0, n * sizeof(float), got)))
        count_mismatches(d, what, got, want, n);
    free(got);
    free(want);
}

/* Every dispatch reads what the one before wrote, with barrier() between:
 * fill, 8 x axpy, copy, scale in place, and the two passes of a sum. */
static void check_dispatch_chain(dev *d)
{
    enum { N = 100000, STEPS = 8, GROUPS = 64 };
    porta_backend *b = &d->b;
    kernel fill = get_kernel(d, &porta_kernel_desc_fill, 64);
    kernel axpy = get_kernel(d, &porta_kernel_desc_axpy, 64);
    kernel copy = get_kernel(d, &porta_kernel_desc_copy, 64);
    kernel scale = get_kernel(d, &porta_kernel_desc_scale, 64);
    kernel sum = get_kernel(d, &porta_kernel_desc_reduce_sum, 64);
    porta_bbuffer *x = alloc(d, N * 4), *y = alloc(d, N * 4), *z = alloc(d, N * 4);
    porta_bbuffer *sums = alloc(d, (GROUPS + 1) * 4);
    if (!fill.k || !axpy.k || !copy.k || !scale.k || !sum.k || !x || !y || !z || !sums)
        goto out;
    uint64_t dispatches = b->counters.dispatches;
    int ok = dispatch(d, &fill, 16, &x, &(porta_params_fill){.n = N, .value = 1.0f}) &&
             dispatch(d, &fill, 16, &y, &(porta_params_fill){.n = N, .value = 0.5f}) &&
             CHECK_CALL(d, b->ops->barrier(b));
    for (int s = 0; s < STEPS && ok; s++)
        ok = enqueue_axpy(d, &axpy, x, y, N, 1.0f) && CHECK_CALL(d, b->ops->barrier(b));
    ok = ok && dispatch(d, &copy, 32, (porta_bbuffer *[]){y, z}, &(porta_params_copy){.n = N}) &&
         CHECK_CALL(d, b->ops->barrier(b)) &&
         dispatch(d, &scale, 32, (porta_bbuffer *[]){z, z},
                  &(porta_params_scale){.n = N, .alpha = 2.0f}) &&
         CHECK_CALL(d, b->ops->barrier(b)) &&
         dispatch(d, &sum, GROUPS, (porta_bbuffer *[]){z, sums},
                  &(porta_params_reduce_sum){.n = N}) &&
         CHECK_CALL(d, b->ops->barrier(b)) &&
         dispatch(d, &sum, 1, (porta_bbuffer *[]){sums, sums},
                  &(porta_params_reduce_sum){.n = GROUPS, .sums_off = GROUPS});
    if (!ok)
        goto out;
    CHECK(d->t, b->counters.dispatches == dispatches + STEPS + 6, "%s: dispatch count %llu",
          d->spec, (unsigned long long)(b->counters.dispatches - dispatches));
    float total = 0;
    if (CHECK_CALL(d, b->ops->buffer_read(b, sums, GROUPS * 4, 4, &total)))
        CHECK(d->t, total == 17.0f * N, "%s: dispatch chain: sum %.9g, want %.9g", d->spec, total,
              17.0f * N);
    check_floats_equal(d, y, N, 0.5f + STEPS, "dispatch chain y");
    check_floats_equal(d, z, N, 2.0f * (0.5f + STEPS), "dispatch chain z");
out:
    b->ops->buffer_free(b, x);
    b->ops->buffer_free(b, y);
    b->ops->buffer_free(b, z);
    b->ops->buffer_free(b, sums);
}

/* Writes, dispatches and submits with no host synchronisation: more
 * dispatches than one batch holds, and a buffer freed while in use. */
static void check_zero_sync_stretch(dev *d)
{
    enum { N = 100000, STEPS = 40 };
    porta_backend *b = &d->b;
    float *x = host_floats(N);
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, 64);
    porta_bbuffer *bx = alloc(d, N * 4), *by = alloc(d, N * 4), *tmp = alloc(d, 64);
    if (!k.k || !bx || !by || !tmp || !CHECK_CALL(d, b->ops->buffer_fill(b, by, 0, N * 4, 0)) ||
        !CHECK_CALL(d, b->ops->wait(b)))
        goto out;
    porta_backend_counters before = b->counters;
    uint64_t explicit_submits = 0;
    int ok = 1;
    for (int s = 0; s < STEPS && ok; s++) {
        for (uint32_t i = 0; i < N; i++)
            x[i] = (float)s;
        ok = CHECK_CALL(d, b->ops->buffer_write(b, bx, 0, N * 4, x)) &&
             enqueue_axpy(d, &k, bx, by, N, 1.0f);
        if (ok && s % 10 == 9) {
            ok = CHECK_CALL(d, b->ops->submit(b));
            explicit_submits++;
        }
    }
    for (int s = 0; s < MANY_DISPATCHES && ok; s++)
        ok = enqueue_axpy(d, &k, tmp, tmp, 1, 0.0f) && CHECK_CALL(d, b->ops->barrier(b));
    b->ops->buffer_free(b, tmp); /* still in use: released once the work is done */
    tmp = NULL;
    if (!ok || !CHECK_CALL(d, b->ops->submit(b)))
        goto out;
    explicit_submits++;
    porta_backend_counters after = b->counters;
    CHECK(d->t, after.host_waits == before.host_waits && after.device_reads == before.device_reads,
          "%s: the stretch synchronised: host waits +%llu, device reads +%llu", d->spec,
          (unsigned long long)(after.host_waits - before.host_waits),
          (unsigned long long)(after.device_reads - before.device_reads));
    CHECK(d->t, after.dispatches == before.dispatches + STEPS + MANY_DISPATCHES,
          "%s: %llu dispatches counted", d->spec,
          (unsigned long long)(after.dispatches - before.dispatches));
    uint64_t submits = after.submits - before.submits;
    CHECK(d->t, submits >= explicit_submits, "%s: %llu submits counted, %llu made", d->spec,
          (unsigned long long)submits, (unsigned long long)explicit_submits);
    if (b->caps.api == PORTA_API_VULKAN)
        CHECK(d->t, submits > explicit_submits, "%s: %d dispatches without an automatic submit",
              d->spec, MANY_DISPATCHES);
    check_floats_equal(d, by, N, (float)(STEPS * (STEPS - 1) / 2), "zero-sync stretch");
out:
    b->ops->buffer_free(b, bx);
    b->ops->buffer_free(b, by);
    b->ops->buffer_free(b, tmp);
    free(x);
}

/* More submissions than the Vulkan ring holds, each with staged data:
 * recording then waits for the oldest batch and reuses its staging memory. */
static void check_staging_ring(dev *d)
{
    enum { N = 200000 };
    porta_backend *b = &d->b;
    float *x = host_floats(N), *got = host_floats(N), *want = host_floats(N);
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, 64);
    porta_bbuffer *bx = alloc(d, N * 4), *by = alloc(d, N * 4);
    int ok = k.k && bx && by && CHECK_CALL(d, b->ops->buffer_fill(b, by, 0, N * 4, 0));
    for (int s = 1; s <= RING_STEPS && ok; s++) {
        for (uint32_t i = 0; i < N; i++)
            x[i] = (float)(s * (int)(i % 3));
        ok = CHECK_CALL(d, b->ops->buffer_write(b, bx, 0, N * 4, x)) &&
             enqueue_axpy(d, &k, bx, by, N, 1.0f) && CHECK_CALL(d, b->ops->submit(b));
    }
    if (ok && CHECK_CALL(d, b->ops->buffer_read(b, by, 0, N * 4, got))) {
        for (uint32_t i = 0; i < N; i++)
            want[i] = (float)(RING_STEPS * (RING_STEPS + 1) / 2 * (int)(i % 3));
        count_mismatches(d, "staging ring", got, want, N);
    }
    b->ops->buffer_free(b, bx);
    b->ops->buffer_free(b, by);
    free(x);
    free(got);
    free(want);
}

/* wait() blocks once, with or without work enqueued. */
static void check_wait(dev *d)
{
    porta_backend *b = &d->b;
    kernel k = get_kernel(d, &porta_kernel_desc_fill, 64);
    porta_bbuffer *y = alloc(d, 4096);
    if (k.k && y && dispatch(d, &k, 4, &y, &(porta_params_fill){.n = 1024, .value = 3.0f})) {
        uint64_t waits = b->counters.host_waits;
        CHECK_CALL(d, b->ops->wait(b));
        CHECK_CALL(d, b->ops->wait(b)); /* nothing left to wait for */
        CHECK(d->t, b->counters.host_waits == waits + 2, "%s: two waits counted %llu host waits",
              d->spec, (unsigned long long)(b->counters.host_waits - waits));
        check_floats_equal(d, y, 1024, 3.0f, "after wait");
    }
    b->ops->buffer_free(b, y);
}

/* ---- limits, build failures, timestamps ---------------------------------- */

static void check_limits(dev *d)
{
    porta_backend *b = &d->b;
    uint64_t too_large = b->caps.max_alloc_bytes + 1;
    if (too_large <= SIZE_MAX) {
        porta_bbuffer *buf = NULL;
        CHECK_REFUSED(d, b->ops->buffer_alloc(b, (size_t)too_large, &buf),
                      PORTA_ERROR_ALLOCATION_TOO_LARGE, "max_alloc_bytes + 1");
        CHECK(d->t, buf == NULL, "%s: a refused allocation returned a buffer", d->spec);
    }
    porta_bkernel *k = NULL;
    porta_kernel_variant variant = {.local_size = b->caps.max_workgroup_size + 1};
    CHECK_REFUSED(d, b->ops->kernel_get(b, &porta_kernel_desc_axpy, &variant, &k),
                  PORTA_ERROR_INVALID_ARGUMENT, "local size max_workgroup_size + 1");
    variant.local_size = 0;
    CHECK_REFUSED(d, b->ops->kernel_get(b, &porta_kernel_desc_axpy, &variant, &k),
                  PORTA_ERROR_INVALID_ARGUMENT, "local size 0");
}

/* OpenCL C with two errors on separate lines (the message must hold the
 * whole log), SPIR-V words without the magic number. */
static const char broken_cl[] = "__kernel void broken(__global float *x, uint n)\n"
                                "{\n"
                                "    x[0] = first_undeclared_name;\n"
                                "    x[1] = 1.0f;\n"
                                "    x[2] = last_undeclared_name;\n"
                                "}\n";
static const uint32_t junk_spirv[] = {0xdeadbeefu, 1, 2, 3, 4, 5, 6, 7};
static const porta_kernel_desc broken_desc = {.name = "broken",
                                              .cl_source = broken_cl,
                                              .spirv = junk_spirv,
                                              .spirv_bytes = sizeof(junk_spirv),
                                              .n_buffers = 1,
                                              .params_bytes = 4};

/* A kernel that builds but has no entry point of the desc's name: OpenCL C
 * defining another kernel; SPIR-V (a valid header and an OpCapability
 * Shader) without an OpEntryPoint "main". */
static const char other_name_cl[] = "__kernel void other_name(__global float *x, uint n)\n"
                                    "{\n"
                                    "    if (get_global_id(0) < n)\n"
                                    "        x[get_global_id(0)] = 0.0f;\n"
                                    "}\n";
static const uint32_t no_entry_spirv[] = {0x07230203u, 0x00010000u, 0, 8, 0, 0x00020011u, 1};
static const porta_kernel_desc no_entry_desc = {.name = "no_entry",
                                                .cl_source = other_name_cl,
                                                .spirv = no_entry_spirv,
                                                .spirv_bytes = sizeof(no_entry_spirv),
                                                .n_buffers = 1,
                                                .params_bytes = 4};

static int has(const dev *d, const char *text)
{
    return strstr(d->msg.text, text) != NULL;
}

static void check_build_failures(dev *d)
{
    porta_backend *b = &d->b;
    porta_kernel_variant variant = {.local_size = 64};
    porta_bkernel *k = NULL;
    for (int attempt = 0; attempt < 2; attempt++) { /* a failure is not cached */
        CHECK_REFUSED(d, b->ops->kernel_get(b, &broken_desc, &variant, &k),
                      PORTA_ERROR_KERNEL_BUILD, "a broken kernel");
        CHECK(d->t, has(d, "broken"), "%s: the build failure does not name the kernel: %s", d->spec,
              d->msg.text);
    }
    if (b->caps.api == PORTA_API_OPENCL)
        CHECK(d->t,
              has(d, "CL_BUILD_PROGRAM_FAILURE") && has(d, "first_undeclared_name") &&
                  has(d, "last_undeclared_name"),
              "%s: the message lacks the CL error or the whole build log:\n%s", d->spec,
              d->msg.text);
    else
        CHECK(d->t, has(d, "SPIR-V"), "%s: the message does not blame the SPIR-V: %s", d->spec,
              d->msg.text);
    CHECK_REFUSED(d, b->ops->kernel_get(b, &no_entry_desc, &variant, &k), PORTA_ERROR_KERNEL_BUILD,
                  "a kernel without its entry point");
    CHECK(d->t, has(d, "no_entry"), "%s: the failure does not name the kernel: %s", d->spec,
          d->msg.text);
}

/* Where timestamps work they increase through the stream; elsewhere both
 * calls say UNSUPPORTED. */
static void check_timestamps(dev *d)
{
    enum { N = 1000003 };
    porta_backend *b = &d->b;
    uint64_t ns[3] = {0, 0, 0};
    if (b->caps.timestamp_period_ns == 0) {
        CHECK_REFUSED(d, b->ops->timestamp(b, 0), PORTA_ERROR_UNSUPPORTED, "timestamp()");
        CHECK_REFUSED(d, b->ops->timestamps_read(b, 0, 1, ns), PORTA_ERROR_UNSUPPORTED,
                      "timestamps_read()");
        return;
    }
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, 256);
    porta_bbuffer *x = alloc(d, N * 4), *y = alloc(d, N * 4);
    if (k.k && x && y && CHECK_CALL(d, b->ops->buffer_fill(b, x, 0, N * 4, 0)) &&
        CHECK_CALL(d, b->ops->buffer_fill(b, y, 0, N * 4, 0)) &&
        CHECK_CALL(d, b->ops->timestamp(b, 0)) && enqueue_axpy(d, &k, x, y, N, 2.0f) &&
        CHECK_CALL(d, b->ops->timestamp(b, 1)) && CHECK_CALL(d, b->ops->barrier(b)) &&
        enqueue_axpy(d, &k, x, y, N, 2.0f) && CHECK_CALL(d, b->ops->barrier(b)) &&
        enqueue_axpy(d, &k, x, y, N, 2.0f) && CHECK_CALL(d, b->ops->timestamp(b, 2)) &&
        CHECK_CALL(d, b->ops->submit(b))) {
        uint64_t waits = b->counters.host_waits;
        if (CHECK_CALL(d, b->ops->timestamps_read(b, 0, 3, ns)))
            CHECK(d->t, ns[0] < ns[1] && ns[1] < ns[2], "%s: timestamps %llu %llu %llu", d->spec,
                  (unsigned long long)ns[0], (unsigned long long)ns[1], (unsigned long long)ns[2]);
        CHECK(d->t, b->counters.host_waits == waits + 1, "%s: timestamps_read counted %llu waits",
              d->spec, (unsigned long long)(b->counters.host_waits - waits));
    }
    CHECK_REFUSED(d, b->ops->timestamps_read(b, UNWRITTEN_SLOT, 1, ns),
                  PORTA_ERROR_INVALID_ARGUMENT, "reading a slot never written");
    CHECK_REFUSED(d, b->ops->timestamp(b, PORTA_TIMESTAMP_SLOTS), PORTA_ERROR_INVALID_ARGUMENT,
                  "timestamp slot out of range");
    b->ops->buffer_free(b, x);
    b->ops->buffer_free(b, y);
}

/* Leave work enqueued and buffers allocated: destroy() submits, waits and
 * frees them (the sanitizer build's leak check and the validation layer's
 * report of leaked objects watch this). */
static void leave_work_for_destroy(dev *d)
{
    porta_backend *b = &d->b;
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, 64);
    porta_bbuffer *x = alloc(d, 4096), *y = alloc(d, 4096);
    if (k.k && x && y && CHECK_CALL(d, b->ops->buffer_fill(b, x, 0, 4096, 0)) &&
        CHECK_CALL(d, b->ops->buffer_fill(b, y, 0, 4096, 0)))
        enqueue_axpy(d, &k, x, y, 1024, 1.0f);
}

/* ---- the on-disk caches ---------------------------------------------------- */

/* The one file of the backend's cache in dir ("ocl-*" or "vk-*"); returns
 * how many there are. */
static int find_cache_file(const dev *d, const char *dir, char *path, size_t cap)
{
    const char *prefix = d->listed.api == PORTA_API_OPENCL ? "ocl-" : "vk-";
    int count = 0;
    DIR *dh = opendir(dir);
    for (struct dirent *e; dh && (e = readdir(dh)) != NULL;) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && !strstr(e->d_name, ".tmp")) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            count++;
        }
    }
    if (dh)
        closedir(dh);
    return count;
}

/* One session: open, build axpy (local 32, used nowhere else) and check a
 * result computed with it, close. */
static void cache_session(dev *d, const char *dir, int keep_source)
{
    enum { N = 1000 };
    if (!open_device(d, dir, keep_source))
        return;
    porta_backend *b = &d->b;
    kernel k = get_kernel(d, &porta_kernel_desc_axpy, 32);
    porta_bbuffer *x = alloc(d, N * 4), *y = alloc(d, N * 4);
    float xs[N], ys[N], want[N];
    for (int i = 0; i < N; i++) {
        xs[i] = x_value(i);
        ys[i] = y_value(i);
        want[i] = ys[i] + 0.5f * xs[i];
    }
    if (k.k && x && y && CHECK_CALL(d, b->ops->buffer_write(b, x, 0, sizeof(xs), xs)) &&
        CHECK_CALL(d, b->ops->buffer_write(b, y, 0, sizeof(ys), ys)) &&
        enqueue_axpy(d, &k, x, y, N, 0.5f) &&
        CHECK_CALL(d, b->ops->buffer_read(b, y, 0, sizeof(ys), ys)))
        count_mismatches(d, "axpy through the cache", ys, want, N);
    b->ops->buffer_free(b, x);
    b->ops->buffer_free(b, y);
    close_device(d);
}

/* A Vulkan pipeline cache file starts with a header naming the device
 * (vendor and device ID, pipelineCacheUUID), which the cache key holds. */
static int vulkan_header_matches(const dev *d, const char *path)
{
    unsigned vendor, device, driver;
    char uuid[33];
    uint32_t header[4];
    unsigned char file_uuid[16];
    FILE *f = fopen(path, "rb");
    int ok = f && fread(header, 4, 4, f) == 4 && fread(file_uuid, 1, 16, f) == 16 &&
             sscanf(d->b.caps.cache_key, "vk-%8x-%8x-%8x-%32[0-9a-f]", &vendor, &device, &driver,
                    uuid) == 4;
    if (f)
        fclose(f);
    for (int i = 0; ok && i < 16; i++) {
        unsigned byte;
        ok = sscanf(uuid + 2 * i, "%2x", &byte) == 1 && byte == file_uuid[i];
    }
    return ok && header[0] >= 32 && header[1] == 1 && header[2] == vendor && header[3] == device;
}

static void check_kept_source(dev *d, const char *dir)
{
    char path[4096];
    struct stat st;
    int opencl = d->listed.api == PORTA_API_OPENCL;
    snprintf(path, sizeof(path), "%s/source/axpy.%s", dir, opencl ? "cl" : "spv");
    int ok = stat(path, &st) == 0 && st.st_size > 0;
    if (ok && !opencl)
        ok = (size_t)st.st_size == porta_kernel_desc_axpy.spirv_bytes;
    CHECK(d->t, ok, "%s: keep_source did not write %s", d->spec, path);
}

/* Two opens with the same cache directory: the first writes the cache, the
 * second builds from it (OpenCL: the cached binary is used, so its file is
 * not rewritten) and computes the same results. A damaged file is ignored
 * and replaced. */
static void check_cache_round_trip(dev *d)
{
    char dir[3100], path[3400];
    struct stat cold, warm, again;
    snprintf(dir, sizeof(dir), "%s/round-trip", d->dir);
    cache_session(d, dir, 1);
    int files = find_cache_file(d, dir, path, sizeof(path));
    CHECK(d->t, files == 1, "%s: %d cache files in %s, want 1", d->spec, files, dir);
    if (files != 1 || stat(path, &cold) != 0)
        return;
    check_kept_source(d, dir);
    cache_session(d, dir, 0);
    CHECK(d->t, stat(path, &warm) == 0, "%s: the cache file %s is gone", d->spec, path);
    if (d->listed.api == PORTA_API_OPENCL)
        CHECK(d->t, warm.st_ino == cold.st_ino && warm.st_size == cold.st_size,
              "%s: the second open rebuilt from source instead of using the cached binary",
              d->spec);
    else
        CHECK(d->t, vulkan_header_matches(d, path), "%s: %s is not a pipeline cache of this device",
              d->spec, path);

    static const char junk[] = "not a cache file";
    FILE *f = fopen(path, "wb");
    CHECK(d->t, f && fwrite(junk, 1, sizeof(junk), f) == sizeof(junk), "%s: cannot damage %s",
          d->spec, path);
    if (f)
        fclose(f);
    cache_session(d, dir, 0);
    CHECK(d->t, stat(path, &again) == 0 && (size_t)again.st_size != sizeof(junk),
          "%s: the damaged cache file was not replaced", d->spec);
}

/* ---- Vulkan: a pipeline the validation layer rejects ---------------------- */

/* The axpy SPIR-V with a layout of 4 push constant bytes where the shader
 * reads 16: the driver would build it, the layer reports an error, and the
 * build must fail. This yields validation messages by design, so it runs in
 * an open of its own. The desc is automatic, not static: safe only because
 * the backend that caches it by pointer is destroyed before it goes out of
 * scope. */
static void check_validation_failure(dev *d)
{
    porta_kernel_desc short_params = porta_kernel_desc_axpy;
    short_params.name = "axpy_short_params";
    short_params.params_bytes = 4;
    if (!open_device(d, NULL, 0))
        return;
    porta_backend *b = &d->b;
    porta_kernel_variant variant = {.local_size = 64};
    porta_bkernel *k = NULL;
    CHECK_REFUSED(d, b->ops->kernel_get(b, &short_params, &variant, &k), PORTA_ERROR_KERNEL_BUILD,
                  "a pipeline the validation layer rejects");
    CHECK(d->t, b->counters.validation_messages > 0 && has(d, "validation"),
          "%s: the failure does not carry the layer's report: %s", d->spec, d->msg.text);
    b->ops->destroy(b);
}

/* Validation requested but the layer is not found (the loader searches
 * only VK_LAYER_PATH): open fails with PORTA_ERROR_VALIDATION and says so. */
static void check_missing_layer(dev *d)
{
    const char *saved = getenv("VK_LAYER_PATH");
    char *copy = saved ? strdup(saved) : NULL;
    setenv("VK_LAYER_PATH", "/nonexistent", 1);
    porta_backend_options opt = {.validate = 1};
    porta_backend b = {.msg = &d->msg};
    CHECK_REFUSED(d, porta_vulkan_open(d->listed.index, &opt, &b), PORTA_ERROR_VALIDATION,
                  "open with validation but without the layer");
    CHECK(d->t, has(d, "VK_LAYER_KHRONOS_validation"),
          "%s: the message does not name the layer: %s", d->spec, d->msg.text);
    if (copy)
        setenv("VK_LAYER_PATH", copy, 1);
    else
        unsetenv("VK_LAYER_PATH");
    free(copy);
}

/* ---- per device ------------------------------------------------------------- */

typedef struct device_check {
    const char *name;
    void (*run)(dev *d);
} device_check;

/* In this order, on one open device. */
static const device_check device_checks[] = {
    {"caps", check_caps},
    {"kernel cache", check_kernel_cache},
    {"axpy", check_axpy},
    {"empty dispatch", check_empty_dispatch},
    {"fill and copy", check_fill_copy},
    {"write after dispatch", check_write_after_dispatch},
    {"big transfers", check_big_transfers},
    {"dispatch chain", check_dispatch_chain},
    {"zero-sync stretch", check_zero_sync_stretch},
    {"staging ring", check_staging_ring},
    {"wait", check_wait},
    {"limits", check_limits},
    {"build failures", check_build_failures},
    {"timestamps", check_timestamps},
    {"work left for destroy", leave_work_for_destroy},
};

static void test_device(dev *d)
{
    int failed_before = d->t->failed;
    char dir[3100];
    snprintf(dir, sizeof(dir), "%s/main", d->dir);
    if (open_device(d, dir, 0)) {
        for (size_t i = 0; i < sizeof(device_checks) / sizeof(device_checks[0]); i++) {
            uint64_t reports = d->b.counters.validation_messages;
            device_checks[i].run(d);
            CHECK(d->t, d->b.counters.validation_messages == reports,
                  "%s: %s: %llu validation messages; the message now:\n%s", d->spec,
                  device_checks[i].name,
                  (unsigned long long)(d->b.counters.validation_messages - reports), d->msg.text);
        }
        close_device(d);
    }
    check_cache_round_trip(d);
    if (d->listed.api == PORTA_API_VULKAN) {
        check_validation_failure(d);
        check_missing_layer(d);
    }
    printf("%s %s (%s, %s)\n", d->t->failed == failed_before ? "ok  " : "FAIL", d->spec,
           d->listed.name, d->listed.platform);
}

/* $PORTA_TEST_DEVICE, resolved by the library as in the harness. */
static int selected(const char *spec)
{
    const char *want = getenv("PORTA_TEST_DEVICE");
    if (!want || !*want)
        return 1;
    porta_context *ctx = NULL;
    porta_device_info chosen;
    int match = porta_context_create(NULL, &ctx) == PORTA_OK &&
                porta_device_open(ctx, want, &chosen) == PORTA_OK && strcmp(chosen.spec, spec) == 0;
    porta_context_destroy(ctx);
    return match;
}

/* Every device of one API; returns how many were found. */
static size_t test_api(dev *d, const char *root, porta_api api)
{
    porta_device_caps *caps = NULL;
    size_t count = 0;
    const char *name = api == PORTA_API_OPENCL ? "opencl" : "vulkan";
    porta_status st = api == PORTA_API_OPENCL ? porta_opencl_enumerate(&caps, &count, &d->msg)
                                              : porta_vulkan_enumerate(&caps, &count, &d->msg);
    CHECK(d->t, st == PORTA_OK, "%s enumerate: %s: %s", name, porta_strerror(st), d->msg.text);
    for (size_t i = 0; st == PORTA_OK && i < count; i++) {
        d->listed = caps[i];
        snprintf(d->spec, sizeof(d->spec), "%s:%u", name, caps[i].index);
        snprintf(d->dir, sizeof(d->dir), "%s/%s-%u", root, name, caps[i].index);
        if (selected(d->spec))
            test_device(d);
    }
    free(caps);
    return count;
}

/* rm -r */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *dh = opendir(path);
    for (struct dirent *e; dh && (e = readdir(dh)) != NULL;) {
        char child[4096];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name) < (int)sizeof(child))
            remove_tree(child);
    }
    if (dh)
        closedir(dh);
    rmdir(path);
}

int main(void)
{
    test_init();
#if !defined(__SANITIZE_ADDRESS__)
    /* Synchronisation validation too: CPU drivers run commands in order
     * anyway, so only the layer sees a missing barrier. (Not under
     * AddressSanitizer: the layer's synchronisation validation, 1.3.239,
     * leaks its own state, which LeakSanitizer reports.) */
    setenv("VK_LAYER_ENABLES", "VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT", 0);
#endif
    test_state t = {0};
    dev *d = calloc(1, sizeof(*d));
    if (!d)
        return 1;
    d->t = &t;
    const char *base = getenv("PORTA_CACHE_DIR");
    char root[1024];
    snprintf(root, sizeof(root), "%s/backend-test-%ld", base && *base ? base : "/tmp",
             (long)getpid());
    remove_tree(root);
    size_t found = test_api(d, root, PORTA_API_OPENCL) + test_api(d, root, PORTA_API_VULKAN);
    CHECK(&t, found > 0, "no device found");
    remove_tree(root);
    free(d);
    return test_finish(&t);
}
