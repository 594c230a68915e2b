/* bench_optimizer.h: the fused optimizer step timed against a streaming
 * kernel that moves the same bytes (porta_vec_stream, the roofline the
 * step can at best reach), shared by porta-bench optimizer and
 * porta-check's optimizer probe (bench_optimizer.c says how it times). */
#ifndef PORTA_BENCH_OPTIMIZER_H
#define PORTA_BENCH_OPTIMIZER_H

#include <stddef.h>

#include "porta/porta.h"

typedef struct bench_optimizer_result {
    double ms_per_step;           /* the median round's fused AdamW + GreedyLR step */
    double ms_per_step_with_norm; /* with the gradient-norm pass (bench_optimizer_with_norm) */
    double stream_ms;             /* the same round's fastest stream layout */
    double host_syncs_per_step;   /* host waits and reads per step (expected 0) */
} bench_optimizer_result;

/* The step over n parameters and every stream layout in 21 rounds of
 * steps / 21 runs each; fills all but ms_per_step_with_norm. */
porta_status bench_optimizer_step_and_stream(porta_context *ctx, size_t n, int steps,
                                             bench_optimizer_result *r);

/* Milliseconds per step with the gradient-norm pass, over `steps` steps. */
porta_status bench_optimizer_with_norm(porta_context *ctx, size_t n, int steps, double *ms);

#endif
