/* opencl_backend.c: the OpenCL implementation of backend.h.
 *
 * Devices are every device of every platform, flattened in platform order
 * then device order. An opened device owns one context and one in-order,
 * profiling-enabled command queue; everything is enqueued on it, so stream
 * order is queue order. Only OpenCL 1.2 entry points are used, except the
 * 2.0 queue constructor when the platform has it.
 *
 * Reading order: device information, device list, caps, enumerate; then the
 * ops (buffers with their write staging, dispatch and queue control,
 * timestamps, destroy); then open.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opencl_internal.h"

/* clGetPlatformIDs when the ICD loader finds no platform (cl_khr_icd). */
#define OCL_PLATFORM_NOT_FOUND_KHR (-1001)
/* Host copies of buffer_write() data in flight before a write waits. */
#define OCL_STAGING_LIMIT ((size_t)256 << 20)
/* OpenCL has no workgroup-count limit; report a large one that still fits
 * every consumer's int arithmetic. */
#define OCL_GROUP_COUNT_LIMIT 0x7fffffffu
/* Host sleep between the two timestamps of the probe in open(). */
#define OCL_PROBE_SLEEP_NS 2000000L
/* Bytes of CL_DEVICE_MAX_PARAMETER_SIZE kept for the buffer arguments. */
#define OCL_PARAMETER_RESERVE 256

/* ---- device information ------------------------------------------------ */

/* Copy src into dst, dropping the leading/trailing blanks some drivers
 * put around names. */
