/* opencl_program.c: kernel_get(), program builds and the binary cache.
 *
 * Each (desc, variant) is one program built from desc->cl_source with the
 * variant as -D options, and one cl_kernel, both kept until destroy(). With
 * a cache directory, program binaries are stored on disk under a hash of
 * (device cache key, source, options); a cached binary that the driver
 * refuses is silently replaced by a source build.
 *
 * Cache file: a header (magic, key, payload size, payload checksum) and the
 * CL_PROGRAM_BINARIES payload, so a damaged file is never handed to the
 * driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_internal.h"

#define OCL_OPTIONS_CAP 256
#define OCL_CACHE_MAGIC "PORTACL1"

typedef struct ocl_cache_header {
    char magic[8];
    uint64_t key;
    uint64_t bytes;
    uint64_t checksum;
} ocl_cache_header;

/* ---- request checks and the in-memory cache ------------------------------- */

static porta_status check_request(porta_backend *b, const porta_kernel_desc *desc,
                                  const porta_kernel_variant *variant, porta_bkernel **out)
{
    if (!desc || !variant || !out || !desc->name || !desc->cl_source)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "kernel_get: NULL kernel description, variant, name or source");
    if (desc->n_buffers > PORTA_MAX_BINDINGS)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "kernel_get(%s): %u buffers, at most %d allowed", desc->name,
                             desc->n_buffers, PORTA_MAX_BINDINGS);
    if (desc->params_bytes == 0 || desc->params_bytes > b->caps.max_push_bytes)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "kernel_get(%s): params of %u bytes, the device takes 1 to %u",
                             desc->name, desc->params_bytes, b->caps.max_push_bytes);
    if (variant->local_size == 0 || variant->local_size > b->caps.max_workgroup_size)
        return porta_msg_set(b->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "kernel_get(%s): local size %u, the device takes 1 to %u "
                             "(CL_DEVICE_MAX_WORK_GROUP_SIZE)",
                             desc->name, variant->local_size, b->caps.max_workgroup_size);
    return PORTA_OK;
}

static porta_bkernel *find_kernel(const ocl_impl *impl, const porta_kernel_desc *desc,
                                  const porta_kernel_variant *variant)
{
    for (porta_bkernel *k = impl->kernels; k; k = k->next) {
        if (k->desc == desc && porta_variant_equal(&k->variant, variant))
            return k;
    }
    return NULL;
}

/* Build options. -cl-fp32-correctly-rounded-divide-sqrt where the device
 * offers it: OpenCL's default / and sqrt may be 2.5 and 3 ulp off, GPUs
 * use that freedom, and over 50 optimizer steps it moved SGD with clipping
 * 2e-6 away from the C reference on an NVIDIA H200. Not for a variant that
 * corrects its own (own_rounding), which wants the device's fastest. */
static void format_options(const ocl_impl *impl, char *out, size_t cap,
                           const porta_kernel_variant *v)
{
    const int rounded = porta_ocl_offers_correct_rounding(impl->device) && !v->own_rounding;
    /* Never fast-math: it would delete the NaN checks that guard training. */
    snprintf(out, cap,
             "-cl-std=CL1.2%s -DPORTA_LOCAL_SIZE=%u -DPORTA_SPEC0=%u -DPORTA_SPEC1=%u "
             "-DPORTA_SPEC2=%u -DPORTA_SPEC3=%u",
             rounded ? " -cl-fp32-correctly-rounded-divide-sqrt" : "", v->local_size, v->spec[0],
             v->spec[1], v->spec[2], v->spec[3]);
}

/* keep_source: <cache_dir or .>/source/<name>.cl, headed by the options.
 * A failed write only loses the debugging copy. */
static void keep_source(const ocl_impl *impl, const porta_kernel_desc *desc, const char *options)
{
    char dir[4200], file[300];
    snprintf(dir, sizeof(dir), "%s/source", impl->cache_dir[0] ? impl->cache_dir : ".");
    snprintf(file, sizeof(file), "%s.cl", desc->name);
    size_t cap = strlen(desc->cl_source) + strlen(options) + 64;
    char *text = malloc(cap);
    if (!text)
        return;
    int len = snprintf(text, cap, "/* porta: built with %s */\n%s", options, desc->cl_source);
    if (len > 0)
        porta_cache_write(dir, file, text, (size_t)len);
    free(text);
}

/* ---- building ---------------------------------------------------------------- */

/* CL_PROGRAM_BUILD_LOG as a malloc'ed text, or NULL. */
static char *build_log(const ocl_impl *impl, cl_program program)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, impl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
            CL_SUCCESS ||
        size == 0)
        return NULL;
    char *log = malloc(size + 1);
    if (!log)
        return NULL;
    if (clGetProgramBuildInfo(program, impl->device, CL_PROGRAM_BUILD_LOG, size, log, NULL) !=
        CL_SUCCESS) {
        free(log);
        return NULL;
    }
    log[size] = '\0';
    return log;
}

