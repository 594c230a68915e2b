/* graph_forward.c: each op's forward pass, as calls of the layer kernels. */
#include <math.h>

#include "graph/graph_internal.h"
#include "optim/optimizer_internal.h"

#define V(t) graph_view(graph_value(g, (t)), 0)
/* The value of tensor t as one matrix: leading dimension ld, op. */
#define VM(t, ld, tr) graph_matrix(graph_value(g, (t)), 0, (ld), 0, (tr))

static size_t last_dim(const porta_graph *g, porta_tensor t)
{
    const graph_tensor *x = graph_tensor_get(g, t);
    return x->shape[x->ndim - 1];
}

porta_conv2d_shape graph_conv_shape(const porta_graph *g, const graph_op *op)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    const graph_tensor *y = graph_tensor_get(g, op->out);
    const uint32_t k = (uint32_t)op->iarg[0], s = (uint32_t)op->iarg[1], p = (uint32_t)op->iarg[2];
    return (porta_conv2d_shape){(uint32_t)x->shape[0],
                                (uint32_t)x->shape[1],
                                (uint32_t)x->shape[2],
                                (uint32_t)x->shape[3],
                                (uint32_t)y->shape[1],
                                k,
                                k,
                                s,
                                s,
                                p,
                                p,
                                1,
                                1};
}

porta_pool_shape graph_pool_shape(const porta_graph *g, const graph_op *op)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    const uint32_t k = (uint32_t)op->iarg[1], s = (uint32_t)op->iarg[2], p = (uint32_t)op->iarg[3];
    return (porta_pool_shape){(uint32_t)x->shape[0],
                              (uint32_t)x->shape[1],
                              (uint32_t)x->shape[2],
                              (uint32_t)x->shape[3],
                              k,
                              k,
                              s,
                              s,
                              p,
                              p};
}

graph_attention_dims graph_attention_shape(const porta_graph *g, const graph_op *op)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    graph_attention_dims a;
    a.B = x->shape[0];
    a.T = x->shape[1];
    a.C = x->shape[2] / 3;
    a.H = (size_t)op->iarg[0];
    a.D = a.C / a.H;
    a.BH = a.B * a.H;
    a.third = a.BH * a.T * a.D; /* elements of q (or k, or v) in the heads layout */
    a.scale = (float)(1.0 / sqrt((double)a.D));
    return a;
}

uint64_t graph_dropout_seed(const porta_graph *g, const graph_op *op)
{
    return g->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(op - g->ops + 1));
}

uint64_t graph_dropout_step(const porta_graph *g)
{
    return g->opt->steps;
}

static porta_status attention_forward(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    const graph_attention_dims a = graph_attention_shape(g, op);
    const graph_ref qkv = graph_value(g, op->in[0]), heads = graph_value(g, op->aux[0]),
                    probs = graph_value(g, op->aux[1]), out_heads = graph_value(g, op->aux[2]),
                    scores = graph_value(g, op->aux[3]), y = graph_value(g, op->out);
    const size_t T = a.T, D = a.D, C = a.C, H = a.H;
    /* heads[s][b][h][t][d] = qkv[b][t][s * C + h * D + d] */
    const size_t split_shape[5] = {3, a.B, H, T, D};
    const size_t split_strides[5] = {C, T * 3 * C, D, 3 * C, 1};
    porta_status st = porta_tensor_gather(ctx, 5, split_shape, split_strides, graph_view(qkv, 0),
                                          graph_view(heads, 0), false);
    if (!st) /* scores = q k^T per (b, h) */
        st = porta_gemm(ctx, T, T, D, 1.0f, graph_matrix(heads, 0, D, T * D, false),
                        graph_matrix(heads, a.third, D, T * D, true), 0.0f,
                        graph_matrix(scores, 0, T, T * T, false), a.BH);
    if (!st)
        st = porta_attention_softmax_forward(ctx, a.BH, T, a.scale, op->iarg[1] != 0,
                                             graph_view(scores, 0), graph_view(probs, 0));
    if (!st) /* out_heads = probs v */
        st = porta_gemm(ctx, T, D, T, 1.0f, graph_matrix(probs, 0, T, T * T, false),
                        graph_matrix(heads, 2 * a.third, D, T * D, false), 0.0f,
                        graph_matrix(out_heads, 0, D, T * D, false), a.BH);
    /* y[b][t][h * D + d] = out_heads[b][h][t][d] */
    const size_t merge_shape[4] = {a.B, T, H, D};
    const size_t merge_strides[4] = {H * T * D, D, T * D, 1};
    if (!st)
        st = porta_tensor_gather(ctx, 4, merge_shape, merge_strides, graph_view(out_heads, 0),
                                 graph_view(y, 0), false);
    return st;
}

/* y = x W^T + b in one GEMM whose epilogue adds the bias; when an
 * activation is fused (graph_compile.c), its output gets f(y) from the same
 * epilogue and y (the pre-activation its backward needs) is stored too. */
