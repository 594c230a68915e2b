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
 * as an AdamW step moves), in workgroups of local_size invocations (a
 * power of two the device allows; 0: the device's default) each handling
 * per_invocation elements (1..256; 0: 1). Both 0: the layout the optimizer
 * step uses on this device. Enqueues one dispatch. */
porta_status porta_vec_stream(porta_context *ctx, porta_buffer *a, porta_buffer *b, porta_buffer *c,
                              porta_buffer *d, size_t n, unsigned local_size,
                              unsigned per_invocation);

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
    /* Back-pressure, not a synchronisation: the host ran a whole ring of
     * submitted batches (8 on Vulkan) ahead of the device and blocked until
     * the oldest finished, to reuse its command buffer. Nothing is read and
     * no result is waited for; a host faster than its device meets this in
     * every long run. Not counted in host_waits. */
    uint64_t queue_full_waits;
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
 * porta_optimizer_step() enqueues one dispatch when no gradient norm is
 * needed (no clipping, check_gradients 0), on GPUs and PoCL: the element
 * update is the whole step. The step before prepared the scalars no loss
 * changes; every workgroup decides from the loss whether to apply, and
 * workgroup 0 does the bookkeeping after its update. When the norm is
 * needed, and on llvmpipe (lavapipe, Rusticl) always, a scalar pass comes
 * first (two dispatches): it finishes the loss reduction (and the norm),
 * advances the scheduler and writes the step's scalars once, so the update
 * is a branch-free stream; for the norm it runs on many workgroups that
 * first sum the gradient's squares, and the last of them to finish (an
 * integer ticket; the partial sums are added in a fixed order) goes on
 * with the scalars. llvmpipe runs the one-dispatch form slower: every
 * batch of 8 invocations runs the loss sum and the bookkeeping, masked
 * off, so it moves its bytes at 0.80 of the streaming roofline against
 * 0.92 for the two (16M AdamW parameters; PORTA_OPTIM_VARIANT=fused
 * forces it). Together they read the training loss where the forward
 * pass left it on the device, decide the learning rate of every group
 * with the scheduler, skip the update if the loss or the gradient norm is
 * not finite, clip, update every parameter of every group, and append
 * (step, loss, norm, lr per group, skipped) to a device metrics ring. The
 * host never waits and never reads during a step;
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
 * Kernels read parameters and write gradients at the tensor offsets.
 * Tensors are laid out group by group, each group padded to a multiple of
 * 2048 elements; the padding holds zero parameters and zero gradients
 * (keep its gradients zero: the gradient norm covers the whole arena). */
porta_status porta_optimizer_arenas(porta_context *ctx, porta_optimizer *opt, porta_buffer **params,
                                    porta_buffer **grads, size_t *elements);

/* One fused training step. The loss is loss_scale * the sum of
 * loss[loss_off .. loss_off + loss_count) (e.g. per-workgroup partial sums
 * of a loss kernel and 1/batch), added in index order by one invocation:
 * loss_count is 1..PORTA_OPTIMIZER_MAX_LOSS_WORDS (llvmpipe would stop a
 * longer loop silently; sum longer losses first, e.g. with porta_vec_sum).
 * The loss buffer is not one of the optimizer's arenas. Enqueues, never
 * waits. */
#define PORTA_OPTIMIZER_MAX_LOSS_WORDS 4096u
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

/* The same complete state in memory, e.g. inside a checkpoint file:
 * porta_optimizer_state_size() gives the bytes; porta_optimizer_state_get()
 * fills exactly that many (reads the device: waits);
 * porta_optimizer_state_set() checks and restores such bytes as
 * porta_optimizer_load() does (`source` names them in messages). */
porta_status porta_optimizer_state_size(porta_context *ctx, porta_optimizer *opt, size_t *bytes);
porta_status porta_optimizer_state_get(porta_context *ctx, porta_optimizer *opt, void *dst,
                                       size_t bytes);
porta_status porta_optimizer_state_set(porta_context *ctx, porta_optimizer *opt, const void *data,
                                       size_t bytes, const char *source);

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
 * products are added in a fixed order (ascending k; for a single product
 * with a small C and a long k, ascending k within a few K slices whose sums
 * are then added in order), never with atomics, so a device gives the same
 * bits on every run. Such split-K problems keep their partial sums in a
 * scratch buffer the context allocates on first need and keeps. Every range must lie inside its
 * buffer (and below 2^31 elements); otherwise PORTA_ERROR_INVALID_ARGUMENT, naming the argument. */
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

/* ---- data: image sets, batch loader, text corpus --------------------------
 *
 * Host-side data for the training apps. Readers check every byte they are
 * given: a missing file is PORTA_ERROR_IO, a file whose content cannot be
 * right (truncated, wrong magic or dtype, inconsistent counts, a label out
 * of range, absurd dimensions, binary text) is PORTA_ERROR_CORRUPT_DATA;
 * the context message names the file and says what is wrong. A reader that
 * fails leaves *out zeroed and allocates nothing. None of these calls needs
 * an open device. */

/* An in-memory labelled image set: pixels in CHW order, one byte each. */
typedef struct porta_image_set {
    size_t count; /* number of images */
    unsigned channels, height, width;
    unsigned classes; /* every label is < classes */
    uint8_t *pixels;  /* count * channels * height * width bytes, image-major */
    uint8_t *labels;  /* count bytes */
} porta_image_set;

/* Load an MNIST-family IDX pair: images_path an idx3 file of unsigned
 * bytes (count x height x width), labels_path an idx1 file of count
 * unsigned bytes. Each file may be plain or gzip-compressed; which one is
 * decided by its first bytes, not its name. The result has 1 channel and 10
 * classes (MNIST, Fashion-MNIST, KMNIST): a label >= 10 is an error. Height
 * and width must lie in 1..4096, the count must be at least 1 and the
 * pixels at most 2^36 bytes. Trailing
 * bytes after the data are an error too (a wrong file, not a longer one). */
porta_status porta_image_set_load_idx(porta_context *ctx, const char *images_path,
                                      const char *labels_path, porta_image_set *out);

