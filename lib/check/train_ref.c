/* train_ref.c: see train_ref.h. Each layer is the lib/ref/ function of
 * the kernel the graph runs for it (a linear layer: porta_ref_gemm_bias_act,
 * as the graph fuses the bias and the activation into the GEMM), so the
 * host rounds each operation as the device does, up to the order of sums
 * (the references add in double, in ascending order).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "train_ref.h"

bool train_ref_add(train_ref_params *p, const char *name, size_t n, bool decay, const float *init)
{
    if (p->count >= TRAIN_REF_MAX_TENSORS)
        return false;
    train_ref_tensor *t = &p->t[p->count];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n = n;
    t->decay = decay;
    t->w = malloc(n * sizeof(float));
    t->g = calloc(n, sizeof(float));
    t->m = calloc(n, sizeof(float));
    t->v = calloc(n, sizeof(float));
    p->count++;
    if (!t->w || !t->g || !t->m || !t->v)
        return false;
    memcpy(t->w, init, n * sizeof(float));
    return true;
}

void train_ref_free(train_ref_params *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->t[i].w);
        free(p->t[i].g);
        free(p->t[i].m);
        free(p->t[i].v);
    }
    p->count = 0;
}

train_ref_tensor *train_ref_find(train_ref_params *p, const char *name)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->t[i].name, name) == 0)
            return &p->t[i];
    return NULL;
}

/* Every gradient to zero: some layers add into theirs (layer norm's
 * dgamma and dbeta when its dx accumulates). */
static void zero_grads(train_ref_params *p)
{
    for (size_t i = 0; i < p->count; i++)
        memset(p->t[i].g, 0, p->t[i].n * sizeof(float));
}

/* ---- scratch: every array of one step, freed together ----------------- */

#define SCRATCH_MAX 256

typedef struct scratch {
    void *p[SCRATCH_MAX];
    size_t n;
    bool failed;
} scratch;

static float *take(scratch *s, size_t n)
{
    float *v = s->n < SCRATCH_MAX ? calloc(n ? n : 1, sizeof(float)) : NULL;
    if (!v) {
        s->failed = true;
        return NULL;
    }
    s->p[s->n++] = v;
    return v;
}

static void scratch_free(scratch *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->p[i]);
}

/* Look up a parameter's values and gradient; a missing one fails the step. */
static bool param(train_ref_params *p, scratch *s, const char *name, float **w, float **g)
{
    train_ref_tensor *t = train_ref_find(p, name);
    *w = *g = NULL;
    if (!t) {
        s->failed = true;
        return false;
    }
    *w = t->w;
    *g = t->g;
    return true;
}

/* ---- linear layers ------------------------------------------------------ */

/* y [rows, out] = f(x [rows, in] W^T + b): pre gets the value before f
 * (when act >= 0; it may be NULL otherwise). b may be NULL. */
static void linear_forward(size_t rows, size_t in, size_t out, const float *x, const float *w,
                           const float *b, int act, float *pre, float *y)
{
    porta_ref_gemm_bias_act(0, 1, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out, b, act, pre);
}

/* From dy [rows, out]: dW [out, in] = dy^T x, db = column sums (db may be
 * NULL), dx [rows, in] = dy W (dx may be NULL), overwriting. */
static void linear_backward(size_t rows, size_t in, size_t out, const float *x, const float *w,
                            const float *dy, float *dw, float *db, float *dx)
{
    porta_ref_gemm(1, 0, out, in, rows, 1.0f, dy, out, x, in, 0.0f, dw, in, 1, 0, 0, 0);
    if (db)
        porta_ref_bias_backward(rows, out, dy, db, 0);
    if (dx)
        porta_ref_gemm(0, 0, rows, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in, 1, 0, 0, 0);
}

/* ---- the CNN ------------------------------------------------------------ */

static porta_conv2d_shape conv_shape(size_t batch, size_t in_c, size_t side, size_t out_c)
{
    porta_conv2d_shape s = {(uint32_t)batch,
                            (uint32_t)in_c,
                            (uint32_t)side,
                            (uint32_t)side,
                            (uint32_t)out_c,
                            3,
                            3,
                            1,
                            1,
                            1,
                            1,
                            1,
                            1};
    return s;
}

static porta_pool_shape pool_shape(size_t batch, size_t c, size_t side)
{
    porta_pool_shape s = {
        (uint32_t)batch, (uint32_t)c, (uint32_t)side, (uint32_t)side, 2, 2, 2, 2, 0, 0};
    return s;
}

