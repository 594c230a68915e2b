/** @file porta/check.h
 * @brief porta's correctness checks, runnable on any device from any
 * program: every kernel against the C reference, every backward pass
 * against finite differences, the GreedyLR scenarios, short training runs
 * against a host reference.
 *
 * porta_check_device() runs them on the context's open device, one after
 * another, and reports each through a callback as it finishes; the
 * program `porta-check` is a thin driver around it. The references (the
 * naive C of every kernel, the host schedulers, a host training loop) live
 * inside the library, so a program linked against a shared libporta runs
 * exactly the checks porta's own tests run.
 *
 * The checks (their names, for porta_check_options::only):
 * - `kernels.*`: each kernel at awkward shapes (1, odd sizes, primes, sizes
 *   just past a tile or a workgroup, transposes, batches, offsets and
 *   padded strides, accumulation) against the C reference: bit for bit
 *   where the kernel's rounding is defined (copies, one addition, dropout),
 *   else within the float rounding bound of the operation (the bound is in
 *   porta_check_result::tolerance);
 * - `gradients.*`: each layer kind of the graph API in a small graph, the
 *   gradient of every parameter tensor along a random direction against a
 *   central finite difference of the loss on the device;
 * - `greedylr.*`: the scenarios of docs/GREEDYLR.md and every scheduler kind
 *   on the device scheduler against the host scheduler (the same bits on
 *   CPU devices, 1e-6 relative elsewhere), and GreedyLR inside the fused
 *   optimizer step;
 * - `training.*`: a small CNN and a small GPT trained on synthetic data
 *   (no data set needed) for 200 steps (50 with porta_check_options::quick),
 *   every step's loss against the same run computed by the C reference on
 *   the host from the same initial weights.
 */
#ifndef PORTA_CHECK_H
#define PORTA_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How one check ended. */
typedef enum porta_check_outcome {
    PORTA_CHECK_PASSED = 0, /**< every case agreed with its reference */
    PORTA_CHECK_FAILED = 1, /**< a case disagreed, or a call failed */
    PORTA_CHECK_SKIPPED = 2 /**< it cannot run on this device (the message says why) */
} porta_check_outcome;

/** One check's result, as porta_check_options::on_result receives it. The
 * pointers are valid during the callback only. */
typedef struct porta_check_result {
    const char *name;            /**< "kernels.gemm", "training.gpt", ... */
    const char *description;     /**< what it checks, one line */
    const char *tolerance;       /**< how its values are compared with the reference, in words */
    porta_check_outcome outcome; /**< passed, failed or skipped */
    size_t cases;                /**< cases compared */
    size_t failures;             /**< cases that disagreed or whose calls failed */
    /** The first failing case: what ran, the value and the reference's,
     * the tolerance (or the skip reason); "" when it passed. */
    const char *first_failure;
    /** When the first failure was a failing call: its status and
     * porta_context_message() then, the driver's own words; else
     * PORTA_OK and "". */
    porta_status status;
    const char *driver_message; /**< porta_context_message() of the failing call, or "" */
    /** The largest |error| / tolerance over the compared values (at most
     * 1 when the check passed; 0 when every value was exact or compared
     * bit for bit). */
    double worst;
    double seconds; /**< wall time of the check */
    /** A per-step series the check produced (training: the device's loss
     * at every step), `series_count` values; NULL when none. */
    const float *series;
    const float *reference_series; /**< the reference's values of the same series, or NULL */
    size_t series_count;           /**< values in series (and reference_series) */
} porta_check_result;

/** Called with each check's result as it finishes. */
typedef void (*porta_check_result_fn)(void *user, const porta_check_result *result);

/** Called before each check starts: its index among the checks selected
 * (0-based), how many are selected, and its name. */
typedef void (*porta_check_start_fn)(void *user, size_t index, size_t count, const char *name);

/** How porta_check_device() runs. Zero-initialised: every check, full
 * length, no callbacks. */
typedef struct porta_check_options {
    /** Fewer shapes and 50 training steps instead of 200: about a minute
     * on a CPU device instead of several. */
    bool quick;
    /** Comma-separated names or name prefixes of the checks to run
     * ("kernels", "kernels.gemm,training"); NULL or "": every check. A
     * list that selects none is PORTA_ERROR_INVALID_ARGUMENT. */
    const char *only;
    porta_check_start_fn on_start;   /**< may be NULL */
    porta_check_result_fn on_result; /**< may be NULL */
    void *user;                      /**< passed to both callbacks */
} porta_check_options;

/** What porta_check_device() did, in all. */
typedef struct porta_check_summary {
    size_t checks;  /**< checks run */
    size_t passed;  /**< of them passed */
    size_t failed;  /**< of them failed */
    size_t skipped; /**< of them skipped */
    double seconds; /**< wall time of them all */
} porta_check_summary;

/** *count = the number of checks porta_check_device() knows (with no
 * filter). Needs no device. */
PORTA_API porta_status porta_check_count(porta_context *ctx, size_t *count);

/** The name and description of check i (i below porta_check_count()),
 * in the order they run; either output may be NULL. Needs no device;
 * i out of range is PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_check_describe(porta_context *ctx, size_t i, const char **name,
                                            const char **description);

/** Run the checks `options` selects (NULL: every check, full length) on the
 * open device, one after another, each reported through
 * options->on_result as it finishes. A failing check does not stop the
 * others. `summary` (may be NULL) receives the totals.
 *
 * Returns PORTA_OK when every check run passed (or was skipped),
 * PORTA_ERROR_MISMATCH when one failed (the message names the first),
 * PORTA_ERROR_NO_DEVICE_OPEN without a device, PORTA_ERROR_INVALID_ARGUMENT
 * for an `only` that selects nothing, and PORTA_ERROR_DEVICE_LOST (or
 * PORTA_ERROR_OUT_OF_HOST_MEMORY) when the run had to stop; the checks
 * finished by then have been reported. Waits; allocates and frees its own
 * buffers, and leaves none behind. With Vulkan validation on
 * (porta_context_options::validate), a check during which the layer
 * reported a problem fails. */
PORTA_API porta_status porta_check_device(porta_context *ctx, const porta_check_options *options,
                                          porta_check_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
