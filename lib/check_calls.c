/* check_calls.c: each checked public kernel call (check_mode.h): copy the
 * operands, run the call, compute it with the C reference, compare. */
#include <stdio.h>
#include <stdlib.h>

#include "check_mode_internal.h"
#include "gemm_internal.h"

/* Run the call; when it fails, or the operands could not be copied (the
 * call then has reported why, or had nothing wrong: the check is skipped),
 * leave with its status. */
#define RUN_CALL(c, call)                                                                          \
    do {                                                                                           \
        porta_status run_st_ = (call);                                                             \
        if (run_st_ || (c)->failed)                                                                \
            return check_end((c), run_st_);                                                        \
    } while (0)

/* A checked comparison: leave at the first divergence. */
#define COMPARE(c, what, view, want, n, rtol)                                                      \
    do {                                                                                           \
        porta_status cmp_st_ = check_compare((c), (what), (view), (want), (n), (rtol));            \
        if (cmp_st_)                                                                               \
            return check_end((c), cmp_st_);                                                        \
    } while (0)

/* Copy v's n elements, or n zeros when v is none (an output the reference
 * writes whole). */
static float *copy_or_zeros(check_call *c, porta_view v, size_t n)
{
    float *p = check_copy_of(c, v, n);
    return p ? p : check_zeros(c, n);
}

/* ---- vectors -------------------------------------------------------------- */