bool train_ref_cnn_step(const train_ref_cnn *m, train_ref_params *p, const float *images,
                        const uint32_t *labels, double *loss)
{
    scratch s = {.n = 0, .failed = false};
    zero_grads(p);
    const size_t B = m->batch, S1 = m->side, S2 = S1 / 2, S3 = S2 / 2;
    const size_t flat = m->c2 * S3 * S3;
    float *w1, *gw1, *b1, *gb1, *w2, *gw2, *b2, *gb2, *w3, *gw3, *b3, *gb3, *w4, *gw4, *b4, *gb4;
    param(p, &s, "conv1.weight", &w1, &gw1);
    param(p, &s, "conv1.bias", &b1, &gb1);
    param(p, &s, "conv2.weight", &w2, &gw2);
    param(p, &s, "conv2.bias", &b2, &gb2);
    param(p, &s, "fc1.weight", &w3, &gw3);
    param(p, &s, "fc1.bias", &b3, &gb3);
    param(p, &s, "classifier.weight", &w4, &gw4);
    param(p, &s, "classifier.bias", &b4, &gb4);
    const size_t n1 = B * m->c1 * S1 * S1, n2 = B * m->c1 * S2 * S2;
    const size_t n3 = B * m->c2 * S2 * S2, n4 = B * flat;
    float *y1 = take(&s, n1), *a1 = take(&s, n1), *h1 = take(&s, n2);
    float *y2 = take(&s, n3), *a2 = take(&s, n3), *h2 = take(&s, n4);
    float *z3 = take(&s, B * m->hidden), *a3 = take(&s, B * m->hidden);
    float *logits = take(&s, B * m->classes), *dlogits = take(&s, B * m->classes);
    float *da3 = take(&s, B * m->hidden), *dz3 = take(&s, B * m->hidden), *dh2 = take(&s, n4);
    float *da2 = take(&s, n3), *dy2 = take(&s, n3), *dh1 = take(&s, n2), *da1 = take(&s, n1);
    float *dy1 = take(&s, n1);
    if (s.failed) {
        scratch_free(&s);
        return false;
    }
    const porta_conv2d_shape cs1 = conv_shape(B, 1, S1, m->c1),
                             cs2 = conv_shape(B, m->c1, S2, m->c2);
    const porta_pool_shape ps1 = pool_shape(B, m->c1, S1), ps2 = pool_shape(B, m->c2, S2);
    /* forward */
    porta_ref_conv2d_forward(&cs1, images, w1, b1, y1);
    porta_ref_activation_forward(PORTA_RELU, y1, a1, n1);
    porta_ref_pool_forward(PORTA_POOL_MAX, &ps1, a1, h1);
    porta_ref_conv2d_forward(&cs2, h1, w2, b2, y2);
    porta_ref_activation_forward(PORTA_RELU, y2, a2, n3);
    porta_ref_pool_forward(PORTA_POOL_MAX, &ps2, a2, h2);
    linear_forward(B, flat, m->hidden, h2, w3, b3, PORTA_RELU, z3, a3);
    linear_forward(B, m->hidden, m->classes, a3, w4, b4, -1, NULL, logits);
    *loss = porta_ref_cross_entropy(logits, labels, B, m->classes, 1.0f / (float)B, dlogits, NULL) /
            (double)B;
    /* backward */
    linear_backward(B, m->hidden, m->classes, a3, w4, dlogits, gw4, gb4, da3);
    porta_ref_activation_backward(PORTA_RELU, z3, da3, dz3, B * m->hidden, 0);
    linear_backward(B, flat, m->hidden, h2, w3, dz3, gw3, gb3, dh2);
    porta_ref_pool_backward(PORTA_POOL_MAX, &ps2, a2, dh2, da2, 0);
    porta_ref_activation_backward(PORTA_RELU, y2, da2, dy2, n3, 0);
    porta_ref_conv2d_backward_filter(&cs2, h1, dy2, gw2, gb2, 0);
    porta_ref_conv2d_backward_data(&cs2, dy2, w2, dh1, 0);
    porta_ref_pool_backward(PORTA_POOL_MAX, &ps1, a1, dh1, da1, 0);
    porta_ref_activation_backward(PORTA_RELU, y1, da1, dy1, n1, 0);
    porta_ref_conv2d_backward_filter(&cs1, images, dy1, gw1, gb1, 0);
    scratch_free(&s);
    return true;
}

