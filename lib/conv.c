/* conv.c: 2-D convolution forward and backward (shaders/conv2d.kc,
 * conv2d_backward_data.kc, conv2d_backward_filter.kc): argument checks,
 * grids, and the split of long loops into several dispatches. */
#include <stdint.h>

#include "conv_internal.h"
#include "conv_rows.h"
#include "check_mode.h"
#include "internal.h"

/* The kernels' tiles: 4 pixels x 8 channels per invocation (forward and
 * backward data), 8 output channels x 4 filter taps per workgroup
 * (backward filter). */
#define CONV_TILE_PIXELS 4u
#define CONV_TILE_CHANNELS 8u
#define CONV_TILE_TAPS 4u
/* Largest dimension, kernel size, stride, padding or dilation accepted:
 * keeps every index the kernels form far below 2^32. */
#define CONV_DIM_MAX 65535u
/* Loop iterations one invocation may run per dispatch: llvmpipe stops an
 * invocation silently after 65535 (shaders/README.md). */
#define CONV_LOOP_BUDGET 32768u
#define CONV_MAX_GROUPS 65535u

typedef struct conv_geom {
    size_t n, ci, h, w, co, kh, kw, oh, ow;
    size_t x_elems, w_elems, y_elems;
} conv_geom;

/* a * b, or SIZE_MAX when it overflows. */
static size_t mul_sat(size_t a, size_t b)
{
    return a != 0 && b > SIZE_MAX / a ? SIZE_MAX : a * b;
}

static size_t mul4(size_t a, size_t b, size_t c, size_t d)
{
    return mul_sat(mul_sat(a, b), mul_sat(c, d));
}

/* Check the shape's fields and derive the output size. `what` names the
 * call in messages. Needs no open device. */
static porta_status conv_geometry(porta_context *ctx, const porta_conv2d_shape *s, const char *what,
                                  conv_geom *g)
{
    if (!s)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s s: NULL", what);
    const struct {
        const char *name;
        uint32_t v;
        uint32_t min;
    } f[] = {{"batch", s->batch, 1},
             {"in_channels", s->in_channels, 1},
             {"in_height", s->in_height, 1},
             {"in_width", s->in_width, 1},
             {"out_channels", s->out_channels, 1},
             {"kernel_h", s->kernel_h, 1},
             {"kernel_w", s->kernel_w, 1},
             {"stride_h", s->stride_h, 1},
             {"stride_w", s->stride_w, 1},
             {"pad_h", s->pad_h, 0},
             {"pad_w", s->pad_w, 0},
             {"dilation_h", s->dilation_h, 1},
             {"dilation_w", s->dilation_w, 1}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].v < f[i].min || f[i].v > CONV_DIM_MAX)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "%s s->%s: %u is outside [%u, %u]", what, f[i].name,
                                 (unsigned)f[i].v, (unsigned)f[i].min, CONV_DIM_MAX);
    }
    *g = (conv_geom){.n = s->batch,
                     .ci = s->in_channels,
                     .h = s->in_height,
                     .w = s->in_width,
                     .co = s->out_channels,
                     .kh = s->kernel_h,
                     .kw = s->kernel_w};
    const size_t span_h = (size_t)s->dilation_h * (g->kh - 1) + 1;
    const size_t span_w = (size_t)s->dilation_w * (g->kw - 1) + 1;
    const size_t padded_h = g->h + 2 * (size_t)s->pad_h, padded_w = g->w + 2 * (size_t)s->pad_w;
    if (padded_h < span_h || padded_w < span_w)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s s: the output would be empty: the dilated kernel spans %zu x %zu, "
                             "the padded input is %zu x %zu",
                             what, span_h, span_w, padded_h, padded_w);
    g->oh = (padded_h - span_h) / s->stride_h + 1;
    g->ow = (padded_w - span_w) / s->stride_w + 1;
    g->x_elems = mul4(g->n, g->ci, g->h, g->w);
    g->w_elems = mul4(g->co, g->ci, g->kh, g->kw);
    g->y_elems = mul4(g->n, g->co, g->oh, g->ow);
    return PORTA_OK;
}

porta_status porta_conv2d_output_size(porta_context *ctx, const porta_conv2d_shape *s,
                                      size_t *out_h, size_t *out_w)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    conv_geom g = {0};
    porta_status st = conv_geometry(ctx, s, "porta_conv2d_output_size", &g);
    if (!st && (!out_h || !out_w))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_conv2d_output_size out_h, out_w: NULL");
    if (!st) {
        *out_h = g.oh;
        *out_w = g.ow;
    }
    return st;
}

/* Iterations of the (kh, kw) loops per input (output) channel. */
static size_t taps_cost(const conv_geom *g)
{
    return 1 + g->kh * (1 + g->kw) + 2;
}

