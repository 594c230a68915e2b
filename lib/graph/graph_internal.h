/* graph_internal.h: the graph object shared by the lib/graph files. lib-internal.
 *
 * A graph is a table of tensors and a list of forward ops. Compiling adds,
 * per op, what its backward pass needs (which input gradients to compute,
 * whether each one is written or added to), places every activation and
 * gradient in one arena (graph_plan.c) and creates the optimizer whose
 * arenas hold parameters and their gradients. */
#ifndef PORTA_GRAPH_INTERNAL_H
#define PORTA_GRAPH_INTERNAL_H

#include "internal.h"

#define GRAPH_NAME_MAX 96
#define GRAPH_OP_INPUTS 3
#define GRAPH_OP_AUX 8

typedef enum graph_tensor_kind {
    GRAPH_INPUT,      /* filled by the caller; a buffer of its own */
    GRAPH_PARAMETER,  /* in the optimizer's arenas */
    GRAPH_ACTIVATION, /* in the planned arena */
    GRAPH_LOSS        /* the cross-entropy loss partials; a buffer of its own */
} graph_tensor_kind;

/* When an op's helper tensor lives: from the forward op to its backward
 * (saved), only during the forward op, or only during the backward op. */
typedef enum graph_aux_life { AUX_SAVED = 0, AUX_FORWARD = 1, AUX_BACKWARD = 2 } graph_aux_life;

typedef struct graph_tensor {
    char name[GRAPH_NAME_MAX];
    graph_tensor_kind kind;
    porta_dtype dtype;
    unsigned ndim;
    size_t shape[PORTA_MAX_DIMS];
    size_t elements;
    porta_tensor alias_of; /* reshape: shares the storage of this tensor (0: none) */
    int requires_grad;     /* a parameter, or computed from one */
    graph_aux_life life;   /* for op helper tensors */

    /* parameters */
    porta_init init;
    float init_scale;
    int decay;
    size_t fan_in; /* non-zero: overrides the shape's (a layer's bias uses the layer's) */
    size_t opt_index;

    /* storage (after compile): value and, for roots that need one, gradient */
    porta_buffer *buffer;
    size_t offset; /* elements */
    porta_buffer *grad_buffer;
    size_t grad_offset;

    /* planning (roots only): schedule positions of first write and last
     * use of the value and of the gradient; -1 when unused */
    int value_first, value_last;
    int grad_first, grad_last;
    int grad_written; /* autodiff bookkeeping: some backward op wrote it */
} graph_tensor;

typedef enum graph_op_kind {
    OP_LINEAR,       /* in: x, w, [b] */
    OP_MATMUL,       /* in: x, w; iarg[0] transpose_w */
    OP_CONV2D,       /* in: x, w, [b]; iarg: kernel, stride, padding */
    OP_POOL,         /* in: x; iarg: kind, kernel, stride, padding */
    OP_ACTIVATION,   /* in: x; iarg[0] fn */
    OP_ADD,          /* in: a, b */
    OP_LAYERNORM,    /* in: x, gamma, beta; aux: mean, rstd; farg[0] eps */
    OP_EMBEDDING,    /* in: tokens, table */
    OP_DROPOUT,      /* in: x; farg[0] p */
    OP_ATTENTION,    /* in: qkv; iarg: heads, causal; aux: heads, probs (saved), out_heads,
                        scores (forward), d_out_heads, d_heads, d_probs, d_scores (backward) */
    OP_RESHAPE,      /* in: x; out aliases x */
    OP_CROSS_ENTROPY /* in: logits, labels; out: loss partials */
} graph_op_kind;

typedef struct graph_op {
    graph_op_kind kind;
    porta_tensor in[GRAPH_OP_INPUTS]; /* 0: absent */
    porta_tensor out;
    porta_tensor aux[GRAPH_OP_AUX];
    int iarg[4];
    float farg[2];
    /* compiled: compute the gradient of input i (and add to it when acc[i]) */
    int need_grad[GRAPH_OP_INPUTS];
    int accumulate[GRAPH_OP_INPUTS];
    int has_backward;
    /* compiled: a linear op followed by an activation of its output runs
     * both in one GEMM (its epilogue): the linear's output keeps the
     * pre-activation (the activation's backward reads it), fused_act_out
     * (0: no fusion) gets fused_act_fn of it, and that activation op has
     * fused_forward set (its forward pass is done) */
    porta_tensor fused_act_out;
    int fused_act_fn;
    int fused_forward;
} graph_op;

struct porta_graph {
    uint64_t seed;
    graph_tensor *tensors; /* tensors[0] unused: porta_tensor 0 is never valid */
    size_t n_tensors, cap_tensors;
    graph_op *ops;
    size_t n_ops, cap_ops;
    porta_tensor *params; /* in creation order */
    size_t n_params, cap_params;
    porta_tensor loss, logits, labels;
    size_t loss_rows;

