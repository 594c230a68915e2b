/* clang-format off */
/** @file porta/porta.h
 * @brief The core of porta: neural-network training on any OpenCL or
 * Vulkan device.
 *
 * The core is contexts, devices, buffers, kernels, model graphs,
 * optimizers and learning-rate schedulers, and their checkpoints. The
 * host-side training toolkit (data readers, the batch loader, metrics
 * logs, plots) is a separate library with its own header, porta/train.h.
 *
 * @par Conventions
 * - Every handle is opaque. Every function that can fail takes the context
 *   and returns a porta_status (PORTA_OK is 0). porta_strerror() names a
 *   status; porta_context_message() explains the last failure in the
 *   driver's own words (the CL error or VkResult name, the build log).
 * - Every handle is released by a `porta_<type>_destroy(ctx, handle)` that
 *   returns nothing, cannot fail and accepts NULL (the context itself:
 *   porta_context_destroy(ctx)).
 * - Yes/no arguments and fields are `bool`. Settings that may also come
 *   from the environment are a porta_setting, whose zero value means "the
 *   environment variable named at the field, else off". Every options
 *   struct is valid zero-initialised: zero means the default.
 * - Device memory is addressed through porta_view (a buffer, an offset and
 *   an optional length, in 32-bit elements); matrices through
 *   porta_matrix.
 * - A context owns at most one open device. Work is enqueued, not waited
 *   for: only porta_finish() and the calls documented as reading (which
 *   say "waits") block the host, and porta_counters_get() counts every such
 *   block, so a caller can prove a stretch of work synchronised zero times.
 *
 * @par Threads
 * porta keeps no global mutable state. Different contexts may be used from
 * different threads at the same time. A context, and everything created
 * from it (buffers, optimizers, schedulers, graphs, safetensors files and
 * writers, and the toolkit's loaders and logs), must be used by one thread
 * at a time: the caller serialises calls that share a context; a context
 * may move between threads between calls. porta_strerror(), porta_version()
 * and the porta_view / porta_matrix helpers may be called from any thread
 * at any time. The batch loader (porta/train.h) runs a thread of its own
 * inside; its calls follow the same rule.
 *
 * @par Environment
 * The library reads these variables (each is also listed at the function
 * that reads it, and each has an option field that takes precedence, so
 * an application can set everything without setenv) but never sets any.
 * The value in effect is read when the object is created.
 * | variable | read by | option field |
 * |---|---|---|
 * | PORTA_DEVICE | porta_device_open(), porta_device_find() | their `spec` |
 * | PORTA_DEVICE_LIMITS | porta_device_open() | porta_context_set_device_limits() |
 * | PORTA_DEVICE_PRESET | porta_device_open() | porta_context_set_device_preset() |
 * | PORTA_CHECK | porta_context_create() | porta_context_set_check_mode() |
 * | PORTA_CACHE_DIR, XDG_CACHE_HOME, HOME | porta_context_create() | porta_context_options::cache_dir |
 * | PORTA_VALIDATE | porta_context_create() | porta_context_options::validate |
 * | PORTA_KEEP_SOURCE | porta_context_create() | porta_context_options::keep_source |
 * | PORTA_OPTIM_VARIANT | porta_optimizer_create() | porta_optimizer_tuning::layout |
 * | PORTA_OPTIM_PER_INVOCATION | porta_optimizer_create() | porta_optimizer_tuning::per_invocation |
 * | PORTA_OPTIM_LOCAL_SIZE | porta_optimizer_create() | porta_optimizer_tuning::local_size |
 * | PORTA_OPTIM_NORM_CHUNK | porta_optimizer_create() | porta_optimizer_tuning::norm_chunk |
 * | PORTA_OPTIM_DIVISION | porta_optimizer_create() | porta_optimizer_tuning::division |
 * | PORTA_GRAPH_PROFILE | porta_graph_create() | porta_graph_options::profile |
 */
/* clang-format on */
#ifndef PORTA_H
#define PORTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porta/export.h"
#include "porta/status.h"
#include "porta/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors and version ------------------------------------------------ */

/** A short constant description of a status ("invalid argument"). Never
 * NULL; any thread, no context needed. */
PORTA_API const char *porta_strerror(porta_status status);

/** The version of the porta library a program runs with (see
 * porta/version.h for the version it was compiled against). */
typedef struct porta_version_info {
    unsigned major;       /**< PORTA_VERSION_MAJOR of the library */
    unsigned minor;       /**< PORTA_VERSION_MINOR of the library */
    unsigned patch;       /**< PORTA_VERSION_PATCH of the library */
    const char *text;     /**< "MAJOR.MINOR.PATCH" */
    const char *backends; /**< the backends compiled in: "opencl vulkan", "opencl", "vulkan" */
} porta_version_info;

/** The running library's version; any thread, no context needed. */
PORTA_API porta_version_info porta_version(void);

/* ---- contexts ---------------------------------------------------------- */

/** A context: the messages, caches and (at most one) open device that
 * every other call works in. */
typedef struct porta_context porta_context;

/** A setting that may come from the environment. */
typedef enum porta_setting {
    PORTA_SETTING_DEFAULT = 0, /**< the environment variable named at the field, else off */
    PORTA_SETTING_OFF = 1,     /**< off, whatever the environment says */
    PORTA_SETTING_ON = 2       /**< on, whatever the environment says */
} porta_setting;

/** How porta_context_create() sets a context up. Zero-initialised: every
 * default. */
typedef struct porta_context_options {
    /** Directory for the OpenCL program-binary and Vulkan pipeline caches.
     * NULL: $PORTA_CACHE_DIR, else $XDG_CACHE_HOME/porta, else
     * $HOME/.cache/porta. "": no on-disk cache. */
    const char *cache_dir;
    /** The Vulkan validation layer, failing on its messages
     * (PORTA_SETTING_DEFAULT: $PORTA_VALIDATE, on unless unset, empty or
     * "0"). */
    porta_setting validate;
    /** Write each kernel's generated OpenCL C / SPIR-V into the directory
     * "source" under the cache directory as it is built
     * (PORTA_SETTING_DEFAULT: $PORTA_KEEP_SOURCE, likewise). */
    porta_setting keep_source;
} porta_context_options;

/** The defaults: every field zero. */
PORTA_API porta_context_options porta_context_options_default(void);

/** Create a context (no device is open yet). `options` may be NULL for the
 * defaults. On failure *out is NULL.
 * Reads PORTA_CACHE_DIR, XDG_CACHE_HOME and HOME (when options->cache_dir
 * is NULL), PORTA_VALIDATE and PORTA_KEEP_SOURCE (when their settings are
 * PORTA_SETTING_DEFAULT). A setting outside porta_setting's values is
 * PORTA_ERROR_INVALID_ARGUMENT (there is no context yet to hold a
 * message). */
PORTA_API porta_status porta_context_create(const porta_context_options *options,
                                            porta_context **out);

/** Wait for the device, release every buffer and object still alive and
 * the device. NULL is a no-op. */
PORTA_API void porta_context_destroy(porta_context *ctx);

/** The explanation of the most recent failure (or warning) in this
 * context; "" when there is none. Valid until the next call on the
 * context. */
PORTA_API const char *porta_context_message(const porta_context *ctx);

/** Replace the context's message with a formatted one, as porta's own calls
 * do when they fail, and return `status`: for libraries built on porta
 * (its training toolkit uses it), so that their failures read like
 * porta's. */
PORTA_API porta_status porta_context_set_message(porta_context *ctx, porta_status status,
                                                 const char *fmt, ...) PORTA_PRINTF(3, 4);

/* ---- devices ----------------------------------------------------------- */

/** One device, as porta_device_get_info() describes it. */
typedef struct porta_device_info {
    const char *api;      /**< "opencl" or "vulkan" */
    unsigned index;       /**< N in "opencl:N" / "vulkan:N" */
    char spec[32];        /**< "opencl:0": selects exactly this device */
    char name[256];       /**< the driver's device name */
    char vendor[128];     /**< the vendor's name */
    char platform[128];   /**< OpenCL platform or Vulkan driver name */
    char driver[128];     /**< driver version text */
    char api_version[64]; /**< the API version the device offers */
    const char *type;     /**< "cpu", "integrated-gpu", "discrete-gpu", "virtual-gpu" or "other" */
    uint64_t global_mem_bytes;   /**< device memory */
    uint64_t max_alloc_bytes;    /**< largest single buffer */
    uint64_t local_mem_bytes;    /**< shared memory per workgroup */
    unsigned max_workgroup_size; /**< invocations per workgroup */
    unsigned subgroup_min;       /**< smallest subgroup size; 0 when the driver does not say */
    unsigned subgroup_max;       /**< largest subgroup size; 0 when the driver does not say */
    bool timestamps;             /**< device timestamps are supported */
} porta_device_info;

/** Enumerate (once, then cached) every OpenCL device of every platform and
 * every Vulkan physical device with a compute queue. An API whose loader or
 * driver is missing contributes no devices; the reason is kept in the
 * message. *count may be 0. */
PORTA_API porta_status porta_device_count(porta_context *ctx, size_t *count);

/** Describe device number i of the enumeration (0 <= i < count). */
PORTA_API porta_status porta_device_get_info(porta_context *ctx, size_t i, porta_device_info *info);

/** Open a device and make it this context's device. `spec` selects it:
 * - "opencl:N" / "vulkan:N": device N of that API;
 * - "opencl" / "vulkan": the best device of that API;
 * - any other text: a case-insensitive substring of the device's name,
 *   vendor, platform or driver ("pocl", "rusticl", "llvmpipe", "lavapipe",
 *   "nvidia"), optionally prefixed "opencl:" or "vulkan:"; when several
 *   match, the best of them;
 * - NULL, "" or "default": $PORTA_DEVICE if set, else the best device: a
 *   discrete GPU, then an integrated GPU, then any other, then a CPU (the
 *   largest memory first; OpenCL before Vulkan on a tie).
 *
 * A spec that matches nothing is PORTA_ERROR_DEVICE_NOT_FOUND with the
 * list of devices in the message: never a silent fallback. `chosen` (may be
 * NULL) receives the opened device's description. */
PORTA_API porta_status porta_device_open(porta_context *ctx, const char *spec,
                                         porta_device_info *chosen);

/** Which device porta_device_open(ctx, spec, ...) would open, without
 * opening it: same rules (PORTA_DEVICE included), same errors. */
PORTA_API porta_status porta_device_find(porta_context *ctx, const char *spec,
                                         porta_device_info *info);

