/* graph_backward.c: each op's backward pass. op->need_grad[i] says whether
 * input i's gradient is computed, op->accumulate[i] whether it is added to
 * what an op later in the graph already wrote there (graph_compile.c). */
#include "graph/graph_internal.h"

#define V(t) graph_view(graph_value(g, (t)), 0)
#define G(t) graph_view(graph_grad(g, (t)), 0)
/* The value / gradient of tensor t as one matrix: leading dimension ld, op. */
#define VM(t, ld, tr) graph_matrix(graph_value(g, (t)), 0, (ld), 0, (tr))
#define GM(t, ld, tr) graph_matrix(graph_grad(g, (t)), 0, (ld), 0, (tr))

static size_t last_dim(const porta_graph *g, porta_tensor t)
{
    const graph_tensor *x = graph_tensor_get(g, t);
    return x->shape[x->ndim - 1];
}

/* dy into a gradient: written (copy) or added (y += 1 * x is exact). */
static porta_status pass_through(porta_context *ctx, porta_graph *g, porta_tensor from,
                                 porta_tensor to, int accumulate, size_t n)
{
    if (accumulate)
        return porta_vec_axpy(ctx, 1.0f, G(from), G(to), n);
    return porta_vec_copy(ctx, G(from), G(to), n);
}

/* y = x W^T (+ b), or y = x W when !transpose. */
static porta_status matmul_backward(porta_context *ctx, porta_graph *g, const graph_op *op,
                                    bool transpose)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    const size_t rows = graph_rows(x), k = last_dim(g, op->in[0]), n = last_dim(g, op->out);
    porta_status st = PORTA_OK;
    if (op->need_grad[0]) /* dx = dy W (W [n, k]) or dy W^T (W [k, n]) */
        st = porta_gemm(ctx, rows, k, n, 1.0f, GM(op->out, n, false),
                        VM(op->in[1], transpose ? k : n, !transpose),
                        op->accumulate[0] ? 1.0f : 0.0f, GM(op->in[0], k, false), 1);
    if (!st && op->need_grad[1]) {
        if (transpose) /* dW [n, k] = dy^T x */
            st = porta_gemm(ctx, n, k, rows, 1.0f, GM(op->out, n, true), VM(op->in[0], k, false),
                            op->accumulate[1] ? 1.0f : 0.0f, GM(op->in[1], k, false), 1);
        else /* dW [k, n] = x^T dy */
            st = porta_gemm(ctx, k, n, rows, 1.0f, VM(op->in[0], k, true), GM(op->out, n, false),
                            op->accumulate[1] ? 1.0f : 0.0f, GM(op->in[1], n, false), 1);
    }
    if (!st && op->kind == OP_LINEAR && op->in[2] && op->need_grad[2])
        st = porta_bias_backward(ctx, rows, n, G(op->out), G(op->in[2]), op->accumulate[2]);
    return st;
}

static porta_status conv_backward(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    const porta_conv2d_shape s = graph_conv_shape(g, op);
    porta_status st = PORTA_OK;
    if (op->need_grad[0])
        st = porta_conv2d_backward_data(ctx, &s, G(op->out), V(op->in[1]), G(op->in[0]),
                                        op->accumulate[0]);
    if (!st && op->need_grad[1]) {
        /* one accumulate flag covers weight and bias: a layer's own
         * parameters are each used once, so both are written */
        graph_ref db =
            op->in[2] && op->need_grad[2] ? graph_grad(g, op->in[2]) : (graph_ref){NULL, 0};
        if (op->in[2] && op->need_grad[2] && op->accumulate[2] != op->accumulate[1])
            return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                                 "graph: a conv2d weight and bias shared unevenly");
        st = porta_conv2d_backward_filter(ctx, &s, V(op->in[0]), G(op->out), G(op->in[1]),
                                          graph_view(db, 0), op->accumulate[1]);
    }
    return st;
}

/* The layer-norm kernel has one accumulate flag for dx, dgamma and dbeta:
 * when they differ, zero the written ones first and add to all. */
static porta_status layernorm_backward(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    const size_t rows = graph_rows(x), cols = last_dim(g, op->in[0]);
    const graph_ref dx = op->need_grad[0] ? graph_grad(g, op->in[0]) : graph_value(g, op->aux[2]);
    const int acc_x = op->need_grad[0] && op->accumulate[0];
    const int acc_p = op->accumulate[1] || op->accumulate[2];
    porta_status st = PORTA_OK;
    int accumulate = acc_x;
    if (acc_x != acc_p || op->accumulate[1] != op->accumulate[2]) {
        accumulate = 1;
        if (!acc_x)
            st = porta_vec_fill(ctx, graph_view(dx, 0), x->elements, 0.0f);
        if (!st && !op->accumulate[1])
            st = porta_vec_fill(ctx, G(op->in[1]), cols, 0.0f);
        if (!st && !op->accumulate[2])
            st = porta_vec_fill(ctx, G(op->in[2]), cols, 0.0f);
    }
    if (!st)
        st = porta_layernorm_backward(ctx, rows, cols, G(op->out), V(op->in[0]), V(op->in[1]),
                                      V(op->aux[0]), V(op->aux[1]), graph_view(dx, 0), G(op->in[1]),
                                      G(op->in[2]), accumulate);
    return st;
}

