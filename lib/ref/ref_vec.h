/* ref_vec.h: naive C of the vector kernels (fill, copy, scale, axpy, add,
 * mul, sum, sum of squares), rounding each operation as the kernels do
 * (the library is built with -ffp-contract=off). porta_self_test()
 * compares the device with these; the tests use them too. Sums accumulate
 * in double: the device's tree order differs, so they are compared within a
 * bound, not bit for bit. Internal, not installed.
 */
#ifndef PORTA_REF_VEC_H
#define PORTA_REF_VEC_H

#include <stddef.h>

void porta_ref_fill(float *y, size_t n, float value);
void porta_ref_copy(const float *x, float *y, size_t n);
void porta_ref_scale(float alpha, const float *x, float *y, size_t n);
void porta_ref_axpy(float alpha, const float *x, float *y, size_t n);
void porta_ref_add(const float *a, const float *b, float *z, size_t n);
void porta_ref_mul(const float *a, const float *b, float *z, size_t n);
double porta_ref_sum(const float *x, size_t n);
double porta_ref_sum_squares(const float *x, size_t n);
/* Sum of |x| (of x^2 for squares): the scale a float reduction's rounding
 * error is proportional to. */
double porta_ref_sum_abs(const float *x, size_t n, int squares);

#endif