porta_status porta__checked_vec_fill(porta_context *ctx, porta_view y, size_t n, float value)
{
    check_call c;
    check_begin(&c, ctx, "porta_vec_fill");
    check_shape(&c, "n=%zu value=%.9g", n, (double)value);
    RUN_CALL(&c, porta_vec_fill(ctx, y, n, value));
    float *want = check_zeros(&c, n);
    if (!want)
        return check_end(&c, PORTA_OK);
    porta_ref_fill(want, n, value);
    COMPARE(&c, "y", y, want, n, CHECK_EXACT);
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_vec_copy(porta_context *ctx, porta_view x, porta_view y, size_t n)
{
    check_call c;
    check_begin(&c, ctx, "porta_vec_copy");
    check_shape(&c, "n=%zu", n);
    float *hx = check_copy_of(&c, x, n);
    RUN_CALL(&c, porta_vec_copy(ctx, x, y, n));
    if (n)
        COMPARE(&c, "y", y, hx, n, CHECK_EXACT);
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_vec_axpy(porta_context *ctx, float alpha, porta_view x, porta_view y,
                                     size_t n)
{
    check_call c;
    check_begin(&c, ctx, "porta_vec_axpy");
    check_shape(&c, "n=%zu alpha=%.9g", n, (double)alpha);
    float *hx = check_copy_of(&c, x, n), *hy = check_copy_of(&c, y, n);
    RUN_CALL(&c, porta_vec_axpy(ctx, alpha, x, y, n));
    if (n) {
        porta_ref_axpy(alpha, hx, hy, n);
        COMPARE(&c, "y", y, hy, n, CHECK_EXACT);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_vec_add(porta_context *ctx, porta_view a, porta_view b, porta_view z,
                                    size_t n)
{
    check_call c;
    check_begin(&c, ctx, "porta_vec_add");
    check_shape(&c, "n=%zu", n);
    float *ha = check_copy_of(&c, a, n), *hb = check_copy_of(&c, b, n);
    float *want = check_zeros(&c, n);
    RUN_CALL(&c, porta_vec_add(ctx, a, b, z, n));
    if (n) {
        porta_ref_add(ha, hb, want, n);
        COMPARE(&c, "z", z, want, n, CHECK_EXACT);
    }
    return check_end(&c, PORTA_OK);
}

/* ---- GEMM ------------------------------------------------------------------ */

/* Elements a matrix operand spans (porta__gemm_span); sets c->failed when
 * that overflows. */
static size_t span(check_call *c, size_t rows, size_t cols, size_t ld, size_t batch, size_t stride)
{
    size_t n = 0;
    if (rows && cols && batch && (ld == 0 || !porta__gemm_span(rows, cols, ld, batch, stride, &n)))
        c->failed = 1;
    return n;
}

porta_status porta__checked_gemm(porta_context *ctx, size_t m, size_t n, size_t k, float alpha,
                                 porta_matrix a, porta_matrix b, float beta, porta_matrix cm,
                                 size_t batch)
{
    check_call c;
    check_begin(&c, ctx, "porta_gemm");
    check_shape(&c, "m=%zu n=%zu k=%zu batch=%zu ta=%d tb=%d alpha=%.9g beta=%.9g", m, n, k, batch,
                a.transposed, b.transposed, (double)alpha, (double)beta);
    const size_t na =
        span(&c, a.transposed ? k : m, a.transposed ? m : k, a.ld, batch, a.batch_stride);
    const size_t nb =
        span(&c, b.transposed ? n : k, b.transposed ? k : n, b.ld, batch, b.batch_stride);
    const size_t nc = span(&c, m, n, cm.ld, batch, cm.batch_stride);
    float *ha = check_copy_of(&c, a.data, na), *hb = check_copy_of(&c, b.data, nb);
    float *hc = check_copy_of(&c, cm.data, nc);
    RUN_CALL(&c, porta_gemm(ctx, m, n, k, alpha, a, b, beta, cm, batch));
    if (nc) {
        porta_ref_gemm(a.transposed, b.transposed, m, n, k, alpha, ha, a.ld, hb, b.ld, beta, hc,
                       cm.ld, batch, a.batch_stride, b.batch_stride, cm.batch_stride);
        COMPARE(&c, "c", cm.data, hc, nc, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_gemm_bias_act(porta_context *ctx, size_t m, size_t n, size_t k,
                                          float alpha, porta_matrix a, porta_matrix b, float beta,
                                          porta_matrix cm, const porta_gemm_epilogue *e)
{
    check_call c;
    check_begin(&c, ctx, "porta_gemm_bias_act");
    const porta_gemm_epilogue none = {porta_view_none(), PORTA_ACTIVATION_NONE, porta_view_none()};
    const porta_gemm_epilogue *ep = e ? e : &none;
    check_shape(&c,
                "m=%zu n=%zu k=%zu ta=%d tb=%d alpha=%.9g beta=%.9g bias=%s activation=%d "
                "pre=%s",
                m, n, k, a.transposed, b.transposed, (double)alpha, (double)beta,
                ep->bias.buffer ? "yes" : "no", (int)ep->activation, ep->pre.buffer ? "yes" : "no");
    const size_t na = span(&c, a.transposed ? k : m, a.transposed ? m : k, a.ld, 1, 0);
    const size_t nb = span(&c, b.transposed ? n : k, b.transposed ? k : n, b.ld, 1, 0);
    const size_t nc = span(&c, m, n, cm.ld, 1, 0);
    float *ha = check_copy_of(&c, a.data, na), *hb = check_copy_of(&c, b.data, nb);
    float *hc = check_copy_of(&c, cm.data, nc);
    float *hbias = check_copy_of(&c, ep->bias, n);
    float *hpre = check_copy_of(&c, ep->pre, nc);
    RUN_CALL(&c, porta_gemm_bias_act(ctx, m, n, k, alpha, a, b, beta, cm, e));
    if (nc) {
        porta_ref_gemm_bias_act(a.transposed, b.transposed, m, n, k, alpha, ha, a.ld, hb, b.ld,
                                beta, hc, cm.ld, hbias, (int)ep->activation, hpre);
        COMPARE(&c, "c", cm.data, hc, nc, CHECK_SUM);
        if (hpre)
            COMPARE(&c, "epilogue->pre", ep->pre, hpre, nc, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

/* ---- layers ---------------------------------------------------------------- */

porta_status porta__checked_activation_forward(porta_context *ctx, porta_activation fn,
                                               porta_view x, porta_view y, size_t n)
{
    check_call c;
    check_begin(&c, ctx, "porta_activation_forward");
    check_shape(&c, "fn=%d n=%zu", (int)fn, n);
    float *hx = check_copy_of(&c, x, n), *want = check_zeros(&c, n);
    RUN_CALL(&c, porta_activation_forward(ctx, fn, x, y, n));
    if (n) {
        porta_ref_activation_forward((int)fn, hx, want, n);
        COMPARE(&c, "y", y, want, n, CHECK_ELEMENTWISE);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_activation_backward(porta_context *ctx, porta_activation fn,
                                                porta_view x, porta_view dy, porta_view dx,
                                                size_t n, bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_activation_backward");
    check_shape(&c, "fn=%d n=%zu accumulate=%d", (int)fn, n, accumulate);
    float *hx = check_copy_of(&c, x, n), *hdy = check_copy_of(&c, dy, n);
    float *hdx = check_copy_of(&c, dx, n);
    RUN_CALL(&c, porta_activation_backward(ctx, fn, x, dy, dx, n, accumulate));
    if (n) {
        porta_ref_activation_backward((int)fn, hx, hdy, hdx, n, accumulate);
        COMPARE(&c, "dx", dx, hdx, n, CHECK_ELEMENTWISE);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_layernorm_forward(porta_context *ctx, size_t rows, size_t cols,
                                              float eps, porta_view x, porta_view gamma,
                                              porta_view beta, porta_view y, porta_view mean,
                                              porta_view rstd)
{
    check_call c;
    check_begin(&c, ctx, "porta_layernorm_forward");
    check_shape(&c, "rows=%zu cols=%zu eps=%.9g", rows, cols, (double)eps);
    const size_t n = rows * cols;
    float *hx = check_copy_of(&c, x, n), *hg = check_copy_of(&c, gamma, cols);
    float *hb = check_copy_of(&c, beta, cols);
    float *wy = check_zeros(&c, n), *wm = check_zeros(&c, rows), *wr = check_zeros(&c, rows);
    RUN_CALL(&c, porta_layernorm_forward(ctx, rows, cols, eps, x, gamma, beta, y, mean, rstd));
    if (n) {
        porta_ref_layernorm_forward(rows, cols, eps, hx, hg, hb, wy, wm, wr);
        COMPARE(&c, "y", y, wy, n, CHECK_SUM);
        if (mean.buffer)
            COMPARE(&c, "mean", mean, wm, rows, CHECK_SUM);
        if (rstd.buffer)
            COMPARE(&c, "rstd", rstd, wr, rows, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_layernorm_backward(porta_context *ctx, size_t rows, size_t cols,
                                               porta_view dy, porta_view x, porta_view gamma,
                                               porta_view mean, porta_view rstd, porta_view dx,
                                               porta_view dgamma, porta_view dbeta, bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_layernorm_backward");
    check_shape(&c, "rows=%zu cols=%zu accumulate=%d", rows, cols, accumulate);
    const size_t n = rows * cols;
    float *hdy = check_copy_of(&c, dy, n), *hx = check_copy_of(&c, x, n);
    float *hg = check_copy_of(&c, gamma, cols), *hm = check_copy_of(&c, mean, rows);
    float *hr = check_copy_of(&c, rstd, rows), *hdx = copy_or_zeros(&c, dx, n);
    float *hdg = copy_or_zeros(&c, dgamma, cols), *hdb = copy_or_zeros(&c, dbeta, cols);
    RUN_CALL(&c, porta_layernorm_backward(ctx, rows, cols, dy, x, gamma, mean, rstd, dx, dgamma,
                                          dbeta, accumulate));
    if (n) {
        porta_ref_layernorm_backward(rows, cols, hdy, hx, hg, hm, hr, hdx, hdg, hdb, accumulate);
        COMPARE(&c, "dx", dx, hdx, n, CHECK_SUM);
        if (dgamma.buffer)
            COMPARE(&c, "dgamma", dgamma, hdg, cols, CHECK_SUM);
        if (dbeta.buffer)
            COMPARE(&c, "dbeta", dbeta, hdb, cols, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_bias_backward(porta_context *ctx, size_t rows, size_t cols,
                                          porta_view dy, porta_view dbias, bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_bias_backward");
    check_shape(&c, "rows=%zu cols=%zu accumulate=%d", rows, cols, accumulate);
    float *hdy = check_copy_of(&c, dy, rows * cols), *hdb = check_copy_of(&c, dbias, cols);
    RUN_CALL(&c, porta_bias_backward(ctx, rows, cols, dy, dbias, accumulate));
    if (rows && cols) {
        porta_ref_bias_backward(rows, cols, hdy, hdb, accumulate);
        COMPARE(&c, "dbias", dbias, hdb, cols, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_embedding_forward(porta_context *ctx, porta_view tokens,
                                              size_t n_tokens, porta_view table, size_t vocab,
                                              size_t dim, porta_view y)
{
    check_call c;
    check_begin(&c, ctx, "porta_embedding_forward");
    check_shape(&c, "tokens=%zu vocab=%zu dim=%zu", n_tokens, vocab, dim);
    const uint32_t *ht = check_copy_of(&c, tokens, n_tokens);
    float *htab = check_copy_of(&c, table, vocab * dim), *want = check_zeros(&c, n_tokens * dim);
    RUN_CALL(&c, porta_embedding_forward(ctx, tokens, n_tokens, table, vocab, dim, y));
    if (n_tokens && dim) {
        porta_ref_embedding_forward(ht, n_tokens, htab, vocab, dim, want);
        COMPARE(&c, "y", y, want, n_tokens * dim, CHECK_EXACT);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_embedding_backward(porta_context *ctx, porta_view tokens,
                                               size_t n_tokens, porta_view dy, size_t vocab,
                                               size_t dim, porta_view dtable, bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_embedding_backward");
    check_shape(&c, "tokens=%zu vocab=%zu dim=%zu accumulate=%d", n_tokens, vocab, dim, accumulate);
    const uint32_t *ht = check_copy_of(&c, tokens, n_tokens);
    float *hdy = check_copy_of(&c, dy, n_tokens * dim);
    float *hdt = check_copy_of(&c, dtable, vocab * dim);
    RUN_CALL(&c,
             porta_embedding_backward(ctx, tokens, n_tokens, dy, vocab, dim, dtable, accumulate));
    if (vocab && dim) {
        porta_ref_embedding_backward(ht, n_tokens, hdy, vocab, dim, hdt, accumulate);
        COMPARE(&c, "dtable", dtable, hdt, vocab * dim, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_dropout_forward(porta_context *ctx, float p, uint64_t seed,
                                            uint64_t step, size_t n, porta_view x, porta_view y)
{
    check_call c;
    check_begin(&c, ctx, "porta_dropout_forward");
    check_shape(&c, "p=%.9g seed=%llu step=%llu n=%zu", (double)p, (unsigned long long)seed,
                (unsigned long long)step, n);
    float *hx = check_copy_of(&c, x, n), *want = check_zeros(&c, n);
    RUN_CALL(&c, porta_dropout_forward(ctx, p, seed, step, n, x, y));
    if (n) {
        porta_ref_dropout(p, seed, step, n, hx, want, 0);
        COMPARE(&c, "y", y, want, n, CHECK_EXACT);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_dropout_backward(porta_context *ctx, float p, uint64_t seed,
                                             uint64_t step, size_t n, porta_view dy, porta_view dx,
                                             bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_dropout_backward");
    check_shape(&c, "p=%.9g seed=%llu step=%llu n=%zu accumulate=%d", (double)p,
                (unsigned long long)seed, (unsigned long long)step, n, accumulate);
    float *hdy = check_copy_of(&c, dy, n), *hdx = check_copy_of(&c, dx, n);
    RUN_CALL(&c, porta_dropout_backward(ctx, p, seed, step, n, dy, dx, accumulate));
    if (n) {
        porta_ref_dropout(p, seed, step, n, hdy, hdx, accumulate);
        COMPARE(&c, "dx", dx, hdx, n, CHECK_EXACT);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_attention_softmax_forward(porta_context *ctx, size_t batch_heads,
                                                      size_t T, float scale, bool causal,
                                                      porta_view x, porta_view y)
{
    check_call c;
    check_begin(&c, ctx, "porta_attention_softmax_forward");
    check_shape(&c, "batch_heads=%zu T=%zu scale=%.9g causal=%d", batch_heads, T, (double)scale,
                causal);
    const size_t n = batch_heads * T * T;
    float *hx = check_copy_of(&c, x, n), *want = check_zeros(&c, n);
    RUN_CALL(&c, porta_attention_softmax_forward(ctx, batch_heads, T, scale, causal, x, y));
    if (n) {
        porta_ref_attention_softmax_forward(batch_heads, T, scale, causal, hx, want);
        COMPARE(&c, "y", y, want, n, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_attention_softmax_backward(porta_context *ctx, size_t batch_heads,
                                                       size_t T, float scale, porta_view y,
                                                       porta_view dy, porta_view dx,
                                                       bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_attention_softmax_backward");
    check_shape(&c, "batch_heads=%zu T=%zu scale=%.9g accumulate=%d", batch_heads, T, (double)scale,
                accumulate);
    const size_t n = batch_heads * T * T;
    float *hy = check_copy_of(&c, y, n), *hdy = check_copy_of(&c, dy, n);
    float *hdx = check_copy_of(&c, dx, n);
    RUN_CALL(&c,
             porta_attention_softmax_backward(ctx, batch_heads, T, scale, y, dy, dx, accumulate));
    if (n) {
        porta_ref_attention_softmax_backward(batch_heads, T, scale, hy, hdy, hdx, accumulate);
        COMPARE(&c, "dx", dx, hdx, n, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_tensor_gather(porta_context *ctx, unsigned ndim, const size_t *shape,
                                          const size_t *x_strides, porta_view x, porta_view y,
                                          bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_tensor_gather");
    size_t ny = 1, nx = 1;
    int used = 0;
    for (unsigned d = 0; shape && x_strides && d < ndim && d < PORTA_MAX_DIMS; d++) {
        ny *= shape[d];
        nx += shape[d] ? (shape[d] - 1) * x_strides[d] : 0;
        used += snprintf(c.shape + used, sizeof(c.shape) - (size_t)used, "%s%zu/%zu",
                         d ? " " : "shape/stride ", shape[d], x_strides[d]);
        if (used >= (int)sizeof(c.shape))
            break;
    }
    if (ny == 0)
        nx = 0;
    float *hx = check_copy_of(&c, x, nx), *hy = check_copy_of(&c, y, ny);
    RUN_CALL(&c, porta_tensor_gather(ctx, ndim, shape, x_strides, x, y, accumulate));
    if (ny) {
        porta_ref_tensor_gather(ndim, shape, x_strides, hx, hy, accumulate);
        COMPARE(&c, "y", y, hy, ny, CHECK_EXACT);
    }
    return check_end(&c, PORTA_OK);
}

/* ---- convolution and pooling ---------------------------------------------- */

static void conv_text(check_call *c, const porta_conv2d_shape *s, int accumulate)
{
    if (!s)
        return;
    check_shape(c,
                "batch=%u in=%ux%ux%u out_channels=%u kernel=%ux%u stride=%ux%u pad=%ux%u "
                "dilation=%ux%u accumulate=%d",
                s->batch, s->in_channels, s->in_height, s->in_width, s->out_channels, s->kernel_h,
                s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->dilation_h,
                s->dilation_w, accumulate);
}

/* Elements of x, w and y for shape s; 0 (and c->failed) when s is not a
 * shape the call takes. */
static void conv_sizes(check_call *c, const porta_conv2d_shape *s, size_t *nx, size_t *nw,
                       size_t *ny)
{
    size_t oh = 0, ow = 0;
    *nx = *nw = *ny = 0;
    if (!s || porta_conv2d_output_size(c->ctx, s, &oh, &ow) != PORTA_OK) {
        c->failed = 1;
        return;
    }
    *nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    *nw = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    *ny = (size_t)s->batch * s->out_channels * oh * ow;
}

porta_status porta__checked_conv2d_forward(porta_context *ctx, const porta_conv2d_shape *s,
                                           porta_view x, porta_view w, porta_view bias,
                                           porta_view y)
{
    check_call c;
    check_begin(&c, ctx, "porta_conv2d_forward");
    conv_text(&c, s, 0);
    size_t nx, nw, ny;
    conv_sizes(&c, s, &nx, &nw, &ny);
    float *hx = check_copy_of(&c, x, nx), *hw = check_copy_of(&c, w, nw);
    float *hb = check_copy_of(&c, bias, s ? s->out_channels : 0), *want = check_zeros(&c, ny);
    RUN_CALL(&c, porta_conv2d_forward(ctx, s, x, w, bias, y));
    if (ny) {
        porta_ref_conv2d_forward(s, hx, hw, hb, want);
        COMPARE(&c, "y", y, want, ny, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_conv2d_backward_data(porta_context *ctx, const porta_conv2d_shape *s,
                                                 porta_view dy, porta_view w, porta_view dx,
                                                 bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_conv2d_backward_data");
    conv_text(&c, s, accumulate);
    size_t nx, nw, ny;
    conv_sizes(&c, s, &nx, &nw, &ny);
    float *hdy = check_copy_of(&c, dy, ny), *hw = check_copy_of(&c, w, nw);
    float *hdx = check_copy_of(&c, dx, nx);
    RUN_CALL(&c, porta_conv2d_backward_data(ctx, s, dy, w, dx, accumulate));
    if (nx) {
        porta_ref_conv2d_backward_data(s, hdy, hw, hdx, accumulate);
        COMPARE(&c, "dx", dx, hdx, nx, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_conv2d_backward_filter(porta_context *ctx, const porta_conv2d_shape *s,
                                                   porta_view x, porta_view dy, porta_view dw,
                                                   porta_view dbias, bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_conv2d_backward_filter");
    conv_text(&c, s, accumulate);
    size_t nx, nw, ny;
    conv_sizes(&c, s, &nx, &nw, &ny);
    const size_t nb = s ? s->out_channels : 0;
    float *hx = check_copy_of(&c, x, nx), *hdy = check_copy_of(&c, dy, ny);
    float *hdw = check_copy_of(&c, dw, nw), *hdb = check_copy_of(&c, dbias, nb);
    RUN_CALL(&c, porta_conv2d_backward_filter(ctx, s, x, dy, dw, dbias, accumulate));
    if (nw) {
        porta_ref_conv2d_backward_filter(s, hx, hdy, hdw, hdb, accumulate);
        COMPARE(&c, "dw", dw, hdw, nw, CHECK_SUM);
        if (hdb)
            COMPARE(&c, "dbias", dbias, hdb, nb, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

/* Elements of x and y of pooling shape s (c->failed when not a shape). */
static void pool_sizes(check_call *c, const porta_pool_shape *s, int kind, int accumulate,
                       size_t *nx, size_t *ny)
{
    size_t oh = 0, ow = 0;
    *nx = *ny = 0;
    if (!s || porta_pool_output_size(c->ctx, s, &oh, &ow) != PORTA_OK) {
        c->failed = 1;
        return;
    }
    check_shape(c,
                "kind=%d batch=%u channels=%u in=%ux%u kernel=%ux%u stride=%ux%u pad=%ux%u "
                "accumulate=%d",
                kind, s->batch, s->channels, s->in_height, s->in_width, s->kernel_h, s->kernel_w,
                s->stride_h, s->stride_w, s->pad_h, s->pad_w, accumulate);
    *nx = (size_t)s->batch * s->channels * s->in_height * s->in_width;
    *ny = (size_t)s->batch * s->channels * oh * ow;
}

porta_status porta__checked_pool_forward(porta_context *ctx, porta_pool_kind kind,
                                         const porta_pool_shape *s, porta_view x, porta_view y)
{
    check_call c;
    check_begin(&c, ctx, "porta_pool_forward");
    size_t nx, ny;
    pool_sizes(&c, s, (int)kind, 0, &nx, &ny);
    float *hx = check_copy_of(&c, x, nx), *want = check_zeros(&c, ny);
    RUN_CALL(&c, porta_pool_forward(ctx, kind, s, x, y));
    if (ny) {
        porta_ref_pool_forward((int)kind, s, hx, want);
        COMPARE(&c, "y", y, want, ny, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

porta_status porta__checked_pool_backward(porta_context *ctx, porta_pool_kind kind,
                                          const porta_pool_shape *s, porta_view x, porta_view dy,
                                          porta_view dx, bool accumulate)
{
    check_call c;
    check_begin(&c, ctx, "porta_pool_backward");
    size_t nx, ny;
    pool_sizes(&c, s, (int)kind, accumulate, &nx, &ny);
    float *hx = check_copy_of(&c, x, nx), *hdy = check_copy_of(&c, dy, ny);
    float *hdx = check_copy_of(&c, dx, nx);
    RUN_CALL(&c, porta_pool_backward(ctx, kind, s, x, dy, dx, accumulate));
    if (nx) {
        porta_ref_pool_backward((int)kind, s, hx, hdy, hdx, accumulate);
        COMPARE(&c, "dx", dx, hdx, nx, CHECK_SUM);
    }
    return check_end(&c, PORTA_OK);
}

/* ---- the loss ---------------------------------------------------------------- */

porta_status porta__checked_cross_entropy(porta_context *ctx, porta_view logits, porta_view labels,
                                          size_t rows, size_t classes, float grad_scale,
                                          porta_view dlogits, porta_view loss_partials,
                                          size_t *partials_count)
{
    check_call c;
    check_begin(&c, ctx, "porta_cross_entropy");
    check_shape(&c, "rows=%zu classes=%zu grad_scale=%.9g", rows, classes, (double)grad_scale);
    const size_t n = rows * classes;
    float *hl = check_copy_of(&c, logits, n);
    const uint32_t *hlab = check_copy_of(&c, labels, rows);
    float *want = check_zeros(&c, n);
    double *row_loss = rows ? calloc(rows, sizeof(double)) : NULL;
    if (rows && !row_loss)
        c.failed = 1;
    porta_status st = porta_cross_entropy(ctx, logits, labels, rows, classes, grad_scale, dlogits,
                                          loss_partials, partials_count);
    if (st || c.failed || !rows) {
        free(row_loss);
        return check_end(&c, st);
    }
    porta_ref_cross_entropy(hl, hlab, rows, classes, grad_scale, want, row_loss);
    /* workgroup g sums rows g, g + count, ... (porta_cross_entropy) */
    const size_t count = *partials_count;
    float *partials = check_zeros(&c, count ? count : 1);
    for (size_t g = 0; partials && g < count; g++) {
        double sum = 0.0;
        for (size_t r = g; r < rows; r += count)
            sum += row_loss[r];
        partials[g] = (float)sum;
    }
    free(row_loss);
    if (dlogits.buffer)
        COMPARE(&c, "dlogits", dlogits, want, n, CHECK_SUM);
    if (partials && count)
        COMPARE(&c, "loss_partials", loss_partials, partials, count, CHECK_SUM);
    return check_end(&c, PORTA_OK);
}
