/* ref_optim.c: naive C of the optimizer updates (torch.optim semantics). */
#include <math.h>

#include "ref.h"

void porta_ref_adamw_step(float *param, const float *grad, float *m, float *v, size_t n, float lr,
                          float weight_decay, float beta1, float beta2, float eps, unsigned t,
                          float coef)
{
    /* PyTorch computes the bias corrections in double. */
    const float bc1 = (float)(1.0 - pow(beta1, t));
    const float bc2_sqrt = sqrtf((float)(1.0 - pow(beta2, t)));
    const float step_size = lr / bc1;
    for (size_t i = 0; i < n; i++) {
        const float g = grad[i] * coef;
        float p = param[i] * (1.0f - lr * weight_decay);
        m[i] = m[i] + (g - m[i]) * (1.0f - beta1);
        v[i] = v[i] * beta2 + (g * g) * (1.0f - beta2);
        const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        param[i] = p + (-step_size) * (m[i] / denom);
    }
}

void porta_ref_sgd_step(float *param, const float *grad, float *buf, size_t n, float lr,
                        float weight_decay, float momentum, float dampening, int nesterov,
                        unsigned t, float coef)
{
    for (size_t i = 0; i < n; i++) {
        float d = grad[i] * coef;
        if (weight_decay != 0.0f)
            d = d + weight_decay * param[i];
        if (momentum != 0.0f) {
            buf[i] = t == 1 ? d : buf[i] * momentum + (1.0f - dampening) * d;
            d = nesterov ? d + momentum * buf[i] : buf[i];
        }
        param[i] = param[i] + (-lr) * d;
    }
}