static porta_status attention_backward(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    const graph_attention_dims a = graph_attention_shape(g, op);
    const graph_ref dy = graph_grad(g, op->out), heads = graph_value(g, op->aux[0]),
                    probs = graph_value(g, op->aux[1]), d_out = graph_value(g, op->aux[4]),
                    d_heads = graph_value(g, op->aux[5]), d_probs = graph_value(g, op->aux[6]),
                    d_scores = graph_value(g, op->aux[7]), dqkv = graph_grad(g, op->in[0]);
    const size_t T = a.T, D = a.D, C = a.C, H = a.H, TD = T * D, TT = T * T;
    /* d_out[b][h][t][d] = dy[b][t][h * D + d] */
    const size_t split_shape[4] = {a.B, H, T, D};
    const size_t split_strides[4] = {T * C, D, C, 1};
    porta_status st = porta_tensor_gather(ctx, 4, split_shape, split_strides, graph_view(dy, 0),
                                          graph_view(d_out, 0), false);
    if (!st) /* d_probs = d_out v^T */
        st = porta_gemm(ctx, T, T, D, 1.0f, graph_matrix(d_out, 0, D, TD, false),
                        graph_matrix(heads, 2 * a.third, D, TD, true), 0.0f,
                        graph_matrix(d_probs, 0, T, TT, false), a.BH);
    if (!st) /* dv = probs^T d_out */
        st = porta_gemm(ctx, T, D, T, 1.0f, graph_matrix(probs, 0, T, TT, true),
                        graph_matrix(d_out, 0, D, TD, false), 0.0f,
                        graph_matrix(d_heads, 2 * a.third, D, TD, false), a.BH);
    if (!st)
        st = porta_attention_softmax_backward(ctx, a.BH, T, a.scale, graph_view(probs, 0),
                                              graph_view(d_probs, 0), graph_view(d_scores, 0),
                                              false);
    if (!st) /* dq = d_scores k */
        st = porta_gemm(ctx, T, D, T, 1.0f, graph_matrix(d_scores, 0, T, TT, false),
                        graph_matrix(heads, a.third, D, TD, false), 0.0f,
                        graph_matrix(d_heads, 0, D, TD, false), a.BH);
    if (!st) /* dk = d_scores^T q */
        st = porta_gemm(ctx, T, D, T, 1.0f, graph_matrix(d_scores, 0, T, TT, true),
                        graph_matrix(heads, 0, D, TD, false), 0.0f,
                        graph_matrix(d_heads, a.third, D, TD, false), a.BH);
    /* dqkv[b][t][s * C + h * D + d] = d_heads[s][b][h][t][d] */
    const size_t merge_shape[5] = {a.B, T, 3, H, D};
    const size_t merge_strides[5] = {H * TD, D, a.third, TD, 1};
    if (!st)
        st = porta_tensor_gather(ctx, 5, merge_shape, merge_strides, graph_view(d_heads, 0),
                                 graph_view(dqkv, 0), op->accumulate[0]);
    return st;
}

porta_status graph_op_backward(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    const graph_tensor *x = graph_tensor_get(g, op->in[0]);
    porta_status st = PORTA_OK;
    switch (op->kind) {
    case OP_LINEAR:
        return matmul_backward(ctx, g, op, true);
    case OP_MATMUL:
        return matmul_backward(ctx, g, op, op->iarg[0] != 0);
    case OP_CONV2D:
        return conv_backward(ctx, g, op);
    case OP_POOL: {
        const porta_pool_shape s = graph_pool_shape(g, op);
        return porta_pool_backward(ctx, (porta_pool_kind)op->iarg[0], &s, V(op->in[0]), G(op->out),
                                   G(op->in[0]), op->accumulate[0]);
    }
    case OP_ACTIVATION:
        return porta_activation_backward(ctx, (porta_activation)op->iarg[0], V(op->in[0]),
                                         G(op->out), G(op->in[0]), x->elements, op->accumulate[0]);
    case OP_ADD:
        for (int i = 0; i < 2 && !st; i++)
            if (op->need_grad[i])
                st = pass_through(ctx, g, op->out, op->in[i], op->accumulate[i], x->elements);
        return st;
    case OP_LAYERNORM:
        return layernorm_backward(ctx, g, op);
    case OP_EMBEDDING: {
        const graph_tensor *table = graph_tensor_get(g, op->in[1]);
        return porta_embedding_backward(ctx, V(op->in[0]), x->elements, G(op->out), table->shape[0],
                                        table->shape[1], G(op->in[1]), op->accumulate[1]);
    }
    case OP_DROPOUT:
        if (op->farg[0] > 0.0f)
            return porta_dropout_backward(ctx, op->farg[0], graph_dropout_seed(g, op),
                                          graph_dropout_step(g), x->elements, G(op->out),
                                          G(op->in[0]), op->accumulate[0]);
        return pass_through(ctx, g, op->out, op->in[0], op->accumulate[0], x->elements);
    case OP_ATTENTION:
        return attention_backward(ctx, g, op);
    case OP_RESHAPE:
    case OP_CROSS_ENTROPY:
        return PORTA_OK; /* nothing to do / done in the forward */
    }
    return st;
}
