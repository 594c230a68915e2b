/* graph_layers.c: the layer constructors: check shapes, create parameters,
 * add the op and its output. Nothing runs here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"

/* An activation named after the op that makes it ("op12.linear"). */
static porta_status activation(porta_context *ctx, porta_graph *g, const char *what, unsigned ndim,
                               const size_t *shape, porta_tensor *out)
{
    char name[GRAPH_NAME_MAX];
    snprintf(name, sizeof name, "op%zu.%s", g->n_ops, what);
    return graph_tensor_add(ctx, g, name, GRAPH_ACTIVATION, PORTA_F32, ndim, shape, out);
}

/* A helper tensor of an op, living as `life` says. */
static porta_status aux(porta_context *ctx, porta_graph *g, const char *what, graph_aux_life life,
                        unsigned ndim, const size_t *shape, porta_tensor *out)
{
    porta_status st = activation(ctx, g, what, ndim, shape, out);
    if (!st)
        graph_tensor_get(g, *out)->life = life;
    return st;
}

/* The end of every constructor: if all went well, append the op and hand
 * out its output. */
static porta_status add_op(porta_context *ctx, porta_graph *g, const graph_op *op, porta_status st,
                           porta_tensor *y)
{
    if (!st)
        st = graph_op_add(ctx, g, op);
    if (!st)
        *y = op->out;
    return st;
}

static porta_status start(porta_context *ctx, porta_graph *g, porta_tensor x, porta_tensor *y,
                          const char *what)
{
    porta_status st = graph_check_open(ctx, g, what);
    if (!st && !y)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: y is NULL", what);
    if (!st)
        st = graph_check_tensor(ctx, g, x, PORTA_F32, what);
    return st;
}

static porta_status param_name(porta_context *ctx, const char *name, const char *suffix, char *buf,
                               const char *what)
{
    if (!name || !*name || strlen(name) + strlen(suffix) >= GRAPH_NAME_MAX)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: a layer name of 1 to %zu characters is needed", what,
                             GRAPH_NAME_MAX - 1 - strlen(suffix));
    const size_t n = strlen(name);
    memcpy(buf, name, n);
    memcpy(buf + n, suffix, strlen(suffix) + 1);
    return PORTA_OK;
}

/* y has x's shape with the last dimension replaced by n. */
static porta_status matrix_out(porta_context *ctx, porta_graph *g, const graph_tensor *x, size_t n,
                               const char *what, porta_tensor *y)
{
    size_t shape[PORTA_MAX_DIMS];
    memcpy(shape, x->shape, x->ndim * sizeof *shape);
    shape[x->ndim - 1] = n;
    return activation(ctx, g, what, x->ndim, shape, y);
}

porta_status porta_graph_linear(porta_context *ctx, porta_graph *g, porta_tensor x,
                                size_t out_features, bool bias, const char *name, porta_tensor *y)
{
    const char *what = "porta_graph_linear";
    char wname[GRAPH_NAME_MAX], bname[GRAPH_NAME_MAX];
    porta_status st = start(ctx, g, x, y, what);
    if (!st)
        st = param_name(ctx, name, ".weight", wname, what);
    if (!st)
        st = param_name(ctx, name, ".bias", bname, what);
    if (!st && out_features == 0)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s '%s': out_features is 0",
                           what, name);
    if (st)
        return st;
    const size_t in_features = graph_tensor_get(g, x)->shape[graph_tensor_get(g, x)->ndim - 1];
    graph_op op = {.kind = OP_LINEAR, .in = {x}};
    const size_t wshape[2] = {out_features, in_features};
    st = porta_graph_parameter(ctx, g, wname, 2, wshape, PORTA_INIT_UNIFORM_FAN_IN, 0, true,
                               &op.in[1]);
    if (!st && bias) {
        st = porta_graph_parameter(ctx, g, bname, 1, &out_features, PORTA_INIT_UNIFORM_FAN_IN, 0,
                                   false, &op.in[2]);
        /* PyTorch bounds the bias by the layer's fan_in, not its own size */
        if (!st)
            graph_tensor_get(g, op.in[2])->fan_in = in_features;
    }
    if (!st)
        st = matrix_out(ctx, g, graph_tensor_get(g, x), out_features, "linear", &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_matmul(porta_context *ctx, porta_graph *g, porta_tensor x, porta_tensor w,
                                bool transpose_w, porta_tensor *y)
{
    const char *what = "porta_graph_matmul";
    porta_status st = start(ctx, g, x, y, what);
    if (!st)
        st = graph_check_tensor(ctx, g, w, PORTA_F32, what);
    if (st)
        return st;
    const graph_tensor *xt = graph_tensor_get(g, x), *wt = graph_tensor_get(g, w);
    const size_t k = xt->shape[xt->ndim - 1];
    if (wt->ndim != 2 || wt->shape[transpose_w ? 1 : 0] != k)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: '%s' is not a [%s] matrix for x's %zu columns", what, wt->name,
                             transpose_w ? "n, k" : "k, n", k);
    graph_op op = {.kind = OP_MATMUL, .in = {x, w}, .iarg = {transpose_w ? 1 : 0}};
    st = matrix_out(ctx, g, xt, wt->shape[transpose_w ? 0 : 1], "matmul", &op.out);
    return add_op(ctx, g, &op, st, y);
}

