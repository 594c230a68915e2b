/* plot_axes.c: downsampling and nice-number ticks for porta_plot_svg()
 * (see plot_svg.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_svg.h"

static bool good_point(double x, double y, bool log_y)
{
    return isfinite(x) && isfinite(y) && (!log_y || y > 0);
}

size_t porta__plot_downsample_capacity(size_t n, size_t max_points)
{
    /* Every run of good points gives at most as many points as it has, and
     * every run of gaps one marker, so the output never exceeds n. */
    (void)max_points;
    return n ? n : 1;
}

typedef struct sampler {
    double *x, *y;
    size_t n;
    bool last_gap;
} sampler;

static void emit(sampler *s, double x, double y)
{
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    s->last_gap = isnan(y);
}

static void emit_gap(sampler *s)
{
    if (s->n > 0 && !s->last_gap)
        emit(s, NAN, NAN);
}

/* The min and max of the run [imin, imax] found so far, in index order. */
static void flush_run(sampler *s, const double *x, const double *y, size_t *imin, size_t *imax,
                      size_t none)
{
    if (*imin == none)
        return;
    size_t a = *imin < *imax ? *imin : *imax, b = *imin < *imax ? *imax : *imin;
    emit(s, x[a], y[a]);
    if (b != a)
        emit(s, x[b], y[b]);
    *imin = *imax = none;
}

size_t porta__plot_downsample(const double *x, const double *y, size_t n, size_t max_points,
                              bool log_y, double *out_x, double *out_y)
{
    sampler s = {out_x, out_y, 0, false};
    if (max_points < 2)
        max_points = 2;
    if (n <= max_points) {
        for (size_t i = 0; i < n; i++) {
            if (good_point(x[i], y[i], log_y))
                emit(&s, x[i], y[i]);
            else
                emit_gap(&s);
        }
        return s.n;
    }
    size_t buckets = max_points / 2, none = (size_t)-1;
    for (size_t b = 0; b < buckets; b++) {
        size_t lo = (size_t)((unsigned long long)b * n / buckets);
        size_t hi = (size_t)((unsigned long long)(b + 1) * n / buckets);
        size_t imin = none, imax = none;
        for (size_t i = lo; i < hi; i++) {
            if (!good_point(x[i], y[i], log_y)) {
                flush_run(&s, x, y, &imin, &imax, none);
                emit_gap(&s);
                continue;
            }
            if (imin == none || y[i] < y[imin])
                imin = i;
            if (imax == none || y[i] > y[imax])
                imax = i;
        }
        flush_run(&s, x, y, &imin, &imax, none);
    }
    return s.n;
}

static size_t linear_ticks(double *lo, double *hi, int target, bool widen, double *ticks,
                           double *step_out)
{
    double raw = (*hi - *lo) / (target > 0 ? target : 5);
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    if (widen) {
        *lo = floor(*lo / step + 1e-9) * step;
        *hi = ceil(*hi / step - 1e-9) * step;
    }
    double first = ceil(*lo / step - 1e-9);
    size_t n = 0;
    for (double k = first; n < PORTA__PLOT_MAX_TICKS; k += 1) {
        double v = k * step;
        if (v > *hi + 1e-9 * step)
            break;
        ticks[n++] = fabs(v) < 1e-9 * step ? 0.0 : v;
    }
    *step_out = step;
    return n;
}

static size_t log_ticks(double *lo, double *hi, int target, bool widen, double *ticks)
{
    int e0 = (int)floor(log10(*lo) + 1e-9), e1 = (int)ceil(log10(*hi) - 1e-9);
    if (e1 <= e0)
        e1 = e0 + 1;
    if (widen) {
        *lo = pow(10.0, e0);
        *hi = pow(10.0, e1);
    }
    int decades = e1 - e0;
    static const double all[] = {1, 2, 5}, ones[] = {1};
    const double *mant = decades <= 2 ? all : ones;
    int n_mant = decades <= 2 ? 3 : 1;
    int every = target > 0 && decades > target ? (decades + target - 1) / target : 1;
    size_t n = 0;
    for (int e = e0; e <= e1 && n < PORTA__PLOT_MAX_TICKS; e += every)
        for (int k = 0; k < n_mant && n < PORTA__PLOT_MAX_TICKS; k++) {
            double v = mant[k] * pow(10.0, e);
            if (v >= *lo * (1 - 1e-9) && v <= *hi * (1 + 1e-9))
                ticks[n++] = v;
        }
    return n;
}

size_t porta__plot_ticks(double *lo, double *hi, bool log_axis, int target, bool widen,
                         double ticks[PORTA__PLOT_MAX_TICKS], double *step)
{
    *step = 0;
    if (!(*lo < *hi) || !isfinite(*lo) || !isfinite(*hi) || (log_axis && *lo <= 0))
        return 0;
    if (log_axis)
        return log_ticks(lo, hi, target, widen, ticks);
    return linear_ticks(lo, hi, target, widen, ticks, step);
}

void porta__plot_tick_label(char *out, size_t cap, double v, double step)
{
    double a = fabs(v);
    if (v == 0) {
        snprintf(out, cap, "0");
    } else if (a >= 1e-4 && a < 1e7 && step > 0) {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(out, cap, "%.*f", dec > 10 ? 10 : dec, v);
    } else if (a >= 1e-4 && a < 1e7) {
        snprintf(out, cap, "%.6g", v);
    } else {
        snprintf(out, cap, "%.3g", v);
    }
}
