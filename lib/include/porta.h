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

/* Which device porta_device_open(ctx, spec, ...) would open, without
 * opening it: same rules, same errors. */
porta_status porta_device_find(porta_context *ctx, const char *spec, porta_device_info *info);

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

/* The streaming roofline kernel porta-bench measures beside the optimizer
 * step: for i < n reads a, b, c, d and writes a, c, d (4 arrays in, 3 out,
 * as an AdamW step moves), each invocation handling per_invocation
 * elements (1..256; 0: the device's preset, as the optimizer step uses).
 * Enqueues one dispatch. */
porta_status porta_vec_stream(porta_context *ctx, porta_buffer *a, porta_buffer *b, porta_buffer *c,
                              porta_buffer *d, size_t n, unsigned per_invocation);

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

/* ---- optimizers and learning-rate schedules ------------------------------
 * An optimizer owns flat device arenas for the parameters, their gradients
 * and its moments, sharing one offset table. Tensors are registered before
 * porta_optimizer_finalize() and placed group by group (group 0 first), so
 * each parameter group is one contiguous range.
 *
 * porta_optimizer_step() is at most two dispatches, and one of them
 * updates every parameter: a one-workgroup scalar pass and the element
 * update, or, when the gradient norm is needed, the norm's reduction pass
 * and an update that finishes the scalars itself (on some devices that
 * update alone, without a norm). Together they read the training
 * loss where the forward pass left it on the device, decide the learning
 * rate of every group with the scheduler, skip the update if the loss or
 * the gradient norm is not finite, clip, update every parameter of every
 * group, and append (step, loss, norm, lr per group, skipped) to a device
 * metrics ring. The host never waits and never reads during a step;
 * porta_optimizer_metrics() drains the ring when the caller wants it. */

typedef struct porta_optimizer porta_optimizer;

typedef enum porta_optimizer_kind {
    PORTA_OPTIMIZER_SGD = 0,  /* PyTorch torch.optim.SGD semantics */
    PORTA_OPTIMIZER_ADAMW = 1 /* PyTorch torch.optim.AdamW semantics */
} porta_optimizer_kind;

#define PORTA_MAX_PARAM_GROUPS 8

typedef struct porta_param_group {
    float lr;           /* initial learning rate */
    float min_lr;       /* floor (GreedyLR, plateau) / final rate (cosine schedules) */
    float max_lr;       /* ceiling (GreedyLR) */
    float weight_decay; /* AdamW: decoupled; SGD: L2 added to the gradient */
} porta_param_group;

typedef struct porta_optimizer_config {
    porta_optimizer_kind kind;
    float momentum;  /* SGD, >= 0 */
    float dampening; /* SGD, in [0, 1) */
    int nesterov;    /* SGD: needs momentum > 0 and dampening 0 */
    float beta1;     /* AdamW, in [0, 1) */
    float beta2;     /* AdamW, in [0, 1) */
    float eps;       /* AdamW, > 0 */
    /* Clip by global gradient norm (PyTorch clip_grad_norm_): 0 = off. */
    float clip_norm;
    /* Compute the global gradient norm every step (one extra reduction
     * dispatch) so a step with a non-finite gradient is skipped; implied by
     * clip_norm > 0. Without it only a non-finite loss skips a step. */
    int check_gradients;
    unsigned n_groups; /* 1..PORTA_MAX_PARAM_GROUPS */
    porta_param_group groups[PORTA_MAX_PARAM_GROUPS];
} porta_optimizer_config;

/* Defaults: AdamW (0.9, 0.999, eps 1e-8) or SGD (no momentum); one group
 * with lr 1e-3, min_lr 1e-5, max_lr 1, weight decay 0.01 (AdamW) or 0;
 * no clipping; check_gradients on. */
porta_optimizer_config porta_optimizer_config_default(porta_optimizer_kind kind);

typedef enum porta_scheduler_kind {
    PORTA_SCHEDULER_CONSTANT = 0,
    PORTA_SCHEDULER_WARMUP_COSINE = 1,   /* linear warmup, cosine decay to min_lr */
    PORTA_SCHEDULER_STEP = 2,            /* lr * gamma every step_size steps */
    PORTA_SCHEDULER_EXPONENTIAL = 3,     /* lr * gamma^t */
    PORTA_SCHEDULER_COSINE_RESTARTS = 4, /* PyTorch CosineAnnealingWarmRestarts to min_lr */
    PORTA_SCHEDULER_PLATEAU = 5,         /* PyTorch ReduceLROnPlateau */
    PORTA_SCHEDULER_GREEDYLR = 6         /* GreedyLR (arXiv 2512.14527) */
} porta_scheduler_kind;

