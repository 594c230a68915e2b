/* text_models.c: a byte-level GPT as a porta graph. */
#include <stdio.h>
#include <stdlib.h>

#include "text_models.h"

static porta_status block(porta_context *ctx, porta_graph *g, const gpt_config *c, int i,
                          porta_tensor x, porta_tensor *y)
{
    char n[64];
    porta_tensor a, f;
    snprintf(n, sizeof n, "h.%d.ln_1", i);
    porta_status st = porta_graph_layernorm(ctx, g, x, 1e-5f, n, &a);
    snprintf(n, sizeof n, "h.%d.attn.c_attn", i);
    if (!st)
        st = porta_graph_linear(ctx, g, a, 3 * c->dim, true, n, &a);
    if (!st)
        st = porta_graph_attention(ctx, g, a, c->heads, true, &a);
    snprintf(n, sizeof n, "h.%d.attn.c_proj", i);
    if (!st)
        st = porta_graph_linear(ctx, g, a, c->dim, true, n, &a);
    if (!st && c->dropout > 0.0f)
        st = porta_graph_dropout(ctx, g, a, c->dropout, &a);
    if (!st)
        st = porta_graph_add(ctx, g, x, a, &x);
    snprintf(n, sizeof n, "h.%d.ln_2", i);
    if (!st)
        st = porta_graph_layernorm(ctx, g, x, 1e-5f, n, &f);
    snprintf(n, sizeof n, "h.%d.mlp.c_fc", i);
    if (!st)
        st = porta_graph_linear(ctx, g, f, 4 * c->dim, true, n, &f);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_GELU, f, &f);
    snprintf(n, sizeof n, "h.%d.mlp.c_proj", i);
    if (!st)
        st = porta_graph_linear(ctx, g, f, c->dim, true, n, &f);
    if (!st && c->dropout > 0.0f)
        st = porta_graph_dropout(ctx, g, f, c->dropout, &f);
    if (!st)
        st = porta_graph_add(ctx, g, x, f, y);
    return st;
}

porta_status gpt_build(porta_context *ctx, porta_graph *g, const gpt_config *c, size_t batch,
                       gpt_model *m)
{
    const size_t shape[2] = {batch, c->context};
    porta_tensor tok, pos, table, h;
    porta_status st = porta_graph_input(ctx, g, "tokens", PORTA_U32, 2, shape, &m->tokens);
    if (!st)
        st = porta_graph_input(ctx, g, "positions", PORTA_U32, 2, shape, &m->positions);
    if (!st)
        st = porta_graph_input(ctx, g, "targets", PORTA_U32, 2, shape, &m->targets);
    if (!st)
        st = porta_graph_embedding(ctx, g, m->tokens, c->vocab, c->dim, "wte", &tok, &table);
    if (!st)
        st = porta_graph_embedding(ctx, g, m->positions, c->context, c->dim, "wpe", &pos, NULL);
    if (!st)
        st = porta_graph_add(ctx, g, tok, pos, &h);
    if (!st && c->dropout > 0.0f)
        st = porta_graph_dropout(ctx, g, h, c->dropout, &h);
    for (size_t i = 0; i < c->layers && !st; i++)
        st = block(ctx, g, c, (int)i, h, &h);
    if (!st)
        st = porta_graph_layernorm(ctx, g, h, 1e-5f, "ln_f", &h);
    if (!st)
        st = porta_graph_matmul(ctx, g, h, table, true, &m->logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, m->logits, m->targets, &m->loss);
    return st;
}

porta_status gpt_set_positions(porta_context *ctx, porta_graph *g, const gpt_config *c,
                               size_t batch, const gpt_model *m)
{
    uint32_t *p = malloc(batch * c->context * sizeof *p);
    if (!p)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < batch * c->context; i++)
        p[i] = (uint32_t)(i % c->context);
    porta_status st = porta_graph_set_input(ctx, g, m->positions, p, batch * c->context * 4);
    free(p);
    return st;
}