/** The open device's description (PORTA_ERROR_NO_DEVICE_OPEN if none). */
PORTA_API porta_status porta_device_current(porta_context *ctx, porta_device_info *info);

/** Make the devices this context opens from now on look smaller than they
 * are, so that a program can be tried on the limits of a device one does
 * not have. `limits` is a comma-separated list applied left to right, of
 * key=value items (sizes take a K, M or G suffix, powers of 1024):
 * `max_alloc` (largest buffer), `storage_range` (largest range one kernel
 * binding addresses), `storage_buffers` (buffers one kernel may bind),
 * `local_mem` (shared memory per workgroup), `workgroup` (invocations per
 * workgroup), `push` (kernel parameter bytes), `timestamps=0` (no device
 * timestamps), `handover=0` (no hand-over between the workgroups of one
 * dispatch); and of profiles: `vulkan-min` (the limits every Vulkan device
 * meets: storage_range=128M, storage_buffers=4, local_mem=16K,
 * workgroup=128, push=128, handover=0) and `small-gpu` (max_alloc=128M,
 * storage_buffers=8, local_mem=16K, workgroup=128, handover=0). A limit is
 * only ever lowered. porta then adapts or refuses exactly as on a device
 * that reported those limits itself; a refusal's message names the limit.
 * NULL: $PORTA_DEVICE_LIMITS (the default); "": none. The text is checked
 * when a device is opened: a bad item is PORTA_ERROR_INVALID_ARGUMENT
 * from porta_device_open() naming it. */
PORTA_API porta_status porta_context_set_device_limits(porta_context *ctx, const char *limits);

/** Tune the devices this context opens from now on by the named preset of
 * porta's per-device tuning table instead of the one the device matches
 * (the table keys presets by vendor, device type and driver; their names
 * are listed in docs/DRIVERS.md and in the message an unknown name gets
 * from porta_device_open()). NULL: $PORTA_DEVICE_PRESET (the default);
 * "": the device's own. */
PORTA_API porta_status porta_context_set_device_preset(porta_context *ctx, const char *preset);

/** Check mode, for finding where a device goes wrong: every kernel call
 * (porta_gemm(), porta_gemm_bias_act(), the convolution, pooling, layer,
 * loss and vector calls a graph's training step makes) is also computed
 * by porta's C reference from host copies of its inputs, and the first
 * output element outside the tolerance fails the call with
 * PORTA_ERROR_MISMATCH, its message naming the call, its shape and
 * parameters, the element, expected and got. Each call then waits for the
 * device and reads its operands: a checked run is many times slower.
 * Tolerances: bit for bit where the kernel rounds once as the reference
 * does (copies, gathers, dropout, adds), 1e-5 relative for elementwise
 * functions, 2e-3 relative to the element plus the output's largest
 * magnitude for sums (GEMM, convolution, normalisation, softmax, the loss).
 * PORTA_SETTING_DEFAULT: $PORTA_CHECK, on unless unset, empty or "0" (a
 * context starts so). The optimizer step itself is not checked (its
 * update is compared bit for bit with the reference by porta's tests). */
PORTA_API porta_status porta_context_set_check_mode(porta_context *ctx, porta_setting check);

/** What device policy keys on, for the open device: the limits porta
 * plans within (after porta_context_set_device_limits()) and the tuning
 * preset's answers. */
typedef struct porta_device_capabilities {
    char preset[32]; /**< the tuning preset ("llvmpipe", "pocl", "gpu", ...) */
    const char
        *execution; /**< "simt" (GPUs), "work-item-loop" (PoCL) or "masked-lanes" (llvmpipe) */
    uint64_t max_alloc_bytes;     /**< largest buffer porta allocates */
    uint64_t max_storage_range;   /**< largest range one kernel binding addresses */
    uint64_t local_mem_bytes;     /**< shared memory per workgroup */
    unsigned max_workgroup_size;  /**< invocations per workgroup */
    unsigned max_storage_buffers; /**< storage buffers one kernel may bind */
    unsigned max_push_bytes;      /**< kernel parameter bytes */
    unsigned loop_limit; /**< loop iterations an invocation may run per dispatch; 0: no limit */
    bool fast_fma;       /**< a fused multiply-add costs no more than a multiply and an add */
    bool group_handover; /**< workgroups of one dispatch may hand values over */
    bool timestamps;     /**< device timestamps are available */
    char limits[256];    /**< the emulated limits applied ("" for none) */
} porta_device_capabilities;

/** The open device's capabilities (PORTA_ERROR_NO_DEVICE_OPEN if none). */
PORTA_API porta_status porta_device_capabilities_get(porta_context *ctx,
                                                     porta_device_capabilities *caps);

/* ---- buffers and views ------------------------------------------------- */

/** A block of device memory. */
typedef struct porta_buffer porta_buffer;

/** Allocate `bytes` (> 0) of device memory (contents undefined). Beyond the
 * device's largest allocation: PORTA_ERROR_ALLOCATION_TOO_LARGE; out of
 * memory: PORTA_ERROR_OUT_OF_DEVICE_MEMORY. */
PORTA_API porta_status porta_buffer_create(porta_context *ctx, size_t bytes, porta_buffer **out);

/** Release a buffer once the work already enqueued on it is done. NULL is
 * a no-op. */
PORTA_API void porta_buffer_destroy(porta_context *ctx, porta_buffer *buffer);

/** Size in bytes (0 for NULL). */
PORTA_API size_t porta_buffer_bytes(const porta_buffer *buffer);

/** Enqueue a copy of `bytes` from host memory into the buffer at byte
 * `offset`. `src` may be reused as soon as this returns; the host does not
 * wait for the device. */
PORTA_API porta_status porta_buffer_write(porta_context *ctx, porta_buffer *buffer, size_t offset,
                                          size_t bytes, const void *src);

/** Wait for all enqueued work, then copy `bytes` at byte `offset` into
 * `dst`. Counts one host wait and one device read. */
PORTA_API porta_status porta_buffer_read(porta_context *ctx, porta_buffer *buffer, size_t offset,
                                         size_t bytes, void *dst);

/** A range of a buffer that a kernel call reads or writes: the elements
 * from `offset` on, each 32 bits (a float32, or a uint32 label or token).
 * A call checks that what it touches lies inside the view and the buffer
 * (and below 2^31 elements), else PORTA_ERROR_INVALID_ARGUMENT naming the
 * argument. A view whose buffer is NULL is "none", where a call allows a
 * tensor to be absent (a bias, say). */
typedef struct porta_view {
    porta_buffer *buffer; /**< the buffer; NULL: none */
    size_t offset;        /**< first element, counted from the buffer's start */
    size_t length;        /**< elements the call may touch; 0: up to the buffer's end */
} porta_view;

/** The whole of buffer b. */
static inline porta_view porta_view_of(porta_buffer *b)
{
    porta_view v;
    v.buffer = b;
    v.offset = 0;
    v.length = 0;
    return v;
}

/** Buffer b from element `offset` to its end. */
static inline porta_view porta_view_at(porta_buffer *b, size_t offset)
{
    porta_view v;
    v.buffer = b;
    v.offset = offset;
    v.length = 0;
    return v;
}

/** `length` elements of buffer b from element `offset`. */
static inline porta_view porta_view_range(porta_buffer *b, size_t offset, size_t length)
{
    porta_view v;
    v.buffer = b;
    v.offset = offset;
    v.length = length;
    return v;
}

/** No tensor (for an optional argument). */
static inline porta_view porta_view_none(void)
{
    return porta_view_of(NULL);
}

/* ---- vector kernels ---------------------------------------------------- */

/* Buffers hold float32; counts are in elements. A view may be both input
 * and output where the formula allows it (in place). Each call enqueues
 * work and returns without waiting. n may be 0. */

/** y[i] = value, i < n. */
PORTA_API porta_status porta_vec_fill(porta_context *ctx, porta_view y, size_t n, float value);
/** y[i] = x[i], bit for bit. */
PORTA_API porta_status porta_vec_copy(porta_context *ctx, porta_view x, porta_view y, size_t n);
/** y[i] = alpha * x[i]. */
PORTA_API porta_status porta_vec_scale(porta_context *ctx, float alpha, porta_view x, porta_view y,
                                       size_t n);
/** y[i] = y[i] + alpha * x[i] (multiply, then add: no fused rounding). */
PORTA_API porta_status porta_vec_axpy(porta_context *ctx, float alpha, porta_view x, porta_view y,
                                      size_t n);
/** z[i] = a[i] + b[i]. */
PORTA_API porta_status porta_vec_add(porta_context *ctx, porta_view a, porta_view b, porta_view z,
                                     size_t n);
/** z[i] = a[i] * b[i]. */
PORTA_API porta_status porta_vec_mul(porta_context *ctx, porta_view a, porta_view b, porta_view z,
                                     size_t n);
/** result[0] = the sum of x[0 .. n), by a deterministic two-pass tree
 * reduction (no atomics: the same device, n and input give the same bits
 * every time). The result stays on the device. */
PORTA_API porta_status porta_vec_sum(porta_context *ctx, porta_view x, size_t n, porta_view result);
/** result[0] = the sum of squares of x[0 .. n), likewise. */
PORTA_API porta_status porta_vec_sum_squares(porta_context *ctx, porta_view x, size_t n,
                                             porta_view result);

/** The streaming roofline kernel porta-bench measures beside the optimizer
 * step: for i < n reads a, b, c, d and writes a, c, d (4 arrays in, 3 out,
 * as an AdamW step moves), in workgroups of local_size invocations (a
 * power of two the device allows; 0: the device's default) each handling
 * per_invocation elements (1..256; 0: 1). Both 0: the layout the optimizer
 * step uses on this device. Each view must start at element 0 of its
 * buffer (the kernel takes no offsets, as the optimizer's arenas need
 * none). Enqueues one dispatch. */
PORTA_API porta_status porta_vec_stream(porta_context *ctx, porta_view a, porta_view b,
                                        porta_view c, porta_view d, size_t n, unsigned local_size,
                                        unsigned per_invocation);

/* ---- execution --------------------------------------------------------- */

/** Send enqueued work to the device without waiting. */
PORTA_API porta_status porta_submit(porta_context *ctx);

/** Block until every enqueued command has finished. Counts one host wait. */
PORTA_API porta_status porta_finish(porta_context *ctx);

