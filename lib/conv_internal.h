/* conv_internal.h: what the convolution tests reach inside lib/conv.c. */
#ifndef PORTA_CONV_INTERNAL_H
#define PORTA_CONV_INTERNAL_H

#include "porta.h"

/* porta_conv2d_forward (backward_data) with at most channels_per_dispatch
 * input (output) channels summed per dispatch (0: as many as llvmpipe's
 * loop budget allows), so a test can take the path of a large problem. */
porta_status porta__conv2d_forward_split(porta_context *ctx, const porta_conv2d_shape *s,
                                         porta_buffer *x, size_t x_off, porta_buffer *w,
                                         size_t w_off, porta_buffer *bias, size_t bias_off,
                                         porta_buffer *y, size_t y_off,
                                         size_t channels_per_dispatch);
porta_status porta__conv2d_backward_data_split(porta_context *ctx, const porta_conv2d_shape *s,
                                               porta_buffer *dy, size_t dy_off, porta_buffer *w,
                                               size_t w_off, porta_buffer *dx, size_t dx_off,
                                               int accumulate, size_t channels_per_dispatch);

/* porta_conv2d_backward_filter with at most pixels_per_dispatch output
 * pixels (over batch x out_h x out_w) summed per dispatch (0: as many as
 * llvmpipe's loop budget allows), so a test can make a small problem take
 * the path of a large one (several dispatches adding into dw). */
porta_status porta__conv2d_backward_filter_split(porta_context *ctx, const porta_conv2d_shape *s,
                                                 porta_buffer *x, size_t x_off, porta_buffer *dy,
                                                 size_t dy_off, porta_buffer *dw, size_t dw_off,
                                                 porta_buffer *dbias, size_t dbias_off,
                                                 int accumulate, size_t pixels_per_dispatch);

#endif