/* Channels of the reduction per dispatch under the loop budget (and at
 * most limit, unless 0). */
static porta_status channel_chunk(porta_context *ctx, const char *call, const conv_geom *g,
                                  size_t limit, size_t *chunk)
{
    const size_t cost = taps_cost(g);
    if (cost > CONV_LOOP_BUDGET)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "%s s: a %zu x %zu kernel needs more loop iterations per invocation "
                             "than llvmpipe runs (%u)",
                             call, g->kh, g->kw, CONV_LOOP_BUDGET);
    *chunk = CONV_LOOP_BUDGET / cost;
    if (limit && limit < *chunk)
        *chunk = limit;
    return PORTA_OK;
}

/* `groups` workgroups along x (and z beyond the API limit); y = ygroups.
 * Kernels index with (GROUP_ID_Z * NUM_GROUPS + GROUP_ID). */
static void grid_xz(size_t groups, size_t ygroups, uint32_t grid[3])
{
    if (groups < 1)
        groups = 1;
    grid[0] = (uint32_t)(groups < CONV_MAX_GROUPS ? groups : CONV_MAX_GROUPS);
    grid[1] = (uint32_t)ygroups;
    grid[2] = (uint32_t)((groups + grid[0] - 1) / grid[0]);
}

static size_t div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* The shape as the row kernels take it. */
static conv_rows_shape rows_shape(const conv_geom *g, const porta_conv2d_shape *s)
{
    return (conv_rows_shape){.n = g->n,
                             .ci = g->ci,
                             .h = g->h,
                             .w = g->w,
                             .co = g->co,
                             .kh = g->kh,
                             .kw = g->kw,
                             .oh = g->oh,
                             .ow = g->ow,
                             .sh = s->stride_h,
                             .sw = s->stride_w,
                             .ph = s->pad_h,
                             .pw = s->pad_w,
                             .dh = s->dilation_h,
                             .dw = s->dilation_w};
}

/* The one implementation (conv_internal.h): porta_conv2d_forward is this
 * with channels_per_dispatch 0 (the loop budget's); bias none: no bias. */
porta_status porta__conv2d_forward_split(porta_context *ctx, const porta_conv2d_shape *s,
                                         porta_view xv, porta_view wv, porta_view biasv,
                                         porta_view yv, size_t channels_per_dispatch)
{
    porta_buffer *x = xv.buffer, *w = wv.buffer, *bias = biasv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, w_off = wv.offset, bias_off = biasv.offset, y_off = yv.offset;
    static const char call[] = "porta_conv2d_forward";
    conv_geom g = {0};
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = conv_geometry(ctx, s, call, &g);
    if (!st)
        st = porta__check_arg(ctx, xv, g.x_elems, call, "x");
    if (!st)
        st = porta__check_arg(ctx, wv, g.w_elems, call, "w");
    if (!st && bias)
        st = porta__check_arg(ctx, biasv, g.co, call, "bias");
    if (!st)
        st = porta__check_arg(ctx, yv, g.y_elems, call, "y");
    size_t chunk = 0;
    if (!st)
        st = channel_chunk(ctx, call, &g, channels_per_dispatch, &chunk);
    int done = 0;
    if (!st) {
        const conv_rows_shape rs = rows_shape(&g, s);
        st = porta__conv_rows_forward(ctx, &rs, x, x_off, w, w_off, bias, bias_off, y, y_off, chunk,
                                      &done);
    }
    if (st || done)
        return st;
    const size_t pixels = g.n * g.oh * g.ow;
    porta_params_conv2d p = {.pixels = (uint32_t)pixels,
                             .out_hw = (uint32_t)(g.oh * g.ow),
                             .out_w = (uint32_t)g.ow,
                             .in_c = (uint32_t)g.ci,
                             .in_h = (uint32_t)g.h,
                             .in_w = (uint32_t)g.w,
                             .out_c = (uint32_t)g.co,
                             .ker_h = (uint32_t)g.kh,
                             .ker_w = (uint32_t)g.kw,
                             .stride_h = s->stride_h,
                             .stride_w = s->stride_w,
                             .pad_h = s->pad_h,
                             .pad_w = s->pad_w,
                             .dil_h = s->dilation_h,
                             .dil_w = s->dilation_w,
                             .x_off = (uint32_t)x_off,
                             .w_off = (uint32_t)w_off,
                             .b_off = (uint32_t)(bias ? bias_off : 0),
                             .y_off = (uint32_t)y_off,
                             .has_bias = bias ? 1u : 0u};
    const uint32_t spec[PORTA_SPEC_COUNT] = {1, 1, 1, 1};
    uint32_t grid[3];
    grid_xz(div_up(pixels, (size_t)ctx->variant.local_size * CONV_TILE_PIXELS),
            div_up(g.co, CONV_TILE_CHANNELS), grid);
    porta_bbuffer *bufs[] = {x->impl, w->impl, bias ? bias->impl : w->impl, y->impl};
    for (size_t c0 = 0; !st && c0 < g.ci; c0 += chunk) {
        p.ci0 = (uint32_t)c0;
        p.ci_count = (uint32_t)porta__min_size(chunk, g.ci - c0);
        p.accumulate = c0 > 0;
        p.has_bias = bias && c0 == 0;
        st = porta__launch_spec(ctx, PORTA_KERNEL_conv2d, spec, grid, bufs, &p);
    }
    return st;
}