/** What the open device has done since it was opened. */
typedef struct porta_counters {
    uint64_t host_waits;          /**< times the host blocked on the device */
    uint64_t device_reads;        /**< device-to-host copies */
    uint64_t dispatches;          /**< kernels enqueued */
    uint64_t submits;             /**< batches sent to the device */
    uint64_t validation_messages; /**< Vulkan validation reports (see the message) */
    /** Back-pressure, not a synchronisation: the host ran a whole ring of
     * submitted batches (8 on Vulkan) ahead of the device and blocked until
     * the oldest finished, to reuse its command buffer. Nothing is read and
     * no result is waited for; a host faster than its device meets this in
     * every long run. Not counted in host_waits. */
    uint64_t queue_full_waits;
} porta_counters;

/** The open device's counters since it was opened. */
PORTA_API porta_status porta_counters_get(porta_context *ctx, porta_counters *out);

/** Run every vector kernel on the open device at a few sizes against the
 * C reference (known answers). PORTA_ERROR_MISMATCH names the first kernel
 * and element that disagree. Waits. */
PORTA_API porta_status porta_self_test(porta_context *ctx);

/* ---- optimizers and learning-rate schedules ---------------------------- */

/** An optimizer with its learning-rate schedule, run on the device.
 *
 * An optimizer owns flat device arenas for the parameters, their gradients
 * and its moments, sharing one offset table. Tensors are registered before
 * porta_optimizer_finalize() and placed group by group (group 0 first), so
 * each parameter group is one contiguous range.
 *
 * porta_optimizer_step() reads the training loss where the forward pass
 * left it on the device, decides the learning rate of every group with the
 * scheduler, skips the update if the loss or the gradient norm is not
 * finite, clips, updates every parameter of every group, and appends
 * (step, loss, norm, lr per group, skipped) to a device metrics ring. The
 * host never waits and never reads during a step; porta_optimizer_metrics()
 * drains the ring when the caller wants it.
 *
 * Without a gradient norm (no clipping, check_gradients off) the step is
 * one dispatch on GPUs and PoCL: the step before prepared the scalars no
 * loss changes; every workgroup decides from the loss whether to apply,
 * and workgroup 0 does the bookkeeping after its update. With the norm,
 * and on llvmpipe (lavapipe, Rusticl) always, a scalar pass comes first
 * (two dispatches): it finishes the loss reduction (and the norm),
 * advances the scheduler and writes the step's scalars once, so the update
 * is a branch-free stream; for the norm it runs on many workgroups that
 * first sum the gradient's squares, and where the device promises
 * hand-over between the workgroups of one dispatch
 * (porta_device_capabilities::group_handover) the last of them to finish
 * (an integer ticket) goes on with the scalars; elsewhere a second small
 * dispatch of one workgroup does (three dispatches). The partial sums are
 * the same and added in a fixed order either way: the same bits. llvmpipe
 * runs the one-dispatch form slower (every batch of 8 invocations runs
 * the loss sum and the bookkeeping, masked off);
 * porta_optimizer_tuning::layout chooses another form.
 *
 * A step binds at most 6 storage buffers (parameters, gradients, two
 * moments, the loss and one block holding every other state); on a device
 * that allows fewer it binds 4 (the moments in one buffer, the
 * scalars-pass form whatever the layout asks), and with fewer than 4 it is
 * refused with PORTA_ERROR_UNSUPPORTED, the message naming the limit. */
typedef struct porta_optimizer porta_optimizer;

/** The optimizers. */
typedef enum porta_optimizer_kind {
    PORTA_OPTIMIZER_SGD = 0,  /**< PyTorch torch.optim.SGD semantics */
    PORTA_OPTIMIZER_ADAMW = 1 /**< PyTorch torch.optim.AdamW semantics */
} porta_optimizer_kind;

/** The most parameter groups an optimizer has. */
#define PORTA_MAX_PARAM_GROUPS 8

/** One parameter group's rates and decay. */
typedef struct porta_param_group {
    float lr;           /**< initial learning rate */
    float min_lr;       /**< floor (GreedyLR, plateau) / final rate (cosine schedules) */
    float max_lr;       /**< ceiling (GreedyLR) */
    float weight_decay; /**< AdamW: decoupled; SGD: L2 added to the gradient */
} porta_param_group;

/** The layout of the fused optimizer step on the device. */
typedef enum porta_optimizer_layout {
    /** $PORTA_OPTIM_VARIANT ("scalars-pass", "per-workgroup", "fused"),
     * else the device's choice: fused on GPUs and PoCL, scalars-pass on
     * llvmpipe. */
    PORTA_OPTIMIZER_LAYOUT_DEFAULT = 0,
    /** A scalar pass, then a branch-free update: two dispatches. */
    PORTA_OPTIMIZER_LAYOUT_SCALARS_PASS = 1,
    /** Every workgroup computes the scalars itself (kept for comparison). */
    PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP = 2,
    /** Without a gradient norm, the update alone, from scalars the step
     * before prepared: one dispatch; with a norm, as scalars-pass. */
    PORTA_OPTIMIZER_LAYOUT_FUSED = 3
} porta_optimizer_layout;

/** How the fused step divides and takes square roots. */
typedef enum porta_division {
    /** $PORTA_OPTIM_DIVISION ("corrected", "device"), else corrected where
     * the device's own may be a few ulp off (Vulkan on GPUs) and the
     * device's own where it is correctly rounded. */
    PORTA_DIVISION_DEFAULT = 0,
    /** The device's fastest, each result corrected once with an exact
     * residual: correctly rounded everywhere. */
    PORTA_DIVISION_CORRECTED = 1,
    /** The device's own, as precise as it offers (2.5-ulp divisions drift
     * AdamW past 1e-6 of the reference: a diagnostic). */
    PORTA_DIVISION_DEVICE = 2
} porta_division;

/** Tuning of the fused step, instead of the device's choice. A zero field
 * means the environment variable named at it if set (unless
 * ignore_environment), else the device's choice. A value that the device
 * cannot take is PORTA_ERROR_INVALID_ARGUMENT from
 * porta_optimizer_create(), naming the field. */
typedef struct porta_optimizer_tuning {
    porta_optimizer_layout layout; /**< the step's layout (PORTA_OPTIM_VARIANT) */
    /** Elements each invocation of the update handles, 1..256
     * (PORTA_OPTIM_PER_INVOCATION). */
    unsigned per_invocation;
    /** The update's workgroup size, a power of two the device allows
     * (PORTA_OPTIM_LOCAL_SIZE). */
    unsigned local_size;
    /** Elements each workgroup of the gradient norm sums, at most
     * 8,388,608 and 256 workgroups (PORTA_OPTIM_NORM_CHUNK; by default
     * 65,536 on CPU devices and one workgroup's width on GPUs). */
    unsigned norm_chunk;
    porta_division division; /**< division and square root (PORTA_OPTIM_DIVISION) */
    /** Read none of the PORTA_OPTIM_* variables: zero fields take the
     * device's choice whatever the environment says. */
    bool ignore_environment;
} porta_optimizer_tuning;

/** An optimizer's configuration (porta_optimizer_config_default() fills
 * one). */
typedef struct porta_optimizer_config {
    porta_optimizer_kind kind; /**< SGD or AdamW */
    float momentum;            /**< SGD, >= 0 */
    float dampening;           /**< SGD, in [0, 1) */
    bool nesterov;             /**< SGD: needs momentum > 0 and dampening 0 */
    float beta1;               /**< AdamW, in [0, 1) */
    float beta2;               /**< AdamW, in [0, 1) */
    float eps;                 /**< AdamW, > 0 */
    /** Clip by global gradient norm (PyTorch clip_grad_norm_): 0 = off. */
    float clip_norm;
    /** Compute the global gradient norm every step (one extra reduction
     * dispatch) so a step with a non-finite gradient is skipped; implied by
     * clip_norm > 0. Without it only a non-finite loss skips a step. */
    bool check_gradients;
    unsigned n_groups;                                /**< 1..PORTA_MAX_PARAM_GROUPS */
    porta_param_group groups[PORTA_MAX_PARAM_GROUPS]; /**< groups[0 .. n_groups) */
    porta_optimizer_tuning tuning; /**< the step's layout on the device; zero: its choice */
} porta_optimizer_config;

/** Defaults: AdamW (0.9, 0.999, eps 1e-8) or SGD (no momentum); one group
 * with lr 1e-3, min_lr 1e-5, max_lr 1, weight decay 0.01 (AdamW) or 0; no
 * clipping; check_gradients on; no tuning. */
PORTA_API porta_optimizer_config porta_optimizer_config_default(porta_optimizer_kind kind);

/** The learning-rate schedules, all run inside the fused step. */
typedef enum porta_scheduler_kind {
    PORTA_SCHEDULER_CONSTANT = 0,        /**< the initial rate throughout */
    PORTA_SCHEDULER_WARMUP_COSINE = 1,   /**< linear warmup, cosine decay to min_lr */
    PORTA_SCHEDULER_STEP = 2,            /**< lr * gamma every step_size steps */
    PORTA_SCHEDULER_EXPONENTIAL = 3,     /**< lr * gamma^t */
    PORTA_SCHEDULER_COSINE_RESTARTS = 4, /**< PyTorch CosineAnnealingWarmRestarts to min_lr */
    PORTA_SCHEDULER_PLATEAU = 5,         /**< PyTorch ReduceLROnPlateau */
    PORTA_SCHEDULER_GREEDYLR = 6         /**< GreedyLR (arXiv 2512.14527), see docs/GREEDYLR.md */
} porta_scheduler_kind;

/** A schedule's configuration (porta_scheduler_config_default() fills
 * one). GreedyLR follows the behaviour described in docs/GREEDYLR.md, with
 * the differences listed there: impossible settings are rejected naming
 * the parameter; NaN and infinite metrics count as bad steps and never
 * become the best value or enter the smoothing window; an initial rate at
 * or below min_lr gives a warning. */
typedef struct porta_scheduler_config {
    porta_scheduler_kind kind; /**< which schedule */
    /** GreedyLR and plateau observe the training loss of every fused step
     * (false, the paper's way) or only the metrics given to
     * porta_optimizer_observe() (true, the transformers Trainer's way). */
    bool observe_eval;
    const char *mode;           /**< GreedyLR, plateau: "min" (lower is better) or "max" */
    float factor;               /**< GreedyLR, plateau: F in (0, 1): decrease lr*F, increase lr/F */
    int patience;               /**< GreedyLR, plateau: steps without change before acting, >= 0 */
    float threshold;            /**< GreedyLR, plateau: improvement margin */
    const char *threshold_mode; /**< GreedyLR, plateau: "abs" or "rel" */
    int cooldown;               /**< GreedyLR, plateau: steps frozen after a decrease */
    int warmup;                 /**< GreedyLR: steps frozen after an increase (not a ramp) */
    float eps;                  /**< GreedyLR, plateau: smallest change applied */
    bool smooth;                /**< GreedyLR: compare the rolling mean of the metric */
    int window;                 /**< GreedyLR: rolling-mean window, >= 1 */
    int reset_start;            /**< GreedyLR: decreases at the floor before a reset, >= 1 */
    int warmup_steps;           /**< WARMUP_COSINE: linear warmup steps */
    int total_steps;            /**< WARMUP_COSINE: min_lr from here on */
    int step_size;              /**< STEP: steps between decays */
    float gamma;                /**< STEP, EXPONENTIAL: the decay factor */
    int t_0;                    /**< COSINE_RESTARTS: first cycle's steps */
    int t_mult;                 /**< COSINE_RESTARTS: cycle growth */
} porta_scheduler_config;

