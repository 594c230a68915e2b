/* check_mode.h: divergence hunting (porta_context_set_check_mode,
 * PORTA_CHECK=1). lib-internal.
 *
 * In check mode every public kernel call (porta_gemm, porta_conv2d_*, the
 * layer kernels, the vector kernels a graph uses) is also computed by the C
 * reference (lib/ref/) from host copies of its inputs taken just before the
 * device ran it, and the first output element outside the tolerance stops
 * the run: the call fails with PORTA_ERROR_MISMATCH and a message naming
 * the kernel, its shape and parameters, the element, expected and got.
 * Each call then waits for the device and reads its operands, so a checked
 * run is far slower; it is for finding where a device goes wrong.
 *
 * Each checked public function starts with
 *     if (porta__check_active(ctx))
 *         return porta__checked_NAME(ctx, ...same arguments...);
 * and the checked version calls the public function again (with the check
 * suspended, so calls inside it run unchecked), then compares. */
#ifndef PORTA_CHECK_MODE_H
#define PORTA_CHECK_MODE_H

#include "internal.h"

/* 1 when ctx is in check mode and not already inside a checked call. */
int porta__check_active(const porta_context *ctx);

porta_status porta__checked_vec_fill(porta_context *ctx, porta_view y, size_t n, float value);
porta_status porta__checked_vec_copy(porta_context *ctx, porta_view x, porta_view y, size_t n);
porta_status porta__checked_vec_axpy(porta_context *ctx, float alpha, porta_view x, porta_view y,
                                     size_t n);
porta_status porta__checked_vec_add(porta_context *ctx, porta_view a, porta_view b, porta_view z,
                                    size_t n);
porta_status porta__checked_gemm(porta_context *ctx, size_t m, size_t n, size_t k, float alpha,
                                 porta_matrix a, porta_matrix b, float beta, porta_matrix c,
                                 size_t batch);
porta_status porta__checked_gemm_bias_act(porta_context *ctx, size_t m, size_t n, size_t k,
                                          float alpha, porta_matrix a, porta_matrix b, float beta,
                                          porta_matrix c, const porta_gemm_epilogue *epilogue);
porta_status porta__checked_activation_forward(porta_context *ctx, porta_activation fn,
                                               porta_view x, porta_view y, size_t n);
porta_status porta__checked_activation_backward(porta_context *ctx, porta_activation fn,
                                                porta_view x, porta_view dy, porta_view dx,
                                                size_t n, bool accumulate);
porta_status porta__checked_layernorm_forward(porta_context *ctx, size_t rows, size_t cols,
                                              float eps, porta_view x, porta_view gamma,
                                              porta_view beta, porta_view y, porta_view mean,
                                              porta_view rstd);
porta_status porta__checked_layernorm_backward(porta_context *ctx, size_t rows, size_t cols,
                                               porta_view dy, porta_view x, porta_view gamma,
                                               porta_view mean, porta_view rstd, porta_view dx,
                                               porta_view dgamma, porta_view dbeta,
                                               bool accumulate);
porta_status porta__checked_bias_backward(porta_context *ctx, size_t rows, size_t cols,
                                          porta_view dy, porta_view dbias, bool accumulate);
porta_status porta__checked_embedding_forward(porta_context *ctx, porta_view tokens,
                                              size_t n_tokens, porta_view table, size_t vocab,
                                              size_t dim, porta_view y);
porta_status porta__checked_embedding_backward(porta_context *ctx, porta_view tokens,
                                               size_t n_tokens, porta_view dy, size_t vocab,
                                               size_t dim, porta_view dtable, bool accumulate);
porta_status porta__checked_dropout_forward(porta_context *ctx, float p, uint64_t seed,
                                            uint64_t step, size_t n, porta_view x, porta_view y);
porta_status porta__checked_dropout_backward(porta_context *ctx, float p, uint64_t seed,
                                             uint64_t step, size_t n, porta_view dy, porta_view dx,
                                             bool accumulate);
porta_status porta__checked_attention_softmax_forward(porta_context *ctx, size_t batch_heads,
                                                      size_t T, float scale, bool causal,
                                                      porta_view x, porta_view y);
porta_status porta__checked_attention_softmax_backward(porta_context *ctx, size_t batch_heads,
                                                       size_t T, float scale, porta_view y,
                                                       porta_view dy, porta_view dx,
                                                       bool accumulate);
porta_status porta__checked_tensor_gather(porta_context *ctx, unsigned ndim, const size_t *shape,
                                          const size_t *x_strides, porta_view x, porta_view y,
                                          bool accumulate);
porta_status porta__checked_conv2d_forward(porta_context *ctx, const porta_conv2d_shape *s,
                                           porta_view x, porta_view w, porta_view bias,
                                           porta_view y);
porta_status porta__checked_conv2d_backward_data(porta_context *ctx, const porta_conv2d_shape *s,
                                                 porta_view dy, porta_view w, porta_view dx,
                                                 bool accumulate);
porta_status porta__checked_conv2d_backward_filter(porta_context *ctx, const porta_conv2d_shape *s,
                                                   porta_view x, porta_view dy, porta_view dw,
                                                   porta_view dbias, bool accumulate);
porta_status porta__checked_pool_forward(porta_context *ctx, porta_pool_kind kind,
                                         const porta_pool_shape *s, porta_view x, porta_view y);
porta_status porta__checked_pool_backward(porta_context *ctx, porta_pool_kind kind,
                                          const porta_pool_shape *s, porta_view x, porta_view dy,
                                          porta_view dx, bool accumulate);
porta_status porta__checked_cross_entropy(porta_context *ctx, porta_view logits, porta_view labels,
                                          size_t rows, size_t classes, float grad_scale,
                                          porta_view dlogits, porta_view loss_partials,
                                          size_t *partials_count);

#ifdef PORTA_TEST_HOOKS
/* Test-only (never in normal builds): the next checked call named `call`
 * ("porta_gemm_bias_act") finds element `element` of its first output
 * changed, as a wrong device would leave it. */
void porta__test_corrupt_next(porta_context *ctx, const char *call, size_t element);
#endif

#endif
