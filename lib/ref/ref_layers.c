/* ref_layers.c: naive C references of the layer kernels (activations,
 * layer normalisation, softmax), in double where it helps. */
#include <math.h>

#include "ref.h"

#define GELU_K0 0.7978845608028654 /* sqrt(2 / pi) */
#define GELU_K1 0.044715

static double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double porta_ref_activation(int fn, double x)
{
    switch (fn) {
    case 0:
        return x > 0.0 ? x : 0.0;
    case 1:
        return 0.5 * x * (1.0 + tanh(GELU_K0 * (x + GELU_K1 * x * x * x)));
    case 2:
        return tanh(x);
    default:
        return sigmoid(x);
    }
}

double porta_ref_activation_derivative(int fn, double x)
{
    switch (fn) {
    case 0:
        return x > 0.0 ? 1.0 : 0.0;
    case 1: {
        double t = tanh(GELU_K0 * (x + GELU_K1 * x * x * x));
        double du = GELU_K0 * (1.0 + 3.0 * GELU_K1 * x * x);
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
    }
    case 2: {
        double t = tanh(x);
        return 1.0 - t * t;
    }
    default: {
        double s = sigmoid(x);
        return s * (1.0 - s);
    }
    }
}

void porta_ref_activation_forward(int fn, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)porta_ref_activation(fn, x[i]);
}

void porta_ref_activation_backward(int fn, const float *x, const float *dy, float *dx, size_t n,
                                   int accumulate)
{
    for (size_t i = 0; i < n; i++) {
        double g = (double)dy[i] * porta_ref_activation_derivative(fn, x[i]);
        dx[i] = (float)(accumulate ? (double)dx[i] + g : g);
    }
}

/* The mean and 1 / sqrt(var + eps) of one row, in double. */
static void row_stats(const float *row, size_t cols, float eps, double *mean, double *rstd)
{
    double s = 0.0;
    for (size_t c = 0; c < cols; c++)
        s += row[c];
    double mu = s / (double)cols;
    double v = 0.0;
    for (size_t c = 0; c < cols; c++)
        v += ((double)row[c] - mu) * ((double)row[c] - mu);
    *mean = mu;
    *rstd = 1.0 / sqrt(v / (double)cols + (double)eps);
}

void porta_ref_layernorm_forward(size_t rows, size_t cols, float eps, const float *x,
                                 const float *gamma, const float *beta, float *y, float *mean,
                                 float *rstd)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double mu, rs;
        row_stats(xr, cols, eps, &mu, &rs);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = (float)(((double)xr[c] - mu) * rs * gamma[c] + beta[c]);
        mean[r] = (float)mu;
        rstd[r] = (float)rs;
    }
}

static float accumulated(int accumulate, float old, double v)
{
    return (float)(accumulate ? (double)old + v : v);
}

/* dx of one row. */
static void layernorm_dx_row(size_t cols, const float *dy, const float *x, const float *gamma,
                             double mu, double rs, float *dx, int accumulate)
{
    double sg = 0.0, sgx = 0.0;
    for (size_t c = 0; c < cols; c++) {
        double g = (double)dy[c] * gamma[c];
        sg += g;
        sgx += g * ((double)x[c] - mu) * rs;
    }
    double mg = sg / (double)cols, mgx = sgx / (double)cols;
    for (size_t c = 0; c < cols; c++) {
        double g = (double)dy[c] * gamma[c];
        double xhat = ((double)x[c] - mu) * rs;
        dx[c] = accumulated(accumulate, dx[c], rs * (g - mg - xhat * mgx));
    }
}

void porta_ref_layernorm_backward(size_t rows, size_t cols, const float *dy, const float *x,
                                  const float *gamma, const float *mean, const float *rstd,
                                  float *dx, float *dgamma, float *dbeta, int accumulate)
{
    for (size_t r = 0; r < rows; r++)
        layernorm_dx_row(cols, dy + r * cols, x + r * cols, gamma, mean[r], rstd[r], dx + r * cols,
                         accumulate);
    for (size_t c = 0; c < cols; c++) {
        double sg = 0.0, sb = 0.0;
        for (size_t r = 0; r < rows; r++) {
            double d = dy[r * cols + c];
            sg += d * ((double)x[r * cols + c] - mean[r]) * rstd[r];
            sb += d;
        }
        dgamma[c] = accumulated(accumulate, dgamma[c], sg);
        dbeta[c] = accumulated(accumulate, dbeta[c], sb);
    }
}

void porta_ref_softmax_forward(size_t rows, size_t cols, const float *x, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double m = xr[0];
        for (size_t c = 1; c < cols; c++)
            m = xr[c] > m ? xr[c] : m;
        double s = 0.0;
        for (size_t c = 0; c < cols; c++)
            s += exp((double)xr[c] - m);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = (float)(exp((double)xr[c] - m) / s);
    }
}

void porta_ref_softmax_backward(size_t rows, size_t cols, const float *y, const float *dy,
                                float *dx, int accumulate)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dr = dy + r * cols;
        double dot = 0.0;
        for (size_t c = 0; c < cols; c++)
            dot += (double)yr[c] * dr[c];
        for (size_t c = 0; c < cols; c++)
            dx[r * cols + c] =
                accumulated(accumulate, dx[r * cols + c], (double)yr[c] * ((double)dr[c] - dot));
    }
}
