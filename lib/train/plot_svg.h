/* plot_svg.h: the parts of porta_plot_svg() that tests check on their own:
 * downsampling and axis ticks. */
#ifndef PORTA_IO_PLOT_SVG_H
#define PORTA_IO_PLOT_SVG_H

#include <stdbool.h>
#include <stddef.h>

/* Reduce n points to what is drawn: when n > max_points, the minimum and
 * maximum of each of max_points / 2 buckets of consecutive points, in
 * their original order; otherwise every point. A point is a gap when x or
 * y is not finite, or y <= 0 and log_y; a gap is written as y = NaN, once
 * per run of gaps (so a bucket with gaps keeps the min and max of each run
 * of good points between them). out_x / out_y need room for
 * porta__plot_downsample_capacity(n, max_points) points. Returns the
 * number written. */
size_t porta__plot_downsample(const double *x, const double *y, size_t n, size_t max_points,
                              bool log_y, double *out_x, double *out_y);
size_t porta__plot_downsample_capacity(size_t n, size_t max_points);

#define PORTA__PLOT_MAX_TICKS 32

/* Ticks for an axis over [lo, hi] (lo < hi): on a linear axis multiples of
 * a 1, 2 or 5 x 10^k step, about `target` of them, and *lo / *hi widened
 * to the nearest multiples when widen; on a log axis (lo > 0) powers of
 * ten (and 2 and 5 times them over short ranges), *lo / *hi widened to
 * ticks when widen. Returns the number of ticks (<=
 * PORTA__PLOT_MAX_TICKS); *step is the linear step (0 on a log axis). */
size_t porta__plot_ticks(double *lo, double *hi, bool log_axis, int target, bool widen,
                         double ticks[PORTA__PLOT_MAX_TICKS], double *step);

/* A tick label: "0", "0.25", "12000", "1e-05". */
void porta__plot_tick_label(char *out, size_t cap, double v, double step);

#endif
