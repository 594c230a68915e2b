/* porta.h: the public API of porta, neural-network training on any OpenCL
 * or Vulkan device.
 *
 * Conventions:
 *   - Every handle is opaque. Every function that can fail takes the context
 *     and returns a porta_status (PORTA_OK is 0). porta_strerror() names a
 *     status; porta_context_message() explains the last failure in the
 *     driver's own words (the CL error or VkResult name, the build log).
 *   - A context owns at most one open device. Work is enqueued, not waited
 *     for: only porta_finish() and porta_buffer_read() block the host, and
 *     porta_counters_get() counts every such block so a caller can prove a
 *     stretch of work synchronised zero times.
 *   - The library reads environment variables (listed at the functions
 *     that honour them) but never sets any.
 */
#ifndef PORTA_H
#define PORTA_H

#include <stddef.h>
#include <stdint.h>

#include "porta_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ----------------------------------------------------------- */

/* A short constant description of a status ("invalid argument"). Never NULL. */
const char *porta_strerror(porta_status status);

/* ---- contexts ---------------------------------------------------------- */

typedef struct porta_context porta_context;

typedef struct porta_context_options {
    /* Directory for the OpenCL program-binary and Vulkan pipeline caches.
     * NULL: $PORTA_CACHE_DIR, else $XDG_CACHE_HOME/porta, else
     * $HOME/.cache/porta. "": no on-disk cache. */
    const char *cache_dir;
    /* Enable the Vulkan validation layer and fail on its messages.
     * -1: from $PORTA_VALIDATE (unset or "0" = off). */
    int validate;
    /* Dump each kernel's generated source into <cache_dir>/source as it is
     * built. -1: from $PORTA_KEEP_SOURCE. */
    int keep_source;
} porta_context_options;

/* The defaults: cache_dir NULL, validate -1, keep_source -1. */
porta_context_options porta_context_options_default(void);

/* Create a context (no device is open yet). `options` may be NULL for the
 * defaults. On failure *out is NULL. */
porta_status porta_context_create(const porta_context_options *options, porta_context **out);

/* Wait for the device, release every buffer and the device. NULL is a no-op. */
void porta_context_destroy(porta_context *ctx);

/* The explanation of the most recent failure (or warning) in this context;
 * "" when there is none. Valid until the next call on the context. */
const char *porta_context_message(const porta_context *ctx);

/* ---- devices ----------------------------------------------------------- */

typedef struct porta_device_info {
    const char *api; /* "opencl" or "vulkan" */
    unsigned index;  /* N in "opencl:N" / "vulkan:N" */
    char spec[32];   /* "opencl:0": selects exactly this device */
    char name[256];  /* the driver's device name */
    char vendor[128];
    char platform[128]; /* OpenCL platform or Vulkan driver name */
    char driver[128];   /* driver version text */
    char api_version[64];
    const char *type; /* "cpu", "integrated-gpu", "discrete-gpu",
                         "virtual-gpu" or "other" */
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes; /* largest single buffer */
    uint64_t local_mem_bytes; /* shared memory per workgroup */
    unsigned max_workgroup_size;
    unsigned subgroup_min; /* 0 when the driver does not say */
    unsigned subgroup_max;
    int timestamps; /* 1 if device timestamps are supported */
} porta_device_info;

/* Enumerate (once, then cached) every OpenCL device of every platform and
 * every Vulkan physical device with a compute queue. An API whose loader or
 * driver is missing contributes no devices; the reason is kept in the
 * message. *count may be 0. */
porta_status porta_device_count(porta_context *ctx, size_t *count);

/* Describe device number i of the enumeration (0 <= i < count). */
porta_status porta_device_get_info(porta_context *ctx, size_t i, porta_device_info *info);

/* Open a device and make it this context's device.
 * spec selects it:
 *   "opencl:N" / "vulkan:N"  device N of that API;
 *   "opencl" / "vulkan"      the best device of that API;
 *   any other text           a case-insensitive substring of the device's
 *                            name, vendor, platform or driver ("pocl",
 *                            "rusticl", "llvmpipe", "lavapipe", "nvidia"),
 *                            optionally prefixed "opencl:" or "vulkan:";
 *                            when several match, the best of them;
 *   NULL, "" or "default"    $PORTA_DEVICE if set, else the best device:
 *                            a discrete GPU, then an integrated GPU, then
 *                            any other, then a CPU (the largest memory
 *                            first; OpenCL before Vulkan on a tie).
 * A spec that matches nothing is PORTA_ERROR_DEVICE_NOT_FOUND with the
 * list of devices in the message: never a silent fallback. `chosen` (may be
 * NULL) receives the opened device's description. */