static porta_status linear_forward(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    const size_t rows = graph_rows(graph_tensor_get(g, op->in[0]));
    const size_t k = last_dim(g, op->in[0]), n = last_dim(g, op->out);
    const graph_ref x = graph_value(g, op->in[0]), w = graph_value(g, op->in[1]),
                    y = graph_value(g, op->out);
    const graph_ref b = op->in[2] ? graph_value(g, op->in[2]) : (graph_ref){NULL, 0};
    const porta_matrix xm = graph_matrix(x, 0, k, 0, false), wm = graph_matrix(w, 0, k, 0, true);
    if (!op->fused_act_out) {
        const porta_gemm_epilogue e = {graph_view(b, 0), PORTA_ACTIVATION_NONE, porta_view_none()};
        return porta_gemm_bias_act(ctx, rows, n, k, 1.0f, xm, wm, 0.0f,
                                   graph_matrix(y, 0, n, 0, false), &e);
    }
    const graph_ref act = graph_value(g, op->fused_act_out);
    const porta_gemm_epilogue e = {graph_view(b, 0), (porta_activation)op->fused_act_fn,
                                   graph_view(y, 0)};
    return porta_gemm_bias_act(ctx, rows, n, k, 1.0f, xm, wm, 0.0f,
                               graph_matrix(act, 0, n, 0, false), &e);
}

porta_status graph_op_forward(porta_context *ctx, porta_graph *g, const graph_op *op, int training)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    const graph_tensor *y = graph_tensor_get(g, op->out);
    porta_status st = PORTA_OK;
    switch (op->kind) {
    case OP_LINEAR:
        st = linear_forward(ctx, g, op);
        break;
    case OP_MATMUL: {
        const size_t rows = graph_rows(x), k = last_dim(g, op->in[0]), n = last_dim(g, op->out);
        const bool transpose = op->iarg[0] != 0;
        st =
            porta_gemm(ctx, rows, n, k, 1.0f, VM(op->in[0], k, false),
                       VM(op->in[1], transpose ? k : n, transpose), 0.0f, VM(op->out, n, false), 1);
        break;
    }
    case OP_CONV2D: {
        const porta_conv2d_shape s = graph_conv_shape(g, op);
        graph_ref b = op->in[2] ? graph_value(g, op->in[2]) : (graph_ref){NULL, 0};
        st =
            porta_conv2d_forward(ctx, &s, V(op->in[0]), V(op->in[1]), graph_view(b, 0), V(op->out));
        break;
    }
    case OP_POOL: {
        const porta_pool_shape s = graph_pool_shape(g, op);
        st = porta_pool_forward(ctx, (porta_pool_kind)op->iarg[0], &s, V(op->in[0]), V(op->out));
        break;
    }
    case OP_ACTIVATION:
        if (op->fused_forward)
            break; /* computed by the linear op before it */
        st = porta_activation_forward(ctx, (porta_activation)op->iarg[0], V(op->in[0]), V(op->out),
                                      x->elements);
        break;
    case OP_ADD:
        st = porta_vec_add(ctx, V(op->in[0]), V(op->in[1]), V(op->out), x->elements);
        break;
    case OP_LAYERNORM:
        st = porta_layernorm_forward(ctx, graph_rows(x), last_dim(g, op->in[0]), op->farg[0],
                                     V(op->in[0]), V(op->in[1]), V(op->in[2]), V(op->out),
                                     V(op->aux[0]), V(op->aux[1]));
        break;
    case OP_EMBEDDING: {
        const graph_tensor *table = graph_tensor_get(g, op->in[1]);
        st = porta_embedding_forward(ctx, V(op->in[0]), x->elements, V(op->in[1]), table->shape[0],
                                     table->shape[1], V(op->out));
        break;
    }
    case OP_DROPOUT:
        if (training && op->farg[0] > 0.0f)
            st =
                porta_dropout_forward(ctx, op->farg[0], graph_dropout_seed(g, op),
                                      graph_dropout_step(g), x->elements, V(op->in[0]), V(op->out));
        else
            st = porta_vec_copy(ctx, V(op->in[0]), V(op->out), x->elements);
        break;
    case OP_ATTENTION:
        st = attention_forward(ctx, g, op);
        break;
    case OP_RESHAPE:
        break; /* the output is the input's storage */
    case OP_CROSS_ENTROPY: {
        const size_t rows = graph_rows(x);
        const graph_ref dlogits = graph_grad(g, op->in[0]);
        size_t count = 0;
        st = porta_cross_entropy(ctx, V(op->in[0]), V(op->in[1]), rows, last_dim(g, op->in[0]),
                                 1.0f / (float)rows, graph_view(dlogits, 0), V(op->out), &count);
        if (!st && count != y->elements)
            st = porta_msg_set(&ctx->msg, PORTA_ERROR_MISMATCH,
                               "graph: the loss wrote %zu partials, %zu planned", count,
                               y->elements);
        break;
    }
    }
    return st;
}