static void copy_trimmed(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    while (*src == ' ')
        src++;
    size_t len = strlen(src);
    while (len > 0 && (src[len - 1] == ' ' || src[len - 1] == '\n'))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* A device string as a malloc'ed text, or NULL. */
static char *device_string(cl_device_id dev, cl_device_info param)
{
    size_t size = 0;
    if (clGetDeviceInfo(dev, param, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return NULL;
    char *text = malloc(size + 1);
    if (!text)
        return NULL;
    if (clGetDeviceInfo(dev, param, size, text, NULL) != CL_SUCCESS) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

static char *platform_string(cl_platform_id platform, cl_platform_info param)
{
    size_t size = 0;
    if (clGetPlatformInfo(platform, param, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return NULL;
    char *text = malloc(size + 1);
    if (!text)
        return NULL;
    if (clGetPlatformInfo(platform, param, size, text, NULL) != CL_SUCCESS) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

static void copy_device_string(char *dst, size_t cap, cl_device_id dev, cl_device_info param)
{
    char *text = device_string(dev, param);
    copy_trimmed(dst, cap, text);
    free(text);
}

static void copy_platform_string(char *dst, size_t cap, cl_platform_id platform,
                                 cl_platform_info param)
{
    char *text = platform_string(platform, param);
    copy_trimmed(dst, cap, text);
    free(text);
}

/* A fixed-size device value; zero when the driver does not answer. */
static void device_value(cl_device_id dev, cl_device_info param, void *out, size_t bytes)
{
    if (clGetDeviceInfo(dev, param, bytes, out, NULL) != CL_SUCCESS)
        memset(out, 0, bytes);
}

/* Whether a space-separated extension list names `name` exactly. */
static int has_extension(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && (p = strstr(p, name)) != NULL; p += len) {
        int starts = p == list || p[-1] == ' ';
        int ends = p[len] == '\0' || p[len] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

/* "OpenCL <major>.<minor> ..." as numbers; 1.0 when unparsable. */
static void platform_version(cl_platform_id platform, int *major, int *minor)
{
    char *text = platform_string(platform, CL_PLATFORM_VERSION);
    *major = 1;
    *minor = 0;
    if (text && sscanf(text, "OpenCL %d.%d", major, minor) != 2) {
        *major = 1;
        *minor = 0;
    }
    free(text);
}

/* ---- caps ---------------------------------------------------------------- */

static porta_device_type device_type(cl_device_id dev)
{
    cl_device_type type;
    device_value(dev, CL_DEVICE_TYPE, &type, sizeof(type));
    if (type & CL_DEVICE_TYPE_GPU) {
        cl_bool unified; /* deprecated in 2.0, still answered; false if not */
        device_value(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, &unified, sizeof(unified));
        return unified ? PORTA_DEVICE_TYPE_INTEGRATED_GPU : PORTA_DEVICE_TYPE_DISCRETE_GPU;
    }
    if (type & CL_DEVICE_TYPE_CPU)
        return PORTA_DEVICE_TYPE_CPU;
    return PORTA_DEVICE_TYPE_OTHER;
}

static uint32_t clamp_u32(uint64_t value)
{
    return value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
}

static void fill_memory_caps(porta_device_caps *caps, cl_device_id dev)
{
    cl_ulong global, max_alloc, local;
    device_value(dev, CL_DEVICE_GLOBAL_MEM_SIZE, &global, sizeof(global));
    device_value(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &max_alloc, sizeof(max_alloc));
    device_value(dev, CL_DEVICE_LOCAL_MEM_SIZE, &local, sizeof(local));
    caps->global_mem_bytes = global;
    caps->max_alloc_bytes = max_alloc > SIZE_MAX ? SIZE_MAX : max_alloc;
    caps->local_mem_bytes = local;
}

/* Workgroups are 1-D in x, so the limit is also bounded by the x item size. */
static void fill_workgroup_caps(porta_device_caps *caps, cl_device_id dev)
{
    size_t max_size, item_sizes[32] = {0};
    cl_uint dims;
    device_value(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, &max_size, sizeof(max_size));
    device_value(dev, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, &dims, sizeof(dims));
    if (dims >= 1 && dims <= 32)
        device_value(dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, item_sizes, dims * sizeof(size_t));
    if (item_sizes[0] != 0 && item_sizes[0] < max_size)
        max_size = item_sizes[0];
    caps->max_workgroup_size = clamp_u32(max_size);
    for (int i = 0; i < 3; i++)
        caps->max_workgroup_count[i] = OCL_GROUP_COUNT_LIMIT;
}

static void fill_intel_subgroups(porta_device_caps *caps, cl_device_id dev)
{
    size_t sizes[32], bytes = 0;
    const cl_device_info param = 0x4108; /* CL_DEVICE_SUB_GROUP_SIZES_INTEL */
    if (clGetDeviceInfo(dev, param, 0, NULL, &bytes) != CL_SUCCESS || bytes == 0 ||
        bytes > sizeof(sizes) || clGetDeviceInfo(dev, param, bytes, sizes, NULL) != CL_SUCCESS)
        return;
    size_t lo = sizes[0], hi = sizes[0];
    for (size_t i = 1; i < bytes / sizeof(size_t); i++) {
        lo = sizes[i] < lo ? sizes[i] : lo;
        hi = sizes[i] > hi ? sizes[i] : hi;
    }
    caps->subgroup_min = clamp_u32(lo);
    caps->subgroup_max = clamp_u32(hi);
}

/* llvmpipe (Rusticl) runs invocations in batches as wide as its vectors,
 * which its device name gives: "llvmpipe (LLVM 15.0.6, 256 bits)" runs 8
 * 32-bit lanes. lavapipe reports the same width as its subgroup size;
 * Rusticl has no query for it. 0 when the name does not say. */
static cl_uint llvmpipe_lanes(const char *name)
{
    if (!strstr(name, "llvmpipe"))
        return 0;
    const char *end = strstr(name, " bits)");
    if (!end)
        return 0;
    const char *p = end;
    while (p > name && p[-1] >= '0' && p[-1] <= '9')
        p--;
    if (p == end || end - p > 5)
        return 0;
    const cl_uint bits = (cl_uint)strtoul(p, NULL, 10);
    return bits >= 32 && bits % 32 == 0 ? bits / 32 : 0;
}

/* Subgroup size from vendor extensions (or llvmpipe's name); 0 when the
 * driver does not say. */
static void fill_subgroup_caps(porta_device_caps *caps, cl_device_id dev)
{
    char *ext = device_string(dev, CL_DEVICE_EXTENSIONS);
    cl_uint width = 0;
    if (has_extension(ext, "cl_intel_required_subgroup_size"))
        fill_intel_subgroups(caps, dev);
    else if (has_extension(ext, "cl_nv_device_attribute_query"))
        device_value(dev, 0x4003 /* CL_DEVICE_WARP_SIZE_NV */, &width, sizeof(width));
    else if (has_extension(ext, "cl_amd_device_attribute_query"))
        device_value(dev, 0x4043 /* CL_DEVICE_WAVEFRONT_WIDTH_AMD */, &width, sizeof(width));
    else
        width = llvmpipe_lanes(caps->name);
    if (width != 0) {
        caps->subgroup_min = width;
        caps->subgroup_max = width;
    }
    free(ext);
}

/* The params struct travels as a by-value kernel argument next to the
 * buffer arguments inside CL_DEVICE_MAX_PARAMETER_SIZE. */
static uint32_t push_limit(cl_device_id dev)
{
    size_t param_size;
    device_value(dev, CL_DEVICE_MAX_PARAMETER_SIZE, &param_size, sizeof(param_size));
    size_t room = param_size > OCL_PARAMETER_RESERVE ? param_size - OCL_PARAMETER_RESERVE : 0;
    return room < PORTA_MAX_PARAMS_BYTES ? (uint32_t)room : PORTA_MAX_PARAMS_BYTES;
}

/* Profiling is mandatory in OpenCL; a driver answering 0 still counts in
 * nanoseconds. open() sets 0 if the probe finds no usable timestamps. */
static double timer_resolution(cl_device_id dev)
{
    size_t resolution;
    device_value(dev, CL_DEVICE_PROFILING_TIMER_RESOLUTION, &resolution, sizeof(resolution));
    return resolution > 0 ? (double)resolution : 1.0;
}

/* The name goes last: should the key ever be cut to fit, the driver and
 * version parts survive. */
static void fill_cache_key(porta_device_caps *caps)
{
    char key[sizeof(caps->platform) + sizeof(caps->driver) + sizeof(caps->api_version) +
             sizeof(caps->name) + 16];
    snprintf(key, sizeof(key), "opencl|%s|%s|%s|%s", caps->platform, caps->driver,
             caps->api_version, caps->name);
    copy_trimmed(caps->cache_key, sizeof(caps->cache_key), key);
}

int porta_ocl_offers_correct_rounding(cl_device_id dev)
{
    cl_device_fp_config fp = 0;
    device_value(dev, CL_DEVICE_SINGLE_FP_CONFIG, &fp, sizeof(fp));
    return (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
}

/* Whether kernels divide and take square roots correctly rounded: built
 * to where the device offers it, and on a CPU, whose LLVM code divides
 * with IEEE instructions anyway (Rusticl on llvmpipe does not offer the
 * option). */
static uint32_t divides_correctly(cl_device_id dev)
{
    return porta_ocl_offers_correct_rounding(dev) || device_type(dev) == PORTA_DEVICE_TYPE_CPU;
}

static void fill_caps(porta_device_caps *caps, uint32_t index, cl_platform_id platform,
                      cl_device_id dev)
{
    memset(caps, 0, sizeof(*caps));
    caps->api = PORTA_API_OPENCL;
    caps->index = index;
    copy_device_string(caps->name, sizeof(caps->name), dev, CL_DEVICE_NAME);
    copy_device_string(caps->vendor, sizeof(caps->vendor), dev, CL_DEVICE_VENDOR);
    copy_platform_string(caps->platform, sizeof(caps->platform), platform, CL_PLATFORM_NAME);
    copy_device_string(caps->driver, sizeof(caps->driver), dev, CL_DRIVER_VERSION);
    copy_device_string(caps->api_version, sizeof(caps->api_version), dev, CL_DEVICE_VERSION);
    caps->type = device_type(dev);
    fill_memory_caps(caps, dev);
    fill_workgroup_caps(caps, dev);
    fill_subgroup_caps(caps, dev);
    caps->max_push_bytes = push_limit(dev);
    caps->timestamp_period_ns = timer_resolution(dev);
    caps->div_sqrt_rounded = divides_correctly(dev);
    /* OpenCL limits a kernel's arguments only by their total size, which
     * porta's few pointers and one params struct stay far under. */
    caps->max_storage_buffers = PORTA_MAX_BINDINGS;
    caps->max_storage_range = caps->max_alloc_bytes;
    porta_device_preset_apply(caps);
    fill_cache_key(caps);
}

/* ---- the device list ----------------------------------------------------- */

typedef struct ocl_device_ref {
    cl_platform_id platform;
    cl_device_id device;
} ocl_device_ref;

/* All platforms; *count = 0 (PORTA_OK, with a message) when there is none. */
static porta_status list_platforms(cl_platform_id **out, cl_uint *count, porta_msg *msg)
{
    *out = NULL;
    *count = 0;
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &n);
    if (err == OCL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && n == 0))
        return porta_msg_set(msg, PORTA_OK, "no OpenCL platform was found (no ICD installed)");
    if (err != CL_SUCCESS) {
        porta_cl_fail(msg, err, "clGetPlatformIDs");
        return PORTA_ERROR_BACKEND_UNAVAILABLE;
    }
    *out = malloc(n * sizeof(**out));
    if (!*out)
        return porta_msg_set(msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    err = clGetPlatformIDs(n, *out, NULL);
    if (err != CL_SUCCESS) {
        free(*out);
        *out = NULL;
        porta_cl_fail(msg, err, "clGetPlatformIDs");
        return PORTA_ERROR_BACKEND_UNAVAILABLE;
    }
    *count = n;
    return PORTA_OK;
}

/* Append the devices of one platform to the list. A platform without
 * devices is skipped silently; one whose query fails is skipped with a
 * note in the message (which matters only if no device is found at all). */
static porta_status add_platform_devices(cl_platform_id platform, ocl_device_ref **list,
                                         size_t *count, int *skipped, porta_msg *msg)
{
    cl_uint n = 0;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
    if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && n == 0))
        return PORTA_OK;
    if (err != CL_SUCCESS) {
        porta_cl_fail(msg, err, "clGetDeviceIDs (platform skipped)");
        *skipped = 1;
        return PORTA_OK;
    }
    cl_device_id *ids = malloc(n * sizeof(*ids));
    ocl_device_ref *grown = realloc(*list, (*count + n) * sizeof(**list));
    if (grown)
        *list = grown;
    if (!ids || !grown) {
        free(ids);
        return porta_msg_set(msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, ids, NULL);
    for (cl_uint i = 0; err == CL_SUCCESS && i < n; i++) {
        (*list)[*count].platform = platform;
        (*list)[*count].device = ids[i];
        (*count)++;
    }
    free(ids);
    if (err != CL_SUCCESS) {
        porta_cl_fail(msg, err, "clGetDeviceIDs (platform skipped)");
        *skipped = 1;
    }
    return PORTA_OK;
}

/* Every device of every platform, in platform order then device order. */
static porta_status list_devices(ocl_device_ref **out, size_t *count, porta_msg *msg)
{
    cl_platform_id *platforms;
    cl_uint n_platforms;
    int skipped = 0;
    *out = NULL;
    *count = 0;
    porta_status st = list_platforms(&platforms, &n_platforms, msg);
    for (cl_uint i = 0; st == PORTA_OK && i < n_platforms; i++)
        st = add_platform_devices(platforms[i], out, count, &skipped, msg);
    free(platforms);
    if (st != PORTA_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
        return st;
    }
    if (*count == 0 && n_platforms > 0 && !skipped)
        porta_msg_set(msg, PORTA_OK, "no OpenCL device was found on %u platform(s)",
                      (unsigned)n_platforms);
    return PORTA_OK;
}

porta_status porta_opencl_enumerate(porta_device_caps **out, size_t *count, porta_msg *msg)
{
    if (!out || !count)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "opencl enumerate: NULL output");
    *out = NULL;
    *count = 0;
    ocl_device_ref *refs;
    size_t n;
    porta_status st = list_devices(&refs, &n, msg);
    if (st != PORTA_OK || n == 0)
        return st;
    porta_device_caps *caps = calloc(n, sizeof(*caps));
    if (!caps) {
        free(refs);
        return porta_msg_set(msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    for (size_t i = 0; i < n; i++)
        fill_caps(&caps[i], (uint32_t)i, refs[i].platform, refs[i].device);
    free(refs);
    *out = caps;
    *count = n;
    return PORTA_OK;
}

/* ---- buffers --------------------------------------------------------------- */

static porta_status check_range(porta_backend *b, const char *call, const porta_bbuffer *buf,
                                size_t offset, size_t bytes)
{
    if (!buf)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: NULL buffer", call);
    if (offset > buf->bytes || bytes > buf->bytes - offset)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: range [%zu, %zu + %zu) is outside the buffer of %zu bytes", call,
                             offset, offset, bytes, buf->bytes);
    return PORTA_OK;
}

/* Allocation failures all mean the device could not hold the buffer. */
static porta_status alloc_failure(porta_backend *b, cl_int err, const char *call, size_t bytes)
{
    porta_status st = porta_cl_fail(b->msg, err, "%s(%zu bytes)", call, bytes);
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
        err == CL_OUT_OF_HOST_MEMORY)
        return PORTA_ERROR_OUT_OF_DEVICE_MEMORY;
    if (err == CL_INVALID_BUFFER_SIZE)
        return PORTA_ERROR_ALLOCATION_TOO_LARGE;
    return st;
}

static void buffer_link(ocl_impl *impl, porta_bbuffer *buf)
{
    buf->prev = NULL;
    buf->next = impl->buffers;
    if (impl->buffers)
        impl->buffers->prev = buf;
    impl->buffers = buf;
}

static void buffer_unlink(ocl_impl *impl, porta_bbuffer *buf)
{
    if (buf->prev)
        buf->prev->next = buf->next;
    else
        impl->buffers = buf->next;
    if (buf->next)
        buf->next->prev = buf->prev;
}

static porta_status ocl_buffer_alloc(porta_backend *b, size_t bytes, porta_bbuffer **out)
{
    ocl_impl *impl = b->impl;
    if (!out || bytes == 0)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "buffer_alloc: zero bytes or NULL output");
    *out = NULL;
    if (bytes > b->caps.max_alloc_bytes)
        return porta_msg_set(b->msg, PORTA_ERROR_ALLOCATION_TOO_LARGE,
                             "buffer_alloc: %zu bytes requested, but %s allows at most %llu "
                             "bytes in one buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)",
                             bytes, b->caps.name, (unsigned long long)b->caps.max_alloc_bytes);
    porta_bbuffer *buf = calloc(1, sizeof(*buf));
    if (!buf)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "buffer_alloc: out of memory");
    cl_int err;
    buf->mem = clCreateBuffer(impl->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        free(buf);
        return alloc_failure(b, err, "clCreateBuffer", bytes);
    }
    /* OpenCL allocates lazily; a 1-byte fill makes the allocation happen
     * now, so running out of memory shows here rather than mid-step. */
    const cl_uchar zero = 0;
    err = clEnqueueFillBuffer(impl->queue, buf->mem, &zero, 1, 0, 1, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseMemObject(buf->mem);
        free(buf);
        return alloc_failure(b, err, "clEnqueueFillBuffer (first touch)", bytes);
    }
    buf->bytes = bytes;
    buffer_link(impl, buf);
    *out = buf;
    return PORTA_OK;
}

/* clReleaseMemObject keeps the memory until enqueued commands using it have
 * finished, which is exactly the contract. After destroy() (impl == NULL)
 * the buffer is already gone and this is a no-op. */
static void ocl_buffer_free(porta_backend *b, porta_bbuffer *buf)
{
    ocl_impl *impl = b->impl;
    if (!buf || !impl)
        return;
    buffer_unlink(impl, buf);
    clReleaseMemObject(buf->mem);
    free(buf);
}

/* -- write staging: a host copy per write, freed once the write is done -- */

static int event_finished(cl_event event)
{
    cl_int state;
    if (clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(state), &state, NULL) !=
        CL_SUCCESS)
        return 0;
    return state == CL_COMPLETE || state < 0; /* < 0: failed, never reads again */
}

/* Free finished staging copies, oldest first, each once its own event
 * says its write is complete, also after clFinish or a blocking read on
 * the in-order queue: Rusticl (Mesa 22.3)
 * returns from both while its worker thread still copies an earlier
 * non-blocking write's host memory (AddressSanitizer caught the use after
 * free in the check_mode test). */
static void staging_reclaim(ocl_impl *impl)
{
    while (impl->staging_head && event_finished(impl->staging_head->done)) {
        ocl_staging *s = impl->staging_head;
        impl->staging_head = s->next;
        impl->staging_bytes -= s->bytes;
        clReleaseEvent(s->done);
        free(s);
    }
    if (!impl->staging_head)
        impl->staging_tail = NULL;
}

/* At destroy: wait for each write still copying, then free every copy. */
static void staging_release_all(ocl_impl *impl)
{
    while (impl->staging_head) {
        ocl_staging *s = impl->staging_head;
        impl->staging_head = s->next;
        clWaitForEvents(1, &s->done);
        clReleaseEvent(s->done);
        free(s);
    }
    impl->staging_tail = NULL;
    impl->staging_bytes = 0;
}

static void staging_push(ocl_impl *impl, ocl_staging *s)
{
    s->next = NULL;
    if (impl->staging_tail)
        impl->staging_tail->next = s;
    else
        impl->staging_head = s;
    impl->staging_tail = s;
    impl->staging_bytes += s->bytes;
}

/* Block until the queue is idle (one counted host wait). */
static porta_status queue_finish(porta_backend *b, const char *why)
{
    ocl_impl *impl = b->impl;
    b->counters.host_waits++;
    cl_int err = clFinish(impl->queue);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clFinish (%s)", why);
    staging_reclaim(impl);
    return PORTA_OK;
}

/* A write larger than the whole staging budget goes straight from the
 * caller's memory with a blocking write: one counted host wait. */
static porta_status write_blocking(porta_backend *b, porta_bbuffer *buf, size_t offset,
                                   size_t bytes, const void *src)
{
    ocl_impl *impl = b->impl;
    b->counters.host_waits++;
    cl_int err =
        clEnqueueWriteBuffer(impl->queue, buf->mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clEnqueueWriteBuffer(%zu bytes, blocking)", bytes);
    staging_reclaim(impl);
    return PORTA_OK;
}

static porta_status ocl_buffer_write(porta_backend *b, porta_bbuffer *buf, size_t offset,
                                     size_t bytes, const void *src)
{
    ocl_impl *impl = b->impl;
    porta_status st = check_range(b, "buffer_write", buf, offset, bytes);
    if (st != PORTA_OK || bytes == 0)
        return st;
    if (!src)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "buffer_write: NULL source");
    if (bytes > OCL_STAGING_LIMIT)
        return write_blocking(b, buf, offset, bytes, src);
    staging_reclaim(impl);
    if (impl->staging_bytes + bytes > OCL_STAGING_LIMIT) {
        st = queue_finish(b, "buffer_write staging full");
        if (st != PORTA_OK)
            return st;
    }
    ocl_staging *s = malloc(sizeof(*s) + bytes);
    if (!s)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "buffer_write: no host memory to stage %zu bytes", bytes);
    memcpy(s->data, src, bytes);
    s->bytes = bytes;
    cl_int err = clEnqueueWriteBuffer(impl->queue, buf->mem, CL_FALSE, offset, bytes, s->data, 0,
                                      NULL, &s->done);
    if (err != CL_SUCCESS) {
        free(s);
        return porta_cl_fail(b->msg, err, "clEnqueueWriteBuffer(%zu bytes)", bytes);
    }
    staging_push(impl, s);
    return PORTA_OK;
}

static porta_status ocl_buffer_read(porta_backend *b, porta_bbuffer *buf, size_t offset,
                                    size_t bytes, void *dst)
{
    ocl_impl *impl = b->impl;
    porta_status st = check_range(b, "buffer_read", buf, offset, bytes);
    if (st != PORTA_OK || bytes == 0)
        return st;
    if (!dst)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "buffer_read: NULL target");
    b->counters.device_reads++;
    b->counters.host_waits++;
    cl_int err =
        clEnqueueReadBuffer(impl->queue, buf->mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clEnqueueReadBuffer(%zu bytes)", bytes);
    staging_reclaim(impl);
    return PORTA_OK;
}

static porta_status ocl_buffer_fill(porta_backend *b, porta_bbuffer *buf, size_t offset,
                                    size_t bytes, uint32_t pattern)
{
    ocl_impl *impl = b->impl;
    porta_status st = check_range(b, "buffer_fill", buf, offset, bytes);
    if (st != PORTA_OK)
        return st;
    if (offset % 4 != 0 || bytes % 4 != 0)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "buffer_fill: offset %zu and size %zu must be multiples of 4", offset,
                             bytes);
    if (bytes == 0)
        return PORTA_OK;
    const cl_uint value = pattern;
    cl_int err = clEnqueueFillBuffer(impl->queue, buf->mem, &value, sizeof(value), offset, bytes, 0,
                                     NULL, NULL);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clEnqueueFillBuffer(%zu bytes)", bytes);
    return PORTA_OK;
}

static porta_status ocl_buffer_copy(porta_backend *b, porta_bbuffer *src, size_t src_offset,
                                    porta_bbuffer *dst, size_t dst_offset, size_t bytes)
{
    ocl_impl *impl = b->impl;
    porta_status st = check_range(b, "buffer_copy (source)", src, src_offset, bytes);
    if (st == PORTA_OK)
        st = check_range(b, "buffer_copy (target)", dst, dst_offset, bytes);
    if (st != PORTA_OK || bytes == 0)
        return st;
    if (src == dst && src_offset < dst_offset + bytes && dst_offset < src_offset + bytes)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "buffer_copy: source and target regions overlap");
    cl_int err = clEnqueueCopyBuffer(impl->queue, src->mem, dst->mem, src_offset, dst_offset, bytes,
                                     0, NULL, NULL);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clEnqueueCopyBuffer(%zu bytes)", bytes);
    return PORTA_OK;
}

