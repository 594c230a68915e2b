/* text_models.h: the byte-level GPT of porta-train text and porta-sample. */
#ifndef PORTA_TEXT_MODELS_H
#define PORTA_TEXT_MODELS_H

#include "porta/porta.h"

typedef struct gpt_config {
    size_t vocab;   /* 256: bytes */
    size_t context; /* positions */
    size_t layers, heads, dim;
    float dropout; /* 0: none */
} gpt_config;

typedef struct gpt_model {
    porta_tensor tokens;    /* input [batch, context] */
    porta_tensor positions; /* input [batch, context]: 0..context-1 per row */
    porta_tensor targets;   /* input [batch, context] */
    porta_tensor logits;    /* [batch, context, vocab] */
    porta_tensor loss;
} gpt_model;

/* Token and position embeddings, `layers` pre-norm blocks (causal
 * multi-head attention, GELU MLP of 4 dim, residuals), a final layer norm
 * and an output head tied to the token embedding. Parameter names follow
 * GPT-2's (wte, wpe, h.N.ln_1, h.N.attn.c_attn, ...). */
porta_status gpt_build(porta_context *ctx, porta_graph *g, const gpt_config *c, size_t batch,
                       gpt_model *m);

/* Upload the positions input (once: it never changes). */
porta_status gpt_set_positions(porta_context *ctx, porta_graph *g, const gpt_config *c,
                               size_t batch, const gpt_model *m);

#endif