/* ---- the GPT ------------------------------------------------------------ */

/* What a block's forward pass keeps for its backward pass. */
typedef struct block_saved {
    float *x_in, *a, *mean1, *rstd1, *qkv, *heads, *probs, *att, *x_mid, *f, *mean2, *rstd2, *pre,
        *h;
} block_saved;

typedef struct gpt_dims {
    size_t B, T, V, C, H, D, N; /* N = B T rows */
} gpt_dims;

/* heads [3][B][H][T][D] from qkv [B][T][3C] (as the graph's attention). */
static void split_heads(const gpt_dims *d, const float *qkv, float *heads, int accumulate)
{
    const size_t shape[5] = {3, d->B, d->H, d->T, d->D};
    const size_t strides[5] = {d->C, d->T * 3 * d->C, d->D, 3 * d->C, 1};
    porta_ref_tensor_gather(5, shape, strides, qkv, heads, accumulate);
}

static void attention_forward(const gpt_dims *d, const float *qkv, float *heads, float *probs,
                              float *out_heads, float *scores, float *y)
{
    const size_t T = d->T, D = d->D, BH = d->B * d->H, third = BH * T * D;
    split_heads(d, qkv, heads, 0);
    porta_ref_gemm(0, 1, T, T, D, 1.0f, heads, D, heads + third, D, 0.0f, scores, T, BH, T * D,
                   T * D, T * T);
    porta_ref_attention_softmax_forward(BH, T, (float)(1.0 / sqrt((double)D)), 1, scores, probs);
    porta_ref_gemm(0, 0, T, D, T, 1.0f, probs, T, heads + 2 * third, D, 0.0f, out_heads, D, BH,
                   T * T, T * D, T * D);
    const size_t shape[4] = {d->B, T, d->H, D}, strides[4] = {d->H * T * D, D, T * D, 1};
    porta_ref_tensor_gather(4, shape, strides, out_heads, y, 0);
}

/* dqkv [B][T][3C] from dy [B][T][C]. */
static void attention_backward(const gpt_dims *d, const float *heads, const float *probs,
                               const float *dy, float *d_out, float *dprobs, float *dscores,
                               float *dheads, float *dqkv)
{
    const size_t T = d->T, D = d->D, H = d->H, BH = d->B * H, third = BH * T * D;
    const size_t ushape[4] = {d->B, H, T, D}, ustrides[4] = {T * H * D, D, H * D, 1};
    porta_ref_tensor_gather(4, ushape, ustrides, dy, d_out, 0);
    /* dprobs = d_out v^T; dv = probs^T d_out */
    porta_ref_gemm(0, 1, T, T, D, 1.0f, d_out, D, heads + 2 * third, D, 0.0f, dprobs, T, BH, T * D,
                   T * D, T * T);
    porta_ref_gemm(1, 0, T, D, T, 1.0f, probs, T, d_out, D, 0.0f, dheads + 2 * third, D, BH, T * T,
                   T * D, T * D);
    porta_ref_attention_softmax_backward(BH, T, (float)(1.0 / sqrt((double)D)), probs, dprobs,
                                         dscores, 0);
    /* dq = dscores k; dk = dscores^T q */
    porta_ref_gemm(0, 0, T, D, T, 1.0f, dscores, T, heads + third, D, 0.0f, dheads, D, BH, T * T,
                   T * D, T * D);
    porta_ref_gemm(1, 0, T, D, T, 1.0f, dscores, T, heads, D, 0.0f, dheads + third, D, BH, T * T,
                   T * D, T * D);
    const size_t jshape[5] = {d->B, T, 3, H, D};
    const size_t jstrides[5] = {H * T * D, D, BH * T * D, T * D, 1};
    porta_ref_tensor_gather(5, jshape, jstrides, dheads, dqkv, 0);
}

static bool block_params(train_ref_params *p, scratch *s, size_t l, float **w, float **g)
{
    static const char *const names[] = {
        "ln_1.weight",        "ln_1.bias",        "attn.c_attn.weight", "attn.c_attn.bias",
        "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight",        "ln_2.bias",
        "mlp.c_fc.weight",    "mlp.c_fc.bias",    "mlp.c_proj.weight",  "mlp.c_proj.bias"};
    bool ok = true;
    for (size_t i = 0; i < 12; i++) {
        char name[48];
        snprintf(name, sizeof(name), "h.%zu.%s", l, names[i]);
        ok &= param(p, s, name, &w[i], &g[i]);
    }
    return ok;
}

