/* ref_stream.c: the reference of shaders/stream.kc (porta_vec_stream). */
#include "ref.h"

void porta_ref_stream(float alpha, float *a, const float *b, float *c, float *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float va = a[i], vb = b[i], vc = c[i], vd = d[i];
        a[i] = va + alpha * vb;
        c[i] = vc * alpha + vb;
        d[i] = vd * alpha + vb * vb;
    }
}