    int compiled;
    porta_optimizer *opt;
    porta_buffer **arenas; /* the activation arenas, each within the device's largest buffer */
    size_t n_arenas;
    size_t arena_bytes, unplanned_bytes, input_bytes;
    size_t loss_partials;

    /* porta_graph_options::profile (or $PORTA_GRAPH_PROFILE), set at
     * creation: in training steps wait after every op and add up where the
     * time goes (forward [0] and backward [1] per op kind, then the
     * optimizer step); printed to stderr when the graph is destroyed after
     * at least one training step. */
    int profile;
    double profile_seconds[2][OP_CROSS_ENTROPY + 2];
    uint64_t profile_steps;
};

/* Where a tensor's value / gradient lives (after compile). */
typedef struct graph_ref {
    porta_buffer *buf;
    size_t off;
} graph_ref;
graph_ref graph_value(const porta_graph *g, porta_tensor t);
graph_ref graph_grad(const porta_graph *g, porta_tensor t);

/* A ref `skip` elements in, as a kernel call's view: to the end of its
 * buffer (the arena is shared; each call checks its own extent). A ref
 * without a buffer (an absent bias) is none. */
static inline porta_view graph_view(graph_ref r, size_t skip)
{
    return porta_view_at(r.buf, r.off + skip);
}

/* The matrix at graph_view(r, skip) with leading dimension ld, batch
 * stride and transposition. */
static inline porta_matrix graph_matrix(graph_ref r, size_t skip, size_t ld, size_t batch_stride,
                                        bool transposed)
{
    porta_matrix m = porta_matrix_of(graph_view(r, skip), ld);
    m.batch_stride = batch_stride;
    m.transposed = transposed;
    return m;
}

/* The tensor behind a handle (NULL if invalid). */
graph_tensor *graph_tensor_get(const porta_graph *g, porta_tensor t);

/* The tensor whose storage t uses (itself unless t is a reshape). */
graph_tensor *graph_root(const porta_graph *g, porta_tensor t);

/* Add a tensor; *out its handle. shape has ndim sizes. */
porta_status graph_tensor_add(porta_context *ctx, porta_graph *g, const char *name,
                              graph_tensor_kind kind, porta_dtype dtype, unsigned ndim,
                              const size_t *shape, porta_tensor *out);

/* Append an op (copied); its out / aux tensors must exist. */
porta_status graph_op_add(porta_context *ctx, porta_graph *g, const graph_op *op);

/* Fail unless the graph can still take layers and t is a valid tensor. */
porta_status graph_check_open(porta_context *ctx, const porta_graph *g, const char *what);
porta_status graph_check_tensor(porta_context *ctx, const porta_graph *g, porta_tensor t,
                                porta_dtype dtype, const char *what);

/* Rows and last dimension of a tensor seen as a matrix. */
size_t graph_rows(const graph_tensor *t);

/* Fill n parameters with the tensor's initialisation (graph_init.c). */
void graph_init_values(const porta_graph *g, const graph_tensor *t, size_t index, float *values);

/* Memory planning (graph_plan.c): place items [first, last] of `bytes`
 * each in arenas of at most `cap` bytes, at offsets (multiples of `align`)
 * such that items of one arena whose lifetimes overlap never share bytes.
 * arena_bytes (room for n entries: at most one arena per item) receives
 * each arena's size, *n_arenas their number. Returns 0; -1 out of host
 * memory; -2 when an item is larger than cap (its arena is then
 * GRAPH_PLAN_TOO_LARGE). */
#define GRAPH_PLAN_TOO_LARGE ((size_t)-1)
typedef struct graph_plan_item {
    size_t bytes;
    int first, last;
    size_t offset; /* results: where it goes */
    size_t arena;
} graph_plan_item;
int graph_plan(graph_plan_item *items, size_t n, size_t align, size_t cap, size_t *arena_bytes,
               size_t *n_arenas);

/* Shapes the kernels of an op take, derived from its tensors. */
typedef struct graph_attention_dims {
    size_t B, T, C, H, D, BH;
    size_t third; /* elements of q (or k, or v) in the heads layout [3][B][H][T][D] */
    float scale;  /* 1 / sqrt(D) */
} graph_attention_dims;
porta_conv2d_shape graph_conv_shape(const porta_graph *g, const graph_op *op);
porta_pool_shape graph_pool_shape(const porta_graph *g, const graph_op *op);
graph_attention_dims graph_attention_shape(const porta_graph *g, const graph_op *op);
/* The dropout stream of an op: the graph seed mixed with the op's index;
 * its counter is the optimizer's step count, so a restored optimizer
 * continues the same masks. */
uint64_t graph_dropout_seed(const porta_graph *g, const graph_op *op);
uint64_t graph_dropout_step(const porta_graph *g);

/* Run the forward pass of op (training: dropout on) and its backward
 * (graph_forward.c, graph_backward.c). */
porta_status graph_op_forward(porta_context *ctx, porta_graph *g, const graph_op *op, int training);
porta_status graph_op_backward(porta_context *ctx, porta_graph *g, const graph_op *op);

#endif