/* The one implementation (conv_internal.h): porta_conv2d_backward_data is
 * this with channels_per_dispatch 0 (the loop budget's). */
porta_status porta__conv2d_backward_data_split(porta_context *ctx, const porta_conv2d_shape *s,
                                               porta_view dyv, porta_view wv, porta_view dxv,
                                               bool accumulate, size_t channels_per_dispatch)
{
    porta_buffer *dy = dyv.buffer, *w = wv.buffer, *dx = dxv.buffer;
    const size_t dy_off = dyv.offset, w_off = wv.offset, dx_off = dxv.offset;
    static const char call[] = "porta_conv2d_backward_data";
    conv_geom g = {0};
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = conv_geometry(ctx, s, call, &g);
    if (!st)
        st = porta__check_arg(ctx, dyv, g.y_elems, call, "dy");
    if (!st)
        st = porta__check_arg(ctx, wv, g.w_elems, call, "w");
    if (!st)
        st = porta__check_arg(ctx, dxv, g.x_elems, call, "dx");
    size_t chunk = 0;
    if (!st)
        st = channel_chunk(ctx, call, &g, channels_per_dispatch, &chunk);
    int done = 0;
    if (!st) {
        const conv_rows_shape rs = rows_shape(&g, s);
        st = porta__conv_rows_backward_data(ctx, &rs, dy, dy_off, w, w_off, dx, dx_off, accumulate,
                                            chunk, &done);
    }
    if (st || done)
        return st;
    const size_t pixels = g.n * g.h * g.w;
    porta_params_conv2d_backward_data p = {.pixels = (uint32_t)pixels,
                                           .in_hw = (uint32_t)(g.h * g.w),
                                           .in_w = (uint32_t)g.w,
                                           .in_c = (uint32_t)g.ci,
                                           .out_h = (uint32_t)g.oh,
                                           .out_w = (uint32_t)g.ow,
                                           .out_c = (uint32_t)g.co,
                                           .ker_h = (uint32_t)g.kh,
                                           .ker_w = (uint32_t)g.kw,
                                           .stride_h = s->stride_h,
                                           .stride_w = s->stride_w,
                                           .pad_h = s->pad_h,
                                           .pad_w = s->pad_w,
                                           .dil_h = s->dilation_h,
                                           .dil_w = s->dilation_w,
                                           .dy_off = (uint32_t)dy_off,
                                           .w_off = (uint32_t)w_off,
                                           .dx_off = (uint32_t)dx_off};
    const uint32_t unit = s->stride_h == 1 && s->stride_w == 1;
    const uint32_t spec[PORTA_SPEC_COUNT] = {unit, 1, 1, 1};
    uint32_t grid[3];
    grid_xz(div_up(pixels, (size_t)ctx->variant.local_size * CONV_TILE_PIXELS),
            div_up(g.ci, CONV_TILE_CHANNELS), grid);
    porta_bbuffer *bufs[] = {dy->impl, w->impl, dx->impl};
    for (size_t c0 = 0; !st && c0 < g.co; c0 += chunk) {
        p.co0 = (uint32_t)c0;
        p.co_count = (uint32_t)porta__min_size(chunk, g.co - c0);
        p.accumulate = c0 > 0 || accumulate;
        st = porta__launch_spec(ctx, PORTA_KERNEL_conv2d_backward_data, spec, grid, bufs, &p);
    }
    return st;
}

/* The one implementation (conv_internal.h): porta_conv2d_backward_filter is
 * this with pixels_per_dispatch 0 (the loop budget's); dbias none: no bias. */