/* ---- dispatch and queue control -------------------------------------------- */

static porta_status set_arguments(porta_backend *b, porta_bkernel *k, porta_bbuffer *const *bufs,
                                  const void *params)
{
    const porta_kernel_desc *desc = k->desc;
    cl_int err;
    for (cl_uint i = 0; i < desc->n_buffers; i++) {
        if (!bufs || !bufs[i])
            return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "dispatch(%s): buffer %u is NULL", desc->name, (unsigned)i);
        err = clSetKernelArg(k->kernel, i, sizeof(cl_mem), &bufs[i]->mem);
        if (err != CL_SUCCESS)
            return porta_cl_fail(b->msg, err, "clSetKernelArg(%s, %u)", desc->name, (unsigned)i);
    }
    if (!params)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT, "dispatch(%s): NULL params",
                             desc->name);
    err = clSetKernelArg(k->kernel, desc->n_buffers, desc->params_bytes, params);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clSetKernelArg(%s, params)", desc->name);
    return PORTA_OK;
}

/* Zero workgroups in any dimension is an empty dispatch: nothing is
 * enqueued (OpenCL 1.2 rejects a zero global size). Arguments are set and
 * the kernel enqueued at once, so sharing the cl_kernel across calls is
 * safe (one thread per backend). */
static porta_status ocl_dispatch(porta_backend *b, porta_bkernel *k, const uint32_t groups[3],
                                 porta_bbuffer *const *bufs, const void *params)
{
    ocl_impl *impl = b->impl;
    if (!k || !groups)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "dispatch: NULL kernel or group count");
    if (groups[0] == 0 || groups[1] == 0 || groups[2] == 0)
        return PORTA_OK;
    size_t local[3] = {k->variant.local_size, 1, 1};
    if ((size_t)groups[0] > SIZE_MAX / local[0])
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "dispatch(%s): %u groups of %zu overflow size_t", k->desc->name,
                             groups[0], local[0]);
    size_t global[3] = {(size_t)groups[0] * local[0], groups[1], groups[2]};
    porta_status st = set_arguments(b, k, bufs, params);
    if (st != PORTA_OK)
        return st;
    cl_int err =
        clEnqueueNDRangeKernel(impl->queue, k->kernel, 3, NULL, global, local, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clEnqueueNDRangeKernel(%s)", k->desc->name);
    b->counters.dispatches++;
    return PORTA_OK;
}