/* Load CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin), in the
 * order given, into one set of 3 x 32 x 32 images with 10 classes. Each
 * record is 1 label byte then 3072 pixel bytes (the red, green, blue
 * planes); a file's size must be a non-zero multiple of 3073 and every label
 * < 10. Files may be gzip-compressed (detected by content). n_paths >= 1. */
porta_status porta_image_set_load_cifar10(porta_context *ctx, const char *const *paths,
                                          size_t n_paths, porta_image_set *out);

/* Load a data set from a directory, the training split if train != 0, else
 * the test split. Recognised, in this order:
 *   MNIST family: {train,t10k}-images-idx3-ubyte[.gz] with
 *     {train,t10k}-labels-idx1-ubyte[.gz] (also the "-images.idx3-ubyte"
 *     spelling), e.g. Debian's /usr/share/datasets/fashion-mnist;
 *   CIFAR-10: data_batch_1.bin .. data_batch_5.bin (train, all five
 *     required) or test_batch.bin, in dir or in dir/cifar-10-batches-bin.
 * A directory holding neither is PORTA_ERROR_IO with a message listing what
 * was looked for. */
porta_status porta_image_set_load_dir(porta_context *ctx, const char *dir, int train,
                                      porta_image_set *out);

/* Free the pixels and labels and zero *set. NULL or a zeroed set is a no-op. */
void porta_image_set_free(porta_image_set *set);

/* A batch loader: a background thread (POSIX threads) prepares the next few
 * batches (a ring of 3) while the caller trains.
 *   - Order: batch b of epoch e holds the samples perm_e[b*batch ..
 *     (b+1)*batch), perm_e a Fisher-Yates shuffle of 0..count-1 drawn from a
 *     counter-based generator keyed by (seed, e) only, so every machine sees
 *     the same order and a resumed run can seek straight to (e, b). With
 *     shuffle == 0, perm_e is the identity.
 *   - The last count % batch samples of each epoch's order are dropped:
 *     every batch is full (batches_per_epoch = count / batch).
 *   - Pixels become floats ((p / 255 - mean[c]) / std[c]) for channel c,
 *     computed in float exactly like that.
 *   - augment != 0: each image is cropped back to height x width from
 *     itself padded by 4 pixels of value 0 (black, before normalisation) on
 *     every side, at an offset uniform in 0..8 per axis, then flipped
 *     horizontally with probability 1/2 (the CIFAR recipe). The draws come
 *     from a counter-based generator keyed by (seed, epoch, sample index in
 *     the set), so they do not depend on thread timing or batch position.
 *   - Labels are delivered as uint32.
 * The loader borrows the image set: it must stay alive and unchanged until
 * porta_batch_loader_destroy. One caller thread at a time per loader. */
typedef struct porta_batch_loader porta_batch_loader;

typedef struct porta_batch_loader_config {
    size_t batch;  /* samples per batch, 1..count */
    uint64_t seed; /* shuffle and augmentation seed */
    int shuffle;   /* != 0: a new order every epoch; 0: the set's order */
    int augment;   /* != 0: random crop (pad 4) + horizontal flip */
    float mean[4]; /* per channel (only the first `channels` are used) */
    float std[4];  /* per channel, finite and > 0 */
} porta_batch_loader_config;

/* Create a loader over `set` (channels 1..4, count >= cfg->batch) and
 * start its thread at epoch 0, batch 0. */
porta_status porta_batch_loader_create(porta_context *ctx, const porta_image_set *set,
                                       const porta_batch_loader_config *cfg,
                                       porta_batch_loader **out);

/* count / batch: full batches per epoch (0 for NULL). */
size_t porta_batch_loader_batches_per_epoch(const porta_batch_loader *l);

/* Position the loader at batch `batch` (< batches_per_epoch) of epoch
 * `epoch`, e.g. to resume a run; the next porta_batch_loader_next returns
 * exactly that batch, as a run that never stopped would have seen it.
 * Batches already prepared are discarded. */
porta_status porta_batch_loader_seek(porta_context *ctx, porta_batch_loader *l, uint64_t epoch,
                                     size_t batch);

/* Copy the next batch into images (batch * channels * height * width
 * floats, NCHW) and labels (batch uint32). Blocks only while the thread has
 * not prepared it yet. epoch and index (either may be NULL) receive which
 * batch it was; after the last batch of epoch e comes batch 0 of e + 1. */
porta_status porta_batch_loader_next(porta_context *ctx, porta_batch_loader *l, float *images,
                                     uint32_t *labels, uint64_t *epoch, size_t *index);

/* Stop and join the thread and free the loader. NULL is a no-op. */
void porta_batch_loader_destroy(porta_batch_loader *l);

/* A byte-level text corpus for language models: tokens are the bytes 0..255. */
typedef struct porta_text {
    uint8_t *bytes;    /* the whole file */
    size_t size;       /* its length in bytes */
    size_t train_size; /* bytes[0, train_size) train, bytes[train_size, size) validate */
} porta_text;

/* Read a text file (gzip-compressed files are decompressed, detected by
 * content) and split it deterministically: the last round(size *
 * val_fraction) bytes are the validation split, the bytes before them the
 * training split (0 <= val_fraction < 1). A missing file is PORTA_ERROR_IO;
 * an empty file or a binary one (a NUL byte, or more than 1% of its bytes
 * neither part of valid UTF-8 nor printable ASCII / whitespace) is
 * PORTA_ERROR_CORRUPT_DATA naming the file. */
porta_status porta_text_load(porta_context *ctx, const char *path, float val_fraction,
                             porta_text *out);

/* Fill `batch` windows of context + 1 consecutive bytes from the training
 * split (split 0) or the validation split (split 1): inputs[b * context + t]
 * = window[t], targets[b * context + t] = window[t + 1], t < context. Window
 * b starts at an offset uniform over the split's possible starts, drawn from
 * a counter-based generator keyed by (seed, step, b): the same arguments
 * give the same batch anywhere. The split must hold at least context + 1
 * bytes (else PORTA_ERROR_INVALID_ARGUMENT naming its size); batch and
 * context >= 1. */
porta_status porta_text_batch(porta_context *ctx, const porta_text *text, int split, size_t batch,
                              size_t context, uint64_t seed, uint64_t step, uint32_t *inputs,
                              uint32_t *targets);