static porta_status build_failure(porta_backend *b, cl_program program,
                                  const porta_kernel_desc *desc, const char *options, cl_int err)
{
    porta_msg_set(b->msg, PORTA_ERROR_KERNEL_BUILD,
                  "clBuildProgram(%s): %s (%d) on %s\noptions: %s\nbuild log:\n", desc->name,
                  porta_cl_error_name(err), (int)err, b->caps.name, options);
    char *log = build_log(b->impl, program);
    porta_msg_append(b->msg, "%s", log && log[0] ? log : "(the driver gave no build log)");
    free(log);
    return PORTA_ERROR_KERNEL_BUILD;
}

static porta_status build_from_source(porta_backend *b, const porta_kernel_desc *desc,
                                      const char *options, cl_program *out)
{
    ocl_impl *impl = b->impl;
    const char *source = desc->cl_source; /* cl.h lacks the inner const */
    cl_int err;
    cl_program program = clCreateProgramWithSource(impl->context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clCreateProgramWithSource(%s)", desc->name);
    err = clBuildProgram(program, 1, &impl->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        porta_status st = build_failure(b, program, desc, options, err);
        clReleaseProgram(program);
        return st;
    }
    *out = program;
    return PORTA_OK;
}

/* ---- the on-disk binary cache ----------------------------------------------- */

static uint64_t cache_key(const porta_device_caps *caps, const char *source, const char *options)
{
    /* Each text with its NUL, so that no two triples hash the same bytes. */
    uint64_t h = porta_fnv1a(PORTA_FNV_SEED, caps->cache_key, strlen(caps->cache_key) + 1);
    h = porta_fnv1a(h, source, strlen(source) + 1);
    return porta_fnv1a(h, options, strlen(options) + 1);
}

/* The payload of a valid cache file for `key`, or NULL (a miss). *file is
 * the allocation to free. */
static const unsigned char *read_cached_binary(const ocl_impl *impl, const char *name, uint64_t key,
                                               void **file, size_t *bytes)
{
    size_t size;
    ocl_cache_header header;
    *file = NULL;
    if (porta_cache_read(impl->cache_dir, name, file, &size) != 0)
        return NULL;
    if (size > sizeof(header)) {
        memcpy(&header, *file, sizeof(header));
        const unsigned char *payload = (const unsigned char *)*file + sizeof(header);
        if (memcmp(header.magic, OCL_CACHE_MAGIC, 8) == 0 && header.key == key &&
            header.bytes == size - sizeof(header) &&
            header.checksum == porta_fnv1a(PORTA_FNV_SEED, payload, header.bytes)) {
            *bytes = header.bytes;
            return payload;
        }
    }
    free(*file);
    *file = NULL;
    return NULL;
}

/* A program from the cache, or NULL when there is none the driver takes. */
static cl_program build_from_binary(const ocl_impl *impl, const char *name, uint64_t key,
                                    const char *options)
{
    void *file;
    size_t bytes;
    const unsigned char *binary = read_cached_binary(impl, name, key, &file, &bytes);
    if (!binary)
        return NULL;
    cl_int status = CL_SUCCESS, err;
    cl_program program =
        clCreateProgramWithBinary(impl->context, 1, &impl->device, &bytes, &binary, &status, &err);
    if (err == CL_SUCCESS && status == CL_SUCCESS)
        err = clBuildProgram(program, 1, &impl->device, options, NULL, NULL);
    free(file);
    if (err != CL_SUCCESS || status != CL_SUCCESS) {
        if (program)
            clReleaseProgram(program);
        return NULL;
    }
    return program;
}

/* Store the program's binary; returns 0 when a file was written. */
static int store_binary(const ocl_impl *impl, const char *name, uint64_t key, cl_program program)
{
    size_t bytes = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof(bytes), &bytes, NULL) !=
            CL_SUCCESS ||
        bytes == 0)
        return -1;
    ocl_cache_header header;
    unsigned char *file = malloc(sizeof(header) + bytes);
    if (!file)
        return -1;
    unsigned char *payload = file + sizeof(header);
    int rc = -1;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof(payload), &payload, NULL) ==
        CL_SUCCESS) {
        memcpy(header.magic, OCL_CACHE_MAGIC, 8);
        header.key = key;
        header.bytes = bytes;
        header.checksum = porta_fnv1a(PORTA_FNV_SEED, payload, bytes);
        memcpy(file, &header, sizeof(header));
        rc = porta_cache_write(impl->cache_dir, name, file, sizeof(header) + bytes);
    }
    free(file);
    return rc;
}