/* The queue is in-order: each command starts after the previous one has
 * finished and its writes are visible, so there is nothing to add. */
static porta_status ocl_barrier(porta_backend *b)
{
    (void)b;
    return PORTA_OK;
}

static porta_status ocl_submit(porta_backend *b)
{
    ocl_impl *impl = b->impl;
    b->counters.submits++;
    cl_int err = clFlush(impl->queue);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clFlush");
    return PORTA_OK;
}

static porta_status ocl_wait(porta_backend *b)
{
    return queue_finish(b, "wait");
}

/* ---- timestamps ------------------------------------------------------------ */

/* A command that completes when everything before it has: a marker, or on
 * drivers whose markers carry no profiling data, a 4-byte fill. */
static cl_int enqueue_timestamp(ocl_impl *impl, cl_event *event)
{
    if (impl->timestamp_mode == OCL_TIMESTAMP_FILL) {
        const cl_uint zero = 0;
        return clEnqueueFillBuffer(impl->queue, impl->timestamp_buffer, &zero, sizeof(zero), 0,
                                   sizeof(zero), 0, NULL, event);
    }
    return clEnqueueMarkerWithWaitList(impl->queue, 0, NULL, event);
}

/* The device time at which a finished command ended (start if the driver
 * leaves the end blank). */
