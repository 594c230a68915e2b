/* opencl_internal.h: what the files of the OpenCL backend share.
 *
 * opencl_backend.c owns devices, queue, buffers, dispatch and timestamps;
 * opencl_program.c builds programs (through the on-disk binary cache) and
 * caches kernels; opencl_errors.c names CL error codes and turns them into
 * porta_status values and messages. Nothing here is visible to lib/.
 */
#ifndef PORTA_OPENCL_INTERNAL_H
#define PORTA_OPENCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
/* clCreateCommandQueue is the only queue constructor of OpenCL 1.2
 * platforms; it is called only when the platform predates 2.0. */
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS

#if defined(__APPLE__)
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif

#include "backend.h"

/* One device buffer; live buffers form a list so destroy() can release
 * whatever the caller left behind. */
struct porta_bbuffer {
    cl_mem mem;
    size_t bytes;
    struct porta_bbuffer *prev, *next;
};

/* One built (desc, variant): its own program, since the variant is baked in
 * through -D options. */
struct porta_bkernel {
    const porta_kernel_desc *desc;
    porta_kernel_variant variant;
    cl_program program;
    cl_kernel kernel;
    struct porta_bkernel *next;
};

/* A host copy of buffer_write() data, kept until its write completes. */
typedef struct ocl_staging {
    struct ocl_staging *next;
    cl_event done;
    size_t bytes;
    unsigned char data[];
} ocl_staging;

typedef enum ocl_timestamp_mode {
    OCL_TIMESTAMP_NONE = 0, /* no usable profiling information */
    OCL_TIMESTAMP_MARKER,   /* clEnqueueMarkerWithWaitList events */
    OCL_TIMESTAMP_FILL,     /* 4-byte fills of an internal buffer */
} ocl_timestamp_mode;

/* Everything one opened device owns (porta_backend.impl). */
typedef struct ocl_impl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    int platform_major, platform_minor;

    char cache_dir[4096]; /* "" when the binary cache is off */
    int keep_source;

    struct porta_bkernel *kernels;
    struct porta_bbuffer *buffers;

    ocl_staging *staging_head, *staging_tail; /* oldest first */
    size_t staging_bytes;

    ocl_timestamp_mode timestamp_mode;
    cl_mem timestamp_buffer; /* 4 bytes, OCL_TIMESTAMP_FILL only */
    cl_event timestamps[PORTA_TIMESTAMP_SLOTS];

    /* Program builds served from / stored into the on-disk cache (for
     * tests and diagnostics). */
    uint32_t cache_hits, cache_stores;
} ocl_impl;

/* opencl_errors.c */
const char *porta_cl_error_name(cl_int err);
porta_status porta_cl_status(cl_int err);
/* Write "<what>: <CL_ERROR_NAME> (<code>)" into msg and return the matching
 * status; `what` is printf-formatted. */
porta_status porta_cl_fail(porta_msg *msg, cl_int err, const char *what, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* opencl_program.c */
porta_status porta_ocl_kernel_get(porta_backend *b, const porta_kernel_desc *desc,
                                  const porta_kernel_variant *variant, porta_bkernel **out);
void porta_ocl_kernels_release(ocl_impl *impl);

/* opencl_backend.c: whether the device offers correctly rounded division
 * and square root (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT): kernels are then
 * built with -cl-fp32-correctly-rounded-divide-sqrt. */
int porta_ocl_offers_correct_rounding(cl_device_id dev);

#endif
