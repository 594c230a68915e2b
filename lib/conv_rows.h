/* conv_rows.h: the row kernels of the convolution (lib/conv_rows.c),
 * which lib/conv.c uses wherever they apply. */
#ifndef PORTA_CONV_ROWS_H
#define PORTA_CONV_ROWS_H

#include "internal.h"

/* A checked convolution: sizes (output size derived), stride, padding,
 * dilation. */
typedef struct conv_rows_shape {
    size_t n, ci, h, w, co, kh, kw, oh, ow;
    uint32_t sh, sw, ph, pw, dh, dw;
} conv_rows_shape;

/* Each runs the pass with the row kernels and sets *done = 1, or leaves
 * *done = 0 and enqueues nothing where they do not apply (a shape they do
 * not cover, a padded copy too large for one buffer): the caller then
 * takes the general kernels. The tensors' ranges are already checked.
 * chunk: channels summed per dispatch (forward: input, backward data:
 * output channels); split (backward filter): output pixels per partial
 * sum at most, 0 for the default. */
porta_status porta__conv_rows_forward(porta_context *ctx, const conv_rows_shape *g, porta_buffer *x,
                                      size_t x_off, porta_buffer *w, size_t w_off,
                                      porta_buffer *bias, size_t bias_off, porta_buffer *y,
                                      size_t y_off, size_t chunk, int *done);
porta_status porta__conv_rows_backward_data(porta_context *ctx, const conv_rows_shape *g,
                                            porta_buffer *dy, size_t dy_off, porta_buffer *w,
                                            size_t w_off, porta_buffer *dx, size_t dx_off,
                                            int accumulate, size_t chunk, int *done);
porta_status porta__conv_rows_backward_filter(porta_context *ctx, const conv_rows_shape *g,
                                              porta_buffer *x, size_t x_off, porta_buffer *dy,
                                              size_t dy_off, porta_buffer *dw, size_t dw_off,
                                              porta_buffer *dbias, size_t dbias_off, int accumulate,
                                              size_t split, int *done);

#endif