static cl_int event_time(cl_event event, cl_ulong *ns)
{
    const cl_profiling_info params[2] = {CL_PROFILING_COMMAND_END, CL_PROFILING_COMMAND_START};
    cl_int err = CL_PROFILING_INFO_NOT_AVAILABLE;
    for (int i = 0; i < 2; i++) {
        cl_ulong value = 0;
        err = clGetEventProfilingInfo(event, params[i], sizeof(value), &value, NULL);
        if (err == CL_SUCCESS && value != 0) {
            *ns = value;
            return CL_SUCCESS;
        }
    }
    return err != CL_SUCCESS ? err : CL_PROFILING_INFO_NOT_AVAILABLE;
}

static porta_status ocl_timestamp(porta_backend *b, uint32_t slot)
{
    ocl_impl *impl = b->impl;
    if (slot >= PORTA_TIMESTAMP_SLOTS)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "timestamp: slot %u is not below %d", slot, PORTA_TIMESTAMP_SLOTS);
    if (impl->timestamp_mode == OCL_TIMESTAMP_NONE)
        return porta_msg_set(b->msg, PORTA_ERROR_UNSUPPORTED,
                             "timestamp: %s has no usable profiling timer", b->caps.name);
    cl_event event;
    cl_int err = enqueue_timestamp(impl, &event);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "%s (timestamp)",
                             impl->timestamp_mode == OCL_TIMESTAMP_FILL
                                 ? "clEnqueueFillBuffer"
                                 : "clEnqueueMarkerWithWaitList");
    if (impl->timestamps[slot])
        clReleaseEvent(impl->timestamps[slot]);
    impl->timestamps[slot] = event;
    return PORTA_OK;
}

