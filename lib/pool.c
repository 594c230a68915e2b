/* pool.c: 2-D max / average pooling forward and backward (shaders/pool.kc). */
#include <stdint.h>

#include "check_mode.h"
#include "internal.h"

/* Largest dimension, kernel size, stride or padding accepted (keeps every
 * index the kernel forms far below 2^32). */
#define POOL_DIM_MAX 65535u
/* Loop iterations one invocation may run per dispatch (llvmpipe stops an
 * invocation silently after 65535; shaders/README.md). */
#define POOL_LOOP_BUDGET 32768u

typedef struct pool_geom {
    size_t planes, h, w, oh, ow, x_elems, y_elems;
} pool_geom;

static size_t mul_sat(size_t a, size_t b)
{
    return a != 0 && b > SIZE_MAX / a ? SIZE_MAX : a * b;
}

static porta_status pool_geometry(porta_context *ctx, const porta_pool_shape *s, const char *call,
                                  pool_geom *g)
{
    if (!s)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s s: NULL", call);
    const struct {
        const char *name;
        uint32_t v, min;
    } f[] = {{"batch", s->batch, 1},         {"channels", s->channels, 1},
             {"in_height", s->in_height, 1}, {"in_width", s->in_width, 1},
             {"kernel_h", s->kernel_h, 1},   {"kernel_w", s->kernel_w, 1},
             {"stride_h", s->stride_h, 1},   {"stride_w", s->stride_w, 1},
             {"pad_h", s->pad_h, 0},         {"pad_w", s->pad_w, 0}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].v < f[i].min || f[i].v > POOL_DIM_MAX)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "%s s->%s: %u is outside [%u, %u]", call, f[i].name,
                                 (unsigned)f[i].v, (unsigned)f[i].min, POOL_DIM_MAX);
    if (s->pad_h > s->kernel_h / 2 || s->pad_w > s->kernel_w / 2)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s s->pad_h, pad_w: %u x %u is more than half the %u x %u kernel "
                             "(a window would hold only padding)",
                             call, (unsigned)s->pad_h, (unsigned)s->pad_w, (unsigned)s->kernel_h,
                             (unsigned)s->kernel_w);
    const size_t ph = s->in_height + 2 * (size_t)s->pad_h, pw = s->in_width + 2 * (size_t)s->pad_w;
    if (ph < s->kernel_h || pw < s->kernel_w)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s s: the output would be empty: the %u x %u kernel is larger than "
                             "the padded %zu x %zu input",
                             call, (unsigned)s->kernel_h, (unsigned)s->kernel_w, ph, pw);
    g->planes = (size_t)s->batch * s->channels;
    g->h = s->in_height;
    g->w = s->in_width;
    g->oh = (ph - s->kernel_h) / s->stride_h + 1;
    g->ow = (pw - s->kernel_w) / s->stride_w + 1;
    g->x_elems = mul_sat(mul_sat(g->planes, g->h), g->w);
    g->y_elems = mul_sat(mul_sat(g->planes, g->oh), g->ow);
    return PORTA_OK;
}

porta_status porta_pool_output_size(porta_context *ctx, const porta_pool_shape *s, size_t *out_h,
                                    size_t *out_w)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    pool_geom g;
    porta_status st = pool_geometry(ctx, s, "porta_pool_output_size", &g);
    if (!st && (!out_h || !out_w))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_pool_output_size out_h, out_w: NULL");
    if (!st) {
        *out_h = g.oh;
        *out_w = g.ow;
    }
    return st;
}

static porta_status check_kind(porta_context *ctx, porta_pool_kind kind, const char *call)
{
    if ((int)kind != PORTA_POOL_MAX && (int)kind != PORTA_POOL_AVG)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s kind: %d is not a porta_pool_kind", call, (int)kind);
    return PORTA_OK;
}

/* Windows along one axis that contain an input element, at most. */
static size_t windows_per_input(size_t k, size_t stride, size_t out)
{
    size_t n = (k + stride - 1) / stride;
    return n < out ? n : out;
}

/* 2x2 windows of stride 2, no padding, tiling the input exactly: the
 * kernel's one-item-per-window path (SPEC3 = 2). */
static int exact_2x2(const porta_pool_shape *s, const pool_geom *g)
{
    return s->kernel_h == 2 && s->kernel_w == 2 && s->stride_h == 2 && s->stride_w == 2 &&
           s->pad_h == 0 && s->pad_w == 0 && g->h == 2 * g->oh && g->w == 2 * g->ow;
}

