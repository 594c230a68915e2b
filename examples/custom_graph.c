/* custom_graph.c: a model graph of your own (a convolution, then
 * self-attention over its channels), trained for a few steps, saved as a
 * safetensors file and loaded again into a fresh graph.
 *
 *   custom_graph [--device SPEC] [--out FILE]
 *
 * The data is made up: 8x8 images of noise with one bright 2x2 square;
 * the label is the quadrant the square is in. The model:
 *
 *   images [B, 1, 8, 8]
 *     -> conv 3x3, 16 channels, ReLU              [B, 16, 8, 8]
 *     -> reshape: 16 tokens of 64 features        [B, 16, 64]
 *     -> linear to queries, keys, values          [B, 16, 96]
 *     -> 2-head self-attention (not causal)       [B, 16, 32]
 *     -> reshape, linear to the 4 classes         [B, 4]
 *     -> softmax cross-entropy against the labels
 *
 * The file holds every parameter under the name the graph gave it
 * ("conv.weight", "qkv.bias", ...) as F32 with its shape, loadable with
 * Python's safetensors too. Loading writes each tensor into the
 * parameter of the same name of another graph built the same way (with a
 * different seed, so its own initial weights differ); its evaluation loss
 * then equals the trained graph's bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <porta/porta.h>

enum { BATCH = 32, SIDE = 8, CHANNELS = 16, WIDTH = 32, HEADS = 2, CLASSES = 4, STEPS = 60 };

static int fail(porta_context *ctx, porta_status st, const char *what)
{
    fprintf(stderr, "custom_graph: %s: %s: %s\n", what, porta_strerror(st),
            porta_context_message(ctx));
    return 1;
}

/* The model above; *images and *labels are the inputs to fill. */
static porta_status build(porta_context *ctx, porta_graph *g, porta_tensor *images,
                          porta_tensor *labels)
{
    const size_t image_shape[4] = {BATCH, 1, SIDE, SIDE};
    const size_t label_shape[1] = {BATCH};
    const size_t tokens[3] = {BATCH, CHANNELS, SIDE * SIDE};
    const size_t flat[2] = {BATCH, CHANNELS * WIDTH};
    porta_tensor h, logits, loss;
    porta_status st = porta_graph_input(ctx, g, "images", PORTA_F32, 4, image_shape, images);
    if (!st)
        st = porta_graph_input(ctx, g, "labels", PORTA_U32, 1, label_shape, labels);
    if (!st) /* kernel 3, stride 1, padding 1 */
        st = porta_graph_conv2d(ctx, g, *images, CHANNELS, 3, 1, 1, true, "conv", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_reshape(ctx, g, h, 3, tokens, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, 3 * WIDTH, true, "qkv", &h);
    if (!st)
        st = porta_graph_attention(ctx, g, h, HEADS, false, &h);
    if (!st)
        st = porta_graph_reshape(ctx, g, h, 2, flat, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, CLASSES, true, "head", &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, *labels, &loss);
    if (!st) {
        porta_optimizer_config opt = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
        opt.groups[0].lr = 3e-3f;
        porta_scheduler_config sched = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
        st = porta_graph_compile(ctx, g, &opt, &sched);
    }
    return st;
}

/* Batch `b` of the made-up data, the same every time it is asked for. */
static void make_batch(unsigned b, float *x, uint32_t *y)
{
    unsigned state = 2463534242u + b * 747796405u;
    for (size_t n = 0; n < BATCH; n++) {
        float *img = x + n * SIDE * SIDE;
        for (size_t p = 0; p < SIDE * SIDE; p++) {
            state ^= state << 13, state ^= state >> 17, state ^= state << 5;
            img[p] = (float)(state % 1000u) / 2000.0f;
        }
        state ^= state << 13, state ^= state >> 17, state ^= state << 5;
        const unsigned r = state % (SIDE - 1), c = (state / SIDE) % (SIDE - 1);
        for (unsigned dr = 0; dr < 2; dr++)
            for (unsigned dc = 0; dc < 2; dc++)
                img[(r + dr) * SIDE + c + dc] = 2.0f;
        y[n] = (r >= SIDE / 2 ? 2u : 0u) + (c >= SIDE / 2 ? 1u : 0u);
    }
}

static porta_status set_batch(porta_context *ctx, porta_graph *g, porta_tensor images,
                              porta_tensor labels, const float *x, const uint32_t *y)
{
    porta_status st = porta_graph_set_input(ctx, g, images, x, BATCH * SIDE * SIDE * sizeof *x);
    return st ? st : porta_graph_set_input(ctx, g, labels, y, BATCH * sizeof *y);
}

/* Every parameter of g into a safetensors file at path, atomically. */
static porta_status save(porta_context *ctx, porta_graph *g, const char *path)
{
    porta_safetensors_writer *w = NULL;
    size_t count = 0;
    porta_status st = porta_safetensors_begin(ctx, path, &w);
    if (!st)
        st = porta_graph_parameter_count(ctx, g, &count);
    if (!st)
        st = porta_safetensors_add_metadata(ctx, w, "format", "pt");
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor t = 0;
        const char *name = NULL;
        unsigned ndim = 0;
        size_t shape[PORTA_MAX_DIMS], n = 1;
        st = porta_graph_parameter_at(ctx, g, i, &t, &name);
        if (!st)
            st = porta_graph_shape(ctx, g, t, &ndim, shape);
        for (unsigned d = 0; d < ndim && !st; d++)
            n *= shape[d];
        float *data = st ? NULL : malloc(n * sizeof *data);
        if (!st && !data)
            st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
        if (!st)
            st = porta_graph_parameter_read(ctx, g, t, false, data, n);
        if (!st)
            st = porta_safetensors_add(ctx, w, name, "F32", shape, ndim, data, n * sizeof *data);
        free(data);
    }
    if (st) {
        porta_safetensors_writer_destroy(ctx, w);
        return st;
    }
    return porta_safetensors_commit(ctx, w);
}