/* The program for these options: from the binary cache when possible,
 * else from source (then stored). */
static porta_status get_program(porta_backend *b, const porta_kernel_desc *desc,
                                const char *options, cl_program *out)
{
    ocl_impl *impl = b->impl;
    if (!impl->cache_dir[0])
        return build_from_source(b, desc, options, out);
    uint64_t key = cache_key(&b->caps, desc->cl_source, options);
    char name[64];
    porta_cache_name(name, sizeof(name), "ocl", key);
    *out = build_from_binary(impl, name, key, options);
    if (*out) {
        impl->cache_hits++;
        return PORTA_OK;
    }
    porta_status st = build_from_source(b, desc, options, out);
    if (st == PORTA_OK && store_binary(impl, name, key, *out) == 0)
        impl->cache_stores++;
    return st;
}

/* ---- kernels ----------------------------------------------------------------- */

/* Whether the kernel declares reqd_work_group_size(local_size, 1, 1). */
static int requires_local_size(const ocl_impl *impl, const porta_bkernel *k)
{
    size_t compiled[3] = {0, 0, 0};
    if (clGetKernelWorkGroupInfo(k->kernel, impl->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
                                 sizeof(compiled), compiled, NULL) != CL_SUCCESS)
        return 0;
    return compiled[0] == k->variant.local_size && compiled[1] == 1 && compiled[2] == 1;
}

/* CL_KERNEL_WORK_GROUP_SIZE bounds the local size, except for a kernel
 * compiled with reqd_work_group_size equal to it: the compiler then had to
 * fit that size or fail the build, and enqueue still reports a misfit.
 * (Rusticl on Mesa 22.3 answers 32 for every kernel on llvmpipe, yet runs
 * workgroups up to CL_DEVICE_MAX_WORK_GROUP_SIZE correctly.) */
static porta_status check_kernel_size(porta_backend *b, const porta_bkernel *k)
{
    ocl_impl *impl = b->impl;
    size_t max_size = 0;
    cl_int err = clGetKernelWorkGroupInfo(k->kernel, impl->device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof(max_size), &max_size, NULL);
    if (err != CL_SUCCESS)
        return porta_cl_fail(b->msg, err, "clGetKernelWorkGroupInfo(%s)", k->desc->name);
    if (k->variant.local_size <= max_size || requires_local_size(impl, k))
        return PORTA_OK;
    return porta_msg_set(b->msg, PORTA_ERROR_KERNEL_BUILD,
                         "kernel %s: local size %u is more than this kernel can run on %s "
                         "(CL_KERNEL_WORK_GROUP_SIZE %zu)",
                         k->desc->name, k->variant.local_size, b->caps.name, max_size);
}

static porta_status create_kernel(porta_backend *b, porta_bkernel *k)
{
    cl_int err;
    k->kernel = clCreateKernel(k->program, k->desc->name, &err);
    if (err != CL_SUCCESS) {
        porta_cl_fail(b->msg, err, "clCreateKernel(%s)", k->desc->name);
        return PORTA_ERROR_KERNEL_BUILD;
    }
    return check_kernel_size(b, k);
}

static void release_kernel(porta_bkernel *k)
{
    if (k->kernel)
        clReleaseKernel(k->kernel);
    if (k->program)
        clReleaseProgram(k->program);
    free(k);
}

porta_status porta_ocl_kernel_get(porta_backend *b, const porta_kernel_desc *desc,
                                  const porta_kernel_variant *variant, porta_bkernel **out)
{
    ocl_impl *impl = b->impl;
    porta_status st = check_request(b, desc, variant, out);
    if (st != PORTA_OK)
        return st;
    *out = find_kernel(impl, desc, variant);
    if (*out)
        return PORTA_OK;
    porta_bkernel *k = calloc(1, sizeof(*k));
    if (!k)
        return porta_msg_set(b->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "kernel_get: out of memory");
    k->desc = desc;
    k->variant = *variant;
    char options[OCL_OPTIONS_CAP];
    format_options(impl, options, sizeof(options), variant);
    if (impl->keep_source)
        keep_source(impl, desc, options);
    st = get_program(b, desc, options, &k->program);
    if (st == PORTA_OK)
        st = create_kernel(b, k);
    if (st != PORTA_OK) {
        release_kernel(k);
        return st;
    }
    k->next = impl->kernels;
    impl->kernels = k;
    *out = k;
    return PORTA_OK;
}

void porta_ocl_kernels_release(ocl_impl *impl)
{
    while (impl->kernels) {
        porta_bkernel *k = impl->kernels;
        impl->kernels = k->next;
        release_kernel(k);
    }
}
