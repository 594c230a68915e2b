/* backend.h: the interface every compute backend (OpenCL, Vulkan) fills.
 *
 * lib/ talks to devices only through this file; a backend never knows what
 * a layer or a model is. Pure C, a vtable over an opaque implementation.
 *
 * Execution model (the same on every backend):
 *   - One in-order stream of commands per opened device. Buffer writes,
 *     fills, copies and reads are ordered with every command before and
 *     after them, with full memory visibility.
 *   - Dispatches are ordered with respect to transfers, but two dispatches
 *     are ordered only if a barrier() was enqueued between them. lib/ calls
 *     barrier() after every dispatch whose output a later one reads. (The
 *     OpenCL backend uses an in-order queue, so its barrier() has nothing to
 *     add; the Vulkan backend records a compute-to-compute memory barrier.)
 *   - Commands are recorded/enqueued and reach the device on submit() (a
 *     backend may also flush by itself when its batch is full). Nothing
 *     blocks the host except wait(), buffer_read() and timestamps_read(),
 *     and a backend out of room for work in flight: buffer_write() when its
 *     staging memory is full (OpenCL: 256 MiB of host copies in flight, or
 *     one write larger than that), and on Vulkan any recording call while
 *     all 8 command batches of its ring are still in flight.
 *   - Every such block increments counters.host_waits; every buffer_read()
 *     increments counters.device_reads. A caller compares the counters
 *     before and after a stretch of work to prove it synchronised zero times.
 *     buffer_read() counts exactly one host wait and one device read, even
 *     when it copies in pieces; wait() and timestamps_read() count exactly
 *     one host wait. (The OpenCL open() counts the host waits of its
 *     timestamp probe, so counters need not start at zero.)
 *   - counters.submits differs between the backends (compare it only on
 *     one backend): OpenCL counts each submit() call, even with nothing
 *     enqueued, and nothing else. Vulkan counts each command batch it sends:
 *     from submit() only when something was recorded, its automatic submits
 *     (a full batch of dispatches or of staged data), one from wait(),
 *     timestamps_read() and destroy() when something was recorded, and one
 *     per piece that buffer_read() copies.
 *
 * Errors: every function returns a porta_status. On failure it writes a
 * sentence into *msg (porta_msg_set) that names the API call and the
 * driver's error by name (CL_OUT_OF_RESOURCES, VK_ERROR_DEVICE_LOST) and, for
 * kernel builds, the complete build log (OpenCL: CL_PROGRAM_BUILD_LOG;
 * Vulkan: what the validation layer reported during the build), cut only
 * where the message reaches PORTA_MSG_CAPACITY bytes (it then ends with
 * "[message truncated]"). No backend ever aborts, exits or prints.
 */
#ifndef PORTA_BACKEND_H
#define PORTA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "common/message.h"
#include "porta/status.h"

/* ---- devices ----------------------------------------------------------- */

typedef enum porta_api { PORTA_API_OPENCL = 0, PORTA_API_VULKAN = 1 } porta_api;

typedef enum porta_device_type {
    PORTA_DEVICE_TYPE_OTHER = 0,
    PORTA_DEVICE_TYPE_CPU = 1,
    PORTA_DEVICE_TYPE_INTEGRATED_GPU = 2,
    PORTA_DEVICE_TYPE_DISCRETE_GPU = 3,
    PORTA_DEVICE_TYPE_VIRTUAL_GPU = 4,
} porta_device_type;

/* How a device runs a workgroup: what device policy keys on, never a
 * device or driver name (the presets in backends/common/device_presets.c
 * fill it). */
typedef enum porta_execution {
    /* A GPU: the invocations of a subgroup run together, a branch that is
     * uniform across them is taken once, a barrier is cheap. */
    PORTA_EXECUTION_SIMT = 0,
    /* A CPU OpenCL driver such as PoCL: a workgroup is a loop over its
     * work-items, cut at every barrier, vectorised across work-items;
     * uniform branches are real branches. */
    PORTA_EXECUTION_WORK_ITEM_LOOP = 1,
    /* Mesa's llvmpipe: batches of SIMD lanes run every branch masked,
     * uniform or not, and a barrier switches coroutines, which is dear. */
    PORTA_EXECUTION_MASKED_LANES = 2,
} porta_execution;

/* What a backend reports about one device. Strings are NUL-terminated and
 * truncated to fit. The caps open() fills are authoritative; enumerate's
 * are a preview, since only open can probe the device. In particular
 * timestamp_period_ns may be 0 after open although enumerate reported a
 * period: the OpenCL probe finds that Rusticl (Mesa 22.3) fakes its
 * profiling times. */
