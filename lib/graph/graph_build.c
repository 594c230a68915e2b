/* graph_build.c: creating a graph, its tensors, inputs and parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

porta_status porta_graph_create(porta_context *ctx, const porta_graph_options *options,
                                porta_graph **out)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_create: out is NULL");
    *out = NULL;
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    porta_graph_options o;
    memset(&o, 0, sizeof o);
    if (options)
        o = *options;
    if (!porta__setting_known(o.profile))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_create options->profile: %d is not a porta_setting",
                             (int)o.profile);
    porta_graph *g = calloc(1, sizeof *g);
    if (!g)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "porta_graph_create");
    g->seed = o.seed;
    /* read now, as every setting from the environment is: when the
     * object is created */
    g->profile = porta__setting_on(o.profile, "PORTA_GRAPH_PROFILE");
    g->n_tensors = 1; /* handle 0 is never valid */
    g->cap_tensors = 64;
    g->tensors = calloc(g->cap_tensors, sizeof *g->tensors);
    if (!g->tensors) {
        free(g);
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "porta_graph_create");
    }
    *out = g;
    return PORTA_OK;
}

/* The profile's summary (porta_graph_options::profile): milliseconds per
 * training step. */
static void print_profile(const porta_graph *g)
{
    static const char *const names[] = {"linear",        "matmul",    "conv2d",    "pool",
                                        "activation",    "add",       "layernorm", "embedding",
                                        "dropout",       "attention", "reshape",   "cross_entropy",
                                        "optimizer step"};
    const double steps = (double)g->profile_steps;
    double total = 0.0;
    for (int d = 0; d < 2; d++)
        for (int k = 0; k <= OP_CROSS_ENTROPY + 1; k++)
            total += g->profile_seconds[d][k];
    fprintf(stderr,
            "porta graph profile: %.1f ms per training step (%llu steps, waiting after "
            "every op)\n",
            1e3 * total / steps, (unsigned long long)g->profile_steps);
    for (int k = 0; k <= OP_CROSS_ENTROPY + 1; k++) {
        const double f = g->profile_seconds[0][k], b = g->profile_seconds[1][k];
        if (f + b > 0.0)
            fprintf(stderr, "  %-15s forward %8.2f ms  backward %8.2f ms  (%4.1f%%)\n", names[k],
                    1e3 * f / steps, 1e3 * b / steps, 100.0 * (f + b) / total);
    }
}

void porta_graph_destroy(porta_context *ctx, porta_graph *g)
{
    if (!g)
        return;
    if (g->profile && g->profile_steps)
        print_profile(g);
    /* Without a context the device buffers stay in the one they came from,
     * which frees them when it is destroyed; the host side goes anyway. */
    if (ctx) {
        for (size_t i = 1; i < g->n_tensors; i++) {
            graph_tensor *t = &g->tensors[i];
            if (t->kind == GRAPH_INPUT || t->kind == GRAPH_LOSS)
                porta_buffer_destroy(ctx, t->buffer);
        }
        for (size_t a = 0; a < g->n_arenas; a++)
            porta_buffer_destroy(ctx, g->arenas[a]);
        porta_optimizer_destroy(ctx, g->opt);
    }
    free(g->arenas);
    free(g->tensors);
    free(g->ops);
    free(g->params);
    free(g);
}

graph_tensor *graph_tensor_get(const porta_graph *g, porta_tensor t)
{
    if (!g || t == 0 || t >= g->n_tensors)
        return NULL;
    return &g->tensors[t];
}

graph_tensor *graph_root(const porta_graph *g, porta_tensor t)
{
    graph_tensor *x = graph_tensor_get(g, t);
    while (x && x->alias_of)
        x = graph_tensor_get(g, x->alias_of);
    return x;
}

size_t graph_rows(const graph_tensor *t)
{
    return t->elements / t->shape[t->ndim - 1];
}

porta_status graph_check_open(porta_context *ctx, const porta_graph *g, const char *what)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!g)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: graph is NULL", what);
    if (g->compiled)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: the graph is compiled and takes no more layers", what);
    return PORTA_OK;
}

porta_status graph_check_tensor(porta_context *ctx, const porta_graph *g, porta_tensor t,
                                porta_dtype dtype, const char *what)
{
    const graph_tensor *x = graph_tensor_get(g, t);
    if (!x)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %u is not a tensor of this graph", what, (unsigned)t);
    if (x->dtype != dtype)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: tensor '%s' holds %s, this needs %s", what, x->name,
                             x->dtype == PORTA_U32 ? "uint32" : "float32",
                             dtype == PORTA_U32 ? "uint32" : "float32");
    if (x->kind == GRAPH_LOSS)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: the loss partials cannot feed a layer", what);
    return PORTA_OK;
}

porta_status graph_tensor_add(porta_context *ctx, porta_graph *g, const char *name,
                              graph_tensor_kind kind, porta_dtype dtype, unsigned ndim,
                              const size_t *shape_in, porta_tensor *out)
{
    /* shape_in may point into the table, which may move below */
    size_t shape[PORTA_MAX_DIMS];
    if (ndim < 1 || ndim > PORTA_MAX_DIMS || !shape_in)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "tensor '%s': %u dimensions (1 to %d)", name, ndim, PORTA_MAX_DIMS);
    memcpy(shape, shape_in, ndim * sizeof *shape);
    size_t elements = 1;
    for (unsigned d = 0; d < ndim; d++) {
        if (shape[d] == 0 || elements > ((size_t)1 << 31) / shape[d])
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "tensor '%s': dimension %u is %zu (sizes must be >= 1, "
                                 "below 2^31 elements in all)",
                                 name, d, shape[d]);
        elements *= shape[d];
    }
    if (g->n_tensors == g->cap_tensors) {
        graph_tensor *grown = realloc(g->tensors, 2 * g->cap_tensors * sizeof *grown);
        if (!grown)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "graph tensors");
        g->tensors = grown;
        g->cap_tensors *= 2;
    }
    graph_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, ndim * sizeof *shape);
    t->elements = elements;
    t->requires_grad = kind == GRAPH_PARAMETER;
    t->value_first = t->value_last = t->grad_first = t->grad_last = -1;
    *out = (porta_tensor)g->n_tensors++;
    return PORTA_OK;
}