static porta_status check_nchw(porta_context *ctx, const graph_tensor *x, const char *what)
{
    if (x->ndim != 4)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: '%s' has %u dimensions, not 4 (N, C, H, W)", what, x->name,
                             x->ndim);
    return PORTA_OK;
}

porta_status porta_graph_conv2d(porta_context *ctx, porta_graph *g, porta_tensor x,
                                size_t out_channels, size_t kernel, size_t stride, size_t padding,
                                bool bias, const char *name, porta_tensor *y)
{
    const char *what = "porta_graph_conv2d";
    char wname[GRAPH_NAME_MAX], bname[GRAPH_NAME_MAX];
    porta_status st = start(ctx, g, x, y, what);
    if (!st)
        st = check_nchw(ctx, graph_tensor_get(g, x), what);
    if (!st)
        st = param_name(ctx, name, ".weight", wname, what);
    if (!st)
        st = param_name(ctx, name, ".bias", bname, what);
    if (st)
        return st;
    const graph_tensor *xt = graph_tensor_get(g, x);
    porta_conv2d_shape s = {(uint32_t)xt->shape[0],
                            (uint32_t)xt->shape[1],
                            (uint32_t)xt->shape[2],
                            (uint32_t)xt->shape[3],
                            (uint32_t)out_channels,
                            (uint32_t)kernel,
                            (uint32_t)kernel,
                            (uint32_t)stride,
                            (uint32_t)stride,
                            (uint32_t)padding,
                            (uint32_t)padding,
                            1,
                            1};
    size_t oh = 0, ow = 0;
    if (out_channels == 0 || out_channels > 65536 || kernel == 0 || kernel > 64 || stride == 0 ||
        stride > 64 || padding > 64)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s '%s': out_channels %zu, kernel %zu, stride %zu, padding %zu "
                             "(need 1..65536, 1..64, 1..64, 0..64)",
                             what, name, out_channels, kernel, stride, padding);
    if ((st = porta_conv2d_output_size(ctx, &s, &oh, &ow)))
        return st;
    graph_op op = {.kind = OP_CONV2D, .in = {x}, .iarg = {(int)kernel, (int)stride, (int)padding}};
    const size_t wshape[4] = {out_channels, xt->shape[1], kernel, kernel};
    st = porta_graph_parameter(ctx, g, wname, 4, wshape, PORTA_INIT_UNIFORM_FAN_IN, 0, true,
                               &op.in[1]);
    if (!st && bias) {
        st = porta_graph_parameter(ctx, g, bname, 1, &out_channels, PORTA_INIT_UNIFORM_FAN_IN, 0,
                                   false, &op.in[2]);
        if (!st)
            graph_tensor_get(g, op.in[2])->fan_in = wshape[1] * kernel * kernel;
    }
    xt = graph_tensor_get(g, x); /* the table may have moved */
    const size_t yshape[4] = {xt->shape[0], out_channels, oh, ow};
    if (!st)
        st = activation(ctx, g, "conv2d", 4, yshape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_pool(porta_context *ctx, porta_graph *g, porta_pool_kind kind,
                              porta_tensor x, size_t kernel, size_t stride, size_t padding,
                              porta_tensor *y)
{
    const char *what = "porta_graph_pool";
    porta_status st = start(ctx, g, x, y, what);
    if (!st)
        st = check_nchw(ctx, graph_tensor_get(g, x), what);
    if (!st && kind != PORTA_POOL_MAX && kind != PORTA_POOL_AVG)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: kind %d is not a porta_pool_kind", what, (int)kind);
    if (!st &&
        (kernel == 0 || kernel > 4096 || stride == 0 || stride > 4096 || padding > kernel / 2))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: kernel %zu, stride %zu, padding %zu (padding at most half the "
                           "kernel)",
                           what, kernel, stride, padding);
    if (st)
        return st;
    const graph_tensor *xt = graph_tensor_get(g, x);
    porta_pool_shape s = {(uint32_t)xt->shape[0], (uint32_t)xt->shape[1], (uint32_t)xt->shape[2],
                          (uint32_t)xt->shape[3], (uint32_t)kernel,       (uint32_t)kernel,
                          (uint32_t)stride,       (uint32_t)stride,       (uint32_t)padding,
                          (uint32_t)padding};
    size_t oh = 0, ow = 0;
    if ((st = porta_pool_output_size(ctx, &s, &oh, &ow)))
        return st;
    graph_op op = {
        .kind = OP_POOL, .in = {x}, .iarg = {(int)kind, (int)kernel, (int)stride, (int)padding}};
    const size_t yshape[4] = {xt->shape[0], xt->shape[1], oh, ow};
    st = activation(ctx, g, kind == PORTA_POOL_MAX ? "maxpool" : "avgpool", 4, yshape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_global_avg_pool(porta_context *ctx, porta_graph *g, porta_tensor x,
                                         porta_tensor *y)
{
    const char *what = "porta_graph_global_avg_pool";
    porta_status st = start(ctx, g, x, y, what);
    if (!st)
        st = check_nchw(ctx, graph_tensor_get(g, x), what);
    if (st)
        return st;
    const graph_tensor *xt = graph_tensor_get(g, x);
    if (xt->shape[2] != xt->shape[3])
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: '%s' is %zu x %zu; square inputs only", what, xt->name,
                             xt->shape[2], xt->shape[3]);
    porta_tensor pooled;
    const size_t flat[2] = {xt->shape[0], xt->shape[1]};
    st = porta_graph_pool(ctx, g, PORTA_POOL_AVG, x, xt->shape[2], xt->shape[2], 0, &pooled);
    if (!st)
        st = porta_graph_reshape(ctx, g, pooled, 2, flat, y);
    return st;
}

porta_status porta_graph_activation(porta_context *ctx, porta_graph *g, porta_activation fn,
                                    porta_tensor x, porta_tensor *y)
{
    const char *what = "porta_graph_activation";
    porta_status st = start(ctx, g, x, y, what);
    if (!st && ((int)fn < (int)PORTA_RELU || (int)fn > (int)PORTA_SIGMOID))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: fn %d is not a porta_activation", what, (int)fn);
    if (st)
        return st;
    static const char *const names[] = {"relu", "gelu", "tanh", "sigmoid"};
    const graph_tensor *xt = graph_tensor_get(g, x);
    graph_op op = {.kind = OP_ACTIVATION, .in = {x}, .iarg = {(int)fn}};
    st = activation(ctx, g, names[fn], xt->ndim, xt->shape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

static int same_shape(const graph_tensor *a, const graph_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, a->ndim * sizeof *a->shape) == 0;
}

porta_status porta_graph_add(porta_context *ctx, porta_graph *g, porta_tensor a, porta_tensor b,
                             porta_tensor *y)
{
    const char *what = "porta_graph_add";
    porta_status st = start(ctx, g, a, y, what);
    if (!st)
        st = graph_check_tensor(ctx, g, b, PORTA_F32, what);
    if (st)
        return st;
    const graph_tensor *at = graph_tensor_get(g, a), *bt = graph_tensor_get(g, b);
    if (!same_shape(at, bt))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: '%s' and '%s' differ in shape", what, at->name, bt->name);
    graph_op op = {.kind = OP_ADD, .in = {a, b}};
    st = activation(ctx, g, "add", at->ndim, at->shape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_layernorm(porta_context *ctx, porta_graph *g, porta_tensor x, float eps,
                                   const char *name, porta_tensor *y)
{
    const char *what = "porta_graph_layernorm";
    char wname[GRAPH_NAME_MAX], bname[GRAPH_NAME_MAX];
    porta_status st = start(ctx, g, x, y, what);
    if (!st)
        st = param_name(ctx, name, ".weight", wname, what);
    if (!st)
        st = param_name(ctx, name, ".bias", bname, what);
    if (!st && !(eps > 0.0f && eps < 1.0f))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s '%s': eps %g is not in (0, 1)", what, name, (double)eps);
    if (st)
        return st;
    size_t cols = graph_tensor_get(g, x)->shape[graph_tensor_get(g, x)->ndim - 1];
    size_t rows = graph_rows(graph_tensor_get(g, x));
    graph_op op = {.kind = OP_LAYERNORM, .in = {x}, .farg = {eps}};
    st = porta_graph_parameter(ctx, g, wname, 1, &cols, PORTA_INIT_ONES, 0, false, &op.in[1]);
    if (!st)
        st = porta_graph_parameter(ctx, g, bname, 1, &cols, PORTA_INIT_ZEROS, 0, false, &op.in[2]);
    if (!st)
        st = aux(ctx, g, "ln_mean", AUX_SAVED, 1, &rows, &op.aux[0]);
    if (!st)
        st = aux(ctx, g, "ln_rstd", AUX_SAVED, 1, &rows, &op.aux[1]);
    /* the backward kernel always makes dx: an input's goes to scratch */
    const size_t elements = graph_tensor_get(g, x)->elements;
    if (!st && !graph_tensor_get(g, x)->requires_grad)
        st = aux(ctx, g, "ln_dx", AUX_BACKWARD, 1, &elements, &op.aux[2]);
    const graph_tensor *xt = graph_tensor_get(g, x);
    if (!st)
        st = activation(ctx, g, "layernorm", xt->ndim, xt->shape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_embedding(porta_context *ctx, porta_graph *g, porta_tensor tokens,
                                   size_t vocab, size_t dim, const char *name, porta_tensor *y,
                                   porta_tensor *table)
{
    const char *what = "porta_graph_embedding";
    char wname[GRAPH_NAME_MAX];
    porta_status st = graph_check_open(ctx, g, what);
    if (!st && !y)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: y is NULL", what);
    if (!st)
        st = graph_check_tensor(ctx, g, tokens, PORTA_U32, what);
    if (!st)
        st = param_name(ctx, name, ".weight", wname, what);
    if (!st && graph_tensor_get(g, tokens)->ndim >= PORTA_MAX_DIMS)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: tokens have %d dimensions already", what, PORTA_MAX_DIMS);
    if (st)
        return st;
    graph_op op = {.kind = OP_EMBEDDING, .in = {tokens}};
    const size_t wshape[2] = {vocab, dim};
    st = porta_graph_parameter(ctx, g, wname, 2, wshape, PORTA_INIT_NORMAL, 0.02f, true, &op.in[1]);
    if (st)
        return st;
    const graph_tensor *tt = graph_tensor_get(g, tokens);
    size_t shape[PORTA_MAX_DIMS];
    memcpy(shape, tt->shape, tt->ndim * sizeof *shape);
    shape[tt->ndim] = dim;
    st = activation(ctx, g, "embedding", tt->ndim + 1, shape, &op.out);
    if (!st)
        st = graph_op_add(ctx, g, &op);
    if (!st) {
        *y = op.out;
        if (table)
            *table = op.in[1];
    }
    return st;
}

porta_status porta_graph_dropout(porta_context *ctx, porta_graph *g, porta_tensor x, float p,
                                 porta_tensor *y)
{
    const char *what = "porta_graph_dropout";
    porta_status st = start(ctx, g, x, y, what);
    if (!st && !(p >= 0.0f && p < 1.0f))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: p %g is not in [0, 1)",
                           what, (double)p);
    if (st)
        return st;
    const graph_tensor *xt = graph_tensor_get(g, x);
    graph_op op = {.kind = OP_DROPOUT, .in = {x}, .farg = {p}};
    st = activation(ctx, g, "dropout", xt->ndim, xt->shape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_attention(porta_context *ctx, porta_graph *g, porta_tensor qkv,
                                   size_t heads, bool causal, porta_tensor *y)
{
    const char *what = "porta_graph_attention";
    porta_status st = start(ctx, g, qkv, y, what);
    if (st)
        return st;
    const graph_tensor *xt = graph_tensor_get(g, qkv);
    if (xt->ndim != 3 || xt->shape[2] % 3 != 0 || heads == 0 || (xt->shape[2] / 3) % heads != 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: qkv '%s' must be [B, T, 3 C] with C a multiple of heads (%zu)",
                             what, xt->name, heads);
    const size_t B = xt->shape[0], T = xt->shape[1], C = xt->shape[2] / 3, D = C / heads;
    graph_op op = {.kind = OP_ATTENTION, .in = {qkv}, .iarg = {(int)heads, causal ? 1 : 0}};
    const size_t heads_shape[5] = {3, B, heads, T, D};
    const size_t probs_shape[4] = {B, heads, T, T};
    const size_t out_heads_shape[4] = {B, heads, T, D};
    const size_t yshape[3] = {B, T, C};
    st = aux(ctx, g, "attn_heads", AUX_SAVED, 5, heads_shape, &op.aux[0]);
    if (!st)
        st = aux(ctx, g, "attn_probs", AUX_SAVED, 4, probs_shape, &op.aux[1]);
    if (!st)
        st = aux(ctx, g, "attn_out_heads", AUX_FORWARD, 4, out_heads_shape, &op.aux[2]);
    if (!st)
        st = aux(ctx, g, "attn_scores", AUX_FORWARD, 4, probs_shape, &op.aux[3]);
    if (!st)
        st = aux(ctx, g, "attn_d_out_heads", AUX_BACKWARD, 4, out_heads_shape, &op.aux[4]);
    if (!st)
        st = aux(ctx, g, "attn_d_heads", AUX_BACKWARD, 5, heads_shape, &op.aux[5]);
    if (!st)
        st = aux(ctx, g, "attn_d_probs", AUX_BACKWARD, 4, probs_shape, &op.aux[6]);
    if (!st)
        st = aux(ctx, g, "attn_d_scores", AUX_BACKWARD, 4, probs_shape, &op.aux[7]);
    if (!st)
        st = activation(ctx, g, "attention", 3, yshape, &op.out);
    return add_op(ctx, g, &op, st, y);
}

porta_status porta_graph_reshape(porta_context *ctx, porta_graph *g, porta_tensor x, unsigned ndim,
                                 const size_t *shape, porta_tensor *y)
{
    const char *what = "porta_graph_reshape";
    porta_status st = graph_check_open(ctx, g, what);
    if (!st && !y)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: y is NULL", what);
    const graph_tensor *xt = graph_tensor_get(g, x);
    if (!st && !xt)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: %u is not a tensor of this graph", what, (unsigned)x);
    if (!st && xt->kind == GRAPH_LOSS)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: the loss partials cannot be reshaped", what);
    if (st)
        return st;
    const porta_dtype dtype = xt->dtype;
    const size_t elements = xt->elements;
    graph_op op = {.kind = OP_RESHAPE, .in = {x}};
    char name[GRAPH_NAME_MAX];
    snprintf(name, sizeof name, "op%zu.reshape", g->n_ops);
    st = graph_tensor_add(ctx, g, name, GRAPH_ACTIVATION, dtype, ndim, shape, &op.out);
    if (st)
        return st;
    graph_tensor *yt = graph_tensor_get(g, op.out);
    if (yt->elements != elements) {
        g->n_tensors--;
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu elements cannot take a shape of %zu", what, elements,
                             yt->elements);
    }
    yt->alias_of = x;
    st = graph_op_add(ctx, g, &op);
    if (!st)
        *y = op.out;
    return st;
}

porta_status porta_graph_cross_entropy(porta_context *ctx, porta_graph *g, porta_tensor logits,
                                       porta_tensor labels, porta_tensor *loss)
{
    const char *what = "porta_graph_cross_entropy";
    porta_status st = start(ctx, g, logits, loss, what);
    if (!st)
        st = graph_check_tensor(ctx, g, labels, PORTA_U32, what);
    if (!st && g->loss)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "%s: the graph has a loss already", what);
    if (st)
        return st;
    const graph_tensor *lt = graph_tensor_get(g, logits), *yt = graph_tensor_get(g, labels);
    const size_t rows = graph_rows(lt);
    if (yt->elements != rows)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu labels for %zu rows of logits", what, yt->elements, rows);
    if (!lt->requires_grad)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: the logits depend on no parameter: nothing to train", what);
    const size_t partials = rows < 64 ? rows : 64;
    graph_op op = {.kind = OP_CROSS_ENTROPY, .in = {logits, labels}};
    st = graph_tensor_add(ctx, g, "loss_partials", GRAPH_LOSS, PORTA_F32, 1, &partials, &op.out);
    if (!st)
        st = graph_op_add(ctx, g, &op);
    if (!st) {
        g->loss = op.out;
        g->logits = logits;
        g->labels = labels;
        g->loss_rows = rows;
        *loss = op.out;
    }
    return st;
}