porta_status porta_device_open(porta_context *ctx, const char *spec, porta_device_info *chosen);

/* The open device's description (PORTA_ERROR_NO_DEVICE_OPEN if none). */
porta_status porta_device_current(porta_context *ctx, porta_device_info *info);

/* ---- buffers ----------------------------------------------------------- */

typedef struct porta_buffer porta_buffer;

/* Allocate `bytes` (> 0) of device memory (contents undefined). Beyond the
 * device's largest allocation: PORTA_ERROR_ALLOCATION_TOO_LARGE; out of
 * memory: PORTA_ERROR_OUT_OF_DEVICE_MEMORY. */
porta_status porta_buffer_create(porta_context *ctx, size_t bytes, porta_buffer **out);

/* Release a buffer once the work already enqueued on it is done. NULL is a
 * no-op. */
porta_status porta_buffer_destroy(porta_context *ctx, porta_buffer *buffer);

/* Size in bytes (0 for NULL). */
size_t porta_buffer_bytes(const porta_buffer *buffer);

/* Enqueue a copy of `bytes` from host memory into the buffer at byte
 * `offset`. `src` may be reused as soon as this returns; the host does not
 * wait for the device. */
porta_status porta_buffer_write(porta_context *ctx, porta_buffer *buffer, size_t offset,
                                size_t bytes, const void *src);

/* Wait for all enqueued work, then copy `bytes` at byte `offset` into
 * `dst`. Counts one host wait and one device read. */
porta_status porta_buffer_read(porta_context *ctx, porta_buffer *buffer, size_t offset,
                               size_t bytes, void *dst);

/* ---- vector kernels ----------------------------------------------------
 * Buffers hold float32; offsets and counts are in elements. A buffer may
 * appear as both input and output where the formula allows it (in place).
 * Each call enqueues work and returns without waiting. n may be 0. */

/* y[i] = value */
porta_status porta_vec_fill(porta_context *ctx, porta_buffer *y, size_t y_off, size_t n,
                            float value);
/* y[i] = x[i], bit for bit */
porta_status porta_vec_copy(porta_context *ctx, porta_buffer *x, size_t x_off, porta_buffer *y,
                            size_t y_off, size_t n);
/* y[i] = alpha * x[i] */
porta_status porta_vec_scale(porta_context *ctx, float alpha, porta_buffer *x, size_t x_off,
                             porta_buffer *y, size_t y_off, size_t n);
/* y[i] = y[i] + alpha * x[i] (multiply, then add: no fused rounding) */
porta_status porta_vec_axpy(porta_context *ctx, float alpha, porta_buffer *x, size_t x_off,
                            porta_buffer *y, size_t y_off, size_t n);
/* z[i] = a[i] + b[i] */
porta_status porta_vec_add(porta_context *ctx, porta_buffer *a, size_t a_off, porta_buffer *b,
                           size_t b_off, porta_buffer *z, size_t z_off, size_t n);
/* z[i] = a[i] * b[i] */
porta_status porta_vec_mul(porta_context *ctx, porta_buffer *a, size_t a_off, porta_buffer *b,
                           size_t b_off, porta_buffer *z, size_t z_off, size_t n);
/* result[result_off] = sum of x[x_off .. x_off+n), by a deterministic
 * two-pass tree reduction (no atomics: the same device, n and input give
 * the same bits every time). The result stays on the device. */
porta_status porta_vec_sum(porta_context *ctx, porta_buffer *x, size_t x_off, size_t n,
                           porta_buffer *result, size_t result_off);
/* result[result_off] = sum of squares of x[x_off .. x_off+n), likewise. */
porta_status porta_vec_sum_squares(porta_context *ctx, porta_buffer *x, size_t x_off, size_t n,
                                   porta_buffer *result, size_t result_off);

/* ---- execution --------------------------------------------------------- */

/* Send enqueued work to the device without waiting. */
porta_status porta_submit(porta_context *ctx);

/* Block until every enqueued command has finished. Counts one host wait. */
porta_status porta_finish(porta_context *ctx);

typedef struct porta_counters {
    uint64_t host_waits;          /* times the host blocked on the device */
    uint64_t device_reads;        /* device-to-host copies */
    uint64_t dispatches;          /* kernels enqueued */
    uint64_t submits;             /* batches sent to the device */
    uint64_t validation_messages; /* Vulkan validation reports (see message) */
} porta_counters;

/* The open device's counters since it was opened. */
porta_status porta_counters_get(porta_context *ctx, porta_counters *out);

/* Run every kernel on the open device at a few sizes against the C
 * reference (known answers). PORTA_ERROR_MISMATCH names the first kernel
 * and element that disagree. */
porta_status porta_self_test(porta_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
