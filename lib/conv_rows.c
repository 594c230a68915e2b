/* conv_rows.c: the convolution passes on the row kernels
 * (shaders/conv2d_pad.kc, conv2d_rows.kc, conv2d_filter_rows.kc,
 * conv2d_filter_sum.kc). The input (or dy) is first copied with its zero
 * padding into the context's scratch buffer, so the kernels load whole
 * vectors of a row without bound checks or branches: what the CPU
 * compilers (PoCL, llvmpipe) turn into straight vector code. The forward
 * pass covers every shape up to a kernel of ROWS_MAX_KERNEL and a column
 * stride of ROWS_MAX_STRIDE; the input gradient those of stride 1 whose
 * padding is at most the dilated kernel's span minus one (a convolution
 * of the padded dy with the flipped kernel); the weight gradient the same
 * as the forward pass. */

#include "conv_rows.h"

/* Output channels per workgroup of conv2d_rows.kc. */
#define ROWS_CHANNELS 8u
/* Output channels x taps per invocation of conv2d_filter_rows.kc. */
#define FR_CHANNELS 4u
#define FR_TAPS 3u
/* Kernel sizes and column strides the row kernels are specialised for
 * (their tap loops unroll; larger ones take the general kernels). */
#define ROWS_MAX_KERNEL 16u
#define ROWS_MAX_STRIDE 8u
/* llvmpipe's loop budget (shaders/README.md), with room to spare: the
 * loop iterations one invocation may run per dispatch. */
#define ROWS_LOOP_BUDGET 16384u
/* The weight gradient's pixel rows are split until there are at least
 * this many invocations (both CPU cores busy, a GPU less idle). */
#define FR_MIN_ITEMS 2048u
#define ROWS_MAX_GROUPS 65535u
/* The scratch buffer vec.c creates (PORTA_REDUCE_MAX_GROUPS floats):
 * never make it smaller. */
#define ROWS_MIN_SCRATCH_FLOATS 256u

/* Lanes of conv_vec.kh's vector: float8 in OpenCL C, vec4 in GLSL. */
static size_t vec_width(const porta_context *ctx)
{
    return ctx->backend.caps.api == PORTA_API_OPENCL ? 8u : 4u;
}

/* SPEC3 of the row kernels: fused multiply-adds, except on llvmpipe,
 * where they compile to slow code. */
static uint32_t use_fma(const porta_context *ctx)
{
    return porta__fast_fma(ctx);
}

static size_t div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* `groups` workgroups along x (and z beyond 65535); y = ygroups. */
static void grid_xz(size_t groups, size_t ygroups, uint32_t grid[3])
{
    if (groups < 1)
        groups = 1;
    grid[0] = (uint32_t)(groups < ROWS_MAX_GROUPS ? groups : ROWS_MAX_GROUPS);
    grid[1] = (uint32_t)ygroups;
    grid[2] = (uint32_t)div_up(groups, grid[0]);
}

/* Whether `floats` floats fit the scratch buffer and 32-bit indices. */
static int scratch_fits(const porta_context *ctx, size_t floats)
{
    return floats < ((size_t)1 << 31) &&
           floats * sizeof(float) <= (size_t)ctx->backend.caps.max_alloc_bytes;
}

/* The context's scratch buffer with room for `floats` floats: grown (the
 * old one freed; the backends keep it alive until queued work is done)
 * when a call needs more than it holds. */
static porta_status scratch_floats(porta_context *ctx, size_t floats, porta_buffer **out)
{
    if (floats < ROWS_MIN_SCRATCH_FLOATS)
        floats = ROWS_MIN_SCRATCH_FLOATS;
    if (!ctx->scratch || ctx->scratch->bytes < floats * sizeof(float)) {
        porta_buffer_destroy(ctx, ctx->scratch); /* clears ctx->scratch */
        porta_status st = porta_buffer_create(ctx, floats * sizeof(float), &ctx->scratch);
        if (st)
            return st;
    }
    *out = ctx->scratch;
    return PORTA_OK;
}

/* A padded copy: planes of h x w into hp x wp, the source at (top, left). */
typedef struct rows_pad {
    size_t planes, h, w, hp, wp, top, left;
} rows_pad;

static size_t pad_floats(const rows_pad *p)
{
    return p->planes * p->hp * p->wp;
}

/* Whether conv2d_pad.kc can make the copy: wp loop iterations per row. */
static int pad_fits(const rows_pad *p)
{
    return p->wp <= ROWS_LOOP_BUDGET;
}