/** Defaults for a kind: GreedyLR's reference defaults (min, F 0.95,
 * patience 10, threshold 1e-6 abs, no cooldown or warmup, eps 1e-8, no
 * smoothing, window 50, reset_start 500); plateau: PyTorch's (min, 0.1,
 * 10, 1e-4 rel, cooldown 0, eps 1e-8); gamma 0.1, step_size 1000, warmup
 * 100 of 10000 total, t_0 1000, t_mult 1. Counted in optimizer steps. */
PORTA_API porta_scheduler_config porta_scheduler_config_default(porta_scheduler_kind kind);

/** Create an optimizer on the context's device. Every value is validated
 * (a clear error names the parameter); a suspicious but valid choice (an
 * initial lr at or below min_lr under GreedyLR, so the rate can never
 * decrease) is PORTA_OK with a warning in porta_context_message().
 * Reads PORTA_OPTIM_VARIANT, PORTA_OPTIM_PER_INVOCATION,
 * PORTA_OPTIM_LOCAL_SIZE, PORTA_OPTIM_NORM_CHUNK and PORTA_OPTIM_DIVISION
 * for the fields of config->tuning left zero. */
PORTA_API porta_status porta_optimizer_create(porta_context *ctx,
                                              const porta_optimizer_config *config,
                                              const porta_scheduler_config *scheduler,
                                              porta_optimizer **out);

/** Register a tensor of n parameters in group `group`; *index identifies
 * it. Only before porta_optimizer_finalize(). */
PORTA_API porta_status porta_optimizer_add_tensor(porta_context *ctx, porta_optimizer *opt,
                                                  size_t n, unsigned group, size_t *index);

/** Place every tensor, allocate the arenas, zero gradients and moments,
 * and set the parameters to zero (write them with porta_buffer_write() at
 * the tensor offsets, or let a model initialise them). */
PORTA_API porta_status porta_optimizer_finalize(porta_context *ctx, porta_optimizer *opt);

/** Where tensor `index` lives in the arenas' element layout, once
 * finalized (the checkpoint's order; porta_optimizer_arenas()' offset while
 * the arenas are one buffer each). */
PORTA_API porta_status porta_optimizer_tensor_offset(porta_context *ctx, porta_optimizer *opt,
                                                     size_t index, size_t *offset);

/** Where tensor `index`'s parameters and gradients live, once finalized:
 * views of exactly its n elements (either pointer may be NULL). The way
 * to reach a tensor whatever the arenas' layout. */
PORTA_API porta_status porta_optimizer_tensor_views(porta_context *ctx, porta_optimizer *opt,
                                                    size_t index, porta_view *params,
                                                    porta_view *grads);

/** The arenas (float32): parameters and gradients, each `*elements` long.
 * Kernels read parameters and write gradients at the tensor offsets.
 * Tensors are laid out group by group, each group padded to a multiple of
 * 2048 elements; the padding holds zero parameters and zero gradients
 * (keep its gradients zero: the gradient norm covers the whole arena).
 * Where the parameters outgrow the device's largest buffer, finalize
 * splits each arena over several buffers (every tensor inside one); this
 * then fails with PORTA_ERROR_UNSUPPORTED, and porta_optimizer_tensor_views()
 * is the way to the tensors. */
PORTA_API porta_status porta_optimizer_arenas(porta_context *ctx, porta_optimizer *opt,
                                              porta_buffer **params, porta_buffer **grads,
                                              size_t *elements);

/** The most loss words porta_optimizer_step() sums. */
#define PORTA_OPTIMIZER_MAX_LOSS_WORDS 4096u

/** One fused training step. The loss is loss_scale * the sum of
 * loss[0 .. loss_count) (e.g. per-workgroup partial sums of a loss kernel
 * and 1/batch), added in index order by one invocation: loss_count is
 * 1..PORTA_OPTIMIZER_MAX_LOSS_WORDS (llvmpipe would stop a longer loop
 * silently; sum longer losses first, e.g. with porta_vec_sum()). The loss
 * must not lie in the optimizer's own arenas. Enqueues, never waits. */
PORTA_API porta_status porta_optimizer_step(porta_context *ctx, porta_optimizer *opt,
                                            porta_view loss, size_t loss_count, float loss_scale);

/** Evaluation mode (observe_eval): feed one evaluation metric to the
 * scheduler on the device. The value is uploaded without waiting; the
 * parameters are untouched. */
PORTA_API porta_status porta_optimizer_observe(porta_context *ctx, porta_optimizer *opt,
                                               float metric);

/** What the scheduler did on a step: the bits of
 * porta_step_metrics::scheduler_events. */
typedef enum porta_scheduler_event {
    PORTA_SCHEDULER_EVENT_FROZEN = 0x01,   /**< a cooldown (or GreedyLR warmup) step passed */
    PORTA_SCHEDULER_EVENT_IMPROVED = 0x02, /**< the metric beat the best; best updated */
    PORTA_SCHEDULER_EVENT_INCREASE = 0x04, /**< an increase fired (GreedyLR) */
    PORTA_SCHEDULER_EVENT_DECREASE = 0x08, /**< a decrease fired */
    PORTA_SCHEDULER_EVENT_CHANGED = 0x10,  /**< at least one group's rate changed */
    PORTA_SCHEDULER_EVENT_RESET = 0x20,    /**< GreedyLR reset everything */
    PORTA_SCHEDULER_EVENT_NONFINITE = 0x40 /**< the compared value was NaN or infinite */
} porta_scheduler_event;

/** One step's entry of the device metrics ring. */
typedef struct porta_step_metrics {
    uint64_t step;             /**< 0-based optimizer step */
    float loss;                /**< the loss the step observed */
    float grad_norm;           /**< global gradient norm before clipping (0 if not computed) */
    bool skipped;              /**< the update was skipped (non-finite loss or norm) */
    unsigned scheduler_events; /**< porta_scheduler_event bits */
    float lr[PORTA_MAX_PARAM_GROUPS]; /**< the rate each group's update used */
} porta_step_metrics;

/** Drain the device metrics ring: copies the entries of the steps since the
 * last drain (oldest first, at most `cap`) into out. One device read (and
 * host wait) per call; call it every N steps, not every step. If more
 * steps than the ring holds (porta_optimizer_status::ring_capacity) have
 * passed, the oldest are lost and *lost says how many. */
PORTA_API porta_status porta_optimizer_metrics(porta_context *ctx, porta_optimizer *opt,
                                               porta_step_metrics *out, size_t cap, size_t *count,
                                               size_t *lost);

/** An optimizer's counters and rates, read from the device. */
typedef struct porta_optimizer_status {
    uint64_t steps;                   /**< optimizer steps taken (skipped ones included) */
    uint64_t skipped;                 /**< steps whose update was skipped */
    float lr[PORTA_MAX_PARAM_GROUPS]; /**< rate in effect for the next step */
    unsigned n_groups;                /**< parameter groups */
    size_t ring_capacity;             /**< steps the metrics ring holds between drains */
} porta_optimizer_status;

/** Read the optimizer's state from the device (one read, one wait). */
PORTA_API porta_status porta_optimizer_status_get(porta_context *ctx, porta_optimizer *opt,
                                                  porta_optimizer_status *out);

/** Write the complete optimizer and scheduler state (configuration,
 * parameters, moments, scheduler state, counters) to `path` atomically
 * (temporary file, fsync, rename). Waits. */
PORTA_API porta_status porta_optimizer_save(porta_context *ctx, porta_optimizer *opt,
                                            const char *path);

/** Restore a state written by porta_optimizer_save() into an optimizer
 * created with the same tensors (same sizes and groups). The run then
 * continues exactly as the saved one would have. A corrupt or mismatched
 * file changes nothing and is PORTA_ERROR_CORRUPT_DATA /
 * PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_optimizer_load(porta_context *ctx, porta_optimizer *opt,
                                            const char *path);

/** The bytes porta_optimizer_state_get() fills: the complete state of
 * porta_optimizer_save(), for a checkpoint of one's own. */
PORTA_API porta_status porta_optimizer_state_size(porta_context *ctx, porta_optimizer *opt,
                                                  size_t *bytes);
/** Fill exactly porta_optimizer_state_size() bytes with the state (reads
 * the device: waits). */
PORTA_API porta_status porta_optimizer_state_get(porta_context *ctx, porta_optimizer *opt,
                                                 void *dst, size_t bytes);
/** Check and restore such bytes as porta_optimizer_load() does (`source`
 * names them in messages). */
PORTA_API porta_status porta_optimizer_state_set(porta_context *ctx, porta_optimizer *opt,
                                                 const void *data, size_t bytes,
                                                 const char *source);

/** Release the optimizer and its arenas. NULL is a no-op. */
PORTA_API void porta_optimizer_destroy(porta_context *ctx, porta_optimizer *opt);

/** A learning-rate schedule stepped from the host: the same arithmetic the
 * fused kernel runs (fp32, same order), usable without a device, and the
 * oracle porta's tests hold every device to. */
typedef struct porta_scheduler porta_scheduler;

/** Create a host schedule. The groups' initial lr, min_lr and max_lr come
 * from `groups` (only its n_groups and groups[] are read). Validation and
 * warnings as porta_optimizer_create(). Needs no device. */
PORTA_API porta_status porta_scheduler_create(porta_context *ctx,
                                              const porta_optimizer_config *groups,
                                              const porta_scheduler_config *config,
                                              porta_scheduler **out);

/** One scheduler step observing `metric` (GreedyLR, plateau; the stateless
 * schedules just advance one step). Writes the rate in effect after the
 * step for the first n_lr groups into lr (may be NULL if n_lr is 0). */
PORTA_API porta_status porta_scheduler_step(porta_context *ctx, porta_scheduler *s, float metric,
                                            float *lr, size_t n_lr);