/* Free the bytes and zero *text. NULL or a zeroed text is a no-op. */
void porta_text_free(porta_text *text);

/* ---- output files: checkpoints, metrics logs, plots ---------------------
 *
 * Host-only: none of these needs a device (a context without an open device
 * is enough). Every file a function here writes whole is written
 * atomically: to "<path>.tmp.<pid>" in the same directory, fsynced, renamed
 * over path, then the directory fsynced; a reader sees the old file or the
 * complete new one, and on any failure the old file is untouched and the
 * temporary file removed. Errors name the file and what is wrong with it. */

/* safetensors checkpoints (https://huggingface.co/docs/safetensors): an
 * 8-byte little-endian header length N, N bytes of JSON header (padded with
 * spaces so the data starts 8-byte aligned), then the data. porta writes
 * the header compactly in the order things were added ("__metadata__"
 * first), and places the data of wider dtypes first so every tensor is
 * aligned to its element size. An arbitrary binary blob fits as a U8
 * tensor of shape [bytes]. */

#define PORTA_SAFETENSORS_MAX_DIMS 8

typedef struct porta_safetensors_writer porta_safetensors_writer;

/* Start a checkpoint that porta_safetensors_commit() will write to path
 * (nothing touches the file system before the commit). */
porta_status porta_safetensors_begin(porta_context *ctx, const char *path,
                                     porta_safetensors_writer **out);

/* Add a tensor, copying its bytes (data may be reused on return).
 * dtype is one of the safetensors names: "BOOL", "U8", "I8", "F8_E5M2",
 * "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
 * "I64", "U64". shape has ndim <= PORTA_SAFETENSORS_MAX_DIMS dimensions
 * (ndim 0: a scalar; shape may then be NULL), and bytes must equal the
 * product of the dimensions times the dtype's size. name: non-empty valid
 * UTF-8, not "__metadata__", not added before. On failure nothing is added
 * and the writer stays usable. */
porta_status porta_safetensors_add(porta_context *ctx, porta_safetensors_writer *w,
                                   const char *name, const char *dtype, const size_t *shape,
                                   unsigned ndim, const void *data, size_t bytes);

/* Add a "__metadata__" entry (string to string, both valid UTF-8, key not
 * added before). */
porta_status porta_safetensors_add_metadata(porta_context *ctx, porta_safetensors_writer *w,
                                            const char *key, const char *value);

/* Write everything atomically (see above) and free the writer, whether the
 * write succeeded or not. On failure the previous file at path is
 * untouched. */
porta_status porta_safetensors_commit(porta_context *ctx, porta_safetensors_writer *w);

/* Free a writer without writing anything. NULL is a no-op. */
void porta_safetensors_abort(porta_safetensors_writer *w);

/* A loaded checkpoint. */
typedef struct porta_safetensors porta_safetensors;

/* Read and check a whole safetensors file: the header length against the
 * file size, the header as strict JSON (UTF-8, unique names), every entry
 * (known dtype, at most PORTA_SAFETENSORS_MAX_DIMS dimensions, offsets
 * inside the data, byte length == dtype size * elements), and that the
 * tensors cover the data exactly: contiguous, no overlap, no gap, nothing
 * left over. Any defect is PORTA_ERROR_CORRUPT_DATA with a message naming
 * the file and the defect; a file that cannot be read is PORTA_ERROR_IO. */
porta_status porta_safetensors_open(porta_context *ctx, const char *path, porta_safetensors **out);

/* Number of tensors, and the name of tensor i in header order (NULL when
 * i >= count). */
size_t porta_safetensors_count(const porta_safetensors *f);
const char *porta_safetensors_name(const porta_safetensors *f, size_t i);

/* Find tensor `name`: its dtype name, shape (an array of
 * PORTA_SAFETENSORS_MAX_DIMS), ndim, bytes and a pointer to them, valid
 * until porta_safetensors_close(). Every output may be NULL. The pointer is
 * aligned to the element size for files porta wrote; for others it may
 * not be (copy with memcpy). An absent name is PORTA_ERROR_NOT_FOUND. */
porta_status porta_safetensors_get(porta_context *ctx, const porta_safetensors *f, const char *name,
                                   const char **dtype, size_t *shape, unsigned *ndim,
                                   const void **data, size_t *bytes);

/* The "__metadata__" value for key, or NULL if absent. Valid until close. */
const char *porta_safetensors_metadata(const porta_safetensors *f, const char *key);

/* Release a loaded file. NULL is a no-op. */
void porta_safetensors_close(porta_safetensors *f);

/* Metrics log: one JSON object per line (JSON Lines), e.g.
 *   {"step":120,"loss":0.4312,"lr":0.001}
 * A line is built field by field between porta_metrics_log_begin() and
 * porta_metrics_log_end(), which writes it with one write() (no user-space
 * buffering, so a crash loses at most the line being written). */

typedef struct porta_metrics_log porta_metrics_log;

/* Open path for writing lines. append == 0 starts an empty file (an
 * existing one is truncated); append != 0 keeps what is there (for a resumed
 * run, after porta_metrics_log_truncate_after()), first cutting off a torn
 * last line (one without its newline) that a crash may have left. */
porta_status porta_metrics_log_open(porta_context *ctx, const char *path, int append,
                                    porta_metrics_log **out);

/* Start a line. A line already begun and not ended is an error. */
porta_status porta_metrics_log_begin(porta_context *ctx, porta_metrics_log *log);

/* Add a field to the line begun. Keys: valid UTF-8, unique within the line.
 * Floats are written in the shortest form that reads back to the same
 * value (to the same float when the value is exactly a float: 0.1f is
 * "0.1"); NaN and infinities are written as null. Strings must be valid
 * UTF-8 and are escaped as JSON needs. */
porta_status porta_metrics_log_int(porta_context *ctx, porta_metrics_log *log, const char *key,
                                   int64_t value);
porta_status porta_metrics_log_float(porta_context *ctx, porta_metrics_log *log, const char *key,
                                     double value);
porta_status porta_metrics_log_str(porta_context *ctx, porta_metrics_log *log, const char *key,
                                   const char *value);

