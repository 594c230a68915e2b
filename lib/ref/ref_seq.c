/* ref_seq.c: naive C references of the sequence-model kernels (bias,
 * embedding, dropout, attention softmax, strided gather). */
#include <math.h>

#include "ref.h"

void porta_ref_bias_add(size_t rows, size_t cols, const float *bias, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] += bias[c];
}

void porta_ref_bias_backward(size_t rows, size_t cols, const float *dy, float *dbias,
                             int accumulate)
{
    for (size_t c = 0; c < cols; c++) {
        double s = 0.0;
        for (size_t r = 0; r < rows; r++)
            s += dy[r * cols + c];
        dbias[c] = accumulate ? dbias[c] + (float)s : (float)s;
    }
}

void porta_ref_embedding_forward(const uint32_t *tokens, size_t n_tokens, const float *table,
                                 size_t vocab, size_t dim, float *y)
{
    for (size_t i = 0; i < n_tokens; i++)
        for (size_t d = 0; d < dim; d++)
            y[i * dim + d] = tokens[i] < vocab ? table[(size_t)tokens[i] * dim + d] : NAN;
}

void porta_ref_embedding_backward(const uint32_t *tokens, size_t n_tokens, const float *dy,
                                  size_t vocab, size_t dim, float *dtable, int accumulate)
{
    for (size_t v = 0; v < vocab; v++)
        for (size_t d = 0; d < dim; d++) {
            double s = 0.0;
            for (size_t i = 0; i < n_tokens; i++)
                if (tokens[i] == v)
                    s += dy[i * dim + d];
            float *o = &dtable[v * dim + d];
            *o = accumulate ? *o + (float)s : (float)s;
        }
}

/* Philox-4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11; Random123's
 * constants) with 64-bit products. */
uint32_t porta_ref_dropout_word(uint64_t seed, uint64_t step, size_t i)
{
    uint32_t c[4] = {(uint32_t)(i / 4), 0u, (uint32_t)step, (uint32_t)(step >> 32)};
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const uint64_t p0 = (uint64_t)0xD2511F53u * c[0];
        const uint64_t p1 = (uint64_t)0xCD9E8D57u * c[2];
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = (uint32_t)p1;
        c[2] = n2;
        c[3] = (uint32_t)p0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return c[i % 4];
}

int porta_ref_dropout_keep(float p, uint64_t seed, uint64_t step, size_t i)
{
    const uint32_t threshold = (uint32_t)ceil((double)p * 16777216.0);
    return (porta_ref_dropout_word(seed, step, i) >> 8) >= threshold;
}

void porta_ref_dropout(float p, uint64_t seed, uint64_t step, size_t n, const float *x, float *y,
                       int accumulate)
{
    const float kept = 1.0f - p;
    const float scale = 1.0f / kept;
    for (size_t i = 0; i < n; i++) {
        const float g = porta_ref_dropout_keep(p, seed, step, i) ? x[i] * scale : 0.0f;
        y[i] = accumulate ? y[i] + g : g;
    }
}

void porta_ref_attention_softmax_forward(size_t batch_heads, size_t T, float scale, int causal,
                                         const float *x, float *y)
{
    for (size_t row = 0; row < batch_heads * T; row++) {
        const float *a = x + row * T;
        float *z = y + row * T;
        const size_t len = causal ? row % T + 1 : T;
        double m = (double)scale * a[0];
        for (size_t j = 1; j < len; j++)
            m = fmax(m, (double)scale * a[j]);
        double s = 0.0;
        for (size_t j = 0; j < len; j++)
            s += exp((double)scale * a[j] - m);
        for (size_t j = 0; j < T; j++)
            z[j] = j < len ? (float)(exp((double)scale * a[j] - m) / s) : 0.0f;
    }
}

void porta_ref_attention_softmax_backward(size_t batch_heads, size_t T, float scale, const float *y,
                                          const float *dy, float *dx, int accumulate)
{
    for (size_t row = 0; row < batch_heads * T; row++) {
        const size_t o = row * T;
        double s = 0.0;
        for (size_t j = 0; j < T; j++)
            s += (double)dy[o + j] * y[o + j];
        for (size_t j = 0; j < T; j++) {
            const float g = (float)((double)scale * y[o + j] * ((double)dy[o + j] - s));
            dx[o + j] = accumulate ? dx[o + j] + g : g;
        }
    }
}

void porta_ref_tensor_gather(unsigned ndim, const size_t *shape, const size_t *x_strides,
                             const float *x, float *y, int accumulate)
{
    size_t n = 1;
    for (unsigned d = 0; d < ndim; d++)
        n *= shape[d];
    for (size_t i = 0; i < n; i++) {
        size_t rest = i, src = 0;
        for (unsigned d = ndim; d-- > 0;) {
            src += (rest % shape[d]) * x_strides[d];
            rest /= shape[d];
        }
        y[i] = accumulate ? y[i] + x[src] : x[src];
    }
}