enum { LN1_W, LN1_B, QKV_W, QKV_B, PROJ_W, PROJ_B, LN2_W, LN2_B, FC_W, FC_B, MP_W, MP_B };

static void block_forward(const gpt_dims *d, float *const *w, block_saved *k, scratch *s,
                          float *x_out)
{
    const size_t N = d->N, C = d->C;
    float *out_heads = take(s, N * C), *scores = take(s, d->B * d->H * d->T * d->T);
    float *proj = take(s, N * C), *mlp = take(s, N * C);
    if (s->failed)
        return;
    porta_ref_layernorm_forward(N, C, 1e-5f, k->x_in, w[LN1_W], w[LN1_B], k->a, k->mean1, k->rstd1);
    linear_forward(N, C, 3 * C, k->a, w[QKV_W], w[QKV_B], -1, NULL, k->qkv);
    attention_forward(d, k->qkv, k->heads, k->probs, out_heads, scores, k->att);
    linear_forward(N, C, C, k->att, w[PROJ_W], w[PROJ_B], -1, NULL, proj);
    porta_ref_add(k->x_in, proj, k->x_mid, N * C);
    porta_ref_layernorm_forward(N, C, 1e-5f, k->x_mid, w[LN2_W], w[LN2_B], k->f, k->mean2,
                                k->rstd2);
    linear_forward(N, C, 4 * C, k->f, w[FC_W], w[FC_B], PORTA_GELU, k->pre, k->h);
    linear_forward(N, 4 * C, C, k->h, w[MP_W], w[MP_B], -1, NULL, mlp);
    porta_ref_add(k->x_mid, mlp, x_out, N * C);
}

/* dx (the gradient of the block's output) becomes the gradient of its
 * input. */
static void block_backward(const gpt_dims *d, float *const *w, float *const *g,
                           const block_saved *k, scratch *s, float *dx)
{
    const size_t N = d->N, C = d->C;
    float *dh = take(s, N * 4 * C), *dpre = take(s, N * 4 * C), *df = take(s, N * C);
    float *datt = take(s, N * C), *dqkv = take(s, N * 3 * C), *da = take(s, N * C);
    float *d_out = take(s, N * C), *dprobs = take(s, d->B * d->H * d->T * d->T);
    float *dscores = take(s, d->B * d->H * d->T * d->T), *dheads = take(s, 3 * N * C);
    if (s->failed)
        return;
    /* MLP: x_out = x_mid + c_proj(gelu(c_fc(ln_2(x_mid)))) */
    linear_backward(N, 4 * C, C, k->h, w[MP_W], dx, g[MP_W], g[MP_B], dh);
    porta_ref_activation_backward(PORTA_GELU, k->pre, dh, dpre, N * 4 * C, 0);
    linear_backward(N, C, 4 * C, k->f, w[FC_W], dpre, g[FC_W], g[FC_B], df);
    porta_ref_layernorm_backward(N, C, df, k->x_mid, w[LN2_W], k->mean2, k->rstd2, dx, g[LN2_W],
                                 g[LN2_B], 1);
    /* attention: x_mid = x_in + c_proj(attention(c_attn(ln_1(x_in)))) */
    linear_backward(N, C, C, k->att, w[PROJ_W], dx, g[PROJ_W], g[PROJ_B], datt);
    attention_backward(d, k->heads, k->probs, datt, d_out, dprobs, dscores, dheads, dqkv);
    linear_backward(N, C, 3 * C, k->a, w[QKV_W], dqkv, g[QKV_W], g[QKV_B], da);
    porta_ref_layernorm_backward(N, C, da, k->x_in, w[LN1_W], k->mean1, k->rstd1, dx, g[LN1_W],
                                 g[LN1_B], 1);
}