static porta_status ocl_timestamps_read(porta_backend *b, uint32_t first, uint32_t count,
                                        uint64_t *ns)
{
    ocl_impl *impl = b->impl;
    if (impl->timestamp_mode == OCL_TIMESTAMP_NONE)
        return porta_msg_set(b->msg, PORTA_ERROR_UNSUPPORTED,
                             "timestamps_read: %s has no usable profiling timer", b->caps.name);
    if (!ns || first > PORTA_TIMESTAMP_SLOTS || count > PORTA_TIMESTAMP_SLOTS - first)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "timestamps_read: slots [%u, %u + %u) are not within [0, %d)", first,
                             first, count, PORTA_TIMESTAMP_SLOTS);
    for (uint32_t i = first; i < first + count; i++) {
        if (!impl->timestamps[i])
            return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "timestamps_read: slot %u was never recorded", i);
    }
    if (count == 0)
        return PORTA_OK;
    b->counters.host_waits++;
    cl_int err = clWaitForEvents(count, &impl->timestamps[first]);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clWaitForEvents (timestamps)");
    for (uint32_t i = 0; i < count; i++) {
        cl_ulong value = 0;
        err = event_time(impl->timestamps[first + i], &value);
        if (err != CL_SUCCESS)
            return porta_cl_fail(b->msg, err, "clGetEventProfilingInfo (slot %u)", first + i);
        ns[i] = value;
    }
    staging_reclaim(impl);
    return PORTA_OK;
}