typedef struct porta_device_caps {
    porta_api api;
    uint32_t index;       /* position within its API: opencl:N, vulkan:N */
    char name[256];       /* CL_DEVICE_NAME / deviceName */
    char vendor[128];     /* CL_DEVICE_VENDOR / vendor from vendorID */
    char platform[128];   /* CL_PLATFORM_NAME / driverName (e.g. "llvmpipe") */
    char driver[128];     /* CL_DRIVER_VERSION / driverInfo (e.g. "Mesa 22.3.6") */
    char api_version[64]; /* CL_DEVICE_VERSION / apiVersion as text */
    porta_device_type type;
    uint64_t global_mem_bytes;   /* total device memory (largest device-local heap) */
    uint64_t max_alloc_bytes;    /* the largest single buffer porta may allocate */
    uint64_t local_mem_bytes;    /* shared/local memory per workgroup */
    uint32_t max_workgroup_size; /* invocations per workgroup */
    uint32_t max_workgroup_count[3];
    uint32_t subgroup_min;      /* subgroup (warp/wavefront/SIMD) size range; */
    uint32_t subgroup_max;      /* 0 when the driver does not say */
    uint32_t max_push_bytes;    /* params struct limit (>= 128) */
    double timestamp_period_ns; /* 0 when timestamps are unsupported */
    /* 1 when kernels' / and sqrt round correctly: a CPU device (its LLVM
     * code divides with IEEE instructions), or an OpenCL device that offers
     * CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT (kernels are built with
     * -cl-fp32-correctly-rounded-divide-sqrt). 0: they may be a few ulp off
     * (Vulkan allows 2.5 ulp, and GPUs use it). */
    uint32_t div_sqrt_rounded;
    /* Storage buffers one kernel may bind (Vulkan
     * maxPerStageDescriptorStorageBuffers and its set and resource limits;
     * OpenCL has none, PORTA_MAX_BINDINGS). */
    uint32_t max_storage_buffers;
    /* The largest range one binding may address (Vulkan
     * maxStorageBufferRange; OpenCL: max_alloc_bytes). max_alloc_bytes is
     * already at most this. */
    uint64_t max_storage_range;
    /* Policy: the tuning preset's answers (device_presets.c), which a
     * user may override by preset name (PORTA_DEVICE_PRESET) and lower
     * (PORTA_DEVICE_LIMITS). */
    porta_execution execution;
    /* Loop iterations one invocation may run in a dispatch before the
     * driver ends its loops silently; 0: no such limit. */
    uint32_t loop_limit;
    /* 1: a fused multiply-add costs no more than a multiply and an add. */
    uint32_t fast_fma;
    /* Elements a streaming kernel's invocation should walk (the fused
     * optimizer step's default). */
    uint32_t elements_per_invocation;
    /* 1: workgroups of one dispatch may hand a value over through a
     * coherent buffer and an atomic ticket (the memory model, or the
     * driver's shared coherent memory, makes another workgroup's stores
     * visible); 0: porta uses a second dispatch instead. */
    uint32_t group_handover;
    /* The preset that filled the policy fields ("llvmpipe", "pocl", "gpu",
     * ...). */
    char preset[32];
    /* Stable text identifying device + driver for cache keys. */
    char cache_key[512];
} porta_device_caps;

/* ---- kernels ----------------------------------------------------------- */

#define PORTA_MAX_BINDINGS 16
#define PORTA_MAX_PARAMS_BYTES 128
#define PORTA_SPEC_COUNT 4

/* One kernel as generated from shaders/NAME.kc at build time: the same
 * kernel as OpenCL C and as SPIR-V, with its interface. */
typedef struct porta_kernel_desc {
    const char *name;      /* kernel (OpenCL function) name */
    const char *cl_source; /* NUL-terminated OpenCL C */
    const uint32_t *spirv; /* SPIR-V words, entry point "main" */
    size_t spirv_bytes;
    uint32_t n_buffers;    /* storage buffers at bindings 0..n-1 */
    uint32_t params_bytes; /* size of the params struct (push constants) */
    uint32_t shared_bytes; /* its shared arrays (a fixed size: shaders/README.md) */
    /* The largest workgroup it may run (LOCAL_SIZE_MAX when its shared
     * arrays are sized by it), 0: the device's limit alone. */
    uint32_t max_local_size;
    uint64_t source_hash; /* FNV-1a of cl_source and spirv together */
} porta_kernel_desc;

/* Specialisation of a kernel. OpenCL: built with
 *   -DPORTA_LOCAL_SIZE=<local_size> -DPORTA_SPEC0=<spec[0]> ... -DPORTA_SPEC3=<spec[3]>
 * Vulkan: specialisation constants id 0 = local_size (the shader declares
 * local_size_x_id = 0), ids 1..4 = spec[0..3]. local_size must not exceed
 * caps.max_workgroup_size. Kernels are 1-D in workgroup shape for now. */
