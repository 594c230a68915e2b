/* graph_run.c: running a compiled graph: inputs, training steps,
 * evaluation, and access to its tensors and parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "graph/graph_internal.h"

static porta_status check_compiled(porta_context *ctx, const porta_graph *g, const char *what)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!g)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: graph is NULL", what);
    if (!g->compiled)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: compile the graph first (porta_graph_compile)", what);
    return PORTA_OK;
}

porta_status porta_graph_set_input(porta_context *ctx, porta_graph *g, porta_tensor input,
                                   const void *data, size_t bytes)
{
    const char *what = "porta_graph_set_input";
    porta_status st = check_compiled(ctx, g, what);
    if (st)
        return st;
    const graph_tensor *t = graph_tensor_get(g, input);
    if (!t || t->kind != GRAPH_INPUT)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %u is not an input of this graph", what, (unsigned)input);
    if (!data || bytes != t->elements * 4)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s '%s': %zu bytes given, the input holds %zu", what, t->name,
                             data ? bytes : 0, t->elements * 4);
    return porta_buffer_write(ctx, t->buffer, 0, bytes, data);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Profiling only: wait for the device and charge the time since *t to
 * (direction, slot). */
static porta_status profile_mark(porta_context *ctx, porta_graph *g, int direction, int slot,
                                 double *t)
{
    porta_status st = porta_finish(ctx);
    const double now = now_seconds();
    g->profile_seconds[direction][slot] += now - *t;
    *t = now;
    return st;
}

static porta_status forward(porta_context *ctx, porta_graph *g, int training)
{
    porta_status st = PORTA_OK;
    double t = now_seconds();
    for (size_t k = 0; k < g->n_ops && !st; k++) {
        st = graph_op_forward(ctx, g, &g->ops[k], training);
        if (!st && g->profile && training)
            st = profile_mark(ctx, g, 0, (int)g->ops[k].kind, &t);
    }
    return st;
}

porta_status porta_graph_train_step(porta_context *ctx, porta_graph *g)
{
    porta_status st = check_compiled(ctx, g, "porta_graph_train_step");
    if (!st && g->profile)
        st = porta_finish(ctx);
    if (!st)
        st = forward(ctx, g, 1);
    double t = now_seconds();
    for (size_t k = g->n_ops; k-- > 0 && !st;) {
        if (!g->ops[k].has_backward)
            continue;
        st = graph_op_backward(ctx, g, &g->ops[k]);
        if (!st && g->profile)
            st = profile_mark(ctx, g, 1, (int)g->ops[k].kind, &t);
    }
    if (!st)
        st = porta_optimizer_step(ctx, g->opt, porta_view_of(graph_tensor_get(g, g->loss)->buffer),
                                  g->loss_partials, 1.0f / (float)g->loss_rows);
    if (!st && g->profile) {
        st = profile_mark(ctx, g, 1, OP_CROSS_ENTROPY + 1, &t);
        g->profile_steps++;
    }
    if (!st)
        st = porta_submit(ctx);
    return st;
}

porta_status porta_graph_forward(porta_context *ctx, porta_graph *g)
{
    porta_status st = check_compiled(ctx, g, "porta_graph_forward");
    return st ? st : forward(ctx, g, 0);
}

porta_status porta_graph_evaluate(porta_context *ctx, porta_graph *g, size_t rows, double *loss_sum,
                                  size_t *correct)
{
    porta_status st = check_compiled(ctx, g, "porta_graph_evaluate");
    if (!st && (!loss_sum || !correct))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_evaluate: loss_sum or correct is NULL");
    if (!st && rows > g->loss_rows)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_evaluate: %zu rows asked for, the batch has %zu", rows,
                           g->loss_rows);
    if (!st)
        st = forward(ctx, g, 0);
    if (st) /* g may be NULL or not compiled: nothing below applies */
        return st;
    const graph_tensor *logits = graph_tensor_get(g, g->logits);
    const size_t classes = logits->shape[logits->ndim - 1];
    const graph_ref l = graph_value(g, g->logits), y = graph_value(g, g->labels);
    const graph_ref dl = graph_grad(g, g->logits);
    porta_buffer *partials_buf = graph_tensor_get(g, g->loss)->buffer;
    size_t count = g->loss_partials;
    if (rows == 0)
        rows = g->loss_rows;
    else if (!st && rows < g->loss_rows) /* the loss of the leading rows only */
        st = porta_cross_entropy(ctx, graph_view(l, 0), graph_view(y, 0), rows, classes, 1.0f,
                                 graph_view(dl, 0), porta_view_of(partials_buf), &count);
    if (!st)
        st = porta_accuracy_count(ctx, graph_view(l, 0), graph_view(y, 0), rows, classes, correct);
    float partials[64];
    if (!st)
        st = porta_buffer_read(ctx, partials_buf, 0, count * sizeof *partials, partials);
    if (!st) {
        double sum = 0.0;
        for (size_t i = 0; i < count; i++)
            sum += partials[i];
        *loss_sum = sum;
    }
    return st;
}

porta_status porta_graph_read(porta_context *ctx, porta_graph *g, porta_tensor t, void *dst,
                              size_t bytes)
{
    porta_status st = check_compiled(ctx, g, "porta_graph_read");
    if (st)
        return st;
    const graph_tensor *x = graph_tensor_get(g, t);
    if (!x || !dst || bytes != x->elements * 4)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "porta_graph_read: %s",
                             !x ? "not a tensor of this graph"
                                : "dst is NULL or bytes is not its size");
    const graph_ref r = graph_value(g, t);
    if (!r.buf)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_read: '%s' is never computed", x->name);
    return porta_buffer_read(ctx, r.buf, r.off * 4, bytes, dst);
}

porta_status porta_graph_optimizer(porta_context *ctx, porta_graph *g, porta_optimizer **opt)
{
    porta_status st = check_compiled(ctx, g, "porta_graph_optimizer");
    if (!st && !opt)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_optimizer: opt is NULL");
    if (!st)
        *opt = g->opt;
    return st;
}

static porta_status parameter_ref(porta_context *ctx, porta_graph *g, porta_tensor t, size_t n,
                                  const char *what)
{
    porta_status st = check_compiled(ctx, g, what);
    if (st)
        return st;
    const graph_tensor *p = graph_tensor_get(g, t);
    if (!p || p->kind != GRAPH_PARAMETER)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %u is not a parameter of this graph", what, (unsigned)t);
    if (n != p->elements)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s '%s': %zu values given, it has %zu", what, p->name, n,
                             p->elements);
    return PORTA_OK;
}

porta_status porta_graph_parameter_read(porta_context *ctx, porta_graph *g, porta_tensor t,
                                        bool grad, float *dst, size_t n)
{
    porta_status st = parameter_ref(ctx, g, t, n, "porta_graph_parameter_read");
    if (!st && !dst)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_parameter_read: dst is NULL");
    if (st)
        return st;
    const graph_ref r = grad ? graph_grad(g, t) : graph_value(g, t);
    return porta_buffer_read(ctx, r.buf, r.off * 4, n * 4, dst);
}

porta_status porta_graph_parameter_write(porta_context *ctx, porta_graph *g, porta_tensor t,
                                         const float *src, size_t n)
{
    porta_status st = parameter_ref(ctx, g, t, n, "porta_graph_parameter_write");
    if (!st && !src)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_parameter_write: src is NULL");
    if (st)
        return st;
    const graph_ref r = graph_value(g, t);
    return porta_buffer_write(ctx, r.buf, r.off * 4, n * 4, src);
}