/* Finish the line and write it ("}\n"). */
porta_status porta_metrics_log_end(porta_context *ctx, porta_metrics_log *log);

/* Write a ready-made line: one JSON object, checked with a strict parser,
 * without a line break inside (the newline is added). */
porta_status porta_metrics_log_write(porta_context *ctx, porta_metrics_log *log,
                                     const char *json_object);

/* fsync and close. A line begun and not ended is dropped (and reported as
 * PORTA_ERROR_INVALID_ARGUMENT after closing). NULL is a no-op. */
porta_status porta_metrics_log_close(porta_context *ctx, porta_metrics_log *log);

/* For resuming at `step`: rewrite the log at path atomically, keeping the
 * lines that belong to steps <= step. A line with a "step" (a non-negative
 * integer) is kept when its step <= step; a line without one (an
 * evaluation by epoch, a note) is kept when the last line with a "step"
 * before it was kept (or there was none), so it stays with the step it
 * followed. A torn last line without its newline is dropped. A line that
 * is not a JSON object, or whose "step" is not a non-negative integer, is
 * PORTA_ERROR_CORRUPT_DATA naming the line, and the file is left as it
 * was. A missing file is not an error (nothing to keep). */
porta_status porta_metrics_log_truncate_after(porta_context *ctx, const char *path, uint64_t step);

/* SVG plots: a title over up to PORTA_PLOT_MAX_PANELS panels stacked
 * vertically that share the x axis (its tick labels under the bottom
 * panel), e.g. training loss, test accuracy, learning rate per group. Each
 * panel has up to PORTA_PLOT_MAX_SERIES series, a legend, and nice-number
 * ticks (1, 2, 5 x 10^k; decades on a log scale). A non-finite point (or a
 * point <= 0 on a log scale) is skipped, breaking the line. A series of
 * more than PORTA_PLOT_MAX_POINTS points is drawn from the minimum and
 * maximum of each of PORTA_PLOT_MAX_POINTS / 2 buckets of consecutive
 * points, so spikes stay visible. */

#define PORTA_PLOT_MAX_PANELS 3
#define PORTA_PLOT_MAX_SERIES 8
#define PORTA_PLOT_MAX_POINTS 2000

typedef enum porta_plot_style {
    PORTA_PLOT_LINE = 0,        /* straight segments between points */
    PORTA_PLOT_POINTS = 1,      /* a marker at every point */
    PORTA_PLOT_LINE_POINTS = 2, /* both */
    PORTA_PLOT_STEPS = 3        /* horizontal then vertical: a value held until the next x */
} porta_plot_style;

typedef struct porta_plot_series {
    const char *label; /* legend text (UTF-8); NULL: "series N" */
    const double *x;   /* n values (steps), ascending for lines */
    const double *y;   /* n values */
    size_t n;
    porta_plot_style style;
} porta_plot_series;

typedef struct porta_plot_panel {
    const char *title; /* above the panel, e.g. "training loss"; may be NULL */
    int log_y;         /* non-zero: logarithmic y axis */
    unsigned n_series; /* 0..PORTA_PLOT_MAX_SERIES */
    porta_plot_series series[PORTA_PLOT_MAX_SERIES];
} porta_plot_panel;

typedef struct porta_plot {
    const char *title;     /* at the top; may be NULL */
    const char *x_label;   /* under the bottom panel, e.g. "step"; may be NULL */
    unsigned width;        /* pixels; 0: 960 */
    unsigned panel_height; /* pixels of each panel's plotting area; 0: 220 */
    unsigned n_panels;     /* 1..PORTA_PLOT_MAX_PANELS */
    porta_plot_panel panels[PORTA_PLOT_MAX_PANELS];
} porta_plot;

/* Write the plot as a self-contained SVG file, atomically. */
porta_status porta_plot_svg(porta_context *ctx, const char *path, const porta_plot *plot);

/* ---- sequence-model kernels: bias, embedding, dropout, attention ----
 *
 * The small kernels a transformer and an MLP need besides GEMM. float32
 * (tokens: uint32 words in a porta_buffer, 4 bytes each); offsets and sizes
 * in elements; every range must lie inside its buffer and below 2^31
 * elements, otherwise PORTA_ERROR_INVALID_ARGUMENT naming the call and the
 * argument. Outputs must not overlap inputs. A size of 0 (rows, n, n_tokens,
 * batch_heads, a shape extent) is a no-op, except that a backward sum over
 * nothing (porta_bias_backward with 0 rows, porta_embedding_backward with 0
 * tokens) writes zeros (and adds nothing when accumulating). Each device computes every result
 * in a fixed order without atomics, so a device gives the same bits on every
 * run. Backward calls add into their outputs when `accumulate` is non-zero
 * and overwrite them otherwise. */

/* Bias over the columns of a rows x cols row-major matrix: y[r][c] += bias[c].
 * cols == 0 with rows > 0 is PORTA_ERROR_INVALID_ARGUMENT. */
porta_status porta_bias_add(porta_context *ctx, size_t rows, size_t cols, porta_buffer *bias,
                            size_t bias_off, porta_buffer *y, size_t y_off);

/* dbias[c] (+)= sum_r dy[r][c] for the rows x cols row-major dy. Rows are
 * summed in a fixed order (deterministic): in chunks of a few hundred rows
 * by many workgroups into a scratch buffer the context keeps (grown when a
 * call needs more; freed with the context), then the chunk sums in one
 * more dispatch. Written, or added to dbias when accumulate != 0. */
porta_status porta_bias_backward(porta_context *ctx, size_t rows, size_t cols, porta_buffer *dy,
                                 size_t dy_off, porta_buffer *dbias, size_t dbias_off,
                                 int accumulate);

/* Token embedding lookup: y[i][:] = table[tokens[i]][:] for i < n_tokens,
 * with table vocab x dim and y n_tokens x dim row-major. A token >= vocab
 * gives a row of NaN (it cannot be checked without a read). vocab and dim
 * must be >= 1. */
porta_status porta_embedding_forward(porta_context *ctx, porta_buffer *tokens, size_t tokens_off,
                                     size_t n_tokens, porta_buffer *table, size_t table_off,
                                     size_t vocab, size_t dim, porta_buffer *y, size_t y_off);