/* ---- destroy ----------------------------------------------------------------- */

static void release_timestamps(ocl_impl *impl)
{
    for (int i = 0; i < PORTA_TIMESTAMP_SLOTS; i++) {
        if (impl->timestamps[i])
            clReleaseEvent(impl->timestamps[i]);
        impl->timestamps[i] = NULL;
    }
    if (impl->timestamp_buffer)
        clReleaseMemObject(impl->timestamp_buffer);
    impl->timestamp_buffer = NULL;
}

static void release_buffers(ocl_impl *impl)
{
    while (impl->buffers) {
        porta_bbuffer *buf = impl->buffers;
        impl->buffers = buf->next;
        clReleaseMemObject(buf->mem);
        free(buf);
    }
}

/* Also the cleanup of a failed open(), so every field may still be empty;
 * it never overwrites the message unless clFinish itself fails. */
static void ocl_destroy(porta_backend *b)
{
    ocl_impl *impl = b->impl;
    if (!impl)
        return;
    if (impl->queue) {
        cl_int err = clFinish(impl->queue);
        if (err != CL_SUCCESS)
            porta_cl_fail(b->msg, err, "clFinish (destroy)");
    }
    staging_release_all(impl);
    release_timestamps(impl);
    porta_ocl_kernels_release(impl);
    release_buffers(impl);
    if (impl->queue)
        clReleaseCommandQueue(impl->queue);
    if (impl->context)
        clReleaseContext(impl->context);
    free(impl);
    b->impl = NULL;
}

static const porta_backend_ops ocl_ops = {
    .destroy = ocl_destroy,
    .buffer_alloc = ocl_buffer_alloc,
    .buffer_free = ocl_buffer_free,
    .buffer_write = ocl_buffer_write,
    .buffer_read = ocl_buffer_read,
    .buffer_fill = ocl_buffer_fill,
    .buffer_copy = ocl_buffer_copy,
    .kernel_get = porta_ocl_kernel_get,
    .dispatch = ocl_dispatch,
    .barrier = ocl_barrier,
    .submit = ocl_submit,
    .wait = ocl_wait,
    .timestamp = ocl_timestamp,
    .timestamps_read = ocl_timestamps_read,
};

/* ---- open -------------------------------------------------------------------- */