/* Every parameter of g from the file at path, by name and shape. */
static porta_status load(porta_context *ctx, porta_graph *g, const char *path)
{
    porta_safetensors *f = NULL;
    size_t count = 0;
    porta_status st = porta_safetensors_open(ctx, path, &f);
    if (!st)
        st = porta_graph_parameter_count(ctx, g, &count);
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor t = 0;
        const char *name = NULL, *dtype = NULL;
        const void *data = NULL;
        size_t bytes = 0;
        st = porta_graph_parameter_at(ctx, g, i, &t, &name);
        if (!st)
            st = porta_safetensors_get(ctx, f, name, &dtype, NULL, NULL, &data, &bytes);
        if (!st && strcmp(dtype, "F32") != 0)
            st = porta_context_set_message(ctx, PORTA_ERROR_CORRUPT_DATA, "%s: %s is %s, not F32",
                                           path, name, dtype);
        /* Files porta writes keep F32 data 4-byte aligned; the parameter's
         * size is checked against n by porta_graph_parameter_write(). */
        if (!st)
            st = porta_graph_parameter_write(ctx, g, t, data, bytes / sizeof(float));
    }
    /* The writes copied the data as they were enqueued: the file may go. */
    porta_safetensors_destroy(ctx, f);
    return st;
}

/* The loss of g on evaluation batch 1000 (not one of the training ones). */
static porta_status eval_loss(porta_context *ctx, porta_graph *g, porta_tensor images,
                              porta_tensor labels, float *x, uint32_t *y, double *loss,
                              size_t *correct)
{
    make_batch(1000, x, y);
    porta_status st = set_batch(ctx, g, images, labels, x, y);
    return st ? st : porta_graph_evaluate(ctx, g, 0, loss, correct);
}

int main(int argc, char **argv)
{
    const char *device = NULL, *path = "custom_graph.safetensors";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--device") == 0)
            device = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            path = argv[i + 1];
    }
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_device_open(ctx, device, NULL);
    if (st) {
        int rc = fail(ctx, st, "opening a device");
        porta_context_destroy(ctx);
        return rc;
    }

    float x[BATCH * SIDE * SIDE];
    uint32_t y[BATCH];
    porta_graph *trained = NULL, *loaded = NULL;
    porta_tensor images = 0, labels = 0, images2 = 0, labels2 = 0;
    double before = 0.0, after = 0.0, reloaded = 0.0;
    size_t correct = 0, correct2 = 0;
    int rc = 1;

    const porta_graph_options first = {.seed = 1};
    st = porta_graph_create(ctx, &first, &trained);
    if (!st)
        st = build(ctx, trained, &images, &labels);
    if (!st)
        st = eval_loss(ctx, trained, images, labels, x, y, &before, &correct);
    for (unsigned step = 0; step < STEPS && !st; step++) {
        make_batch(step, x, y);
        st = set_batch(ctx, trained, images, labels, x, y);
        if (!st)
            st = porta_graph_train_step(ctx, trained);
    }
    if (!st)
        st = eval_loss(ctx, trained, images, labels, x, y, &after, &correct);
    if (st) {
        fail(ctx, st, "training");
        goto done;
    }
    printf("evaluation loss %.4f before training, %.4f after %d steps (%zu of %d right)\n",
           before / BATCH, after / BATCH, STEPS, correct, BATCH);

    st = save(ctx, trained, path);
    if (st) {
        fail(ctx, st, "saving");
        goto done;
    }
    printf("saved the parameters to %s\n", path);

    const porta_graph_options second = {.seed = 2};
    st = porta_graph_create(ctx, &second, &loaded);
    if (!st)
        st = build(ctx, loaded, &images2, &labels2);
    if (!st)
        st = load(ctx, loaded, path);
    if (!st)
        st = eval_loss(ctx, loaded, images2, labels2, x, y, &reloaded, &correct2);
    if (st) {
        fail(ctx, st, "loading");
        goto done;
    }
    printf("loaded into a fresh graph: evaluation loss %.4f (%s)\n", reloaded / BATCH,
           reloaded == after && correct2 == correct ? "identical" : "DIFFERENT");
    rc = reloaded == after && correct2 == correct ? 0 : 1;

done:
    porta_graph_destroy(ctx, loaded);
    porta_graph_destroy(ctx, trained);
    porta_context_destroy(ctx);
    return rc;
}