/** Release a host scheduler. NULL is a no-op. */
PORTA_API void porta_scheduler_destroy(porta_context *ctx, porta_scheduler *s);

/* ---- matrix multiplication --------------------------------------------- */

/** A matrix (or a batch of them) in a buffer, row-major float32, as a GEMM
 * reads or writes it. Element (r, c) of the stored matrix of batch b is
 * element b * batch_stride + r * ld + c of `data`. */
typedef struct porta_matrix {
    porta_view data; /**< where the first matrix starts */
    size_t ld;       /**< leading dimension: elements between consecutive stored rows, >= 1 */
    size_t
        batch_stride; /**< elements between the matrices of a batch (0: the same one each time) */
    bool transposed;  /**< use the matrix transposed (A, B only): stored as its transpose */
} porta_matrix;

/** A matrix of `data` with leading dimension `ld`, batch stride 0, not
 * transposed. */
static inline porta_matrix porta_matrix_of(porta_view data, size_t ld)
{
    porta_matrix m;
    m.data = data;
    m.ld = ld;
    m.batch_stride = 0;
    m.transposed = false;
    return m;
}

/** Strided batched GEMM: for b < batch,
 *
 *     C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]
 *
 * float32, row-major, op(A) m x k, op(B) k x n, C m x n. op(X) is X, or X
 * transposed when X.transposed, so no transpose is ever materialised: A is
 * stored m x k (k x m when transposed), B k x n (n x k when transposed).
 * Leading dimensions: a.ld >= k (>= m when A is transposed), b.ld >= n
 * (>= k when B is transposed), c.ld >= n. a or b may have batch stride 0
 * (the same A or B for every batch); C's batches must not overlap
 * (c.batch_stride >= (m - 1) * c.ld + n when batch > 1), C must not overlap
 * A or B, and C cannot be transposed.
 *
 * beta == 0 does not read C: whatever C held (NaN included) is
 * overwritten. k == 0 scales C by beta. m, n or batch == 0 is a no-op. Each
 * element's products are added in a fixed order (ascending k; for a single
 * product with a small C and a long k, ascending k within a few K slices
 * whose sums are then added in order), never with atomics, so a device
 * gives the same bits on every run. Such split-K problems keep their
 * partial sums in a scratch buffer the context allocates on first need and
 * keeps. Every range must lie inside its view and buffer (and below 2^31
 * elements); otherwise PORTA_ERROR_INVALID_ARGUMENT, naming the argument. */
PORTA_API porta_status porta_gemm(porta_context *ctx, size_t m, size_t n, size_t k, float alpha,
                                  porta_matrix a, porta_matrix b, float beta, porta_matrix c,
                                  size_t batch);

/* ---- loss and evaluation ----------------------------------------------- */

/** Fused softmax + cross-entropy over logits, forward and backward, in one
 * dispatch (more only for very long inputs), without waiting or reading.
 *
 * logits is rows x classes, float32 row-major; labels holds one uint32
 * class per row. For each row, with m = max(x),
 *
 *     loss_r        = log(sum_c exp(x_c - m)) - (x[label] - m)
 *     dlogits[r, c] = (softmax(x)_c - (c == label)) * grad_scale
 *
 * numerically stable for any finite logits. grad_scale is typically
 * 1 / rows (the gradient of the mean loss). dlogits may be the logits
 * themselves (the same buffer and offset).
 *
 * The loss is left on the device as partial sums: *partials_count =
 * min(rows, 64) workgroups each write the sum of their rows' losses (rows
 * g, g + count, g + 2 count, ... in ascending order) to loss_partials[g],
 * so the fused optimizer step finishes the mean:
 * porta_optimizer_step(ctx, opt, loss_partials, *partials_count,
 * 1.0f / rows). No atomics: a device gives the same bits on every run.
 *
 * A label >= classes cannot be checked on the host without a read: such a
 * row's loss and dlogits are NaN, so the loss sum is NaN and the optimizer
 * step that consumes it is skipped. Non-finite logits also give NaN.
 *
 * rows == 0 writes nothing (*partials_count = 0). classes must be >= 1;
 * every range must lie inside its view, else PORTA_ERROR_INVALID_ARGUMENT
 * naming the argument; PORTA_ERROR_UNSUPPORTED if a row has more classes
 * than one dispatch can reduce (millions). */
PORTA_API porta_status porta_cross_entropy(porta_context *ctx, porta_view logits, porta_view labels,
                                           size_t rows, size_t classes, float grad_scale,
                                           porta_view dlogits, porta_view loss_partials,
                                           size_t *partials_count);

/** Evaluation: *correct = the number of rows whose argmax equals their
 * label (ties go to the lowest index and NaN counts as the largest value,
 * as torch.argmax; a label >= classes is never correct). Same layout and
 * checks as porta_cross_entropy(). Per-workgroup counts on the device,
 * then one read (waits) and a sum on the host. */
PORTA_API porta_status porta_accuracy_count(porta_context *ctx, porta_view logits,
                                            porta_view labels, size_t rows, size_t classes,
                                            size_t *correct);

/* ---- layers: activations, layer normalisation, softmax ----------------- */

/* float32 views; every range must lie inside its view and below 2^31
 * elements, otherwise PORTA_ERROR_INVALID_ARGUMENT naming the call and the
 * argument. Row-wise ops take a row-major rows x cols matrix. Each device
 * computes every result in a fixed order (no atomics), so a device gives
 * the same bits on every run. Backward calls add into their outputs when
 * `accumulate` is true (gradient arenas accumulate) and overwrite them
 * otherwise. */

/** The elementwise activation functions. */
typedef enum porta_activation {
    /** No activation: only for porta_gemm_epilogue::activation (the
     * activation calls refuse it). */
    PORTA_ACTIVATION_NONE = -1,
    PORTA_RELU = 0,   /**< max(x, 0); its derivative at 0 is taken as 0 */
    PORTA_GELU = 1,   /**< 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's 'tanh' form */
    PORTA_TANH = 2,   /**< tanh(x) */
    PORTA_SIGMOID = 3 /**< 1 / (1 + exp(-x)), without overflow for large |x| */
} porta_activation;

/** y[i] = f(x[i]) for i < n. x and y may be the same range (in place).
 * n == 0 is a no-op. An unknown fn is PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_activation_forward(porta_context *ctx, porta_activation fn,
                                                porta_view x, porta_view y, size_t n);

/** dx[i] (+)= dy[i] * f'(x[i]) for i < n, f' computed from the forward
 * input x; added to dx when accumulate. n == 0 is a no-op. */
PORTA_API porta_status porta_activation_backward(porta_context *ctx, porta_activation fn,
                                                 porta_view x, porta_view dy, porta_view dx,
                                                 size_t n, bool accumulate);

/** Layer normalisation over the last dimension of a rows x cols matrix:
 * y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), var
 * the biased variance of the row (as PyTorch). gamma and beta hold cols
 * elements. Also writes mean[r] and rstd[r] for every row, which
 * porta_layernorm_backward() needs. Mean and variance are two passes over
 * the row (not E[x^2] - E[x]^2). cols >= 1 (cols == 0 with rows > 0 is
 * PORTA_ERROR_INVALID_ARGUMENT), eps finite and >= 0; rows == 0 is a
 * no-op. y must not overlap x. */
PORTA_API porta_status porta_layernorm_forward(porta_context *ctx, size_t rows, size_t cols,
                                               float eps, porta_view x, porta_view gamma,
                                               porta_view beta, porta_view y, porta_view mean,
                                               porta_view rstd);

/** The gradients of porta_layernorm_forward() from dy (rows x cols), its
 * input x, gamma and the mean and rstd it saved:
 * dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat)), g = dy * gamma,
 * dgamma[c] = sum_r dy * xhat, dbeta[c] = sum_r dy, xhat = (x - mean) *
 * rstd, each added to what dx, dgamma, dbeta hold when accumulate. dgamma
 * and dbeta are summed over rows in ascending order by one invocation per
 * column (deterministic, no scratch). dx must not overlap the inputs.
 * rows == 0 is a no-op; cols == 0 with rows > 0 is
 * PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_layernorm_backward(porta_context *ctx, size_t rows, size_t cols,
                                                porta_view dy, porta_view x, porta_view gamma,
                                                porta_view mean, porta_view rstd, porta_view dx,
                                                porta_view dgamma, porta_view dbeta,
                                                bool accumulate);

/** Row-wise softmax of a rows x cols matrix: y = exp(x - max) / sum(exp(x -
 * max)) per row (max-subtracted, so no overflow). y must not overlap x.
 * rows == 0 is a no-op; cols == 0 with rows > 0 is
 * PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_softmax_forward(porta_context *ctx, size_t rows, size_t cols,
                                             porta_view x, porta_view y);

/** The gradient of porta_softmax_forward() from its output y and dy:
 * dx = y * (dy - sum_c(dy * y)) per row, added to dx when accumulate. dx
 * must not overlap y or dy. Sizes as porta_softmax_forward(). */
PORTA_API porta_status porta_softmax_backward(porta_context *ctx, size_t rows, size_t cols,
                                              porta_view y, porta_view dy, porta_view dx,
                                              bool accumulate);

/* ---- sequence-model kernels: bias, embedding, dropout, attention ------- */

/* The small kernels a transformer and an MLP need besides GEMM. float32
 * (tokens: uint32 words in a buffer, 4 bytes each); sizes in elements;
 * every range must lie inside its view and below 2^31 elements, otherwise
 * PORTA_ERROR_INVALID_ARGUMENT naming the call and the argument. Outputs
 * must not overlap inputs. A size of 0 (rows, n, n_tokens, batch_heads, a
 * shape extent) is a no-op, except that a backward sum over nothing
 * (porta_bias_backward() with 0 rows, porta_embedding_backward() with 0
 * tokens) writes zeros (and adds nothing when accumulating). Each device
 * computes every result in a fixed order without atomics, so a device
 * gives the same bits on every run. Backward calls add into their outputs
 * when `accumulate` is true and overwrite them otherwise. */

/** Bias over the columns of a rows x cols row-major matrix: y[r][c] +=
 * bias[c]. cols == 0 with rows > 0 is PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_bias_add(porta_context *ctx, size_t rows, size_t cols, porta_view bias,
                                      porta_view y);

/** dbias[c] (+)= sum_r dy[r][c] for the rows x cols row-major dy. Rows are
 * summed in a fixed order (deterministic): in chunks of a few hundred rows
 * by many workgroups into a scratch buffer the context keeps (grown when a
 * call needs more; freed with the context), then the chunk sums in one
 * more dispatch. Written, or added to dbias when accumulate. */