typedef struct porta_kernel_variant {
    uint32_t local_size;
    uint32_t spec[PORTA_SPEC_COUNT];
    /* 1: the kernel corrects its own divisions and square roots
     * (shaders/corrected_div_sqrt.kh), so the device's fastest ones serve:
     * OpenCL builds it without -cl-fp32-correctly-rounded-divide-sqrt.
     * 0: / and sqrt as precise as the device offers. */
    uint32_t own_rounding;
} porta_kernel_variant;

/* 1 if two variants build the same kernel (same local size, spec and
 * rounding). */
int porta_variant_equal(const porta_kernel_variant *a, const porta_kernel_variant *b);

/* ---- the vtable -------------------------------------------------------- */

typedef struct porta_backend porta_backend;
typedef struct porta_bbuffer porta_bbuffer; /* backend buffer, opaque */
typedef struct porta_bkernel porta_bkernel; /* compiled kernel, opaque */

typedef struct porta_backend_counters {
    uint64_t host_waits;   /* times the host blocked on the device */
    uint64_t device_reads; /* buffer_read() calls (device-to-host copies) */
    uint64_t dispatches;
    uint64_t submits;
    uint64_t validation_messages; /* Vulkan validation layer reports */
    uint64_t queue_full_waits;    /* the host got a full queue ahead and waited for room */
} porta_backend_counters;

typedef struct porta_backend_ops {
    /* Submit what is still recorded, wait for all work, free every buffer
     * the caller never freed, release everything, persist caches. Never
     * fails loudly: problems go into the message only. Afterwards the
     * buffers and kernels are gone: buffer_free() (or any other call) with
     * them is not allowed. */
    void (*destroy)(porta_backend *b);

    /* Allocate `bytes` (> 0) of device memory; contents undefined.
     * bytes > caps.max_alloc_bytes gives PORTA_ERROR_ALLOCATION_TOO_LARGE
     * without calling the driver. */
    porta_status (*buffer_alloc)(porta_backend *b, size_t bytes, porta_bbuffer **out);
    /* Release after all enqueued work that uses it completes; does not
     * wait. NULL is a no-op. Not allowed after destroy(). */
    void (*buffer_free)(porta_backend *b, porta_bbuffer *buf);
    /* Stream-ordered host-to-device copy. `src` may be reused as soon as the
     * call returns (the backend copies it to staging if needed). Does not
     * wait for the device unless its staging memory is exhausted (then it
     * counts a host wait). */
    porta_status (*buffer_write)(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                                 const void *src);
    /* Blocking device-to-host copy of everything enqueued so far.
     * Counts exactly one device read and one host wait, even when the
     * backend copies in pieces. */
    porta_status (*buffer_read)(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                                void *dst);
    /* Stream-ordered fill with a repeated 32-bit pattern; offset and bytes
     * are multiples of 4. */
    porta_status (*buffer_fill)(porta_backend *b, porta_bbuffer *buf, size_t offset, size_t bytes,
                                uint32_t pattern);
    /* Stream-ordered device-to-device copy (regions must not overlap). */
    porta_status (*buffer_copy)(porta_backend *b, porta_bbuffer *src, size_t src_offset,
                                porta_bbuffer *dst, size_t dst_offset, size_t bytes);

    /* Return the compiled kernel for (desc, variant), building it on first
     * use (through the on-disk cache). The backend owns and caches it by
     * desc pointer and variant, so a desc must have static storage duration
     * and never change (the generated porta_kernel_desc_NAME do); the
     * returned pointer stays valid until destroy. Build failures give
     * PORTA_ERROR_KERNEL_BUILD with the full build log in the message, and
     * are not cached (the next call tries again). A missing entry point
     * (OpenCL: no kernel named desc->name; Vulkan: no GLCompute entry point
     * "main") and malformed SPIR-V (Vulkan checks the magic number and the
     * entry point before calling the driver) give it too. With validation
     * on, an error-level validation report during a Vulkan shader module or
     * pipeline build fails it with PORTA_ERROR_KERNEL_BUILD even if the
     * driver accepted it; the report is the build log. */
    porta_status (*kernel_get)(porta_backend *b, const porta_kernel_desc *desc,
                               const porta_kernel_variant *variant, porta_bkernel **out);
    /* Enqueue groups[0] x groups[1] x groups[2] workgroups of the kernel,
     * binding bufs[i] (whole buffers) to binding i for i < desc->n_buffers
     * and passing `params` (desc->params_bytes bytes, copied now). A
     * dispatch with any group count 0 does nothing and returns PORTA_OK; it
     * is not counted in counters.dispatches. */
    porta_status (*dispatch)(porta_backend *b, porta_bkernel *k, const uint32_t groups[3],
                             porta_bbuffer *const *bufs, const void *params);
    /* Make every earlier dispatch's writes visible to every later dispatch. */
    porta_status (*barrier)(porta_backend *b);
    /* Send everything enqueued so far to the device; does not block. */
    porta_status (*submit)(porta_backend *b);
    /* Submit, then block until the device has finished all of it. Counts
     * exactly one host wait, also when nothing was enqueued (for the
     * submits it counts, see counters.submits above). */
    porta_status (*wait)(porta_backend *b);

    /* Record, in stream order, the device time at which everything enqueued
     * before has finished, into slot (0 <= slot < PORTA_TIMESTAMP_SLOTS).
     * PORTA_ERROR_UNSUPPORTED where caps.timestamp_period_ns == 0. */
    porta_status (*timestamp)(porta_backend *b, uint32_t slot);
    /* Wait, then return slots [first, first+count) in nanoseconds on the
     * device clock (only differences are meaningful). Counts one host wait
     * (none when count is 0). PORTA_ERROR_UNSUPPORTED where
     * caps.timestamp_period_ns == 0; PORTA_ERROR_INVALID_ARGUMENT for a
     * slot that timestamp() never wrote. */
    porta_status (*timestamps_read)(porta_backend *b, uint32_t first, uint32_t count, uint64_t *ns);
} porta_backend_ops;