/* dtable[v][:] (+)= sum over i with tokens[i] == v of dy[i][:], added in
 * ascending i: deterministic, no atomics (each output element is one
 * invocation's sum, in registers: one invocation per table row and block
 * of columns scans the tokens, in dispatches of at most 16384 tokens). Written (rows no token hits
 * become 0) or added to dtable when accumulate != 0. A token >= vocab contributes nothing. */
porta_status porta_embedding_backward(porta_context *ctx, porta_buffer *tokens, size_t tokens_off,
                                      size_t n_tokens, porta_buffer *dy, size_t dy_off,
                                      size_t vocab, size_t dim, porta_buffer *dtable,
                                      size_t dtable_off, int accumulate);

/* Inverted dropout: element i of x is kept with probability 1 - p and
 * scaled by 1 / (1 - p) (computed in float), dropped elements are 0. The
 * mask comes from a counter-based generator: word i % 4 of Philox-4x32-10
 * (Random123's constants) with counter (i / 4, 0, step low, step high) and
 * key (seed low, seed high) keeps the element when its top 24 bits are
 * >= ceil(p * 2^24). So the same (seed, step) gives the same mask, bit for
 * bit, on every device and in the reference, and a new step a new mask.
 * p must lie in [0, 1); p == 0 is the identity. x and y may be the same
 * range (in place). */
porta_status porta_dropout_forward(porta_context *ctx, float p, uint64_t seed, uint64_t step,
                                   size_t n, porta_buffer *x, size_t x_off, porta_buffer *y,
                                   size_t y_off);

/* The gradient of porta_dropout_forward with the same (p, seed, step, n):
 * dx[i] (+)= keep_i ? dy[i] / (1 - p) : 0, the mask regenerated (nothing is
 * stored between the passes). dy and dx may be the same range when
 * accumulate == 0. */
porta_status porta_dropout_backward(porta_context *ctx, float p, uint64_t seed, uint64_t step,
                                    size_t n, porta_buffer *dy, size_t dy_off, porta_buffer *dx,
                                    size_t dx_off, int accumulate);

/* Attention probabilities: x holds batch_heads blocks of T x T scores
 * (row-major, block after block); row t of each block becomes the softmax
 * over j of scale * x[t][j], with the entries j > t masked out when
 * causal != 0 (masked entries of y are exactly 0). Numerically stable (the
 * row maximum is subtracted). scale must be finite; T >= 1 (T == 0 with
 * batch_heads > 0 is PORTA_ERROR_INVALID_ARGUMENT). One invocation per row
 * on CPU devices (rows up to 1024), one workgroup per row otherwise. */
porta_status porta_attention_softmax_forward(porta_context *ctx, size_t batch_heads, size_t T,
                                             float scale, int causal, porta_buffer *x, size_t x_off,
                                             porta_buffer *y, size_t y_off);

/* The gradient of porta_attention_softmax_forward by its scores, from its
 * output y and dy: dx = scale * y * (dy - sum_j dy_j y_j) per row (masked
 * entries, where y is 0, give 0 for finite dy), written or added to dx when
 * accumulate != 0. Sizes and scale as the forward call. */
porta_status porta_attention_softmax_backward(porta_context *ctx, size_t batch_heads, size_t T,
                                              float scale, porta_buffer *y, size_t y_off,
                                              porta_buffer *dy, size_t dy_off, porta_buffer *dx,
                                              size_t dx_off, int accumulate);

/* Strided gather copy (head split / merge, permutes, broadcasts): y is
 * contiguous with row-major shape shape[0 .. ndim), and
 *   y[i_0, .., i_{ndim-1}] (+)= x[x_off + sum_d i_d * x_strides[d]],
 * written, or added to y when accumulate != 0. 1 <= ndim <= 6; strides are
 * in elements and may be 0 (broadcast); every source index must lie inside
 * x and below 2^31. y must not overlap x.
 *
 * Attention with a fused QKV projection: x = the [B, T, 3, H, D] output of
 * one linear layer (3 H D columns). Head split (q, k, v as [B, H, T, D]):
 *   shape {B, H, T, D}, strides {T*3*H*D, D, 3*H*D, 1}, from x_off 0 for q,
 *   H*D for k and 2*H*D for v.
 * Its backward needs no scatter: keep dq, dk, dv as one [3, B, H, T, D]
 * block dqkv (dq, then dk, then dv) and gather the whole gradient of the
 * linear layer's output, [B, T, 3, H, D], in one call:
 *   shape {B, T, 3, H, D}, strides {H*T*D, D, B*H*T*D, T*D, 1}, from 0.
 * Head merge (attention output [B, H, T, D] to [B, T, H, D], the input of
 * the output projection): shape {B, T, H, D}, strides {H*T*D, D, T*D, 1};
 * its backward: shape {B, H, T, D}, strides {T*H*D, D, H*D, 1}. A
 * broadcast's backward is a sum, not a gather (for a bias:
 * porta_bias_backward). */
porta_status porta_tensor_gather(porta_context *ctx, unsigned ndim, const size_t *shape,
                                 const size_t *x_strides, porta_buffer *x, size_t x_off,
                                 porta_buffer *y, size_t y_off, int accumulate);

/* ---- layers: 2-D convolution and pooling ----
 *
 * NCHW float32 tensors with element offsets, PyTorch's layouts and
 * semantics: x is batch x in_channels x in_height x in_width, a conv weight
 * out_channels x in_channels x kernel_h x kernel_w, y batch x out_channels
 * x out_h x out_w. Every dimension, kernel size, stride and dilation must be
 * >= 1 and every one of them and every padding at most 65535; every tensor's
 * range must lie inside its buffer and below 2^31 elements; otherwise
 * PORTA_ERROR_INVALID_ARGUMENT naming the call and the field. The kernels
 * read their inputs through implicit im2col (no column buffer) and sum in a
 * fixed order without atomics, so a device gives the same bits on every
 * run. Outputs must not overlap inputs. Backward calls overwrite their
 * outputs, or add to them when `accumulate` is non-zero. */

/* The shape of a convolution. stride and dilation >= 1; padding is zeros
 * on both sides. */
