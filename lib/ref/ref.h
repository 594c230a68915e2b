/* ref.h: naive C of every kernel, the oracle of the tests.
 *
 * Each function computes what the kernel of the same name computes, in the
 * plainest loop, rounding each operation the way the kernel does (the
 * library is built with -ffp-contract=off so a*b+c is two roundings here as
 * in the kernels). Reductions accumulate in double: the device's tree order
 * differs, so tests compare them within a bound, not bit for bit.
 */
#ifndef PORTA_REF_H
#define PORTA_REF_H

#include <stddef.h>
#include <stdint.h>

/* The vector kernels' references (porta_self_test() uses them too). */
#include "ref_vec.h"

/* One optimizer update of n parameters, as PyTorch defines it (the device
 * kernel is shaders/optim_step.kc). `coef` is the gradient clip coefficient
 * (1 when not clipping); t counts applied updates, this one included. */
void porta_ref_adamw_step(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                          float weight_decay, float beta1, float beta2, float eps, unsigned t,
                          float coef);
/* SGD: L2 weight decay into the gradient, momentum buffer `buf` set to the
 * first gradient on t == 1, optional Nesterov. */
void porta_ref_sgd_step(float *param, const float *grad, float *buf, size_t n, float lr,
                        float weight_decay, float momentum, float dampening, int nesterov,
                        unsigned t, float coef);

/* Strided batched GEMM, row-major: for b < batch,
 * C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], op(A) m x k, op(B)
 * k x n; op transposes when transpose_a / transpose_b is set (A stored
 * k x m, B stored n x k). Element (r, c) of stored X in batch b is
 * x[b * stride_x + r * ldx + c]. Sums in double over k ascending, then
 * alpha * sum + beta * c in float; beta == 0 does not read C. */
void porta_ref_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                    const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                    size_t ldc, size_t batch, size_t stride_a, size_t stride_b, size_t stride_c);

/* Layer references (shaders/activation.kc, layernorm.kc,
 * layernorm_backward.kc, softmax.kc). Elementwise functions are evaluated
 * in double and rounded once; row sums accumulate in double. `fn` is
 * 0 ReLU, 1 GELU (tanh form), 2 tanh, 3 sigmoid. */
double porta_ref_activation(int fn, double x);
double porta_ref_activation_derivative(int fn, double x);
void porta_ref_activation_forward(int fn, const float *x, float *y, size_t n);
/* dx = dy * f'(x), added to dx when accumulate != 0. */
void porta_ref_activation_backward(int fn, const float *x, const float *dy, float *dx, size_t n,
                                   int accumulate);
/* rows x cols row-major; writes y and the per-row mean and rstd. */
void porta_ref_layernorm_forward(size_t rows, size_t cols, float eps, const float *x,
                                 const float *gamma, const float *beta, float *y, float *mean,
                                 float *rstd);
/* dx, dgamma, dbeta from the saved mean and rstd (added to what they hold
 * when accumulate != 0). */
void porta_ref_layernorm_backward(size_t rows, size_t cols, const float *dy, const float *x,
                                  const float *gamma, const float *mean, const float *rstd,
                                  float *dx, float *dgamma, float *dbeta, int accumulate);
void porta_ref_softmax_forward(size_t rows, size_t cols, const float *x, float *y);
/* dx = y * (dy - sum(dy * y)) per row, added to dx when accumulate != 0. */
void porta_ref_softmax_backward(size_t rows, size_t cols, const float *y, const float *dy,
                                float *dx, int accumulate);

/* Softmax cross-entropy of rows x classes row-major logits against uint
 * labels (shaders/cross_entropy.kc), in double: per-row loss
 * logsumexp(x) - x[label] (max-subtracted) into row_loss (may be NULL) and
 * dlogits = (softmax(x) - onehot(label)) * grad_scale rounded to float
 * (may be NULL). A label >= classes gives that row a NaN loss and NaN
 * dlogits. Returns the sum of the row losses. */
double porta_ref_cross_entropy(const float *logits, const uint32_t *labels, size_t rows,
                               size_t classes, float grad_scale, float *dlogits, double *row_loss);

/* Rows whose argmax (lowest index on ties, NaN the largest, as
 * torch.argmax) equals their label (shaders/accuracy.kc). */
size_t porta_ref_accuracy_count(const float *logits, const uint32_t *labels, size_t rows,
                                size_t classes);

/* Sequence-model references (shaders/bias_add.kc, bias_backward.kc,
 * embedding_forward.kc, embedding_backward.kc, dropout.kc,
 * attention_softmax.kc, tensor_gather.kc). Sums accumulate in double in
 * ascending order and are rounded once. */
/* y[r][c] += bias[c] (one float addition, as the kernel). */
void porta_ref_bias_add(size_t rows, size_t cols, const float *bias, float *y);
/* dbias[c] (+)= sum_r dy[r][c]. */
void porta_ref_bias_backward(size_t rows, size_t cols, const float *dy, float *dbias,
                             int accumulate);
