/* check_activations.c: kernels.activations, ReLU, GELU, tanh and sigmoid
 * forward and backward against lib/ref/ref_layers.c.
 *
 * |got - ref| <= 1e-5 |ref| + 4e-6 (1 + |x|) max(1, |dy|) (+ u |old| when
 * accumulating): the device's exp and tanh are a few ulp off (OpenCL
 * allows 3-5 ulp, Vulkan's exp 3 + 2|x| ulp), and 1 + tanh, 1 - tanh^2
 * cancel, which costs absolute accuracy where f or f' is tiny.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "ref/ref.h"

static const char *const fn_names[] = {"relu", "gelu", "tanh", "sigmoid"};

static void check_one(porta__check *c, int fn, size_t n, uint32_t seed)
{
    porta_context *ctx = c->ctx;
    const size_t xo = 3, dyo = 5, dxo = 2;
    /* x in [-6, 6), every 17th element far out (+-20 .. 100) */
    float *x = porta__check_random_new(n, &seed, 6.0f, 0.0f);
    float *dy = porta__check_random_new(n, &seed, 1.0f, 0.0f);
    float *dx0 = porta__check_random_new(n, &seed, 1.0f, 0.0f);
    float *want = malloc(n * sizeof(float));
    double *tol = malloc(n * sizeof(double));
    porta_buffer *bx = NULL, *bdy = NULL, *bdx = NULL;
    if (!porta__check_host_memory(c, x && dy && dx0 && want && tol))
        goto done;
    for (size_t i = 5; i < n; i += 17)
        x[i] = x[i] * 13.0f + (x[i] < 0 ? -20.0f : 20.0f);
    porta_status st = porta__check_upload(ctx, x, xo, n, 0, 0.0f, &bx);
    if (!st)
        st = porta__check_upload(ctx, dy, dyo, n, 0, 0.0f, &bdy);
    for (int backward = 0; backward < 2 && !c->fatal; backward++) {
        const bool accumulate = backward && n % 2 == 1;
        char what[96];
        snprintf(what, sizeof(what), "%s %s n=%zu%s", fn_names[fn],
                 backward ? "backward" : "forward", n, accumulate ? " accumulate" : "");
        porta_buffer_destroy(ctx, bdx);
        bdx = NULL;
        if (!st)
            st = porta__check_upload(ctx, dx0, dxo, n, 0, 0.0f, &bdx);
        if (!st && backward)
            st = porta_activation_backward(ctx, (porta_activation)fn, porta_view_at(bx, xo),
                                           porta_view_at(bdy, dyo), porta_view_at(bdx, dxo), n,
                                           accumulate);
        else if (!st)
            st = porta_activation_forward(ctx, (porta_activation)fn, porta_view_at(bx, xo),
                                          porta_view_at(bdx, dxo), n);
        if (!porta__check_call(c, st, "%s", what))
            break;
        memcpy(want, dx0, n * sizeof(float));
        if (backward)
            porta_ref_activation_backward(fn, x, dy, want, n, accumulate);
        else
            porta_ref_activation_forward(fn, x, want, n);
        for (size_t i = 0; i < n; i++) {
            const double d = backward ? fabs((double)dy[i]) : 1.0;
            tol[i] = 1e-5 * fabs((double)want[i]) +
                     4e-6 * (1.0 + fabs((double)x[i])) * (d > 1.0 ? d : 1.0) +
                     (accumulate ? fabs((double)dx0[i]) * PORTA_CHECK_U : 0.0);
        }
        porta__check_compare_buffer(c, what, bdx, dxo, want, tol, n, 0, 0.0f);
    }
done:
    porta_buffer_destroy(ctx, bx);
    porta_buffer_destroy(ctx, bdy);
    porta_buffer_destroy(ctx, bdx);
    free(x);
    free(dy);
    free(dx0);
    free(want);
    free(tol);
}

void porta__check_activations(porta__check *c)
{
    static const size_t sizes[] = {1, 7, 1000, 100003};
    const size_t n_sizes = c->quick ? 3 : 4;
    uint32_t seed = 10;
    for (int fn = 0; fn < 4 && !c->fatal; fn++)
        for (size_t s = 0; s < n_sizes; s++)
            check_one(c, fn, sizes[s], seed++);
}