typedef struct porta_conv2d_shape {
    uint32_t batch, in_channels, in_height, in_width;
    uint32_t out_channels, kernel_h, kernel_w;
    uint32_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w; /* stride, dilation >= 1 */
} porta_conv2d_shape;

/* out_h = (in_h + 2 pad_h - dilation_h (kernel_h - 1) - 1) / stride_h + 1,
 * likewise out_w; PORTA_ERROR_INVALID_ARGUMENT if either is < 1 or the
 * shape is invalid. Needs no open device. */
porta_status porta_conv2d_output_size(porta_context *ctx, const porta_conv2d_shape *s,
                                      size_t *out_h, size_t *out_w);

/* y[n][co][oh][ow] = bias[co] + sum_{ci,kh,kw} x[n][ci][ih][iw] * w[co][ci][kh][kw],
 * ih = oh stride_h - pad_h + kh dilation_h (likewise iw), x = 0 outside the
 * input. bias (out_channels floats) may be NULL. The input is first copied
 * with its padding into a scratch buffer the context keeps (grown when a
 * call needs more); each invocation then computes a vector of neighbouring
 * output pixels of a row x 8 output channels. */
porta_status porta_conv2d_forward(porta_context *ctx, const porta_conv2d_shape *s, porta_buffer *x,
                                  size_t x_off, porta_buffer *w, size_t w_off, porta_buffer *bias,
                                  size_t bias_off, porta_buffer *y, size_t y_off);

/* dx = the transposed convolution of dy with w (the gradient of
 * porta_conv2d_forward with respect to x): written, or added to dx when
 * accumulate != 0. For stride 1 (padding at most the dilated kernel's span
 * minus one) this is the forward kernel run on a padded copy of dy with the
 * flipped kernel; otherwise each invocation gathers a tile of 4 input pixels
 * x 8 input channels. */
porta_status porta_conv2d_backward_data(porta_context *ctx, const porta_conv2d_shape *s,
                                        porta_buffer *dy, size_t dy_off, porta_buffer *w,
                                        size_t w_off, porta_buffer *dx, size_t dx_off,
                                        int accumulate);

/* dw[co][ci][kh][kw] = sum_{n,oh,ow} dy[n][co][oh][ow] * x[n][ci][ih][iw] and,
 * when dbias != NULL, dbias[co] = sum_{n,oh,ow} dy[n][co][oh][ow]: written,
 * or added when accumulate != 0. Deterministic without atomics: padded
 * copies of x and dy go to the context's scratch buffer, each invocation
 * sums a 4 x 3 block of dw (the bias is a column of ones) over a range of
 * output rows into partial sums there, and a second pass adds the ranges
 * in a fixed order. */
porta_status porta_conv2d_backward_filter(porta_context *ctx, const porta_conv2d_shape *s,
                                          porta_buffer *x, size_t x_off, porta_buffer *dy,
                                          size_t dy_off, porta_buffer *dw, size_t dw_off,
                                          porta_buffer *dbias, size_t dbias_off, int accumulate);

typedef enum porta_pool_kind { PORTA_POOL_MAX = 0, PORTA_POOL_AVG = 1 } porta_pool_kind;

/* The shape of a pooling (PyTorch's MaxPool2d / AvgPool2d without
 * ceil_mode). pad_h <= kernel_h / 2 and pad_w <= kernel_w / 2, as PyTorch
 * requires (so every window holds an input element). */
typedef struct porta_pool_shape {
    uint32_t batch, channels, in_height, in_width;
    uint32_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
} porta_pool_shape;

/* out_h = (in_h + 2 pad_h - kernel_h) / stride_h + 1, likewise out_w;
 * PORTA_ERROR_INVALID_ARGUMENT if either is < 1 or the shape is invalid.
 * Needs no open device. */
porta_status porta_pool_output_size(porta_context *ctx, const porta_pool_shape *s, size_t *out_h,
                                    size_t *out_w);

/* y = the max or the average of each window. max: padding never wins (it
 * is skipped) and NaN counts as the largest value (the first NaN wins);
 * avg: PyTorch's count_include_pad=True, the window's sum divided by
 * kernel_h * kernel_w. Global average pooling = a kernel equal to the
 * input size. */
porta_status porta_pool_forward(porta_context *ctx, porta_pool_kind kind, const porta_pool_shape *s,
                                porta_buffer *x, size_t x_off, porta_buffer *y, size_t y_off);

/* dx from dy: max: each window's dy goes to the first maximum of its
 * window in row-major scan order, recomputed from x (no index buffer);
 * avg: dy / (kernel_h * kernel_w) to every input the window covers. Each
 * input element gathers over the windows that contain it (no atomics).
 * Written, or added to dx when accumulate != 0. x is not read for avg (it
 * may be NULL then). */
porta_status porta_pool_backward(porta_context *ctx, porta_pool_kind kind,
                                 const porta_pool_shape *s, porta_buffer *x, size_t x_off,
                                 porta_buffer *dy, size_t dy_off, porta_buffer *dx, size_t dx_off,
                                 int accumulate);

/* ---- model graphs: build once, plan once, train many steps -------------
 *
 * A graph is a model defined once: inputs with fixed shapes, parameters
 * with a seeded initialisation, and layers between them, ending in a
 * softmax-cross-entropy loss. porta_graph_compile() derives the backward
 * pass, places every activation and gradient in one device arena (tensors
 * whose lifetimes do not overlap share memory), creates the fused optimizer
 * over the parameters and initialises them. A training step then only
 * enqueues: forward, backward, the fused optimizer-plus-scheduler step;
 * nothing is allocated, read back or waited for.
 *
 * Shapes are fixed at build time: a final partial batch must be dropped or
 * padded by the caller (the data loaders drop it). Tensors are row-major;
 * images are NCHW. Parameters are placed decayed first (weights of linear,
 * conv and embedding layers: optimizer group 0), then not decayed (biases and
 * layer-norm scales and shifts: group 1). */
typedef struct porta_graph porta_graph;

/* A tensor of a graph: a small non-zero number the graph hands out. */
typedef uint32_t porta_tensor;

#define PORTA_MAX_DIMS 5

typedef enum porta_dtype {
    PORTA_F32 = 0, /* float32 */
    PORTA_U32 = 1  /* uint32: class labels, token ids */
} porta_dtype;