porta_status graph_op_add(porta_context *ctx, porta_graph *g, const graph_op *op)
{
    if (g->n_ops == g->cap_ops) {
        size_t cap = g->cap_ops ? 2 * g->cap_ops : 32;
        graph_op *grown = realloc(g->ops, cap * sizeof *grown);
        if (!grown)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "graph ops");
        g->ops = grown;
        g->cap_ops = cap;
    }
    graph_op *o = &g->ops[g->n_ops++];
    *o = *op;
    /* an op's output needs a gradient when any of its inputs does */
    int grad = 0;
    for (int i = 0; i < GRAPH_OP_INPUTS; i++)
        if (o->in[i] && graph_tensor_get(g, o->in[i])->requires_grad)
            grad = 1;
    graph_tensor *y = graph_tensor_get(g, o->out);
    if (y && y->kind != GRAPH_LOSS)
        y->requires_grad = grad;
    return PORTA_OK;
}

static int name_taken(const porta_graph *g, const char *name)
{
    for (size_t i = 1; i < g->n_tensors; i++)
        if ((g->tensors[i].kind == GRAPH_INPUT || g->tensors[i].kind == GRAPH_PARAMETER) &&
            strcmp(g->tensors[i].name, name) == 0)
            return 1;
    return 0;
}

static porta_status check_name(porta_context *ctx, const porta_graph *g, const char *name,
                               const char *what)
{
    if (!name || !*name || strlen(name) >= GRAPH_NAME_MAX)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: a name of 1 to %d characters is needed", what,
                             GRAPH_NAME_MAX - 1);
    if (name_taken(g, name))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: the name '%s' is taken",
                             what, name);
    return PORTA_OK;
}

porta_status porta_graph_input(porta_context *ctx, porta_graph *g, const char *name,
                               porta_dtype dtype, unsigned ndim, const size_t *shape,
                               porta_tensor *out)
{
    porta_status st = graph_check_open(ctx, g, "porta_graph_input");
    if (!st)
        st = check_name(ctx, g, name, "porta_graph_input");
    if (!st && !out)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_input: out is NULL");
    if (!st && dtype != PORTA_F32 && dtype != PORTA_U32)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_input '%s': dtype %d is not a porta_dtype", name,
                           (int)dtype);
    if (!st)
        st = graph_tensor_add(ctx, g, name, GRAPH_INPUT, dtype, ndim, shape, out);
    return st;
}

static porta_status grow_params(porta_context *ctx, porta_graph *g)
{
    if (g->n_params < g->cap_params)
        return PORTA_OK;
    size_t cap = g->cap_params ? 2 * g->cap_params : 16;
    porta_tensor *grown = realloc(g->params, cap * sizeof *grown);
    if (!grown)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "graph parameters");
    g->params = grown;
    g->cap_params = cap;
    return PORTA_OK;
}

porta_status porta_graph_parameter(porta_context *ctx, porta_graph *g, const char *name,
                                   unsigned ndim, const size_t *shape, porta_init init, float scale,
                                   bool decay, porta_tensor *out)
{
    porta_status st = graph_check_open(ctx, g, "porta_graph_parameter");
    if (!st)
        st = check_name(ctx, g, name, "porta_graph_parameter");
    if (!st && !out)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_parameter: out is NULL");
    if (!st && ((int)init < (int)PORTA_INIT_ZEROS || (int)init > (int)PORTA_INIT_NORMAL))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_parameter '%s': init %d is not a porta_init", name,
                           (int)init);
    if (!st && init == PORTA_INIT_NORMAL && !(scale >= 0.0f && scale < 1e30f))
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                           "porta_graph_parameter '%s': scale %g is not a standard deviation", name,
                           (double)scale);
    if (!st)
        st = grow_params(ctx, g);
    if (!st)
        st = graph_tensor_add(ctx, g, name, GRAPH_PARAMETER, PORTA_F32, ndim, shape, out);
    if (st)
        return st;
    graph_tensor *t = graph_tensor_get(g, *out);
    t->init = init;
    t->init_scale = scale;
    t->decay = decay;
    g->params[g->n_params++] = *out;
    return PORTA_OK;
}

porta_status porta_graph_shape(porta_context *ctx, const porta_graph *g, porta_tensor t,
                               unsigned *ndim, size_t *shape)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    const graph_tensor *x = graph_tensor_get(g, t);
    if (!x || !ndim || !shape)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "porta_graph_shape: %s",
                             !x ? "not a tensor of this graph" : "ndim or shape is NULL");
    *ndim = x->ndim;
    memcpy(shape, x->shape, x->ndim * sizeof *shape);
    return PORTA_OK;
}

porta_status porta_graph_parameter_count(porta_context *ctx, const porta_graph *g, size_t *count)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!g || !count)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_parameter_count: graph or count is NULL");
    *count = g->n_params;
    return PORTA_OK;
}

porta_status porta_graph_parameter_at(porta_context *ctx, const porta_graph *g, size_t i,
                                      porta_tensor *t, const char **name)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!g || i >= g->n_params)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_parameter_at: %zu is not below the parameter count %zu",
                             i, g ? g->n_params : 0);
    if (t)
        *t = g->params[i];
    if (name)
        *name = g->tensors[g->params[i]].name;
    return PORTA_OK;
}
