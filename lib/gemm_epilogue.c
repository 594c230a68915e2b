/* gemm_epilogue.c: porta_gemm_bias_act, a GEMM whose final store adds a
 * bias per column and applies an activation (the epilogue of
 * shaders/gemm.kc and gemm_reduce.kc). The GEMM itself, its checks and the
 * epilogue's ranges are gemm.c's; here the activation and the flags. */
#include "gemm_internal.h"

porta_status porta__gemm_bias_act_planned(porta_context *ctx, const porta__gemm_plan *plan,
                                          int transpose_a, int transpose_b, size_t m, size_t n,
                                          size_t k, float alpha, porta_buffer *a, size_t a_off,
                                          size_t lda, porta_buffer *b, size_t b_off, size_t ldb,
                                          float beta, porta_buffer *c, size_t c_off, size_t ldc,
                                          porta_buffer *bias, size_t bias_off,
                                          porta_activation activation, porta_buffer *pre,
                                          size_t pre_off)
{
    const char *call = "porta_gemm_bias_act";
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    const int fn = (int)activation;
    if (activation != PORTA_ACTIVATION_NONE && (fn < (int)PORTA_RELU || fn > (int)PORTA_SIGMOID))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s activation: %d is neither a porta_activation nor "
                             "PORTA_ACTIVATION_NONE",
                             call, fn);
    porta__gemm_epilogue epi = {
        .flags = 0, .bias = bias, .bias_off = bias_off, .pre = pre, .pre_off = pre_off};
    if (bias)
        epi.flags |= PORTA_GEMM_EPI_BIAS;
    if (pre)
        epi.flags |= PORTA_GEMM_EPI_PRE;
    if (activation != PORTA_ACTIVATION_NONE)
        epi.flags |= PORTA_GEMM_EPI_ACT | (uint32_t)fn << PORTA_GEMM_EPI_ACT_SHIFT;
    return porta__gemm_run(ctx, plan, call, transpose_a, transpose_b, m, n, k, alpha, a, a_off, lda,
                           b, b_off, ldb, beta, c, c_off, ldc, 1, 0, 0, 0, &epi);
}

porta_status porta_gemm_bias_act(porta_context *ctx, int transpose_a, int transpose_b, size_t m,
                                 size_t n, size_t k, float alpha, porta_buffer *a, size_t a_off,
                                 size_t lda, porta_buffer *b, size_t b_off, size_t ldb, float beta,
                                 porta_buffer *c, size_t c_off, size_t ldc, porta_buffer *bias,
                                 size_t bias_off, porta_activation activation, porta_buffer *pre,
                                 size_t pre_off)
{
    return porta__gemm_bias_act_planned(ctx, NULL, transpose_a, transpose_b, m, n, k, alpha, a,
                                        a_off, lda, b, b_off, ldb, beta, c, c_off, ldc, bias,
                                        bias_off, activation, pre, pre_off);
}
