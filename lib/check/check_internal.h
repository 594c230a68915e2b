/* check_internal.h: what the checks of porta_check_device() share (lib/check/).
 *
 * A check is a function over a porta__check: it runs cases on the open
 * device, compares each with its reference and records the outcome with
 * porta__check_compare() / porta__check_case() / porta__check_call(). The
 * first failing case is kept in words (what ran, the value, the
 * reference's, the tolerance); a failing call also keeps the context's
 * message, the driver's own words. Not installed, not public.
 */
#ifndef PORTA_CHECK_INTERNAL_H
#define PORTA_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "porta/check.h"

/* The float unit roundoff, 2^-24. */
#define PORTA_CHECK_U (1.0 / 16777216.0)

typedef struct porta__check {
    porta_context *ctx;
    porta_device_info info; /* the open device */
    bool quick;
    size_t cases, failures;
    char first[1024];  /* the first failure in words */
    char driver[1024]; /* the context's message at the first failing call */
    char skip[512];    /* why a check (or some of its cases) could not run here */
    porta_status status;
    double worst;
    const char *tolerance;
    /* Set when the device is lost or the host runs out of memory: the
     * run stops after this check. */
    porta_status fatal;
    /* A series the check reports (training losses); owned by the check
     * runner (check_run.c frees them). */
    float *series, *reference_series;
    size_t series_count;
} porta__check;

/* Record a case that failed, formatted, unless one failed before. */
void porta__check_fail(porta__check *c, const char *fmt, ...) PORTA_PRINTF(2, 3);

/* Say why a check, or some of its cases, cannot run on this device (the
 * first reason is kept); a check that ran no case is then skipped. */
void porta__check_skip(porta__check *c, const char *fmt, ...) PORTA_PRINTF(2, 3);

/* Record one case: passed when ok, else failed with the formatted text.
 * Returns ok. */
bool porta__check_case(porta__check *c, bool ok, const char *fmt, ...) PORTA_PRINTF(3, 4);

/* Whether a call succeeded; if not, record a failing case naming `what`
 * with the status and the context's message, and remember them as the
 * driver's words. Returns st == PORTA_OK. */
bool porta__check_call(porta__check *c, porta_status st, const char *fmt, ...) PORTA_PRINTF(3, 4);

/* How many of n floats disagree (their index of the first in *first):
 * where tol is NULL or tol[i] < 0 the same bits, else |got - want| <=
 * tol[i]; both NaN counts as equal. Keeps the largest error / tolerance
 * in c->worst. */
size_t porta__check_count_bad(porta__check *c, const float *got, const float *want,
                              const double *tol, size_t n, size_t *first);

/* Compare n floats as one case named `what`: tol NULL means the same bits
 * (both NaN counts as equal), else |got - want| <= tol[i]. Keeps the
 * largest error / tolerance in c->worst; the failure text names how many
 * differ and the first. Returns whether all agreed. */
bool porta__check_compare(porta__check *c, const char *what, const float *got, const float *want,
                          const double *tol, size_t n);

/* Read n + guard words at element off of b and compare the first n with
 * want (as porta__check_compare) and the guard words with `fill` (their
 * bits must stay: nothing wrote past the output), as one case. */
bool porta__check_compare_buffer(porta__check *c, const char *what, porta_buffer *b, size_t off,
                                 const float *want, const double *tol, size_t n, size_t guard,
                                 float fill);

/* One scalar as a case: |got - want| <= tol. */
bool porta__check_close(porta__check *c, const char *what, double got, double want, double tol);

/* Seeded values in [-1, 1) * scale + shift (a 32-bit LCG; seed advances). */
float porta__check_next(uint32_t *seed);
void porta__check_random(float *v, size_t n, uint32_t *seed, float scale, float shift);

/* malloc of n floats (n may be 0) filled from the seed, or NULL. */
float *porta__check_random_new(size_t n, uint32_t *seed, float scale, float shift);

/* calloc of n elements of `size` bytes (n may be 0), or NULL. */
void *porta__check_alloc(size_t n, size_t size);

/* A device buffer of off + n + guard 32-bit words: `fill` everywhere, then
 * h (n words; NULL: none) at off. */
porta_status porta__check_upload(porta_context *ctx, const void *h, size_t off, size_t n,
                                 size_t guard, float fill, porta_buffer **out);

/* n words at element off of b into h (n may be 0). Waits. */
porta_status porta__check_download(porta_context *ctx, porta_buffer *b, size_t off, size_t n,
                                   void *h);

/* Unless ok, record that the host ran out of memory (which stops the
 * run after this check). Returns ok. */
bool porta__check_host_memory(porta__check *c, bool ok);

/* The checks, one per file (kernels, gradients, GreedyLR, training). */
void porta__check_vec(porta__check *c);
void porta__check_gemm(porta__check *c);
void porta__check_gemm_epilogue(porta__check *c);
void porta__check_conv_forward(porta__check *c);
void porta__check_conv_backward_data(porta__check *c);
void porta__check_conv_backward_filter(porta__check *c);
void porta__check_pool(porta__check *c);
void porta__check_activations(porta__check *c);
void porta__check_layernorm(porta__check *c);
void porta__check_softmax(porta__check *c);
void porta__check_bias(porta__check *c);
void porta__check_embedding(porta__check *c);
void porta__check_dropout(porta__check *c);
void porta__check_attention(porta__check *c);
void porta__check_gather(porta__check *c);
void porta__check_cross_entropy(porta__check *c);
void porta__check_accuracy(porta__check *c);
void porta__check_adamw(porta__check *c);
void porta__check_sgd(porta__check *c);
void porta__check_grad_linear(porta__check *c);
void porta__check_grad_matmul(porta__check *c);
void porta__check_grad_conv2d(porta__check *c);
void porta__check_grad_pool(porta__check *c);
void porta__check_grad_activations(porta__check *c);
void porta__check_grad_layernorm(porta__check *c);
void porta__check_grad_embedding(porta__check *c);
void porta__check_grad_attention(porta__check *c);
void porta__check_grad_dropout(porta__check *c);
void porta__check_greedylr_scenarios(porta__check *c);
void porta__check_greedylr_checkpoint(porta__check *c);
void porta__check_greedylr_validation(porta__check *c);
void porta__check_scheduler_kinds(porta__check *c);
void porta__check_greedylr_fused(porta__check *c);
void porta__check_train_cnn(porta__check *c);
void porta__check_train_gpt(porta__check *c);

#endif