#define PORTA_TIMESTAMP_SLOTS 64

/* One opened device. lib/ owns the struct; the backend fills ops, impl and
 * caps in its open function and updates counters. */
struct porta_backend {
    const porta_backend_ops *ops;
    void *impl;
    porta_device_caps caps;
    porta_backend_counters counters;
    porta_msg *msg; /* the owning context's message buffer (set by lib/) */
};

/* Options lib/ passes to a backend when opening a device. */
typedef struct porta_backend_options {
    /* Directory for on-disk caches (program binaries, pipeline cache);
     * NULL or "" disables them. The backend creates it if missing. */
    const char *cache_dir;
    /* Vulkan: enable VK_LAYER_KHRONOS_validation and count its messages
     * (their text is appended to msg). Ignored by OpenCL. */
    int validate;
    /* Write the OpenCL C / GLSL-derived sources of each kernel built into
     * cache_dir/source/ (or the working directory if no cache) for
     * debugging. */
    int keep_source;
} porta_backend_options;

/* ---- per-API entry points ----------------------------------------------
 * Implemented in backends/opencl and backends/vulkan; when an API is not
 * compiled in, backends/registry.c provides versions that report
 * PORTA_ERROR_BACKEND_UNAVAILABLE.
 *
 * enumerate: fill *out (malloc'ed array the caller frees with free()) and
 * *count with every usable device of that API, index = position. Zero
 * devices is PORTA_OK with *count = 0 (the message may say why, e.g. no
 * ICD found). open: open device number `index` of that API into *b (whose
 * msg is already set), filling ops, impl and caps (the authoritative caps:
 * see porta_device_caps). */
porta_status porta_opencl_enumerate(porta_device_caps **out, size_t *count, porta_msg *msg);
porta_status porta_opencl_open(uint32_t index, const porta_backend_options *opt, porta_backend *b);
porta_status porta_vulkan_enumerate(porta_device_caps **out, size_t *count, porta_msg *msg);
porta_status porta_vulkan_open(uint32_t index, const porta_backend_options *opt, porta_backend *b);

/* ---- shared helpers (backends/common) ----------------------------------- */

/* 64-bit FNV-1a, continuing from `seed` (use PORTA_FNV_SEED to start). */
#define PORTA_FNV_SEED 14695981039346656037ull
uint64_t porta_fnv1a(uint64_t seed, const void *data, size_t bytes);

/* Read a whole cache file; returns 0 and *data (malloc'ed) / *bytes on
 * success, -1 if missing or unreadable (never an error: a cache miss). */
int porta_cache_read(const char *dir, const char *file, void **data, size_t *bytes);
/* Write a cache file atomically (temporary file, fsync, rename); creates
 * dir. Returns 0 or -1 (a failed cache write is never fatal). */
int porta_cache_write(const char *dir, const char *file, const void *data, size_t bytes);
/* Make a file-name-safe key: "<prefix>-<16 hex digits of hash>". */
void porta_cache_name(char *out, size_t cap, const char *prefix, uint64_t hash);

/* Fill caps' policy fields (execution ... preset) from the tuning preset
 * the device matches (device_presets.c): keyed by API, device type,
 * vendor, platform and driver, first match wins, the last entry matches
 * everything. A backend calls it once its other fields are filled. */
void porta_device_preset_apply(porta_device_caps *caps);
/* Fill them from the preset called `name` instead; returns 0, or -1 (caps
 * unchanged) when no preset has that name. */
int porta_device_preset_apply_named(porta_device_caps *caps, const char *name);
/* The presets' names, comma-separated, into out (for messages). */
void porta_device_preset_list(char *out, size_t cap);

#endif