/* One dispatch: `total` items, each costing about `cost` loop iterations. */
static porta_status launch(porta_context *ctx, const char *call, porta_pool_kind kind,
                           uint32_t pass, size_t total, size_t cost, porta_bbuffer *const *bufs,
                           const porta_params_pool *p, int fast)
{
    if (cost > POOL_LOOP_BUDGET)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "%s s: a window this large needs %zu loop iterations per element, "
                             "more than llvmpipe runs (%u)",
                             call, cost, POOL_LOOP_BUDGET);
    size_t per = porta__elements_per_invocation(ctx);
    if (per * cost > POOL_LOOP_BUDGET)
        per = POOL_LOOP_BUDGET / cost;
    const uint32_t spec[PORTA_SPEC_COUNT] = {(uint32_t)kind, pass, (uint32_t)per, fast ? 2u : 1u};
    const size_t block = (size_t)ctx->variant.local_size * per;
    uint32_t grid[3];
    porta__grid_2d((total + block - 1) / block, grid);
    return porta__launch_spec(ctx, PORTA_KERNEL_pool, spec, grid, bufs, p);
}

static porta_params_pool params_of(const porta_pool_shape *s, const pool_geom *g)
{
    return (porta_params_pool){.in_h = (uint32_t)g->h,
                               .in_w = (uint32_t)g->w,
                               .out_h = (uint32_t)g->oh,
                               .out_w = (uint32_t)g->ow,
                               .ker_h = s->kernel_h,
                               .ker_w = s->kernel_w,
                               .stride_h = s->stride_h,
                               .stride_w = s->stride_w,
                               .pad_h = s->pad_h,
                               .pad_w = s->pad_w};
}

porta_status porta_pool_forward(porta_context *ctx, porta_pool_kind kind, const porta_pool_shape *s,
                                porta_view xv, porta_view yv)
{
    if (porta__check_active(ctx))
        return porta__checked_pool_forward(ctx, kind, s, xv, yv);
    porta_buffer *x = xv.buffer, *y = yv.buffer;
    const size_t x_off = xv.offset, y_off = yv.offset;
    static const char call[] = "porta_pool_forward";
    pool_geom g;
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = check_kind(ctx, kind, call);
    if (!st)
        st = pool_geometry(ctx, s, call, &g);
    if (!st)
        st = porta__check_arg(ctx, xv, g.x_elems, call, "x");
    if (!st)
        st = porta__check_arg(ctx, yv, g.y_elems, call, "y");
    if (st)
        return st;
    porta_params_pool p = params_of(s, &g);
    p.total = (uint32_t)g.y_elems;
    p.x_off = (uint32_t)x_off;
    p.y_off = (uint32_t)y_off;
    const size_t cost = 3 + (size_t)s->kernel_h * (1 + s->kernel_w);
    porta_bbuffer *bufs[] = {x->impl, x->impl, y->impl};
    return launch(ctx, call, kind, 0, g.y_elems, cost, bufs, &p, exact_2x2(s, &g));
}

porta_status porta_pool_backward(porta_context *ctx, porta_pool_kind kind,
                                 const porta_pool_shape *s, porta_view xv, porta_view dyv,
                                 porta_view dxv, bool accumulate)
{
    if (porta__check_active(ctx))
        return porta__checked_pool_backward(ctx, kind, s, xv, dyv, dxv, accumulate);
    /* avg never reads x: it may be none (porta_view_none()) */
    porta_buffer *x = xv.buffer, *dy = dyv.buffer, *dx = dxv.buffer;
    const size_t x_off = xv.offset, dy_off = dyv.offset, dx_off = dxv.offset;
    static const char call[] = "porta_pool_backward";
    pool_geom g;
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = check_kind(ctx, kind, call);
    if (!st)
        st = pool_geometry(ctx, s, call, &g);
    if (!st && kind == PORTA_POOL_MAX)
        st = porta__check_arg(ctx, xv, g.x_elems, call, "x");
    if (!st)
        st = porta__check_arg(ctx, dyv, g.y_elems, call, "dy");
    if (!st)
        st = porta__check_arg(ctx, dxv, g.x_elems, call, "dx");
    if (st)
        return st;
    porta_params_pool p = params_of(s, &g);
    p.total = (uint32_t)g.x_elems;
    p.x_off = kind == PORTA_POOL_MAX ? (uint32_t)x_off : 0u;
    p.dy_off = (uint32_t)dy_off;
    p.y_off = (uint32_t)dx_off;
    p.accumulate = accumulate ? 1u : 0u;
    const size_t wh = windows_per_input(s->kernel_h, s->stride_h, g.oh);
    const size_t ww = windows_per_input(s->kernel_w, s->stride_w, g.ow);
    const size_t window = kind == PORTA_POOL_MAX ? 1 + (size_t)s->kernel_h * (1 + s->kernel_w) : 0;
    const size_t cost = 3 + wh * (1 + ww * (1 + window));
    porta_bbuffer *bufs[] = {kind == PORTA_POOL_MAX ? x->impl : dy->impl, dy->impl, dx->impl};
    if (exact_2x2(s, &g)) { /* one item per window */
        p.total = (uint32_t)g.y_elems;
        return launch(ctx, call, kind, 1, g.y_elems, 8, bufs, &p, 1);
    }
    return launch(ctx, call, kind, 1, g.x_elems, cost, bufs, &p, 0);
}
