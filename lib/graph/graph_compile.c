/* graph_compile.c: from a built graph to one that trains. Autodiff decides
 * which gradients each op's backward computes and whether it writes or adds
 * them; the planner places activations and gradients in one arena; the
 * optimizer is created over the parameters, which are then initialised. */
#include <stdlib.h>
#include <string.h>

#include "graph/graph_internal.h"

/* Schedule position of op i's backward (after every forward op). */
static int backward_pos(const porta_graph *g, size_t i)
{
    return (int)(2 * g->n_ops - 1 - i);
}

static void use_value(graph_tensor *root, int pos)
{
    if (root->value_first < 0 || pos < root->value_first)
        root->value_first = pos;
    if (pos > root->value_last)
        root->value_last = pos;
}

static void use_grad(graph_tensor *root, int pos)
{
    if (root->grad_first < 0 || pos < root->grad_first)
        root->grad_first = pos;
    if (pos > root->grad_last)
        root->grad_last = pos;
}

/* Reverse pass over the ops: which input gradients each backward makes. */
static void derive_backward(porta_graph *g)
{
    for (size_t k = g->n_ops; k-- > 0;) {
        graph_op *op = &g->ops[k];
        int flows;
        if (op->kind == OP_CROSS_ENTROPY)
            flows = 1; /* the loss op makes its logits' gradient itself */
        else if (op->kind == OP_RESHAPE)
            flows = 0; /* shares its input's storage and gradient: nothing to do */
        else
            flows = graph_root(g, op->out)->grad_written;
        op->has_backward = 0;
        for (int i = 0; i < GRAPH_OP_INPUTS; i++) {
            op->need_grad[i] = op->accumulate[i] = 0;
            if (!flows || !op->in[i] || !graph_tensor_get(g, op->in[i])->requires_grad)
                continue;
            graph_tensor *root = graph_root(g, op->in[i]);
            op->need_grad[i] = 1;
            op->accumulate[i] = root->grad_written;
            root->grad_written = 1;
            op->has_backward = op->kind != OP_CROSS_ENTROPY;
        }
    }
}

/* A linear op directly followed by an activation of its output computes
 * the activation in its GEMM's epilogue (graph_internal.h). Safe whatever
 * else reads the linear's output: it still holds the same values, and the
 * activation's output comes to life one op earlier (lifetimes()). */
static void fuse_epilogues(porta_graph *g)
{
    for (size_t k = 0; k + 1 < g->n_ops; k++) {
        graph_op *op = &g->ops[k], *next = &g->ops[k + 1];
        op->fused_act_out = 0;
        next->fused_forward = 0;
        if (op->kind == OP_LINEAR && next->kind == OP_ACTIVATION && next->in[0] == op->out &&
            graph_root(g, next->out) == graph_tensor_get(g, next->out)) {
            op->fused_act_out = next->out;
            op->fused_act_fn = next->iarg[0];
            next->fused_forward = 1;
        }
    }
}

/* Schedule positions where each root's value and gradient are in use. */
static void lifetimes(porta_graph *g)
{
    for (size_t k = 0; k < g->n_ops; k++) {
        const graph_op *op = &g->ops[k];
        const int f = (int)k, b = backward_pos(g, k);
        for (int i = 0; i < GRAPH_OP_INPUTS; i++)
            if (op->in[i])
                use_value(graph_root(g, op->in[i]), f);
        use_value(graph_root(g, op->out), f);
        if (op->fused_act_out) /* written by this op's epilogue */
            use_value(graph_root(g, op->fused_act_out), f);
        for (int a = 0; a < GRAPH_OP_AUX; a++) {
            if (!op->aux[a])
                continue;
            graph_tensor *t = graph_tensor_get(g, op->aux[a]);
            if (t->life == AUX_BACKWARD) {
                if (op->has_backward)
                    use_value(t, b);
            } else {
                use_value(t, f);
            }
        }
        if (op->kind == OP_CROSS_ENTROPY)
            use_grad(graph_root(g, op->in[0]), f);
        if (!op->has_backward)
            continue;
        /* a backward reads what its forward read and wrote, and its
         * output's gradient, and writes its inputs' gradients */
        for (int i = 0; i < GRAPH_OP_INPUTS; i++) {
            if (!op->in[i])
                continue;
            use_value(graph_root(g, op->in[i]), b);
            if (op->need_grad[i])
                use_grad(graph_root(g, op->in[i]), b);
        }
        use_value(graph_root(g, op->out), b);
        use_grad(graph_root(g, op->out), b);
        for (int a = 0; a < GRAPH_OP_AUX; a++)
            if (op->aux[a] && graph_tensor_get(g, op->aux[a])->life == AUX_SAVED)
                use_value(graph_tensor_get(g, op->aux[a]), b);
    }
}

