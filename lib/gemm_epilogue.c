/* gemm_epilogue.c: porta_gemm_bias_act, a GEMM whose final store adds a
 * bias per column and applies an activation (the epilogue of
 * shaders/gemm.kc and gemm_reduce.kc). The GEMM itself, its checks and the
 * epilogue's ranges are gemm.c's; here the activation and the flags. */
#include "check_mode.h"
#include "gemm_internal.h"

porta_status porta__gemm_bias_act_planned(porta_context *ctx, const porta__gemm_plan *plan,
                                          size_t m, size_t n, size_t k, float alpha, porta_matrix a,
                                          porta_matrix b, float beta, porta_matrix c,
                                          const porta_gemm_epilogue *epilogue)
{
    const char *call = "porta_gemm_bias_act";
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    /* NULL: no bias, no activation, no pre (the call is then porta_gemm). */
    const porta_gemm_epilogue none = {
        .bias = porta_view_none(), .activation = PORTA_ACTIVATION_NONE, .pre = porta_view_none()};
    const porta_gemm_epilogue *e = epilogue ? epilogue : &none;
    const porta_activation activation = e->activation;
    const int fn = (int)activation;
    if (activation != PORTA_ACTIVATION_NONE && (fn < (int)PORTA_RELU || fn > (int)PORTA_SIGMOID))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s epilogue->activation: %d is neither a porta_activation nor "
                             "PORTA_ACTIVATION_NONE",
                             call, fn);
    porta__gemm_epilogue epi = {.flags = 0, .bias = e->bias, .pre = e->pre};
    if (e->bias.buffer)
        epi.flags |= GEMM_EPI_BIAS;
    if (e->pre.buffer)
        epi.flags |= GEMM_EPI_PRE;
    if (activation != PORTA_ACTIVATION_NONE)
        epi.flags |= GEMM_EPI_ACT | (uint32_t)fn << GEMM_EPI_ACT_SHIFT;
    /* one product: the batch strides are unused */
    a.batch_stride = b.batch_stride = c.batch_stride = 0;
    return porta__gemm_run(ctx, plan, call, m, n, k, alpha, a, b, beta, c, 1, &epi);
}

porta_status porta_gemm_bias_act(porta_context *ctx, size_t m, size_t n, size_t k, float alpha,
                                 porta_matrix a, porta_matrix b, float beta, porta_matrix c,
                                 const porta_gemm_epilogue *epilogue)
{
    if (porta__check_active(ctx))
        return porta__checked_gemm_bias_act(ctx, m, n, k, alpha, a, b, beta, c, epilogue);
    return porta__gemm_bias_act_planned(ctx, NULL, m, n, k, alpha, a, b, beta, c, epilogue);
}
