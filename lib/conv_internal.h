/* conv_internal.h: what the convolution tests reach inside lib/conv.c. */
#ifndef PORTA_CONV_INTERNAL_H
#define PORTA_CONV_INTERNAL_H

#include "porta/porta.h"

/* porta_conv2d_forward (backward_data) with at most channels_per_dispatch
 * input (output) channels summed per dispatch (0: as many as llvmpipe's
 * loop budget allows), so a test can take the path of a large problem.
 * Same arguments, checks and messages as the public calls, which are these
 * with 0. */
porta_status porta__conv2d_forward_split(porta_context *ctx, const porta_conv2d_shape *s,
                                         porta_view x, porta_view w, porta_view bias, porta_view y,
                                         size_t channels_per_dispatch);
porta_status porta__conv2d_backward_data_split(porta_context *ctx, const porta_conv2d_shape *s,
                                               porta_view dy, porta_view w, porta_view dx,
                                               bool accumulate, size_t channels_per_dispatch);

/* porta_conv2d_backward_filter with at most pixels_per_dispatch output
 * pixels (over batch x out_h x out_w) summed per dispatch (0: as many as
 * llvmpipe's loop budget allows), so a test can make a small problem take
 * the path of a large one (several dispatches adding into dw). Same
 * arguments, checks and messages as porta_conv2d_backward_filter, which is
 * this with 0. */
porta_status porta__conv2d_backward_filter_split(porta_context *ctx, const porta_conv2d_shape *s,
                                                 porta_view x, porta_view dy, porta_view dw,
                                                 porta_view dbias, bool accumulate,
                                                 size_t pixels_per_dispatch);

#endif