static porta_status create_context(porta_backend *b)
{
    ocl_impl *impl = b->impl;
    const cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                           (cl_context_properties)impl->platform, 0};
    cl_int err;
    impl->context = clCreateContext(props, 1, &impl->device, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clCreateContext(%s)", b->caps.name);
    return PORTA_OK;
}

/* One in-order queue with profiling; the 2.0 constructor only where the
 * platform has it. */
static porta_status create_queue(porta_backend *b)
{
    ocl_impl *impl = b->impl;
    cl_int err;
    if (impl->platform_major >= 2) {
        const cl_queue_properties props[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
        impl->queue = clCreateCommandQueueWithProperties(impl->context, impl->device, props, &err);
        if (err != CL_SUCCESS)
            return porta_cl_fail(b->msg, err, "clCreateCommandQueueWithProperties(%s)",
                                 b->caps.name);
        return PORTA_OK;
    }
    impl->queue =
        clCreateCommandQueue(impl->context, impl->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clCreateCommandQueue(%s)", b->caps.name);
    return PORTA_OK;
}

/* One timestamp taken and waited for: its device time, or 0. */
static cl_ulong probe_one(porta_backend *b)
{
    ocl_impl *impl = b->impl;
    cl_event event = NULL;
    cl_ulong ns = 0;
    if (enqueue_timestamp(impl, &event) != CL_SUCCESS)
        return 0;
    b->counters.host_waits++;
    if (clWaitForEvents(1, &event) != CL_SUCCESS || event_time(event, &ns) != CL_SUCCESS)
        ns = 0;
    clReleaseEvent(event);
    return ns;
}

/* Whether timestamps taken in `mode` follow real time in nanoseconds: two
 * of them around a host sleep must lie at least half the sleep apart.
 * (Rusticl on Mesa 22.3 answers 0, 1, 2, 3 for queued, submit, start and
 * end of every command; this rejects such placeholder values.) */
static int timestamps_work(porta_backend *b, ocl_timestamp_mode mode)
{
    const struct timespec pause = {0, OCL_PROBE_SLEEP_NS};
    ((ocl_impl *)b->impl)->timestamp_mode = mode;
    cl_ulong before = probe_one(b);
    if (before == 0)
        return 0;
    nanosleep(&pause, NULL);
    cl_ulong after = probe_one(b);
    return after > before && after - before >= OCL_PROBE_SLEEP_NS / 2;
}

/* Pick how timestamps are taken on this driver: markers, else 4-byte
 * fills. A device where neither works reports timestamp_period_ns = 0. */
static void probe_timestamps(porta_backend *b)
{
    ocl_impl *impl = b->impl;
    if (timestamps_work(b, OCL_TIMESTAMP_MARKER))
        return;
    cl_int err;
    impl->timestamp_buffer = clCreateBuffer(impl->context, CL_MEM_READ_WRITE, 4, NULL, &err);
    if (err == CL_SUCCESS && timestamps_work(b, OCL_TIMESTAMP_FILL))
        return;
    impl->timestamp_mode = OCL_TIMESTAMP_NONE;
    b->caps.timestamp_period_ns = 0;
}

static porta_status copy_options(porta_backend *b, const porta_backend_options *opt)
{
    ocl_impl *impl = b->impl;
    if (!opt)
        return PORTA_OK;
    const char *dir = opt->cache_dir ? opt->cache_dir : "";
    if (strlen(dir) >= sizeof(impl->cache_dir))
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "cache directory path is too long (%zu bytes)", strlen(dir));
    strcpy(impl->cache_dir, dir);
    impl->keep_source = opt->keep_source;
    return PORTA_OK;
}

/* Find device `index` of the flattened list into impl and caps. */
static porta_status select_device(porta_backend *b, uint32_t index, ocl_impl *impl)
{
    ocl_device_ref *refs;
    size_t n;
    porta_status st = list_devices(&refs, &n, b->msg);
    if (st != PORTA_OK)
        return st;
    if (index >= n) {
        free(refs);
        return porta_msg_set(b->msg, PORTA_ERROR_DEVICE_NOT_FOUND,
                             "opencl:%u does not exist (%zu OpenCL device(s) found)", index, n);
    }
    impl->platform = refs[index].platform;
    impl->device = refs[index].device;
    free(refs);
    fill_caps(&b->caps, index, impl->platform, impl->device);
    platform_version(impl->platform, &impl->platform_major, &impl->platform_minor);
    return PORTA_OK;
}

porta_status porta_opencl_open(uint32_t index, const porta_backend_options *opt, porta_backend *b)
{
    if (!b)
        return PORTA_ERROR_INVALID_ARGUMENT;
    ocl_impl *impl = calloc(1, sizeof(*impl));
    if (!impl)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "opencl open: out of memory");
    b->impl = impl;
    b->ops = &ocl_ops;
    porta_status st = select_device(b, index, impl);
    if (st == PORTA_OK)
        st = copy_options(b, opt);
    if (st == PORTA_OK)
        st = create_context(b);
    if (st == PORTA_OK)
        st = create_queue(b);
    if (st != PORTA_OK) {
        ocl_destroy(b);
        b->ops = NULL;
        return st;
    }
    probe_timestamps(b);
    return PORTA_OK;
}