typedef struct porta_scheduler_config {
    porta_scheduler_kind kind;
    /* GreedyLR and plateau observe the training loss of every fused step
     * (0, the paper's way) or only the metrics given to
     * porta_optimizer_observe() (1, the transformers Trainer's way). */
    int observe_eval;
    /* GreedyLR and plateau (see docs of GreedyLR in shared GREEDYLR.md):
     * mode "min"/"max", factor F (decrease lr*F, increase lr/F), patience,
     * threshold with threshold_mode "abs"/"rel", cooldown; GreedyLR only:
     * warmup (a freeze after an increase), eps, smooth + window (rolling
     * mean), reset_start. Bounds come from each group's min_lr / max_lr. */
    const char *mode;
    float factor;
    int patience;
    float threshold;
    const char *threshold_mode;
    int cooldown;
    int warmup;
    float eps;
    int smooth;
    int window;
    int reset_start;
    /* Stateless schedules, counted in optimizer steps. */
    int warmup_steps; /* WARMUP_COSINE */
    int total_steps;  /* WARMUP_COSINE: min_lr from here on */
    int step_size;    /* STEP */
    float gamma;      /* STEP, EXPONENTIAL */
    int t_0;          /* COSINE_RESTARTS: first cycle */
    int t_mult;       /* COSINE_RESTARTS: cycle growth */
} porta_scheduler_config;

/* Defaults for a kind: GreedyLR's reference defaults (min, F 0.95,
 * patience 10, threshold 1e-6 abs, no cooldown/warmup, eps 1e-8, no
 * smoothing, window 50, reset_start 500); plateau: PyTorch's (min, 0.1, 10,
 * 1e-4 rel, cooldown 0, eps 1e-8); gamma 0.1, step_size 1000, warmup 100 of
 * 10000 total, t_0 1000, t_mult 1. */
porta_scheduler_config porta_scheduler_config_default(porta_scheduler_kind kind);

/* Create an optimizer on the context's device. Every value is validated
 * (a clear error names the parameter); a suspicious but valid choice (an
 * initial lr at or below min_lr under GreedyLR, so the rate can never
 * decrease) is PORTA_OK with a warning in porta_context_message(). */
porta_status porta_optimizer_create(porta_context *ctx, const porta_optimizer_config *config,
                                    const porta_scheduler_config *scheduler, porta_optimizer **out);

/* Register a tensor of n parameters in group `group`; *index identifies it.
 * Only before porta_optimizer_finalize(). */
porta_status porta_optimizer_add_tensor(porta_context *ctx, porta_optimizer *opt, size_t n,
                                        unsigned group, size_t *index);

/* Place every tensor, allocate the arenas, zero gradients and moments,
 * and set the parameters to zero (write them with porta_buffer_write()
 * at the tensor offsets, or let a model initialise them). */
porta_status porta_optimizer_finalize(porta_context *ctx, porta_optimizer *opt);

/* Where tensor `index` lives in the arenas (element offset), once
 * finalized. */
porta_status porta_optimizer_tensor_offset(porta_context *ctx, porta_optimizer *opt, size_t index,
                                           size_t *offset);

/* The arenas (float32): parameters and gradients, each `*elements` long.
 * Kernels read parameters and write gradients at the tensor offsets. */
porta_status porta_optimizer_arenas(porta_context *ctx, porta_optimizer *opt, porta_buffer **params,
                                    porta_buffer **grads, size_t *elements);

/* One fused training step. The loss is loss_scale * the sum of
 * loss[loss_off .. loss_off + loss_count) (e.g. per-workgroup partial sums
 * of a loss kernel and 1/batch). Enqueues, never waits. */
porta_status porta_optimizer_step(porta_context *ctx, porta_optimizer *opt, porta_buffer *loss,
                                  size_t loss_off, size_t loss_count, float loss_scale);

/* Evaluation mode (observe_eval = 1): feed one evaluation metric to the
 * scheduler on the device. The value is uploaded without waiting; the
 * parameters are untouched. */
porta_status porta_optimizer_observe(porta_context *ctx, porta_optimizer *opt, float metric);