typedef enum porta_init {
    PORTA_INIT_ZEROS = 0,
    PORTA_INIT_ONES = 1,
    /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for the weights
     * and biases of Linear and Conv2d (kaiming_uniform_ with a = sqrt(5)). */
    PORTA_INIT_UNIFORM_FAN_IN = 2,
    PORTA_INIT_KAIMING_NORMAL = 3, /* N(0, 2 / fan_in): ReLU networks */
    PORTA_INIT_XAVIER_UNIFORM = 4, /* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    PORTA_INIT_NORMAL = 5          /* N(0, scale^2) */
} porta_init;

/* Create an empty graph; `seed` drives parameter initialisation and dropout,
 * so the same seed gives the same initial weights on every device. */
porta_status porta_graph_create(porta_context *ctx, uint64_t seed, porta_graph **out);

/* Release the graph, its arenas and its optimizer. NULL is a no-op. */
porta_status porta_graph_destroy(porta_context *ctx, porta_graph *g);

/* A tensor the caller fills before each step with porta_graph_set_input():
 * images, labels, tokens. 1 <= ndim <= PORTA_MAX_DIMS, every size >= 1. */
porta_status porta_graph_input(porta_context *ctx, porta_graph *g, const char *name,
                               porta_dtype dtype, unsigned ndim, const size_t *shape,
                               porta_tensor *out);

/* A trained parameter. fan_in / fan_out for the init are taken PyTorch's
 * way: shape[1] * (product of shape[2..]) and shape[0] * (same) for 2-D and
 * larger shapes; a 1-D parameter's fan_in is its size. `scale` is the
 * standard deviation of PORTA_INIT_NORMAL (ignored otherwise); decay != 0
 * puts it in the weight-decayed group 0, else group 1. Names must be unique
 * (they name the tensors of checkpoints). */
porta_status porta_graph_parameter(porta_context *ctx, porta_graph *g, const char *name,
                                   unsigned ndim, const size_t *shape, porta_init init, float scale,
                                   int decay, porta_tensor *out);

/* The shape of a tensor (shape must hold PORTA_MAX_DIMS sizes). */
porta_status porta_graph_shape(porta_context *ctx, const porta_graph *g, porta_tensor t,
                               unsigned *ndim, size_t *shape);

/* y = x W^T + b over the last dimension of x (every other dimension is a
 * row): creates "<name>.weight" [out_features, in_features] and, when bias
 * != 0, "<name>.bias" [out_features], both PORTA_INIT_UNIFORM_FAN_IN. */
porta_status porta_graph_linear(porta_context *ctx, porta_graph *g, porta_tensor x,
                                size_t out_features, int bias, const char *name, porta_tensor *y);

/* y = x w^T (transpose_w != 0, w [n, k]) or x w (w [k, n]) over the last
 * dimension of x: a product with an existing parameter, e.g. an output head
 * tied to a token embedding. */
porta_status porta_graph_matmul(porta_context *ctx, porta_graph *g, porta_tensor x, porta_tensor w,
                                int transpose_w, porta_tensor *y);

/* 2-D convolution of x [N, C, H, W] with square kernels, zero padding:
 * creates "<name>.weight" [out_channels, C, kernel, kernel] (and
 * "<name>.bias"), PORTA_INIT_UNIFORM_FAN_IN. */
porta_status porta_graph_conv2d(porta_context *ctx, porta_graph *g, porta_tensor x,
                                size_t out_channels, size_t kernel, size_t stride, size_t padding,
                                int bias, const char *name, porta_tensor *y);

/* Max or average pooling of x [N, C, H, W] with square windows. */
porta_status porta_graph_pool(porta_context *ctx, porta_graph *g, porta_pool_kind kind,
                              porta_tensor x, size_t kernel, size_t stride, size_t padding,
                              porta_tensor *y);

/* Global average pooling: x [N, C, H, W] -> y [N, C]. */
porta_status porta_graph_global_avg_pool(porta_context *ctx, porta_graph *g, porta_tensor x,
                                         porta_tensor *y);

/* y = f(x) elementwise. */
porta_status porta_graph_activation(porta_context *ctx, porta_graph *g, porta_activation fn,
                                    porta_tensor x, porta_tensor *y);

/* y = a + b (same shapes): residual connections. */
porta_status porta_graph_add(porta_context *ctx, porta_graph *g, porta_tensor a, porta_tensor b,
                             porta_tensor *y);

/* Layer normalisation over the last dimension, with "<name>.weight" (ones)
 * and "<name>.bias" (zeros), not decayed. */
porta_status porta_graph_layernorm(porta_context *ctx, porta_graph *g, porta_tensor x, float eps,
                                   const char *name, porta_tensor *y);

/* y[..., :] = table[tokens[...], :]: tokens is a U32 tensor; creates
 * "<name>.weight" [vocab, dim] ~ N(0, 0.02^2) (decayed) and returns it in
 * *table when table != NULL (to tie an output head to it). y has the shape
 * of tokens plus a last dimension dim. */
porta_status porta_graph_embedding(porta_context *ctx, porta_graph *g, porta_tensor tokens,
                                   size_t vocab, size_t dim, const char *name, porta_tensor *y,
                                   porta_tensor *table);

/* Inverted dropout with probability p in [0, 1) during training steps
 * (reproducible from the graph's seed and the step number); the identity in
 * evaluation passes. */
porta_status porta_graph_dropout(porta_context *ctx, porta_graph *g, porta_tensor x, float p,
                                 porta_tensor *y);

/* Multi-head self-attention core: qkv [B, T, 3 C] holds the queries, keys
 * and values (columns [0, C), [C, 2C), [2C, 3C), each split into `heads`
 * heads of C / heads columns); y [B, T, C] = the heads of softmax(q k^T /
 * sqrt(C / heads)) v side by side, with positions after the query masked
 * when causal != 0. */
porta_status porta_graph_attention(porta_context *ctx, porta_graph *g, porta_tensor qkv,
                                   size_t heads, int causal, porta_tensor *y);

/* The same data with another shape of the same number of elements (no
 * copy). */