porta_status porta__conv2d_backward_filter_split(porta_context *ctx, const porta_conv2d_shape *s,
                                                 porta_view xv, porta_view dyv, porta_view dwv,
                                                 porta_view dbiasv, bool accumulate,
                                                 size_t pixels_per_dispatch)
{
    porta_buffer *x = xv.buffer, *dy = dyv.buffer, *dw = dwv.buffer, *dbias = dbiasv.buffer;
    const size_t x_off = xv.offset, dy_off = dyv.offset, dw_off = dwv.offset,
                 dbias_off = dbiasv.offset;
    static const char call[] = "porta_conv2d_backward_filter";
    conv_geom g = {0};
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = conv_geometry(ctx, s, call, &g);
    if (!st)
        st = porta__check_arg(ctx, xv, g.x_elems, call, "x");
    if (!st)
        st = porta__check_arg(ctx, dyv, g.y_elems, call, "dy");
    if (!st)
        st = porta__check_arg(ctx, dwv, g.w_elems, call, "dw");
    if (!st && dbias)
        st = porta__check_arg(ctx, dbiasv, g.co, call, "dbias");
    const size_t local = ctx && !st ? ctx->variant.local_size : 1;
    if (!st && ctx->backend.caps.local_mem_bytes < local * CONV_TILE_CHANNELS * sizeof(float))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                           "%s: needs %zu bytes of shared memory per workgroup; the device has %zu",
                           call, local * CONV_TILE_CHANNELS * sizeof(float),
                           (size_t)ctx->backend.caps.local_mem_bytes);
    int done = 0;
    if (!st) {
        const conv_rows_shape rs = rows_shape(&g, s);
        st = porta__conv_rows_backward_filter(ctx, &rs, x, x_off, dy, dy_off, dw, dw_off, dbias,
                                              dbias_off, accumulate, pixels_per_dispatch, &done);
    }
    if (st || done)
        return st;
    /* The pixel loop's share of the budget; the reduction costs 4 (local + 2). */
    size_t chunk = (CONV_LOOP_BUDGET - 4 * (local + 2)) * local;
    if (pixels_per_dispatch && pixels_per_dispatch < chunk)
        chunk = pixels_per_dispatch;
    const size_t pixels = g.n * g.oh * g.ow, taps = g.ci * g.kh * g.kw;
    porta_params_conv2d_backward_filter p = {.out_hw = (uint32_t)(g.oh * g.ow),
                                             .out_w = (uint32_t)g.ow,
                                             .in_c = (uint32_t)g.ci,
                                             .in_h = (uint32_t)g.h,
                                             .in_w = (uint32_t)g.w,
                                             .out_c = (uint32_t)g.co,
                                             .ker_h = (uint32_t)g.kh,
                                             .ker_w = (uint32_t)g.kw,
                                             .stride_h = s->stride_h,
                                             .stride_w = s->stride_w,
                                             .pad_h = s->pad_h,
                                             .pad_w = s->pad_w,
                                             .dil_h = s->dilation_h,
                                             .dil_w = s->dilation_w,
                                             .x_off = (uint32_t)x_off,
                                             .dy_off = (uint32_t)dy_off,
                                             .dw_off = (uint32_t)dw_off,
                                             .db_off = (uint32_t)(dbias ? dbias_off : 0),
                                             .has_bias = dbias ? 1u : 0u};
    const uint32_t spec[PORTA_SPEC_COUNT] = {1, 1, 1, 1};
    uint32_t grid[3];
    grid_xz(div_up(taps + (dbias ? 1 : 0), CONV_TILE_TAPS), div_up(g.co, CONV_TILE_CHANNELS), grid);
    porta_bbuffer *bufs[] = {x->impl, dy->impl, dw->impl, dbias ? dbias->impl : dw->impl};
    for (size_t q0 = 0; !st && q0 < pixels; q0 += chunk) {
        p.p_begin = (uint32_t)q0;
        p.p_end = (uint32_t)(q0 + porta__min_size(chunk, pixels - q0));
        p.accumulate = q0 > 0 || accumulate;
        st = porta__launch_spec(ctx, PORTA_KERNEL_conv2d_backward_filter, spec, grid, bufs, &p);
    }
    return st;
}

porta_status porta_conv2d_forward(porta_context *ctx, const porta_conv2d_shape *s, porta_view x,
                                  porta_view w, porta_view bias, porta_view y)
{
    if (porta__check_active(ctx))
        return porta__checked_conv2d_forward(ctx, s, x, w, bias, y);
    return porta__conv2d_forward_split(ctx, s, x, w, bias, y, 0);
}

porta_status porta_conv2d_backward_data(porta_context *ctx, const porta_conv2d_shape *s,
                                        porta_view dy, porta_view w, porta_view dx, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_conv2d_backward_data(ctx, s, dy, w, dx, accumulate);
    return porta__conv2d_backward_data_split(ctx, s, dy, w, dx, accumulate, 0);
}

porta_status porta_conv2d_backward_filter(porta_context *ctx, const porta_conv2d_shape *s,
                                          porta_view x, porta_view dy, porta_view dw,
                                          porta_view dbias, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_conv2d_backward_filter(ctx, s, x, dy, dw, dbias, accumulate);
    return porta__conv2d_backward_filter_split(ctx, s, x, dy, dw, dbias, accumulate, 0);
}