typedef struct porta_step_metrics {
    uint64_t step;                    /* 0-based optimizer step */
    float loss;                       /* the loss the step observed */
    float grad_norm;                  /* global gradient norm before clipping (0 if not computed) */
    int skipped;                      /* 1 if the update was skipped (non-finite loss or norm) */
    unsigned scheduler_events;        /* what the scheduler did (bits, see docs) */
    float lr[PORTA_MAX_PARAM_GROUPS]; /* the rate each group's update used */
} porta_step_metrics;

/* Drain the device metrics ring: copies the entries of the steps since the
 * last drain (oldest first, at most `cap`) into out. One device read (and
 * host wait) per call; call it every N steps, not every step. If more
 * steps than the ring holds (porta_optimizer_status.ring_capacity) have passed,
 * the oldest are lost and *lost says how many. */
porta_status porta_optimizer_metrics(porta_context *ctx, porta_optimizer *opt,
                                     porta_step_metrics *out, size_t cap, size_t *count,
                                     size_t *lost);

typedef struct porta_optimizer_status {
    uint64_t steps;                   /* optimizer steps taken (skipped ones included) */
    uint64_t skipped;                 /* steps whose update was skipped */
    float lr[PORTA_MAX_PARAM_GROUPS]; /* rate in effect for the next step */
    unsigned n_groups;
    size_t ring_capacity; /* steps the metrics ring holds between drains */
} porta_optimizer_status;

/* Read the optimizer's state from the device (one read, one wait). */
porta_status porta_optimizer_status_get(porta_context *ctx, porta_optimizer *opt,
                                        porta_optimizer_status *out);

/* Write the complete optimizer and scheduler state (configuration,
 * parameters, moments, scheduler state, counters) to `path` atomically
 * (temporary file, fsync, rename). */
porta_status porta_optimizer_save(porta_context *ctx, porta_optimizer *opt, const char *path);

/* Restore a state written by porta_optimizer_save() into an optimizer
 * created with the same tensors (same sizes and groups). The run then
 * continues exactly as the saved one would have. A corrupt or mismatched
 * file changes nothing and is PORTA_ERROR_CORRUPT_DATA / INVALID_ARGUMENT. */
porta_status porta_optimizer_load(porta_context *ctx, porta_optimizer *opt, const char *path);

/* Release the optimizer and its arenas. NULL is a no-op. */
porta_status porta_optimizer_destroy(porta_context *ctx, porta_optimizer *opt);

/* A learning-rate schedule stepped from the host: the same arithmetic the
 * fused kernel runs (fp32, same order), usable without a device, and the
 * oracle porta's tests hold every device to. The groups' initial lr,
 * min_lr and max_lr come from `groups` (only its n_groups and groups[] are
 * read). Validation and warnings as porta_optimizer_create(). */
typedef struct porta_scheduler porta_scheduler;
porta_status porta_scheduler_create(porta_context *ctx, const porta_optimizer_config *groups,
                                    const porta_scheduler_config *config, porta_scheduler **out);

/* One scheduler step observing `metric` (GreedyLR, plateau; the stateless
 * schedules just advance one step). Writes the rate in effect after the
 * step for the first n_lr groups into lr (may be NULL if n_lr is 0). */
porta_status porta_scheduler_step(porta_context *ctx, porta_scheduler *s, float metric, float *lr,
                                  size_t n_lr);

/* Release a host scheduler. NULL is a no-op. */
porta_status porta_scheduler_destroy(porta_context *ctx, porta_scheduler *s);

/* ---- matrix multiplication -------------------------------------------- */

/* Strided batched GEMM: for b < batch,
 *
 *   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]
 *
 * float32, row-major, op(A) m x k, op(B) k x n, C m x n. op(X) is X, or X
 * transposed when transpose_a / transpose_b is non-zero, so no transpose is
 * ever materialised: A is stored m x k (k x m when transposed), B k x n
 * (n x k when transposed). Leading dimensions count elements between
 * consecutive rows of the matrix as stored: lda >= k (>= m when A is
 * transposed), ldb >= n (>= k when B is transposed), ldc >= n, all >= 1.
 * Element (r, c) of stored A in batch b is a[a_off + b * stride_a +
 * r * lda + c] (likewise B and C); offsets and strides are in elements.
 * stride_a or stride_b may be 0 (the same A or B for every batch); C's
 * batches must not overlap (stride_c >= (m - 1) * ldc + n when batch > 1),
 * and C must not overlap A or B.
 *
 * beta == 0 does not read C: whatever C held (NaN included) is overwritten.
 * k == 0 scales C by beta. m, n or batch == 0 is a no-op. Each element's
 * products are added in ascending k, so a device gives the same bits on
 * every run. Every range must lie inside its buffer (and below 2^31
 * elements); otherwise PORTA_ERROR_INVALID_ARGUMENT, naming the argument. */
