/* check_optim.c: kernels.optimizer_adamw and kernels.optimizer_sgd, the
 * fused optimizer step against porta_ref_adamw_step / porta_ref_sgd_step
 * (lib/ref/ref_optim.c).
 *
 * Three tensors in two groups, sizes divisible by nothing, the groups
 * large enough for several whole blocks in every device's layout; seeded
 * gradients uploaded every step; parameters compared after step 10 and
 * after the last (50, quick 20): within 1e-6 relative to max(|ref|, 0.01)
 * (parameters cross zero as they train), the bound the fused step's
 * correctly rounded division and square root keep on every device. When
 * clipping, every update is scaled by max_norm / norm, and the device's
 * norm is a float tree sum of n squares (up to log2(n) u relative off the
 * reference's double sum): that adds 4 log2(n) u times the distance the
 * parameter travelled (the sum of its updates' magnitudes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "ref/ref.h"

static const size_t tensor_n[] = {3000, 4100, 333};
static const unsigned tensor_group[] = {0, 1, 0};
#define N_TENSORS 3

/* A deterministic value in [-1, 1) for (seed, step, i). */
static float noise(uint32_t seed, uint32_t step, uint32_t i)
{
    uint32_t h = seed * 0x9E3779B1u ^ step * 0x85EBCA77u ^ i * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    return (float)((double)h / 4294967296.0 * 2.0 - 1.0);
}

typedef struct model {
    porta_optimizer *opt;
    porta_buffer *params, *grads, *loss;
    size_t offset[N_TENSORS];
    size_t elements;
    float *grad, *got;       /* the arena layout */
    float *want, *mom, *vel; /* the reference's */
    double *moved;           /* the sum of |update| of every parameter */
} model;

static void model_destroy(porta_context *ctx, model *m)
{
    porta_optimizer_destroy(ctx, m->opt);
    porta_buffer_destroy(ctx, m->loss);
    free(m->grad);
    free(m->got);
    free(m->want);
    free(m->mom);
    free(m->vel);
    free(m->moved);
}

static porta_status model_create(porta__check *c, const porta_optimizer_config *oc, model *m)
{
    porta_context *ctx = c->ctx;
    memset(m, 0, sizeof(*m));
    const porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    porta_status st = porta_optimizer_create(ctx, oc, &sc, &m->opt);
    for (size_t i = 0; i < N_TENSORS && !st; i++)
        st = porta_optimizer_add_tensor(ctx, m->opt, tensor_n[i], tensor_group[i], NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, m->opt);
    for (size_t i = 0; i < N_TENSORS && !st; i++)
        st = porta_optimizer_tensor_offset(ctx, m->opt, i, &m->offset[i]);
    if (!st)
        st = porta_optimizer_arenas(ctx, m->opt, &m->params, &m->grads, &m->elements);
    if (!st)
        st = porta__check_upload(ctx, NULL, 0, 2, 0, 0.0f, &m->loss);
    if (st)
        return st;
    m->grad = porta__check_alloc(m->elements, sizeof(float));
    m->got = porta__check_alloc(m->elements, sizeof(float));
    m->want = porta__check_alloc(m->elements, sizeof(float));
    m->mom = porta__check_alloc(m->elements, sizeof(float));
    m->vel = porta__check_alloc(m->elements, sizeof(float));
    m->moved = porta__check_alloc(m->elements, sizeof(double));
    if (!m->grad || !m->got || !m->want || !m->mom || !m->vel || !m->moved)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "optimizer check arrays");
    for (size_t t = 0; t < N_TENSORS; t++)
        for (size_t i = 0; i < tensor_n[t]; i++)
            m->want[m->offset[t] + i] = noise(7, 0, (uint32_t)(t * 10000 + i));
    return porta_buffer_write(ctx, m->params, 0, m->elements * sizeof(float), m->want);
}

/* Step s on the device (gradients and a loss of two partials uploaded)
 * and in the reference. */