PORTA_API porta_status porta_bias_backward(porta_context *ctx, size_t rows, size_t cols,
                                           porta_view dy, porta_view dbias, bool accumulate);

/** Token embedding lookup: y[i][:] = table[tokens[i]][:] for i < n_tokens,
 * with table vocab x dim and y n_tokens x dim row-major. A token >= vocab
 * gives a row of NaN (it cannot be checked without a read). vocab and dim
 * must be >= 1. */
PORTA_API porta_status porta_embedding_forward(porta_context *ctx, porta_view tokens,
                                               size_t n_tokens, porta_view table, size_t vocab,
                                               size_t dim, porta_view y);

/** dtable[v][:] (+)= sum over i with tokens[i] == v of dy[i][:], added in
 * ascending i: deterministic, no atomics (each output element is one
 * invocation's sum, in registers: one invocation per table row and block
 * of columns scans the tokens, in dispatches of at most 16384 tokens).
 * Written (rows no token hits become 0) or added to dtable when
 * accumulate. A token >= vocab contributes nothing. */
PORTA_API porta_status porta_embedding_backward(porta_context *ctx, porta_view tokens,
                                                size_t n_tokens, porta_view dy, size_t vocab,
                                                size_t dim, porta_view dtable, bool accumulate);

/** Inverted dropout: element i of x is kept with probability 1 - p and
 * scaled by 1 / (1 - p) (computed in float), dropped elements are 0. The
 * mask comes from a counter-based generator: word i % 4 of Philox-4x32-10
 * (Random123's constants) with counter (i / 4, 0, step low, step high) and
 * key (seed low, seed high) keeps the element when its top 24 bits are
 * >= ceil(p * 2^24). So the same (seed, step) gives the same mask, bit for
 * bit, on every device and in the reference, and a new step a new mask.
 * p must lie in [0, 1); p == 0 is the identity. x and y may be the same
 * range (in place). */
PORTA_API porta_status porta_dropout_forward(porta_context *ctx, float p, uint64_t seed,
                                             uint64_t step, size_t n, porta_view x, porta_view y);

/** The gradient of porta_dropout_forward() with the same (p, seed, step,
 * n): dx[i] (+)= keep_i ? dy[i] / (1 - p) : 0, the mask regenerated
 * (nothing is stored between the passes). dy and dx may be the same range
 * when not accumulating. */
PORTA_API porta_status porta_dropout_backward(porta_context *ctx, float p, uint64_t seed,
                                              uint64_t step, size_t n, porta_view dy, porta_view dx,
                                              bool accumulate);

/** Attention probabilities: x holds batch_heads blocks of T x T scores
 * (row-major, block after block); row t of each block becomes the softmax
 * over j of scale * x[t][j], with the entries j > t masked out when causal
 * (masked entries of y are exactly 0). Numerically stable (the row maximum
 * is subtracted). scale must be finite; T >= 1 (T == 0 with batch_heads >
 * 0 is PORTA_ERROR_INVALID_ARGUMENT). One invocation per row on CPU devices
 * (rows up to 1024), one workgroup per row otherwise. */
PORTA_API porta_status porta_attention_softmax_forward(porta_context *ctx, size_t batch_heads,
                                                       size_t T, float scale, bool causal,
                                                       porta_view x, porta_view y);

/** The gradient of porta_attention_softmax_forward() by its scores, from
 * its output y and dy: dx = scale * y * (dy - sum_j dy_j y_j) per row
 * (masked entries, where y is 0, give 0 for finite dy), written or added
 * to dx when accumulate. Sizes and scale as the forward call. */
PORTA_API porta_status porta_attention_softmax_backward(porta_context *ctx, size_t batch_heads,
                                                        size_t T, float scale, porta_view y,
                                                        porta_view dy, porta_view dx,
                                                        bool accumulate);

/** Strided gather copy (head split and merge, permutes, broadcasts): y is
 * contiguous with row-major shape shape[0 .. ndim), and
 *
 *     y[i_0, .., i_{ndim-1}] (+)= x[sum_d i_d * x_strides[d]],
 *
 * written, or added to y when accumulate. 1 <= ndim <= 6; strides are in
 * elements and may be 0 (broadcast); every source index must lie inside x
 * and below 2^31. y must not overlap x.
 *
 * Attention with a fused QKV projection: x = the [B, T, 3, H, D] output of
 * one linear layer (3 H D columns). Head split (q, k, v as [B, H, T, D]):
 * shape {B, H, T, D}, strides {T*3*H*D, D, 3*H*D, 1}, from x's offset 0
 * for q, H*D for k and 2*H*D for v. Its backward needs no scatter: keep
 * dq, dk, dv as one [3, B, H, T, D] block dqkv (dq, then dk, then dv) and
 * gather the whole gradient of the linear layer's output, [B, T, 3, H, D],
 * in one call: shape {B, T, 3, H, D}, strides {H*T*D, D, B*H*T*D, T*D, 1}.
 * Head merge (attention output [B, H, T, D] to [B, T, H, D], the input of
 * the output projection): shape {B, T, H, D}, strides {H*T*D, D, T*D, 1};
 * its backward: shape {B, H, T, D}, strides {T*H*D, D, H*D, 1}. A
 * broadcast's backward is a sum, not a gather (for a bias:
 * porta_bias_backward()). */
PORTA_API porta_status porta_tensor_gather(porta_context *ctx, unsigned ndim, const size_t *shape,
                                           const size_t *x_strides, porta_view x, porta_view y,
                                           bool accumulate);

/* ---- layers: 2-D convolution and pooling ------------------------------- */

/* NCHW float32 tensors, PyTorch's layouts and semantics: x is batch x
 * in_channels x in_height x in_width, a conv weight out_channels x
 * in_channels x kernel_h x kernel_w, y batch x out_channels x out_h x
 * out_w. Every dimension, kernel size, stride and dilation must be >= 1
 * and every one of them and every padding at most 65535; every tensor's
 * range must lie inside its view and below 2^31 elements; otherwise
 * PORTA_ERROR_INVALID_ARGUMENT naming the call and the field. The kernels
 * read their inputs through implicit im2col (no column buffer) and sum in
 * a fixed order without atomics, so a device gives the same bits on every
 * run. Outputs must not overlap inputs. Backward calls overwrite their
 * outputs, or add to them when `accumulate` is true. */

/** The shape of a convolution; padding is zeros on both sides. */
typedef struct porta_conv2d_shape {
    uint32_t batch;        /**< images */
    uint32_t in_channels;  /**< input channels */
    uint32_t in_height;    /**< input rows */
    uint32_t in_width;     /**< input columns */
    uint32_t out_channels; /**< output channels */
    uint32_t kernel_h;     /**< kernel rows */
    uint32_t kernel_w;     /**< kernel columns */
    uint32_t stride_h;     /**< vertical stride, >= 1 */
    uint32_t stride_w;     /**< horizontal stride, >= 1 */
    uint32_t pad_h;        /**< zero rows above and below */
    uint32_t pad_w;        /**< zero columns left and right */
    uint32_t dilation_h;   /**< vertical dilation, >= 1 */
    uint32_t dilation_w;   /**< horizontal dilation, >= 1 */
} porta_conv2d_shape;

/** out_h = (in_h + 2 pad_h - dilation_h (kernel_h - 1) - 1) / stride_h + 1,
 * likewise out_w; PORTA_ERROR_INVALID_ARGUMENT if either is < 1 or the
 * shape is invalid. Needs no open device. */
PORTA_API porta_status porta_conv2d_output_size(porta_context *ctx, const porta_conv2d_shape *s,
                                                size_t *out_h, size_t *out_w);

/** y[n][co][oh][ow] = bias[co] + sum_{ci,kh,kw} x[n][ci][ih][iw] *
 * w[co][ci][kh][kw], ih = oh stride_h - pad_h + kh dilation_h (likewise
 * iw), x = 0 outside the input. bias (out_channels floats) may be none.
 * The input is first copied with its padding into a scratch buffer the
 * context keeps (grown when a call needs more); each invocation then
 * computes a vector of neighbouring output pixels of a row x 8 output
 * channels. */
PORTA_API porta_status porta_conv2d_forward(porta_context *ctx, const porta_conv2d_shape *s,
                                            porta_view x, porta_view w, porta_view bias,
                                            porta_view y);

/** dx = the transposed convolution of dy with w (the gradient of
 * porta_conv2d_forward() with respect to x): written, or added to dx when
 * accumulate. For stride 1 (padding at most the dilated kernel's span
 * minus one) this is the forward kernel run on a padded copy of dy with
 * the flipped kernel; otherwise each invocation gathers a tile of 4 input
 * pixels x 8 input channels. */
PORTA_API porta_status porta_conv2d_backward_data(porta_context *ctx, const porta_conv2d_shape *s,
                                                  porta_view dy, porta_view w, porta_view dx,
                                                  bool accumulate);

/** dw[co][ci][kh][kw] = sum_{n,oh,ow} dy[n][co][oh][ow] * x[n][ci][ih][iw]
 * and, when dbias is not none, dbias[co] = sum_{n,oh,ow} dy[n][co][oh][ow]:
 * written, or added when accumulate. Deterministic without atomics: padded
 * copies of x and dy go to the context's scratch buffer, each invocation
 * sums a 4 x 3 block of dw (the bias is a column of ones) over a range of
 * output rows into partial sums there, and a second pass adds the ranges
 * in a fixed order. */
PORTA_API porta_status porta_conv2d_backward_filter(porta_context *ctx, const porta_conv2d_shape *s,
                                                    porta_view x, porta_view dy, porta_view dw,
                                                    porta_view dbias, bool accumulate);

/** The pooling kinds. */
typedef enum porta_pool_kind {
    PORTA_POOL_MAX = 0, /**< the largest element of each window */
    PORTA_POOL_AVG = 1  /**< the mean of each window */
} porta_pool_kind;

/** The shape of a pooling (PyTorch's MaxPool2d / AvgPool2d without
 * ceil_mode). pad_h <= kernel_h / 2 and pad_w <= kernel_w / 2, as PyTorch
 * requires (so every window holds an input element). */
typedef struct porta_pool_shape {
    uint32_t batch;     /**< images */
    uint32_t channels;  /**< channels */
    uint32_t in_height; /**< input rows */
    uint32_t in_width;  /**< input columns */
    uint32_t kernel_h;  /**< window rows */
    uint32_t kernel_w;  /**< window columns */
    uint32_t stride_h;  /**< vertical stride, >= 1 */
    uint32_t stride_w;  /**< horizontal stride, >= 1 */
    uint32_t pad_h;     /**< padding rows above and below */
    uint32_t pad_w;     /**< padding columns left and right */
} porta_pool_shape;