/* The largest arena: the device's largest buffer, and below the 2^31
 * elements a kernel call addresses. */
static size_t arena_cap(const porta_context *ctx, size_t align)
{
    uint64_t cap = ctx->backend.caps.max_alloc_bytes;
    const uint64_t addressable = ((uint64_t)1 << 31) * 4u - align;
    if (cap > addressable)
        cap = addressable;
    return (size_t)(cap / align * align);
}

/* Plan and allocate the activation arenas: as few as the device's largest
 * buffer allows, usually one. */
static porta_status plan_arena(porta_context *ctx, porta_graph *g)
{
    const size_t n_items = 2 * g->n_tensors;
    graph_plan_item *items = calloc(n_items, sizeof *items);
    int *slot = malloc(n_items * sizeof *slot);
    size_t *arena_bytes = malloc(n_items * sizeof *arena_bytes);
    if (!items || !slot || !arena_bytes) {
        free(items);
        free(slot);
        free(arena_bytes);
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "porta_graph_compile");
    }
    size_t n = 0;
    g->unplanned_bytes = 0;
    for (size_t t = 1; t < g->n_tensors; t++) {
        graph_tensor *x = &g->tensors[t];
        slot[2 * t] = slot[2 * t + 1] = -1;
        if (x->kind != GRAPH_ACTIVATION || x->alias_of)
            continue;
        if (x->value_first >= 0) {
            items[n] = (graph_plan_item){x->elements * 4, x->value_first, x->value_last, 0, 0};
            slot[2 * t] = (int)n++;
        }
        if (x->grad_first >= 0) {
            items[n] = (graph_plan_item){x->elements * 4, x->grad_first, x->grad_last, 0, 0};
            slot[2 * t + 1] = (int)n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        g->unplanned_bytes += items[i].bytes;
    const size_t align = 256; /* every device's storage-buffer offset alignment */
    const size_t cap = arena_cap(ctx, align);
    size_t n_arenas = 0;
    const int rc = graph_plan(items, n, align, cap, arena_bytes, &n_arenas);
    porta_status st = PORTA_OK;
    if (rc == -1) {
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "porta_graph_compile");
    } else if (rc == -2) {
        for (size_t t = 1; t < g->n_tensors; t++) {
            for (int k = 0; k < 2; k++) {
                if (slot[2 * t + k] >= 0 && items[slot[2 * t + k]].arena == GRAPH_PLAN_TOO_LARGE)
                    st = porta_msg_set(&ctx->msg, PORTA_ERROR_ALLOCATION_TOO_LARGE,
                                       "porta_graph_compile: the %s of '%s' needs %zu bytes; %s "
                                       "allows at most %zu bytes per buffer (a smaller batch "
                                       "or layer fits)",
                                       k ? "gradient" : "value", g->tensors[t].name,
                                       items[slot[2 * t + k]].bytes, ctx->backend.caps.name, cap);
            }
        }
    }
    g->arena_bytes = 0;
    if (!st) {
        /* at least one arena, so that every graph has somewhere to point */
        if (n_arenas == 0) {
            arena_bytes[0] = 4;
            n_arenas = 1;
        }
        g->arenas = calloc(n_arenas, sizeof *g->arenas);
        if (!g->arenas)
            st = porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "porta_graph_compile");
    }
    for (size_t a = 0; !st && a < n_arenas; a++) {
        st = porta_buffer_create(ctx, arena_bytes[a], &g->arenas[a]);
        if (!st)
            g->n_arenas = a + 1;
        g->arena_bytes += arena_bytes[a];
    }
    for (size_t t = 1; !st && t < g->n_tensors; t++) {
        graph_tensor *x = &g->tensors[t];
        if (slot[2 * t] >= 0) {
            x->buffer = g->arenas[items[slot[2 * t]].arena];
            x->offset = items[slot[2 * t]].offset / 4;
        }
        if (slot[2 * t + 1] >= 0) {
            x->grad_buffer = g->arenas[items[slot[2 * t + 1]].arena];
            x->grad_offset = items[slot[2 * t + 1]].offset / 4;
        }
    }
    free(items);
    free(slot);
    free(arena_bytes);
    return st;
}