bool train_ref_gpt_step(const train_ref_gpt *m, train_ref_params *p, const uint32_t *tokens,
                        const uint32_t *positions, const uint32_t *targets, double *loss)
{
    scratch s = {.n = 0, .failed = false};
    zero_grads(p);
    const gpt_dims d = {m->batch,          m->context,           m->vocab, m->dim, m->heads,
                        m->dim / m->heads, m->batch * m->context};
    const size_t N = d.N, C = d.C, L = m->layers;
    float *wte, *gwte, *wpe, *gwpe, *lnw, *glnw, *lnb, *glnb;
    param(p, &s, "wte.weight", &wte, &gwte);
    param(p, &s, "wpe.weight", &wpe, &gwpe);
    param(p, &s, "ln_f.weight", &lnw, &glnw);
    param(p, &s, "ln_f.bias", &lnb, &glnb);
    block_saved k[8];
    float *bw[8][12], *bg[8][12];
    if (L > 8) {
        scratch_free(&s);
        return false;
    }
    float *te = take(&s, N * C), *pe = take(&s, N * C), *x = take(&s, N * C);
    for (size_t l = 0; l < L; l++) {
        block_params(p, &s, l, bw[l], bg[l]);
        k[l] = (block_saved){x,
                             take(&s, N * C),
                             take(&s, N),
                             take(&s, N),
                             take(&s, N * 3 * C),
                             take(&s, 3 * N * C),
                             take(&s, d.B * d.H * d.T * d.T),
                             take(&s, N * C),
                             take(&s, N * C),
                             take(&s, N * C),
                             take(&s, N),
                             take(&s, N),
                             take(&s, N * 4 * C),
                             take(&s, N * 4 * C)};
        x = take(&s, N * C); /* the block's output, the next one's input */
    }
    float *xf = take(&s, N * C), *mf = take(&s, N), *rf = take(&s, N);
    float *logits = take(&s, N * d.V), *dlogits = take(&s, N * d.V), *dxf = take(&s, N * C);
    float *dx = take(&s, N * C);
    if (s.failed) {
        scratch_free(&s);
        return false;
    }
    /* forward */
    porta_ref_embedding_forward(tokens, N, wte, d.V, C, te);
    porta_ref_embedding_forward(positions, N, wpe, d.T, C, pe);
    porta_ref_add(te, pe, L ? k[0].x_in : x, N * C);
    for (size_t l = 0; l < L && !s.failed; l++)
        block_forward(&d, bw[l], &k[l], &s, l + 1 < L ? k[l + 1].x_in : x);
    if (s.failed) {
        scratch_free(&s);
        return false;
    }
    porta_ref_layernorm_forward(N, C, 1e-5f, x, lnw, lnb, xf, mf, rf);
    porta_ref_gemm(0, 1, N, d.V, C, 1.0f, xf, C, wte, C, 0.0f, logits, d.V, 1, 0, 0, 0);
    *loss = porta_ref_cross_entropy(logits, targets, N, d.V, 1.0f / (float)N, dlogits, NULL) /
            (double)N;
    /* backward: the tied head, then the blocks in reverse, then the tables */
    porta_ref_gemm(0, 0, N, C, d.V, 1.0f, dlogits, d.V, wte, C, 0.0f, dxf, C, 1, 0, 0, 0);
    porta_ref_gemm(1, 0, d.V, C, N, 1.0f, dlogits, d.V, xf, C, 0.0f, gwte, C, 1, 0, 0, 0);
    porta_ref_layernorm_backward(N, C, dxf, x, lnw, mf, rf, dx, glnw, glnb, 0);
    for (size_t l = L; l-- > 0 && !s.failed;)
        block_backward(&d, bw[l], bg[l], &k[l], &s, dx);
    porta_ref_embedding_backward(tokens, N, dx, d.V, C, gwte, 1);
    porta_ref_embedding_backward(positions, N, dx, d.T, C, gwpe, 0);
    const bool ok = !s.failed;
    scratch_free(&s);
    return ok;
}

/* ---- AdamW -------------------------------------------------------------- */

void train_ref_adamw(train_ref_params *p, unsigned t, float lr, float weight_decay, float beta1,
                     float beta2, float eps, float clip_norm)
{
    float coef = 1.0f;
    if (clip_norm > 0.0f) {
        double sq = 0.0;
        for (size_t i = 0; i < p->count; i++)
            for (size_t j = 0; j < p->t[i].n; j++)
                sq += (double)p->t[i].g[j] * p->t[i].g[j];
        /* PyTorch's clip_grad_norm_: min(max_norm / (norm + 1e-6), 1) */
        coef = fminf(clip_norm / ((float)sqrt(sq) + 1e-6f), 1.0f);
    }
    for (size_t i = 0; i < p->count; i++) {
        train_ref_tensor *x = &p->t[i];
        porta_ref_adamw_step(x->w, x->g, x->m, x->v, x->n, lr, x->decay ? weight_decay : 0.0f,
                             beta1, beta2, eps, t, coef);
    }
}
