/* test_errors: bad input gets a clear error and breaks nothing.
 *
 * Device specs that match nothing, allocations beyond the device's limit,
 * ranges outside a buffer, calls before a device is open; plus the sync
 * counters (a stretch of enqueued work blocks the host zero times) and
 * bit-reproducible reductions, on every device.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void check_spec_not_found(test_state *t, const char *spec)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK_OK(t, ctx, st, "context");
    st = porta_device_open(ctx, spec, NULL);
    const char *msg = porta_context_message(ctx);
    CHECK(t, st == PORTA_ERROR_DEVICE_NOT_FOUND, "spec \"%s\": expected DEVICE_NOT_FOUND, got %s",
          spec, porta_strerror(st));
    CHECK(t, strstr(msg, spec) != NULL, "message does not name the spec: %s", msg);
    CHECK(t, strstr(msg, "Devices found") != NULL, "message does not list devices: %s", msg);
    /* The context is still usable: the default device opens. */
    st = porta_device_open(ctx, "default", NULL);
    CHECK_OK(t, ctx, st, "default device after a failed spec");
    porta_context_destroy(ctx);
}

static void check_host_side(test_state *t)
{
    check_spec_not_found(t, "no-such-device-xyz");
    check_spec_not_found(t, "opencl:99");
    check_spec_not_found(t, "vulkan:99");
    check_spec_not_found(t, "opencl:1x");

    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    CHECK_OK(t, ctx, st, "context");
    porta_buffer *b = NULL;
    st = porta_buffer_create(ctx, 16, &b);
    CHECK(t, st == PORTA_ERROR_NO_DEVICE_OPEN, "buffer before open: got %s", porta_strerror(st));
    CHECK(t, strlen(porta_strerror((porta_status)12345)) > 0, "strerror of an unknown code");
    porta_context_destroy(ctx);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    /* One byte more than the largest allocation the device allows. */
    porta_buffer *huge = NULL;
    porta_status st = porta_buffer_create(ctx, (size_t)info->max_alloc_bytes + 1, &huge);
    CHECK(t, st == PORTA_ERROR_ALLOCATION_TOO_LARGE && huge == NULL,
          "%s: oversized allocation gave %s", info->spec, porta_strerror(st));
    CHECK(t, strstr(porta_context_message(ctx), "byte") != NULL,
          "%s: oversized allocation message says nothing useful: %s", info->spec,
          porta_context_message(ctx));

    const size_t n = 100003;
    porta_buffer *x = NULL, *sums = NULL;
    st = porta_buffer_create(ctx, n * sizeof(float), &x);
    CHECK_OK(t, ctx, st, "buffer x");
    st = porta_buffer_create(ctx, 4 * sizeof(float), &sums);
    CHECK_OK(t, ctx, st, "buffer sums");
    if (!x || !sums)
        return;

    /* Out-of-range arguments are refused before anything is enqueued. */
    st = porta_vec_fill(ctx, x, 1, n, 1.0f);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "fill past the end gave %s", porta_strerror(st));
    st = porta_vec_copy(ctx, x, 0, sums, 0, 5);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "copy past the end gave %s", porta_strerror(st));
    float v = 0;
    st = porta_buffer_write(ctx, sums, 12, 8, &v);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "write past the end gave %s", porta_strerror(st));

    /* A stretch of enqueued work synchronises zero times; one read once. */
    float *host = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        host[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
    porta_counters before, after;
    porta_counters_get(ctx, &before);
    st = porta_buffer_write(ctx, x, 0, n * sizeof(float), host);
    for (int i = 0; i < 50 && st == PORTA_OK; i++) {
        st = porta_vec_scale(ctx, 1.0f, x, 0, x, 0, n);
        if (!st)
            st = porta_vec_sum(ctx, x, 0, n, sums, (size_t)(i % 2));
    }
    if (!st)
        st = porta_submit(ctx);
    CHECK_OK(t, ctx, st, "enqueue stretch");
    porta_counters_get(ctx, &after);
    CHECK(t, after.host_waits == before.host_waits && after.device_reads == before.device_reads,
          "%s: 100 dispatches synchronised: waits %llu -> %llu, reads %llu -> %llu", info->spec,
          (unsigned long long)before.host_waits, (unsigned long long)after.host_waits,
          (unsigned long long)before.device_reads, (unsigned long long)after.device_reads);
    CHECK(t, after.dispatches >= before.dispatches + 100, "%s: dispatch counter did not advance",
          info->spec);
    float got[2] = {0, 0};
    st = porta_buffer_read(ctx, sums, 0, sizeof(got), got);
    CHECK_OK(t, ctx, st, "read sums");
    porta_counters_get(ctx, &after);
    CHECK(t, after.device_reads == before.device_reads + 1, "%s: a read counted %llu reads",
          info->spec, (unsigned long long)(after.device_reads - before.device_reads));
    CHECK(t, after.host_waits >= before.host_waits + 1, "%s: a read counted no wait", info->spec);
    /* The same reduction of the same data gives the same bits. */
    CHECK(t, memcmp(&got[0], &got[1], sizeof(float)) == 0, "%s: sum not reproducible: %.9g vs %.9g",
          info->spec, got[0], got[1]);
    free(host);
    porta_buffer_destroy(ctx, x);
    /* sums is left for porta_context_destroy to release. */
}

int main(void)
{
    test_init();
    test_state t = {0, 0};
    check_host_side(&t);
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