static porta_status create_optimizer(porta_context *ctx, porta_graph *g,
                                     const porta_optimizer_config *config,
                                     const porta_scheduler_config *scheduler)
{
    if (!config || !scheduler)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_compile: optimizer or scheduler config is NULL");
    porta_optimizer_config c = *config;
    if (c.n_groups == 1) {
        c.n_groups = 2;
        c.groups[1] = c.groups[0];
        c.groups[1].weight_decay = 0.0f;
    }
    porta_status st = porta_optimizer_create(ctx, &c, scheduler, &g->opt);
    /* decayed parameters first, so one index splits the groups */
    for (int decay = 1; !st && decay >= 0; decay--) {
        for (size_t i = 0; !st && i < g->n_params; i++) {
            graph_tensor *p = graph_tensor_get(g, g->params[i]);
            if (p->decay == decay)
                st = porta_optimizer_add_tensor(ctx, g->opt, p->elements, decay ? 0 : 1,
                                                &p->opt_index);
        }
    }
    if (!st)
        st = porta_optimizer_finalize(ctx, g->opt);
    for (size_t i = 0; !st && i < g->n_params; i++) {
        graph_tensor *p = graph_tensor_get(g, g->params[i]);
        porta_view value, grad;
        st = porta_optimizer_tensor_views(ctx, g->opt, p->opt_index, &value, &grad);
        p->buffer = value.buffer;
        p->offset = value.offset;
        p->grad_buffer = grad.buffer;
        p->grad_offset = grad.offset;
    }
    return st;
}

static porta_status initialise_parameters(porta_context *ctx, porta_graph *g)
{
    porta_status st = PORTA_OK;
    for (size_t i = 0; !st && i < g->n_params; i++) {
        graph_tensor *p = graph_tensor_get(g, g->params[i]);
        float *values = malloc(p->elements * sizeof *values);
        if (!values)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                 "porta_graph_compile: initial values of '%s'", p->name);
        graph_init_values(g, p, i, values);
        st = porta_buffer_write(ctx, p->buffer, p->offset * 4, p->elements * 4, values);
        free(values);
    }
    return st;
}

static porta_status own_buffers(porta_context *ctx, porta_graph *g)
{
    porta_status st = PORTA_OK;
    g->input_bytes = 0;
    for (size_t t = 1; !st && t < g->n_tensors; t++) {
        graph_tensor *x = &g->tensors[t];
        if (x->kind != GRAPH_INPUT && x->kind != GRAPH_LOSS)
            continue;
        st = porta_buffer_create(ctx, x->elements * 4, &x->buffer);
        x->offset = 0;
        if (x->kind == GRAPH_INPUT)
            g->input_bytes += x->elements * 4;
    }
    return st;
}

porta_status porta_graph_compile(porta_context *ctx, porta_graph *g,
                                 const porta_optimizer_config *optimizer,
                                 const porta_scheduler_config *scheduler)
{
    porta_status st = graph_check_open(ctx, g, "porta_graph_compile");
    if (st)
        return st;
    if (!g->loss)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_compile: the graph has no loss "
                             "(porta_graph_cross_entropy)");
    if (g->ops[g->n_ops - 1].kind != OP_CROSS_ENTROPY)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_compile: the loss must be the last layer");
    derive_backward(g);
    fuse_epilogues(g);
    lifetimes(g);
    st = create_optimizer(ctx, g, optimizer, scheduler);
    if (!st)
        st = plan_arena(ctx, g);
    if (!st)
        st = own_buffers(ctx, g);
    if (!st)
        st = initialise_parameters(ctx, g);
    if (!st) {
        g->loss_partials = graph_tensor_get(g, g->loss)->elements;
        g->compiled = 1;
    }
    return st;
}

graph_ref graph_value(const porta_graph *g, porta_tensor t)
{
    const graph_tensor *r = graph_root(g, t);
    return (graph_ref){r->buffer, r->offset};
}

graph_ref graph_grad(const porta_graph *g, porta_tensor t)
{
    const graph_tensor *r = graph_root(g, t);
    return (graph_ref){r->grad_buffer, r->grad_offset};
}

porta_status porta_graph_info_get(porta_context *ctx, const porta_graph *g, porta_graph_info *info)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!g || !info)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_info_get: graph or info is NULL");
    if (!g->compiled)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_graph_info_get: compile the graph first");
    memset(info, 0, sizeof *info);
    info->tensors = g->n_tensors - 1;
    info->forward_ops = g->n_ops;
    for (size_t k = 0; k < g->n_ops; k++)
        info->backward_ops += g->ops[k].has_backward != 0;
    info->parameter_tensors = g->n_params;
    for (size_t i = 0; i < g->n_params; i++)
        info->parameters += g->tensors[g->params[i]].elements;
    info->arena_bytes = g->arena_bytes;
    info->unplanned_bytes = g->unplanned_bytes;
    info->input_bytes = g->input_bytes;
    return PORTA_OK;
}