/* y[i][:] = table[tokens[i]][:], NaN rows for tokens >= vocab. */
void porta_ref_embedding_forward(const uint32_t *tokens, size_t n_tokens, const float *table,
                                 size_t vocab, size_t dim, float *y);
/* dtable[v][:] (+)= sum over i with tokens[i] == v of dy[i][:]. */
void porta_ref_embedding_backward(const uint32_t *tokens, size_t n_tokens, const float *dy,
                                  size_t vocab, size_t dim, float *dtable, int accumulate);
/* Word i % 4 of Philox-4x32-10 with counter (i / 4, 0, step low, step
 * high) and key (seed low, seed high): dropout's random word for element i. */
uint32_t porta_ref_dropout_word(uint64_t seed, uint64_t step, size_t i);
/* Whether dropout with (p, seed, step) keeps element i. */
int porta_ref_dropout_keep(float p, uint64_t seed, uint64_t step, size_t i);
/* Forward (dy = x, accumulate 0) and backward of inverted dropout:
 * y (+)= keep ? x * (1 / (1 - p)) : 0 in float, bit for bit as the kernel. */
void porta_ref_dropout(float p, uint64_t seed, uint64_t step, size_t n, const float *x, float *y,
                       int accumulate);
/* batch_heads blocks of T x T: row t = softmax_j(scale * x[t][j]) with
 * j > t masked (0) when causal; in double, rounded once. */
void porta_ref_attention_softmax_forward(size_t batch_heads, size_t T, float scale, int causal,
                                         const float *x, float *y);
/* dx (+)= scale * y * (dy - sum_j dy_j y_j) per row, in double. */
void porta_ref_attention_softmax_backward(size_t batch_heads, size_t T, float scale, const float *y,
                                          const float *dy, float *dx, int accumulate);
/* y (contiguous, shape[0 .. ndim)) (+)= x[sum_d i_d * x_strides[d]]. */
void porta_ref_tensor_gather(unsigned ndim, const size_t *shape, const size_t *x_strides,
                             const float *x, float *y, int accumulate);

/* 2-D convolution and pooling, NCHW (shaders/conv2d*.kc, pool.kc), as
 * porta.h defines them. The _f64 functions compute in double and write
 * their output (the finite-difference checks use them); the float ones
 * convert, call them and round each result once, adding the rounded value
 * to the float output when accumulate != 0 (as the kernels do). The
 * backward passes scatter (the kernels gather), so the two are written
 * differently. dbias may be NULL. kind is a porta_pool_kind. */
#include "porta/porta.h"
void porta_ref_conv2d_forward_f64(const porta_conv2d_shape *s, const double *x, const double *w,
                                  const double *bias, double *y);
void porta_ref_conv2d_backward_data_f64(const porta_conv2d_shape *s, const double *dy,
                                        const double *w, double *dx);
void porta_ref_conv2d_backward_filter_f64(const porta_conv2d_shape *s, const double *x,
                                          const double *dy, double *dw, double *dbias);
void porta_ref_conv2d_forward(const porta_conv2d_shape *s, const float *x, const float *w,
                              const float *bias, float *y);
void porta_ref_conv2d_backward_data(const porta_conv2d_shape *s, const float *dy, const float *w,
                                    float *dx, int accumulate);
void porta_ref_conv2d_backward_filter(const porta_conv2d_shape *s, const float *x, const float *dy,
                                      float *dw, float *dbias, int accumulate);
void porta_ref_pool_forward_f64(int kind, const porta_pool_shape *s, const double *x, double *y);
void porta_ref_pool_backward_f64(int kind, const porta_pool_shape *s, const double *x,
                                 const double *dy, double *dx);
void porta_ref_pool_forward(int kind, const porta_pool_shape *s, const float *x, float *y);
void porta_ref_pool_backward(int kind, const porta_pool_shape *s, const float *x, const float *dy,
                             float *dx, int accumulate);

/* GEMM with an epilogue (porta_gemm_bias_act): porta_ref_gemm (batch 1)
 * into c, then per element v = c + bias[j] (one float addition; bias may
 * be NULL), pre[i * ldc + j] = v (pre may be NULL), c = f(v) rounded once
 * (activation: a porta_activation, or < 0 for none). */
void porta_ref_gemm_bias_act(int transpose_a, int transpose_b, size_t m, size_t n, size_t k,
                             float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                             float beta, float *c, size_t ldc, const float *bias, int activation,
                             float *pre);

/* shaders/stream.kc (porta_vec_stream, the optimizer bench's roofline):
 * a += alpha * b, c = c * alpha + b, d = d * alpha + b * b. ref_stream.c */
void porta_ref_stream(float alpha, float *a, const float *b, float *c, float *d, size_t n);

#endif