porta_status porta_gemm(porta_context *ctx, int transpose_a, int transpose_b, size_t m, size_t n,
                        size_t k, float alpha, porta_buffer *a, size_t a_off, size_t lda,
                        porta_buffer *b, size_t b_off, size_t ldb, float beta, porta_buffer *c,
                        size_t c_off, size_t ldc, size_t batch, size_t stride_a, size_t stride_b,
                        size_t stride_c);

/* ---- loss and evaluation --------------------------------------------- */

/* Fused softmax + cross-entropy over logits, forward and backward, in one
 * dispatch (more only for very long inputs), without waiting or reading.
 *
 * logits is rows x classes, float32 row-major from element logits_off;
 * labels holds one uint32 class per row from element labels_off (a buffer
 * of 32-bit words, sized like a float buffer). For each row, with
 * m = max(x),
 *
 *   loss_r          = log(sum_c exp(x_c - m)) - (x[label] - m)   (= logsumexp(x) - x[label])
 *   dlogits[r, c]   = (softmax(x)_c - (c == label)) * grad_scale
 *
 * numerically stable for any finite logits. grad_scale is typically
 * 1 / rows (the gradient of the mean loss). dlogits (rows x classes from
 * dlogits_off) may be the logits themselves (same buffer and offset).
 *
 * The loss is left on the device as partial sums: *partials_count =
 * min(rows, 64) workgroups each write the sum of their rows' losses (rows
 * g, g + count, g + 2 count, ... in ascending order) to
 * loss_partials[partials_off + g], so the fused optimizer step finishes the
 * mean: porta_optimizer_step(ctx, opt, loss_partials, partials_off,
 * *partials_count, 1.0f / rows). loss_partials must hold min(rows, 64)
 * floats from partials_off. No atomics: a device gives the same bits on
 * every run.
 *
 * A label >= classes cannot be checked on the host without a read: such a
 * row's loss and dlogits are NaN, so the loss sum is NaN and the optimizer
 * step that consumes it is skipped. Non-finite logits also give NaN.
 *
 * rows == 0 writes nothing (*partials_count = 0). classes must be >= 1;
 * every range must lie inside its buffer (below 2^31 elements), else
 * PORTA_ERROR_INVALID_ARGUMENT naming the argument; PORTA_ERROR_UNSUPPORTED
 * if a row has more classes than one dispatch can reduce (millions). */
porta_status porta_cross_entropy(porta_context *ctx, porta_buffer *logits, size_t logits_off,
                                 porta_buffer *labels, size_t labels_off, size_t rows,
                                 size_t classes, float grad_scale, porta_buffer *dlogits,
                                 size_t dlogits_off, porta_buffer *loss_partials,
                                 size_t partials_off, size_t *partials_count);

/* Evaluation: *correct = the number of rows whose argmax equals their
 * label (ties go to the lowest index and NaN counts as the largest value,
 * as torch.argmax; a label >= classes is never correct). Same layout and
 * argument checks as porta_cross_entropy(). Per-workgroup counts on the
 * device, then one read (the host waits) and a sum on the host. */
porta_status porta_accuracy_count(porta_context *ctx, porta_buffer *logits, size_t logits_off,
                                  porta_buffer *labels, size_t labels_off, size_t rows,
                                  size_t classes, size_t *correct);

/* ---- layers: activations, layer normalisation, softmax ----
 *
 * float32; buffers with element offsets; every range must lie inside its
 * buffer and below 2^31 elements, otherwise PORTA_ERROR_INVALID_ARGUMENT
 * naming the call and the argument. Row-wise ops take a row-major rows x
 * cols matrix, row r at off + r * cols. Each device computes every result
 * in a fixed order (no atomics), so a device gives the same bits on every
 * run. Backward calls add into their outputs when `accumulate` is non-zero
 * (gradient arenas accumulate) and overwrite them otherwise. */

