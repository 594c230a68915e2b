/* test_check_mode.c: check mode (porta_context_set_check_mode, PORTA_CHECK)
 * on every device.
 *
 *  - training steps of a small MLP and CNN in check mode pass: the
 *    reference agrees with every kernel call, no false alarm;
 *  - a divergence injected into one call's output (a test-only hook, in
 *    builds with PORTA_TEST_HOOKS: the sanitizer build of
 *    scripts/run-tests.sh) stops the step with PORTA_ERROR_MISMATCH, and the
 *    message names the call, its shape, the element, expected and got;
 *  - check mode off: the same injection changes nothing (no check runs).
 */
#include <stdlib.h>
#include <string.h>

#include "check_mode.h"
#include "harness.h"

enum { BATCH = 16, SIDE = 6, CLASSES = 3 };

static porta_status build(porta_context *ctx, porta_graph *g, int cnn, porta_tensor *x,
                          porta_tensor *y)
{
    const size_t xs[4] = {BATCH, 1, SIDE, SIDE}, ys[1] = {BATCH};
    const size_t flat[2] = {BATCH, 4 * (SIDE / 2) * (SIDE / 2)};
    porta_tensor h, logits, loss;
    porta_status st = porta_graph_input(ctx, g, "x", PORTA_F32, 4, xs, x);
    if (!st)
        st = porta_graph_input(ctx, g, "y", PORTA_U32, 1, ys, y);
    if (!st && cnn) {
        st = porta_graph_conv2d(ctx, g, *x, 4, 3, 1, 1, true, "conv", &h);
        if (!st)
            st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
        if (!st)
            st = porta_graph_pool(ctx, g, PORTA_POOL_MAX, h, 2, 2, 0, &h);
        if (!st)
            st = porta_graph_reshape(ctx, g, h, 2, flat, &h);
    } else if (!st) {
        const size_t rows[2] = {BATCH, SIDE * SIDE};
        st = porta_graph_reshape(ctx, g, *x, 2, rows, &h);
        if (!st)
            st = porta_graph_linear(ctx, g, h, 24, true, "fc1", &h);
        if (!st)
            st = porta_graph_activation(ctx, g, PORTA_GELU, h, &h);
        if (!st)
            st = porta_graph_layernorm(ctx, g, h, 1e-5f, "ln", &h);
    }
    if (!st)
        st = porta_graph_linear(ctx, g, h, CLASSES, true, "head", &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, *y, &loss);
    if (!st) {
        porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
        porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
        st = porta_graph_compile(ctx, g, &oc, &sc);
    }
    return st;
}

/* Compile the model and run `steps` training steps; the status of the
 * first failure. */
static porta_status train(porta_context *ctx, int cnn, int steps, const char *corrupt)
{
    porta_graph *g = NULL;
    porta_tensor x = 0, y = 0;
    porta_graph_options go = {.seed = 3};
    porta_status st = porta_graph_create(ctx, &go, &g);
    if (!st)
        st = build(ctx, g, cnn, &x, &y);
    float xb[BATCH * SIDE * SIDE];
    uint32_t yb[BATCH];
    unsigned r = 99u;
    for (int s = 0; !st && s < steps; s++) {
        for (size_t i = 0; i < sizeof xb / sizeof xb[0]; i++) {
            r = r * 1664525u + 1013904223u;
            xb[i] = (float)(r >> 8) / 16777216.0f;
        }
        for (int i = 0; i < BATCH; i++)
            yb[i] = (uint32_t)i % CLASSES;
        st = porta_graph_set_input(ctx, g, x, xb, sizeof xb);
        if (!st)
            st = porta_graph_set_input(ctx, g, y, yb, sizeof yb);
#ifdef PORTA_TEST_HOOKS
        if (!st && corrupt && s == steps - 1)
            porta__test_corrupt_next(ctx, corrupt, 5);
#else
        (void)corrupt;
#endif
        if (!st)
            st = porta_graph_train_step(ctx, g);
        if (!st)
            st = porta_finish(ctx);
    }
    porta_graph_destroy(ctx, g);
    return st;
}

static void per_device(test_state *t, porta_context *ctx, const porta_device_info *info, void *user)
{
    (void)user;
    porta_status st = porta_context_set_check_mode(ctx, PORTA_SETTING_ON);
    CHECK_OK(t, ctx, st, "set_check_mode");
    for (int cnn = 0; cnn < 2; cnn++) {
        st = train(ctx, cnn, 2, NULL);
        CHECK(t, st == PORTA_OK, "%s: %s in check mode: %s: %s", info->spec, cnn ? "CNN" : "MLP",
              porta_strerror(st), porta_context_message(ctx));
    }
#ifdef PORTA_TEST_HOOKS
    static const char *const calls[] = {"porta_gemm_bias_act", "porta_conv2d_backward_filter",
                                        "porta_cross_entropy"};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        st = train(ctx, i > 0, 2, calls[i]);
        const char *m = porta_context_message(ctx);
        printf("%s: %s\n", info->spec, m);
        CHECK(t, st == PORTA_ERROR_MISMATCH, "%s: injected into %s: %s (%s)", info->spec, calls[i],
              porta_strerror(st), m);
        CHECK(t,
              strstr(m, calls[i]) && strstr(m, "element 5") && strstr(m, "expected") &&
                  strstr(m, "got"),
              "%s: the message names the call, element, expected and got: %s", info->spec, m);
        CHECK(t,
              strstr(m, i == 1   ? "kernel=3x3"
                        : i == 0 ? "m=16"
                                 : "rows=16") != NULL,
              "%s: the message gives the shape: %s", info->spec, m);
    }
    /* off: the hook has nothing to act on, the run goes on */
    st = porta_context_set_check_mode(ctx, PORTA_SETTING_OFF);
    if (!st)
        st = train(ctx, 0, 2, "porta_gemm_bias_act");
    CHECK(t, st == PORTA_OK, "%s: check mode off: %s: %s", info->spec, porta_strerror(st),
          porta_context_message(ctx));
#else
    TEST_SKIP(t,
              "%s: the injected divergence needs a build with PORTA_TEST_HOOKS (the sanitizer "
              "build of scripts/run-tests.sh has it)",
              info->spec);
#endif
}

int main(void)
{
    test_init();
    test_state t = {0};
    test_for_each_device(&t, per_device, NULL);
    return test_finish(&t);
}