/** out_h = (in_h + 2 pad_h - kernel_h) / stride_h + 1, likewise out_w;
 * PORTA_ERROR_INVALID_ARGUMENT if either is < 1 or the shape is invalid.
 * Needs no open device. */
PORTA_API porta_status porta_pool_output_size(porta_context *ctx, const porta_pool_shape *s,
                                              size_t *out_h, size_t *out_w);

/** y = the max or the average of each window. max: padding never wins (it
 * is skipped) and NaN counts as the largest value (the first NaN wins);
 * avg: PyTorch's count_include_pad=True, the window's sum divided by
 * kernel_h * kernel_w. Global average pooling = a kernel equal to the
 * input size. */
PORTA_API porta_status porta_pool_forward(porta_context *ctx, porta_pool_kind kind,
                                          const porta_pool_shape *s, porta_view x, porta_view y);

/** dx from dy: max: each window's dy goes to the first maximum of its
 * window in row-major scan order, recomputed from x (no index buffer);
 * avg: dy / (kernel_h * kernel_w) to every input the window covers. Each
 * input element gathers over the windows that contain it (no atomics).
 * Written, or added to dx when accumulate. x is not read for avg (it may be
 * none then). */
PORTA_API porta_status porta_pool_backward(porta_context *ctx, porta_pool_kind kind,
                                           const porta_pool_shape *s, porta_view x, porta_view dy,
                                           porta_view dx, bool accumulate);

/* ---- GEMM with a fused epilogue: bias and activation ------------------- */

/** What porta_gemm_bias_act() does to each element as it stores C. */
typedef struct porta_gemm_epilogue {
    porta_view bias;             /**< n floats, one per column; none: no bias */
    porta_activation activation; /**< applied last; PORTA_ACTIVATION_NONE: none */
    /** Receives the value before the activation (what
     * porta_activation_backward() takes as its x), laid out like C (C's
     * leading dimension); none: not stored. */
    porta_view pre;
} porta_gemm_epilogue;

/** One GEMM (as porta_gemm() with batch 1) that also adds a bias per
 * column and applies an activation as it stores C, in the same dispatch:
 *
 *     v[i][j] = alpha * (op(A) op(B))[i][j] + beta * C[i][j]  (beta == 0: C not read)
 *               + bias[j]                                     (bias given)
 *     pre[i * c.ld + j] = v[i][j]                             (pre given)
 *     C[i * c.ld + j]   = f(v[i][j])                          (f: activation)
 *
 * for i < m, j < n. A, B and C are as in porta_gemm() (their batch
 * strides unused). pre must not overlap C; bias must overlap neither; A
 * and B must not overlap C or pre. `epilogue` NULL: none (this is then
 * porta_gemm()).
 *
 * Each element rounds alpha * sum, then + beta * C, then + bias, then f.
 * The products are summed as in porta_gemm(), in a fixed order (on its
 * split-K path the epilogue runs once, in the final reduction), so a
 * device gives the same bits on every run. k == 0 gives v = beta * C +
 * bias; m or n == 0 is a no-op. Errors: PORTA_ERROR_INVALID_ARGUMENT naming
 * the argument (porta_gemm()'s checks, an unknown activation, a range
 * outside its view, overlapping outputs). */
PORTA_API porta_status porta_gemm_bias_act(porta_context *ctx, size_t m, size_t n, size_t k,
                                           float alpha, porta_matrix a, porta_matrix b, float beta,
                                           porta_matrix c, const porta_gemm_epilogue *epilogue);

/* ---- checkpoints: safetensors files ------------------------------------ */

/* safetensors (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header (padded with spaces
 * so the data starts 8-byte aligned), then the data. Host-only: none of
 * these calls needs a device. */

/** The most dimensions a safetensors tensor has. */
#define PORTA_SAFETENSORS_MAX_DIMS 8

/** A safetensors file being written: tensors and metadata are collected in
 * memory, then porta_safetensors_commit() writes the file atomically: to
 * "<path>.tmp.<pid>" in the same directory, fsynced, renamed over path,
 * then the directory fsynced; a reader sees the old file or the complete
 * new one, and on any failure the old file is untouched and the temporary
 * file removed. porta writes the header compactly in the order things were
 * added ("__metadata__" first), and places the data of wider dtypes first
 * so every tensor is aligned to its element size. An arbitrary binary blob
 * fits as a U8 tensor of shape [bytes]. */
typedef struct porta_safetensors_writer porta_safetensors_writer;

/** Start a file that porta_safetensors_commit() will write to path
 * (nothing touches the file system before the commit). */
PORTA_API porta_status porta_safetensors_begin(porta_context *ctx, const char *path,
                                               porta_safetensors_writer **out);

/** Add a tensor, copying its bytes (data may be reused on return). dtype is
 * one of the safetensors names: "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3",
 * "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64".
 * shape has ndim <= PORTA_SAFETENSORS_MAX_DIMS dimensions (ndim 0: a
 * scalar; shape may then be NULL), and bytes must equal the product of the
 * dimensions times the dtype's size. name: non-empty valid UTF-8, not
 * "__metadata__", not added before. On failure nothing is added and the
 * writer stays usable. */
PORTA_API porta_status porta_safetensors_add(porta_context *ctx, porta_safetensors_writer *w,
                                             const char *name, const char *dtype,
                                             const size_t *shape, unsigned ndim, const void *data,
                                             size_t bytes);

/** Add a "__metadata__" entry (string to string, both valid UTF-8, key not
 * added before). */
PORTA_API porta_status porta_safetensors_add_metadata(porta_context *ctx,
                                                      porta_safetensors_writer *w, const char *key,
                                                      const char *value);

/** Write everything atomically and free the writer, whether the write
 * succeeded or not. On failure the previous file at path is untouched. */
PORTA_API porta_status porta_safetensors_commit(porta_context *ctx, porta_safetensors_writer *w);

/** Free a writer without writing anything. NULL is a no-op. */
PORTA_API void porta_safetensors_writer_destroy(porta_context *ctx, porta_safetensors_writer *w);

/** A safetensors file read into memory and checked. */
typedef struct porta_safetensors porta_safetensors;

/** Read and check a whole safetensors file: the header length against the
 * file size, the header as strict JSON (UTF-8, unique names), every entry
 * (known dtype, at most PORTA_SAFETENSORS_MAX_DIMS dimensions, offsets
 * inside the data, byte length == dtype size * elements), and that the
 * tensors cover the data exactly: contiguous, no overlap, no gap, nothing
 * left over. Any defect is PORTA_ERROR_CORRUPT_DATA with a message naming
 * the file and the defect; a file that cannot be read is PORTA_ERROR_IO. */
PORTA_API porta_status porta_safetensors_open(porta_context *ctx, const char *path,
                                              porta_safetensors **out);

/** Number of tensors. */
PORTA_API size_t porta_safetensors_count(const porta_safetensors *f);
/** The name of tensor i in header order (NULL when i >= count). */
PORTA_API const char *porta_safetensors_name(const porta_safetensors *f, size_t i);

/** Find tensor `name`: its dtype name, shape (an array of
 * PORTA_SAFETENSORS_MAX_DIMS), ndim, bytes and a pointer to them, valid
 * until porta_safetensors_destroy(). Every output may be NULL. The pointer
 * is aligned to the element size for files porta wrote; for others it may
 * not be (copy with memcpy). An absent name is PORTA_ERROR_NOT_FOUND. */
PORTA_API porta_status porta_safetensors_get(porta_context *ctx, const porta_safetensors *f,
                                             const char *name, const char **dtype, size_t *shape,
                                             unsigned *ndim, const void **data, size_t *bytes);

/** The "__metadata__" value for key, or NULL if absent. Valid until
 * porta_safetensors_destroy(). */
PORTA_API const char *porta_safetensors_metadata(const porta_safetensors *f, const char *key);

/** Release a loaded file. NULL is a no-op. */
PORTA_API void porta_safetensors_destroy(porta_context *ctx, porta_safetensors *f);

/* ---- model graphs: build once, plan once, train many steps ------------- */

/** A model defined once: inputs with fixed shapes, parameters with a
 * seeded initialisation, and layers between them, ending in a
 * softmax-cross-entropy loss. porta_graph_compile() derives the backward
 * pass, places every activation and gradient in one device arena (tensors
 * whose lifetimes do not overlap share memory), creates the fused
 * optimizer over the parameters and initialises them. A training step then
 * only enqueues: forward, backward, the fused optimizer-plus-scheduler
 * step; nothing is allocated, read back or waited for.
 *
 * Shapes are fixed at build time: a final partial batch must be dropped or
 * padded by the caller (the toolkit's loaders drop it). Tensors are
 * row-major; images are NCHW. Parameters are placed decayed first (weights
 * of linear, conv and embedding layers: optimizer group 0), then not
 * decayed (biases and layer-norm scales and shifts: group 1). */
typedef struct porta_graph porta_graph;

/** A tensor of a graph: a small non-zero number the graph hands out. */
typedef uint32_t porta_tensor;

/** The most dimensions a graph tensor has. */
#define PORTA_MAX_DIMS 5

/** Element types of graph tensors. */
typedef enum porta_dtype {
    PORTA_F32 = 0, /**< float32 */
    PORTA_U32 = 1  /**< uint32: class labels, token ids */
} porta_dtype;

/** Parameter initialisations. fan_in / fan_out are taken PyTorch's way
 * (see porta_graph_parameter()). */
typedef enum porta_init {
    PORTA_INIT_ZEROS = 0, /**< 0 */
    PORTA_INIT_ONES = 1,  /**< 1 */
    /** U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for the
     * weights and biases of Linear and Conv2d (kaiming_uniform_ with a =
     * sqrt(5)). */
    PORTA_INIT_UNIFORM_FAN_IN = 2,
    PORTA_INIT_KAIMING_NORMAL = 3, /**< N(0, 2 / fan_in): ReLU networks */
    PORTA_INIT_XAVIER_UNIFORM = 4, /**< U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    PORTA_INIT_NORMAL = 5          /**< N(0, scale^2) */
} porta_init;

/** How porta_graph_create() sets a graph up. Zero-initialised: seed 0, no
 * profile (unless $PORTA_GRAPH_PROFILE). */
