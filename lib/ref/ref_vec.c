/* ref_vec.c: naive C references of the vector kernels, the known answers of
 * porta_self_test() (the tests' references of every other kernel live in
 * lib/ref). */
#include <math.h>

#include "ref_vec.h"

void porta_ref_fill(float *y, size_t n, float value)
{
    for (size_t i = 0; i < n; i++)
        y[i] = value;
}

void porta_ref_copy(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
}

void porta_ref_scale(float alpha, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = alpha * x[i];
}

void porta_ref_axpy(float alpha, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] + alpha * x[i];
}

void porta_ref_add(const float *a, const float *b, float *z, size_t n)
{
    for (size_t i = 0; i < n; i++)
        z[i] = a[i] + b[i];
}

void porta_ref_mul(const float *a, const float *b, float *z, size_t n)
{
    for (size_t i = 0; i < n; i++)
        z[i] = a[i] * b[i];
}

double porta_ref_sum(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

double porta_ref_sum_squares(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return s;
}

double porta_ref_sum_abs(const float *x, size_t n, int squares)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += squares ? (double)x[i] * x[i] : fabs(x[i]);
    return s;
}