porta_status porta_graph_reshape(porta_context *ctx, porta_graph *g, porta_tensor x, unsigned ndim,
                                 const size_t *shape, porta_tensor *y);

/* The training loss: mean softmax cross-entropy of logits (last dimension =
 * classes, every other dimension a row) against labels (a U32 tensor with
 * one label per row). One per graph; *loss names the per-workgroup loss
 * partials the optimizer step reads. */
porta_status porta_graph_cross_entropy(porta_context *ctx, porta_graph *g, porta_tensor logits,
                                       porta_tensor labels, porta_tensor *loss);

/* Derive the backward pass, plan memory, allocate, create the optimizer
 * with `optimizer` and `scheduler` (one group given: group 1, the not
 * decayed, is a copy of it with weight_decay 0) and initialise every
 * parameter. After this the graph takes no more layers. */
porta_status porta_graph_compile(porta_context *ctx, porta_graph *g,
                                 const porta_optimizer_config *optimizer,
                                 const porta_scheduler_config *scheduler);

typedef struct porta_graph_info {
    size_t tensors;      /* tensors of the graph, inputs and parameters included */
    size_t forward_ops;  /* layers */
    size_t backward_ops; /* layers whose backward runs (some need none) */
    size_t parameters;   /* trained numbers */
    size_t parameter_tensors;
    size_t arena_bytes;     /* the planned activation and gradient arena */
    size_t unplanned_bytes; /* what the same tensors take without sharing */
    size_t input_bytes;
} porta_graph_info;

/* Figures of a compiled graph. */
porta_status porta_graph_info_get(porta_context *ctx, const porta_graph *g, porta_graph_info *info);

/* Enqueue the upload of an input's whole contents (bytes must equal its
 * size: 4 bytes an element). Does not wait. */
porta_status porta_graph_set_input(porta_context *ctx, porta_graph *g, porta_tensor input,
                                   const void *data, size_t bytes);

/* Enqueue one training step on the inputs set: forward, loss, backward,
 * fused optimizer step. No host wait, no read. */
porta_status porta_graph_train_step(porta_context *ctx, porta_graph *g);

/* Enqueue a forward pass in evaluation mode (dropout off) up to and
 * including the loss (its partials; no backward, no optimizer step). */
porta_status porta_graph_forward(porta_context *ctx, porta_graph *g);

/* Evaluation on the inputs set: a forward pass, then read back the summed
 * loss of the first `rows` rows of the batch (0: all; fewer for a last
 * partial batch padded by the caller) and how many of them have their
 * argmax equal to their label (waits). */
porta_status porta_graph_evaluate(porta_context *ctx, porta_graph *g, size_t rows, double *loss_sum,
                                  size_t *correct);

/* Read a tensor's current contents (after a forward pass; waits). */
porta_status porta_graph_read(porta_context *ctx, porta_graph *g, porta_tensor t, void *dst,
                              size_t bytes);

/* The graph's optimizer (after compile): for metrics, status, observe. */
porta_status porta_graph_optimizer(porta_context *ctx, porta_graph *g, porta_optimizer **opt);

/* Parameters in the order they were created: i < *count. */
porta_status porta_graph_parameter_count(porta_context *ctx, const porta_graph *g, size_t *count);
porta_status porta_graph_parameter_at(porta_context *ctx, const porta_graph *g, size_t i,
                                      porta_tensor *t, const char **name);

/* Copy a parameter (or its gradient, grad != 0) to or from host floats;
 * n must be its size. Reads wait; writes are enqueued. */
porta_status porta_graph_parameter_read(porta_context *ctx, porta_graph *g, porta_tensor t,
                                        int grad, float *dst, size_t n);
porta_status porta_graph_parameter_write(porta_context *ctx, porta_graph *g, porta_tensor t,
                                         const float *src, size_t n);

/* ---- GEMM with a fused epilogue: bias and activation ------------------ */

/* "No activation", for porta_gemm_bias_act (not for the activation
 * layer's calls, which refuse it). */
#define PORTA_ACTIVATION_NONE ((porta_activation)-1)

/* One GEMM (as porta_gemm with batch 1) that also adds a bias per column
 * and applies an activation as it stores C, in the same dispatch:
 *
 *   v[i][j] = alpha * (op(A) op(B))[i][j] + beta * C[i][j]  (beta == 0: C not read)
 *             + bias[bias_off + j]                           (bias != NULL)
 *   pre[pre_off + i * ldc + j] = v[i][j]                     (pre != NULL)
 *   C[c_off + i * ldc + j]     = f(v[i][j])                  (f: activation)
 *
 * for i < m, j < n. A, B, C, the transposes, leading dimensions and
 * offsets are as in porta_gemm. bias (NULL: none) holds n floats from
 * bias_off. activation is a porta_activation (the formulas of
 * porta_activation_forward) or PORTA_ACTIVATION_NONE (f(v) = v). pre (NULL:
 * not stored) is laid out like C (leading dimension ldc) and receives the
 * value before the activation: what porta_activation_backward takes as its
 * x. pre must not overlap C; bias must overlap neither; A and B must not
 * overlap C or pre.
 *
 * Each element rounds alpha * sum, then + beta * C, then + bias, then f.
 * The products are summed as in porta_gemm, in a fixed order (on its
 * split-K path the epilogue runs once, in the final reduction), so a device
 * gives the same bits on every run. k == 0 gives v = beta * C + bias; m or
 * n == 0 is a no-op. With no bias, no activation and no pre this is
 * porta_gemm. Errors: PORTA_ERROR_INVALID_ARGUMENT naming the argument
 * (porta_gemm's checks, an unknown activation, a range outside its buffer,
 * overlapping outputs). */
porta_status porta_gemm_bias_act(porta_context *ctx, int transpose_a, int transpose_b, size_t m,
                                 size_t n, size_t k, float alpha, porta_buffer *a, size_t a_off,
                                 size_t lda, porta_buffer *b, size_t b_off, size_t ldb, float beta,
                                 porta_buffer *c, size_t c_off, size_t ldc, porta_buffer *bias,
                                 size_t bias_off, porta_activation activation, porta_buffer *pre,
                                 size_t pre_off);

#ifdef __cplusplus
}
#endif

#endif
