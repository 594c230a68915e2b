/* ref_gemm.c: the naive C reference of shaders/gemm.kc. */
#include "ref.h"

/* Element (r, c) of op(X), X stored row-major with leading dimension ld. */
static float op_at(const float *x, size_t ld, int transpose, size_t r, size_t c)
{
    return transpose ? x[c * ld + r] : x[r * ld + c];
}

void porta_ref_gemm(int transpose_a, int transpose_b, size_t m, size_t n, size_t k, float alpha,
                    const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                    size_t ldc, size_t batch, size_t stride_a, size_t stride_b, size_t stride_c)
{
    for (size_t p = 0; p < batch; p++) {
        const float *ap = a + p * stride_a;
        const float *bp = b + p * stride_b;
        float *cp = c + p * stride_c;
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                double acc = 0.0;
                for (size_t q = 0; q < k; q++)
                    acc += (double)op_at(ap, lda, transpose_a, i, q) *
                           (double)op_at(bp, ldb, transpose_b, q, j);
                float prod = alpha * (float)acc;
                float *out = &cp[i * ldc + j];
                *out = beta == 0.0f ? prod : prod + beta * *out;
            }
        }
    }
}

void porta_ref_gemm_bias_act(int transpose_a, int transpose_b, size_t m, size_t n, size_t k,
                             float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                             float beta, float *c, size_t ldc, const float *bias, int activation,
                             float *pre)
{
    porta_ref_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, 0, 0,
                   0);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float v = c[i * ldc + j];
            if (bias)
                v = v + bias[j];
            if (pre)
                pre[i * ldc + j] = v;
            c[i * ldc + j] = activation < 0 ? v : (float)porta_ref_activation(activation, v);
        }
}