/* The elementwise activation functions. */
typedef enum porta_activation {
    PORTA_RELU = 0,    /* max(x, 0); its derivative at 0 is taken as 0 */
    PORTA_GELU = 1,    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's 'tanh' form */
    PORTA_TANH = 2,    /* tanh(x) */
    PORTA_SIGMOID = 3, /* 1 / (1 + exp(-x)), computed without overflow for large |x| */
} porta_activation;

/* y[y_off + i] = f(x[x_off + i]) for i < n. x and y may be the same range
 * (in place). n == 0 is a no-op. An unknown fn is
 * PORTA_ERROR_INVALID_ARGUMENT. */
porta_status porta_activation_forward(porta_context *ctx, porta_activation fn, porta_buffer *x,
                                      size_t x_off, porta_buffer *y, size_t y_off, size_t n);

/* dx[dx_off + i] (+)= dy[dy_off + i] * f'(x[x_off + i]) for i < n, f'
 * computed from the forward input x; added to dx when accumulate != 0.
 * n == 0 is a no-op. */
porta_status porta_activation_backward(porta_context *ctx, porta_activation fn, porta_buffer *x,
                                       size_t x_off, porta_buffer *dy, size_t dy_off,
                                       porta_buffer *dx, size_t dx_off, size_t n, int accumulate);

/* Layer normalisation over the last dimension of a rows x cols matrix:
 *   y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps),
 * var the biased variance of the row (as PyTorch). gamma and beta hold cols
 * elements. Also writes mean[mean_off + r] and rstd[rstd_off + r] for every
 * row, which porta_layernorm_backward needs. Mean and variance are two
 * passes over the row (not E[x^2] - E[x]^2). cols >= 1 (cols == 0 with
 * rows > 0 is PORTA_ERROR_INVALID_ARGUMENT), eps finite and >= 0; rows == 0
 * is a no-op. y must not overlap x. */
porta_status porta_layernorm_forward(porta_context *ctx, size_t rows, size_t cols, float eps,
                                     porta_buffer *x, size_t x_off, porta_buffer *gamma,
                                     size_t gamma_off, porta_buffer *beta, size_t beta_off,
                                     porta_buffer *y, size_t y_off, porta_buffer *mean,
                                     size_t mean_off, porta_buffer *rstd, size_t rstd_off);

/* The gradients of porta_layernorm_forward from dy (rows x cols), its input
 * x, gamma and the mean and rstd it saved:
 *   dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat)),  g = dy * gamma,
 *   dgamma[c] = sum_r dy * xhat,  dbeta[c] = sum_r dy,  xhat = (x - mean) * rstd,
 * each added to what dx, dgamma, dbeta hold when accumulate != 0. dgamma and
 * dbeta are summed over rows in ascending order by one invocation per
 * column (deterministic, no scratch). dx must not overlap the inputs.
 * rows == 0 is a no-op; cols == 0 with rows > 0 is
 * PORTA_ERROR_INVALID_ARGUMENT. */
porta_status porta_layernorm_backward(porta_context *ctx, size_t rows, size_t cols,
                                      porta_buffer *dy, size_t dy_off, porta_buffer *x,
                                      size_t x_off, porta_buffer *gamma, size_t gamma_off,
                                      porta_buffer *mean, size_t mean_off, porta_buffer *rstd,
                                      size_t rstd_off, porta_buffer *dx, size_t dx_off,
                                      porta_buffer *dgamma, size_t dgamma_off, porta_buffer *dbeta,
                                      size_t dbeta_off, int accumulate);

/* Row-wise softmax of a rows x cols matrix: y = exp(x - max) / sum(exp(x -
 * max)) per row (max-subtracted, so no overflow). y must not overlap x.
 * rows == 0 is a no-op; cols == 0 with rows > 0 is
 * PORTA_ERROR_INVALID_ARGUMENT. */
porta_status porta_softmax_forward(porta_context *ctx, size_t rows, size_t cols, porta_buffer *x,
                                   size_t x_off, porta_buffer *y, size_t y_off);

/* The gradient of porta_softmax_forward from its output y and dy:
 * dx = y * (dy - sum_c(dy * y)) per row, added to dx when accumulate != 0.
 * dx must not overlap y or dy. Sizes as porta_softmax_forward. */
porta_status porta_softmax_backward(porta_context *ctx, size_t rows, size_t cols, porta_buffer *y,
                                    size_t y_off, porta_buffer *dy, size_t dy_off, porta_buffer *dx,
                                    size_t dx_off, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