static porta_status model_step(porta_context *ctx, const porta_optimizer_config *oc, model *m,
                               uint32_t s)
{
    double sq = 0.0;
    for (size_t t = 0; t < N_TENSORS; t++)
        for (size_t i = 0; i < tensor_n[t]; i++) {
            const float g = noise(11, s, (uint32_t)(t * 10000 + i));
            m->grad[m->offset[t] + i] = g;
            sq += (double)g * g;
        }
    const float partials[2] = {0.25f, 0.75f};
    porta_status st = porta_buffer_write(ctx, m->grads, 0, m->elements * sizeof(float), m->grad);
    if (!st)
        st = porta_buffer_write(ctx, m->loss, 0, sizeof(partials), partials);
    if (!st)
        st = porta_optimizer_step(ctx, m->opt, porta_view_of(m->loss), 2, 1.0f);
    /* PyTorch's clip_grad_norm_: coef = min(max_norm / (norm + 1e-6), 1) */
    const float norm = (float)sqrt(sq);
    const float coef = oc->clip_norm > 0 ? fminf(oc->clip_norm / (norm + 1e-6f), 1.0f) : 1.0f;
    for (size_t t = 0; t < N_TENSORS; t++) {
        const porta_param_group *pg = &oc->groups[tensor_group[t]];
        const size_t o = m->offset[t];
        memcpy(m->got + o, m->want + o, tensor_n[t] * sizeof(float)); /* got: scratch here */
        if (oc->kind == PORTA_OPTIMIZER_ADAMW)
            porta_ref_adamw_step(m->want + o, m->grad + o, m->mom + o, m->vel + o, tensor_n[t],
                                 pg->lr, pg->weight_decay, oc->beta1, oc->beta2, oc->eps, s + 1,
                                 coef);
        else
            porta_ref_sgd_step(m->want + o, m->grad + o, m->mom + o, tensor_n[t], pg->lr,
                               pg->weight_decay, oc->momentum, oc->dampening, oc->nesterov, s + 1,
                               coef);
        for (size_t i = 0; i < tensor_n[t]; i++)
            m->moved[o + i] += fabs((double)m->want[o + i] - (double)m->got[o + i]);
    }
    return st;
}

static void run_case(porta__check *c, const porta_optimizer_config *oc, const char *name)
{
    const int steps = c->quick ? 20 : 50;
    model m;
    porta_status st = model_create(c, oc, &m);
    for (int s = 0; s < steps && !st; s++) {
        st = model_step(c->ctx, oc, &m, (uint32_t)s);
        if (st || (s + 1 != 10 && s + 1 != steps))
            continue;
        st = porta__check_download(c->ctx, m.params, 0, m.elements, m.got);
        if (st)
            break;
        /* the clip coefficient's rounding, relative to the travelled distance */
        const double clip =
            oc->clip_norm > 0 ? 4.0 * log2((double)m.elements) * PORTA_CHECK_U : 0.0;
        double worst = 0.0, worst_tol = 1e-6, worst_d = 0.0;
        size_t at = 0;
        for (size_t i = 0; i < m.elements; i++) {
            const double scale = fmax(fabs((double)m.want[i]), 0.01);
            const double d = fabs((double)m.got[i] - m.want[i]) / scale;
            const double tol = 1e-6 + clip * m.moved[i] / scale;
            if (!(d / tol <= worst)) {
                worst = d / tol;
                worst_tol = tol;
                worst_d = d;
                at = i;
            }
        }
        if (worst <= 1.0 && worst > c->worst)
            c->worst = worst;
        porta__check_case(c, worst <= 1.0,
                          "%s after %d steps: parameter %zu = %.9g, reference %.9g (%.3g relative, "
                          "tolerance %.3g)",
                          name, s + 1, at, (double)m.got[at], (double)m.want[at], worst_d,
                          worst_tol);
    }
    porta__check_call(c, st, "%s", name);
    model_destroy(c->ctx, &m);
}

static porta_optimizer_config two_groups(porta_optimizer_kind kind)
{
    porta_optimizer_config oc = porta_optimizer_config_default(kind);
    oc.n_groups = 2;
    oc.groups[0] =
        (porta_param_group){.lr = 0.01f, .min_lr = 1e-5f, .max_lr = 1.0f, .weight_decay = 0.1f};
    oc.groups[1] =
        (porta_param_group){.lr = 0.003f, .min_lr = 1e-5f, .max_lr = 1.0f, .weight_decay = 0.0f};
    return oc;
}

void porta__check_adamw(porta__check *c)
{
    porta_optimizer_config oc = two_groups(PORTA_OPTIMIZER_ADAMW);
    run_case(c, &oc, "AdamW, two groups, gradient-norm pass");
    oc.check_gradients = false;
    if (!c->fatal)
        run_case(c, &oc, "AdamW, two groups, one dispatch (no norm)");
    oc.clip_norm = 20.0f; /* the gradients' norm is about 40: clipped */
    if (!c->fatal)
        run_case(c, &oc, "AdamW, two groups, clipped at 20");
}

void porta__check_sgd(porta__check *c)
{
    porta_optimizer_config oc = two_groups(PORTA_OPTIMIZER_SGD);
    oc.check_gradients = false;
    run_case(c, &oc, "SGD, two groups, weight decay");
    oc.momentum = 0.9f;
    oc.dampening = 0.1f;
    if (!c->fatal)
        run_case(c, &oc, "SGD, momentum 0.9, dampening 0.1");
    oc.dampening = 0.0f;
    oc.nesterov = true;
    oc.clip_norm = 20.0f;
    oc.check_gradients = true;
    if (!c->fatal)
        run_case(c, &oc, "SGD, Nesterov momentum 0.9, clipped at 20");
}