static porta_status pad_launch(porta_context *ctx, const rows_pad *pd, porta_buffer *src,
                               size_t src_off, porta_buffer *dst, size_t dst_off)
{
    const size_t rows = pd->planes * pd->hp;
    porta_params_conv2d_pad p = {.rows = (uint32_t)rows,
                                 .hp = (uint32_t)pd->hp,
                                 .wp = (uint32_t)pd->wp,
                                 .h = (uint32_t)pd->h,
                                 .w = (uint32_t)pd->w,
                                 .top = (uint32_t)pd->top,
                                 .left = (uint32_t)pd->left,
                                 .src_off = (uint32_t)src_off,
                                 .dst_off = (uint32_t)dst_off};
    const uint32_t spec[PORTA_SPEC_COUNT] = {1, 1, 1, 1};
    uint32_t grid[3];
    grid_xz(div_up(rows, ctx->variant.local_size), 1, grid);
    porta_bbuffer *bufs[] = {src->impl, dst->impl};
    return porta__launch_spec(ctx, PORTA_KERNEL_conv2d_pad, spec, grid, bufs, &p);
}

/* x padded for the forward pass and the weight gradient: every vector
 * load of every row segment and tap lies inside. */
static rows_pad forward_pad(const porta_context *ctx, const conv_rows_shape *g)
{
    const size_t vw = vec_width(ctx), segs = div_up(g->ow, vw);
    const size_t reach = (segs * vw - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    const size_t wide = g->w + 2 * (size_t)g->pw;
    return (rows_pad){.planes = g->n * g->ci,
                      .h = g->h,
                      .w = g->w,
                      .hp = g->h + 2 * (size_t)g->ph,
                      .wp = reach > wide ? reach : wide,
                      .top = g->ph,
                      .left = g->pw};
}

static int kernel_fits(const conv_rows_shape *g)
{
    return g->kh <= ROWS_MAX_KERNEL && g->kw <= ROWS_MAX_KERNEL && g->sw <= ROWS_MAX_STRIDE;
}

/* Everything of a conv2d_rows dispatch but the channel range. */
typedef struct rows_call {
    porta_params_conv2d_rows p;
    uint32_t spec[PORTA_SPEC_COUNT];
    uint32_t grid[3];
    size_t in_c;
} rows_call;

/* Sum over the input channels of `rc` in chunks, all but the first (and
 * the first too when accumulate) adding to y. */
static porta_status rows_run(porta_context *ctx, rows_call *rc, porta_bbuffer *const *bufs,
                             size_t chunk, int accumulate, int has_bias)
{
    porta_status st = PORTA_OK;
    for (size_t c0 = 0; !st && c0 < rc->in_c; c0 += chunk) {
        rc->p.ci0 = (uint32_t)c0;
        rc->p.ci_count = (uint32_t)porta__min_size(chunk, rc->in_c - c0);
        rc->p.accumulate = c0 > 0 || accumulate;
        rc->p.has_bias = has_bias && c0 == 0;
        st = porta__launch_spec(ctx, PORTA_KERNEL_conv2d_rows, rc->spec, rc->grid, bufs, &rc->p);
    }
    return st;
}

porta_status porta__conv_rows_forward(porta_context *ctx, const conv_rows_shape *g, porta_buffer *x,
                                      size_t x_off, porta_buffer *w, size_t w_off,
                                      porta_buffer *bias, size_t bias_off, porta_buffer *y,
                                      size_t y_off, size_t chunk, int *done)
{
    *done = 0;
    const rows_pad pd = forward_pad(ctx, g);
    if (!kernel_fits(g) || !pad_fits(&pd) || !scratch_fits(ctx, pad_floats(&pd)))
        return PORTA_OK;
    porta_buffer *xp = NULL;
    porta_status st = scratch_floats(ctx, pad_floats(&pd), &xp);
    if (!st)
        st = pad_launch(ctx, &pd, x, x_off, xp, 0);
    if (st)
        return st;
    *done = 1;
    const size_t segs = div_up(g->ow, vec_width(ctx)), items = g->n * g->oh * segs;
    rows_call rc = {.p = {.items = (uint32_t)items,
                          .segs = (uint32_t)segs,
                          .out_h = (uint32_t)g->oh,
                          .out_w = (uint32_t)g->ow,
                          .out_c = (uint32_t)g->co,
                          .in_c = (uint32_t)g->ci,
                          .hp = (uint32_t)pd.hp,
                          .wp = (uint32_t)pd.wp,
                          .stride_h = g->sh,
                          .dil_h = g->dh,
                          .dil_w = g->dw,
                          .xp_off = 0,
                          .w_off = (uint32_t)w_off,
                          .ws_o = (uint32_t)(g->ci * g->kh * g->kw),
                          .ws_i = (uint32_t)(g->kh * g->kw),
                          .ws_h = (uint32_t)g->kw,
                          .ws_w = 1,
                          .b_off = (uint32_t)(bias ? bias_off : 0),
                          .y_off = (uint32_t)y_off},
                    .spec = {(uint32_t)g->kh, (uint32_t)g->kw, g->sw, use_fma(ctx)},
                    .in_c = g->ci};
    grid_xz(div_up(items, ctx->variant.local_size), div_up(g->co, ROWS_CHANNELS), rc.grid);
    porta_bbuffer *bufs[] = {xp->impl, w->impl, bias ? bias->impl : w->impl, y->impl};
    return rows_run(ctx, &rc, bufs, chunk, 0, bias != NULL);
}

porta_status porta__conv_rows_backward_data(porta_context *ctx, const conv_rows_shape *g,
                                            porta_buffer *dy, size_t dy_off, porta_buffer *w,
                                            size_t w_off, porta_buffer *dx, size_t dx_off,
                                            int accumulate, size_t chunk, int *done)
{
    *done = 0;
    const size_t span_h = (g->kh - 1) * g->dh, span_w = (g->kw - 1) * g->dw;
    if (g->sh != 1 || g->sw != 1 || g->ph > span_h || g->pw > span_w || !kernel_fits(g))
        return PORTA_OK;
    /* dx[n][i][ih][iw] = sum_{o,kh,kw} dyp[n][o][ih + kh dh][iw + kw dw] w[o][i][KH-1-kh][KW-1-kw]
     * with dy placed at (span_h - ph, span_w - pw) of dyp. */
    const size_t vw = vec_width(ctx), segs = div_up(g->w, vw);
    const rows_pad pd = {.planes = g->n * g->co,
                         .h = g->oh,
                         .w = g->ow,
                         .hp = g->h + span_h,
                         .wp = segs * vw + span_w,
                         .top = span_h - g->ph,
                         .left = span_w - g->pw};
    if (!pad_fits(&pd) || !scratch_fits(ctx, pad_floats(&pd)))
        return PORTA_OK;
    porta_buffer *dyp = NULL;
    porta_status st = scratch_floats(ctx, pad_floats(&pd), &dyp);
    if (!st)
        st = pad_launch(ctx, &pd, dy, dy_off, dyp, 0);
    if (st)
        return st;
    *done = 1;
    const size_t items = g->n * g->h * segs, khw = g->kh * g->kw;
    rows_call rc = {.p = {.items = (uint32_t)items,
                          .segs = (uint32_t)segs,
                          .out_h = (uint32_t)g->h,
                          .out_w = (uint32_t)g->w,
                          .out_c = (uint32_t)g->ci,
                          .in_c = (uint32_t)g->co,
                          .hp = (uint32_t)pd.hp,
                          .wp = (uint32_t)pd.wp,
                          .stride_h = 1,
                          .dil_h = g->dh,
                          .dil_w = g->dw,
                          .xp_off = 0,
                          /* the flipped taps: strides wrap as uint */
                          .w_off = (uint32_t)(w_off + khw - 1),
                          .ws_o = (uint32_t)khw,
                          .ws_i = (uint32_t)(g->ci * khw),
                          .ws_h = 0u - (uint32_t)g->kw,
                          .ws_w = 0u - 1u,
                          .b_off = 0,
                          .y_off = (uint32_t)dx_off},
                    .spec = {(uint32_t)g->kh, (uint32_t)g->kw, 1, use_fma(ctx)},
                    .in_c = g->co};
    grid_xz(div_up(items, ctx->variant.local_size), div_up(g->ci, ROWS_CHANNELS), rc.grid);
    porta_bbuffer *bufs[] = {dyp->impl, w->impl, w->impl, dx->impl};
    return rows_run(ctx, &rc, bufs, chunk, accumulate, 0);
}

porta_status porta__conv_rows_backward_filter(porta_context *ctx, const conv_rows_shape *g,
                                              porta_buffer *x, size_t x_off, porta_buffer *dy,
                                              size_t dy_off, porta_buffer *dw, size_t dw_off,
                                              porta_buffer *dbias, size_t dbias_off, int accumulate,
                                              size_t split, int *done)
{
    *done = 0;
    const size_t vw = vec_width(ctx), segs = div_up(g->ow, vw), rows = g->n * g->oh;
    const size_t taps = g->ci * g->kh * g->kw, taps_b = taps + (dbias ? 1 : 0);
    const size_t tiles = div_up(g->co, FR_CHANNELS) * div_up(taps_b, FR_TAPS);
    /* Rows per split: enough splits for FR_MIN_ITEMS invocations, few
     * enough rows for the loop budget (and for `split` pixels). */
    size_t per = div_up(rows, div_up(FR_MIN_ITEMS, tiles));
    const size_t most = ROWS_LOOP_BUDGET / (segs + 1);
    if (per > most)
        per = most;
    if (split && per > split / g->ow)
        per = split / g->ow;
    if (per < 1)
        per = 1;
    const size_t splits = div_up(rows, per);
    const rows_pad px = forward_pad(ctx, g);
    const rows_pad py = {.planes = g->n * g->co,
                         .h = g->oh,
                         .w = g->ow,
                         .hp = g->oh,
                         .wp = segs * vw,
                         .top = 0,
                         .left = 0};
    const size_t part_off = pad_floats(&px) + pad_floats(&py);
    const size_t floats = part_off + splits * g->co * taps_b;
    if (!kernel_fits(g) || most < 1 || !pad_fits(&px) || !pad_fits(&py) ||
        splits > ROWS_LOOP_BUDGET || !scratch_fits(ctx, floats))
        return PORTA_OK;
    porta_buffer *sc = NULL;
    porta_status st = scratch_floats(ctx, floats, &sc);
    if (!st)
        st = pad_launch(ctx, &px, x, x_off, sc, 0);
    if (!st)
        st = pad_launch(ctx, &py, dy, dy_off, sc, pad_floats(&px));
    if (st)
        return st;
    *done = 1;
    const size_t items = tiles * splits;
    porta_params_conv2d_filter_rows p = {.items = (uint32_t)items,
                                         .rows = (uint32_t)rows,
                                         .rows_per_split = (uint32_t)per,
                                         .segs = (uint32_t)segs,
                                         .out_h = (uint32_t)g->oh,
                                         .out_hw = (uint32_t)(g->oh * g->ow),
                                         .out_c = (uint32_t)g->co,
                                         .in_c = (uint32_t)g->ci,
                                         .taps = (uint32_t)taps,
                                         .taps_b = (uint32_t)taps_b,
                                         .tap_tiles = (uint32_t)div_up(taps_b, FR_TAPS),
                                         .co_blocks = (uint32_t)div_up(g->co, FR_CHANNELS),
                                         .hp = (uint32_t)px.hp,
                                         .wp = (uint32_t)px.wp,
                                         .stride_h = g->sh,
                                         .dil_h = g->dh,
                                         .dil_w = g->dw,
                                         .xp_off = 0,
                                         .dyp_off = (uint32_t)pad_floats(&px),
                                         .part_off = (uint32_t)part_off};
    const uint32_t spec[PORTA_SPEC_COUNT] = {(uint32_t)g->kh, (uint32_t)g->kw, g->sw, use_fma(ctx)};
    uint32_t grid[3];
    grid_xz(div_up(items, ctx->variant.local_size), 1, grid);
    porta_bbuffer *bufs[] = {sc->impl, sc->impl, sc->impl};
    st = porta__launch_spec(ctx, PORTA_KERNEL_conv2d_filter_rows, spec, grid, bufs, &p);
    if (st)
        return st;
    const size_t total = g->co * taps_b;
    porta_params_conv2d_filter_sum q = {.total = (uint32_t)total,
                                        .taps = (uint32_t)taps,
                                        .taps_b = (uint32_t)taps_b,
                                        .splits = (uint32_t)splits,
                                        .part_off = (uint32_t)part_off,
                                        .dw_off = (uint32_t)dw_off,
                                        .db_off = (uint32_t)(dbias ? dbias_off : 0),
                                        .accumulate = accumulate != 0};
    const uint32_t spec1[PORTA_SPEC_COUNT] = {1, 1, 1, 1};
    porta__grid_2d(div_up(total, ctx->variant.local_size), grid);
    porta_bbuffer *bufs1[] = {sc->impl, dw->impl, dbias ? dbias->impl : dw->impl};
    return porta__launch_spec(ctx, PORTA_KERNEL_conv2d_filter_sum, spec1, grid, bufs1, &q);
}