typedef struct porta_graph_options {
    /** Drives parameter initialisation and dropout, so the same seed gives
     * the same initial weights on every device. */
    uint64_t seed;
    /** In every training step, wait for the device before it, after each
     * layer's forward and backward pass and after the optimizer step; when
     * the graph is destroyed after at least one training step, print to
     * stderr the milliseconds per step in all, forward and backward per
     * layer kind, and for the optimizer step (PORTA_SETTING_DEFAULT:
     * $PORTA_GRAPH_PROFILE, on unless unset, empty or "0"). Evaluation
     * and porta_graph_forward() passes are not timed. A diagnostic: the
     * waits slow every step and count as host waits. */
    porta_setting profile;
} porta_graph_options;

/** Create an empty graph (`options` NULL: all zero). Reads
 * PORTA_GRAPH_PROFILE when options->profile is PORTA_SETTING_DEFAULT. */
PORTA_API porta_status porta_graph_create(porta_context *ctx, const porta_graph_options *options,
                                          porta_graph **out);

/** Release the graph, its arenas and its optimizer. NULL is a no-op. */
PORTA_API void porta_graph_destroy(porta_context *ctx, porta_graph *g);

/** A tensor the caller fills before each step with porta_graph_set_input():
 * images, labels, tokens. 1 <= ndim <= PORTA_MAX_DIMS, every size >= 1. */
PORTA_API porta_status porta_graph_input(porta_context *ctx, porta_graph *g, const char *name,
                                         porta_dtype dtype, unsigned ndim, const size_t *shape,
                                         porta_tensor *out);

/** A trained parameter. fan_in / fan_out for the init are taken PyTorch's
 * way: shape[1] * (product of shape[2..]) and shape[0] * (same) for 2-D and
 * larger shapes; a 1-D parameter's fan_in is its size. `scale` is the
 * standard deviation of PORTA_INIT_NORMAL (ignored otherwise); decay puts
 * it in the weight-decayed group 0, else group 1. Names must be unique
 * (they name the tensors of checkpoints). */
PORTA_API porta_status porta_graph_parameter(porta_context *ctx, porta_graph *g, const char *name,
                                             unsigned ndim, const size_t *shape, porta_init init,
                                             float scale, bool decay, porta_tensor *out);

/** The shape of a tensor (shape must hold PORTA_MAX_DIMS sizes). */
PORTA_API porta_status porta_graph_shape(porta_context *ctx, const porta_graph *g, porta_tensor t,
                                         unsigned *ndim, size_t *shape);

/** y = x W^T + b over the last dimension of x (every other dimension is a
 * row): creates "<name>.weight" [out_features, in_features] and, when
 * bias, "<name>.bias" [out_features], both PORTA_INIT_UNIFORM_FAN_IN. */
PORTA_API porta_status porta_graph_linear(porta_context *ctx, porta_graph *g, porta_tensor x,
                                          size_t out_features, bool bias, const char *name,
                                          porta_tensor *y);

/** y = x w^T (transpose_w, w [n, k]) or x w (w [k, n]) over the last
 * dimension of x: a product with an existing parameter, e.g. an output head
 * tied to a token embedding. */
PORTA_API porta_status porta_graph_matmul(porta_context *ctx, porta_graph *g, porta_tensor x,
                                          porta_tensor w, bool transpose_w, porta_tensor *y);

/** 2-D convolution of x [N, C, H, W] with square kernels, zero padding:
 * creates "<name>.weight" [out_channels, C, kernel, kernel] (and
 * "<name>.bias" when bias), PORTA_INIT_UNIFORM_FAN_IN. */
PORTA_API porta_status porta_graph_conv2d(porta_context *ctx, porta_graph *g, porta_tensor x,
                                          size_t out_channels, size_t kernel, size_t stride,
                                          size_t padding, bool bias, const char *name,
                                          porta_tensor *y);

/** Max or average pooling of x [N, C, H, W] with square windows. */
PORTA_API porta_status porta_graph_pool(porta_context *ctx, porta_graph *g, porta_pool_kind kind,
                                        porta_tensor x, size_t kernel, size_t stride,
                                        size_t padding, porta_tensor *y);

/** Global average pooling: x [N, C, H, W] -> y [N, C]. */
PORTA_API porta_status porta_graph_global_avg_pool(porta_context *ctx, porta_graph *g,
                                                   porta_tensor x, porta_tensor *y);

/** y = f(x) elementwise. */
PORTA_API porta_status porta_graph_activation(porta_context *ctx, porta_graph *g,
                                              porta_activation fn, porta_tensor x, porta_tensor *y);

/** y = a + b (same shapes): residual connections. */
PORTA_API porta_status porta_graph_add(porta_context *ctx, porta_graph *g, porta_tensor a,
                                       porta_tensor b, porta_tensor *y);

/** Layer normalisation over the last dimension, with "<name>.weight" (ones)
 * and "<name>.bias" (zeros), not decayed. */
PORTA_API porta_status porta_graph_layernorm(porta_context *ctx, porta_graph *g, porta_tensor x,
                                             float eps, const char *name, porta_tensor *y);

/** y[..., :] = table[tokens[...], :]: tokens is a U32 tensor; creates
 * "<name>.weight" [vocab, dim] ~ N(0, 0.02^2) (decayed) and returns it in
 * *table when table is not NULL (to tie an output head to it). y has the
 * shape of tokens plus a last dimension dim. */
PORTA_API porta_status porta_graph_embedding(porta_context *ctx, porta_graph *g,
                                             porta_tensor tokens, size_t vocab, size_t dim,
                                             const char *name, porta_tensor *y,
                                             porta_tensor *table);

/** Inverted dropout with probability p in [0, 1) during training steps
 * (reproducible from the graph's seed and the step number); the identity
 * in evaluation passes. */
PORTA_API porta_status porta_graph_dropout(porta_context *ctx, porta_graph *g, porta_tensor x,
                                           float p, porta_tensor *y);

/** Multi-head self-attention core: qkv [B, T, 3 C] holds the queries, keys
 * and values (columns [0, C), [C, 2C), [2C, 3C), each split into `heads`
 * heads of C / heads columns); y [B, T, C] = the heads of softmax(q k^T /
 * sqrt(C / heads)) v side by side, with positions after the query masked
 * when causal. */
PORTA_API porta_status porta_graph_attention(porta_context *ctx, porta_graph *g, porta_tensor qkv,
                                             size_t heads, bool causal, porta_tensor *y);

/** The same data with another shape of the same number of elements (no
 * copy). */
PORTA_API porta_status porta_graph_reshape(porta_context *ctx, porta_graph *g, porta_tensor x,
                                           unsigned ndim, const size_t *shape, porta_tensor *y);

/** The training loss: mean softmax cross-entropy of logits (last dimension
 * = classes, every other dimension a row) against labels (a U32 tensor
 * with one label per row). One per graph; *loss names the per-workgroup
 * loss partials the optimizer step reads. */
PORTA_API porta_status porta_graph_cross_entropy(porta_context *ctx, porta_graph *g,
                                                 porta_tensor logits, porta_tensor labels,
                                                 porta_tensor *loss);

/** Derive the backward pass, plan memory, allocate, create the optimizer
 * with `optimizer` and `scheduler` (one group given: group 1, the not
 * decayed, is a copy of it with weight_decay 0) and initialise every
 * parameter. After this the graph takes no more layers. */
PORTA_API porta_status porta_graph_compile(porta_context *ctx, porta_graph *g,
                                           const porta_optimizer_config *optimizer,
                                           const porta_scheduler_config *scheduler);

/** Figures of a compiled graph. */
typedef struct porta_graph_info {
    size_t tensors;           /**< tensors of the graph, inputs and parameters included */
    size_t forward_ops;       /**< layers */
    size_t backward_ops;      /**< layers whose backward runs (some need none) */
    size_t parameters;        /**< trained numbers */
    size_t parameter_tensors; /**< trained tensors */
    size_t arena_bytes;       /**< the planned activation and gradient arenas, in all */
    size_t unplanned_bytes;   /**< what the same tensors take without sharing */
    size_t input_bytes;       /**< the inputs' buffers */
} porta_graph_info;

/** Figures of a compiled graph. */
PORTA_API porta_status porta_graph_info_get(porta_context *ctx, const porta_graph *g,
                                            porta_graph_info *info);

/** Enqueue the upload of an input's whole contents (bytes must equal its
 * size: 4 bytes an element). Does not wait. */
PORTA_API porta_status porta_graph_set_input(porta_context *ctx, porta_graph *g, porta_tensor input,
                                             const void *data, size_t bytes);

/** Enqueue one training step on the inputs set: forward, loss, backward,
 * fused optimizer step. No host wait, no read. */
PORTA_API porta_status porta_graph_train_step(porta_context *ctx, porta_graph *g);

/** Enqueue a forward pass in evaluation mode (dropout off) up to and
 * including the loss (its partials; no backward, no optimizer step). */
PORTA_API porta_status porta_graph_forward(porta_context *ctx, porta_graph *g);

/** Evaluation on the inputs set: a forward pass, then read back the summed
 * loss of the first `rows` rows of the batch (0: all; fewer for a last
 * partial batch padded by the caller) and how many of them have their
 * argmax equal to their label (waits). */
PORTA_API porta_status porta_graph_evaluate(porta_context *ctx, porta_graph *g, size_t rows,
                                            double *loss_sum, size_t *correct);

/** Read a tensor's current contents (after a forward pass; waits). */
PORTA_API porta_status porta_graph_read(porta_context *ctx, porta_graph *g, porta_tensor t,
                                        void *dst, size_t bytes);

/** The graph's optimizer (after compile): for metrics, status, observe,
 * saving its state. The graph owns it. */
PORTA_API porta_status porta_graph_optimizer(porta_context *ctx, porta_graph *g,
                                             porta_optimizer **opt);

/** The number of parameters, in the order they were created. */
PORTA_API porta_status porta_graph_parameter_count(porta_context *ctx, const porta_graph *g,
                                                   size_t *count);
/** Parameter i (i < count): its tensor and name (valid while the graph
 * lives); either output may be NULL. */
PORTA_API porta_status porta_graph_parameter_at(porta_context *ctx, const porta_graph *g, size_t i,
                                                porta_tensor *t, const char **name);

/** Copy a parameter (or its gradient, when grad) to host floats; n must be
 * its size. Waits. */
PORTA_API porta_status porta_graph_parameter_read(porta_context *ctx, porta_graph *g,
                                                  porta_tensor t, bool grad, float *dst, size_t n);
/** Copy host floats into a parameter; n must be its size. Enqueued. */
PORTA_API porta_status porta_graph_parameter_write(porta_context *ctx, porta_graph *g,
                                                   porta_tensor t, const float *src, size_t n);

#ifdef __cplusplus
}
#endif

#endif
