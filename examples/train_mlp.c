/* train_mlp.c: train a small MLP on Fashion-MNIST through porta's public
 * API, with AdamW and the GreedyLR schedule, and print its loss and test
 * accuracy.
 *
 *   train_mlp [--data DIR] [--device SPEC] [--steps N]
 *
 * DIR holds the four Fashion-MNIST IDX files (default: Debian's
 * dataset-fashion-mnist, /usr/share/datasets/fashion-mnist); SPEC picks the
 * device as porta_device_open() does ("pocl", "vulkan", "opencl:1"; default:
 * the best one). The program shows the whole life of a training run:
 *
 *   1. a context and a device;
 *   2. the data: an image set, and a batch loader that shuffles and
 *      normalises it on a thread of its own (porta/train.h);
 *   3. a model graph: inputs, layers, a loss;
 *   4. compiling it with an optimizer and a learning-rate schedule;
 *   5. training steps, which only enqueue work: the host never waits for
 *      the device inside a step;
 *   6. reading the device's metrics ring now and then for the losses;
 *   7. evaluation on the test set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <porta/porta.h>
#include <porta/train.h>

enum { BATCH = 64, HIDDEN = 128, CLASSES = 10, PRINT_EVERY = 50 };

/* One batch on the host: images (NCHW floats) and labels. */
#define X_BYTES (BATCH * 28 * 28 * sizeof(float))
#define Y_BYTES (BATCH * sizeof(uint32_t))

/* Print what went wrong, in the driver's own words where there is one. */
static int fail(porta_context *ctx, porta_status st, const char *what)
{
    fprintf(stderr, "train_mlp: %s: %s: %s\n", what, porta_strerror(st),
            porta_context_message(ctx));
    return 1;
}

/* The model: flatten the 28x28 image, one hidden ReLU layer, 10 logits,
 * and the mean softmax cross-entropy as the training loss. */
static porta_status build_model(porta_context *ctx, porta_graph *g, porta_tensor *images,
                                porta_tensor *labels)
{
    const size_t image_shape[4] = {BATCH, 1, 28, 28};
    const size_t label_shape[1] = {BATCH};
    const size_t flat[2] = {BATCH, 28 * 28};
    porta_tensor h, logits, loss;
    porta_status st = porta_graph_input(ctx, g, "images", PORTA_F32, 4, image_shape, images);
    if (!st)
        st = porta_graph_input(ctx, g, "labels", PORTA_U32, 1, label_shape, labels);
    if (!st)
        st = porta_graph_reshape(ctx, g, *images, 2, flat, &h);
    if (!st) /* "fc1.weight" [128, 784] and "fc1.bias" [128] */
        st = porta_graph_linear(ctx, g, h, HIDDEN, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, CLASSES, true, "classifier", &logits);
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, logits, *labels, &loss);
    return st;
}

/* AdamW at 1e-3 with GreedyLR observing the training loss of every step,
 * smoothed over 50 steps as the paper ran it, its floor a tenth of the
 * initial rate. */
static porta_status compile_model(porta_context *ctx, porta_graph *g)
{
    porta_optimizer_config opt = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    opt.groups[0].lr = 1e-3f;
    opt.groups[0].min_lr = 1e-4f;
    porta_scheduler_config sched = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sched.smooth = true;
    sched.window = 50;
    return porta_graph_compile(ctx, g, &opt, &sched);
}

/* Drain the metrics ring and print the mean loss of the steps it held. */
static porta_status print_losses(porta_context *ctx, porta_graph *g, size_t step)
{
    porta_optimizer *opt = NULL;
    porta_step_metrics m[PRINT_EVERY];
    size_t count = 0, lost = 0;
    porta_status st = porta_graph_optimizer(ctx, g, &opt);
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, m, PRINT_EVERY, &count, &lost);
    if (st || count == 0)
        return st;
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += m[i].loss;
    printf("step %4zu  loss %.4f  lr %.6f\n", step, sum / (double)count,
           (double)m[count - 1].lr[0]);
    return PORTA_OK;
}

/* Accuracy over the whole test set, in batches (the last partial batch is
 * padded by repeating images, and only its real rows are counted). */
static porta_status evaluate(porta_context *ctx, porta_graph *g, porta_tensor images,
                             porta_tensor labels, const porta_image_set *test, float *x,
                             uint32_t *y, double *loss, double *accuracy)
{
    double loss_sum = 0.0;
    size_t correct = 0;
    for (size_t first = 0; first < test->count; first += BATCH) {
        const size_t rows = test->count - first < BATCH ? test->count - first : BATCH;
        for (size_t r = 0; r < BATCH; r++) {
            const size_t i = first + (r < rows ? r : 0);
            for (size_t p = 0; p < 28 * 28; p++) /* the loader's normalisation */
                x[r * 28 * 28 + p] =
                    ((float)test->pixels[i * 28 * 28 + p] / 255.0f - 0.2860f) / 0.3530f;
            y[r] = test->labels[i];
        }
        double l = 0.0;
        size_t c = 0;
        porta_status st = porta_graph_set_input(ctx, g, images, x, X_BYTES);
        if (!st)
            st = porta_graph_set_input(ctx, g, labels, y, Y_BYTES);
        if (!st)
            st = porta_graph_evaluate(ctx, g, rows, &l, &c);
        if (st)
            return st;
        loss_sum += l;
        correct += c;
    }
    *loss = loss_sum / (double)test->count;
    *accuracy = (double)correct / (double)test->count;
    return PORTA_OK;
}

int main(int argc, char **argv)
{
    const char *data = "/usr/share/datasets/fashion-mnist", *device = NULL;
    size_t steps = 600;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data = argv[++i];
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            steps = strtoul(argv[++i], NULL, 10);
        else {
            const int help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: train_mlp [--data DIR] [--device SPEC] [--steps N]\n");
            return help ? 0 : 2;
        }
    }

    /* 1. A context and a device. */
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (st)
        return fail(ctx, st, "porta_context_create");
    porta_device_info dev;
    st = porta_device_open(ctx, device, &dev);
    if (st) {
        int rc = fail(ctx, st, "porta_device_open");
        porta_context_destroy(ctx);
        return rc;
    }
    printf("device: %s (%s, %s)\n", dev.name, dev.spec, dev.type);

    /* 2. The data, and a loader that prepares shuffled, normalised batches. */
    porta_image_set train = {0}, test = {0};
    porta_batch_loader *loader = NULL;
    porta_graph *g = NULL;
    porta_tensor images = 0, labels = 0;
    float *x = malloc(X_BYTES);
    uint32_t *y = malloc(Y_BYTES);
    int rc = 1;
    if (!x || !y) {
        fprintf(stderr, "train_mlp: out of memory\n");
        goto done;
    }
    st = porta_image_set_load_dir(ctx, data, true, &train);
    if (!st)
        st = porta_image_set_load_dir(ctx, data, false, &test);
    if (st) {
        fail(ctx, st, "loading the data set");
        goto done;
    }
    porta_batch_loader_config lc = {.batch = BATCH, .seed = 1, .shuffle = true};
    lc.mean[0] = 0.2860f; /* Fashion-MNIST's pixel mean and deviation */
    lc.std[0] = 0.3530f;
    st = porta_batch_loader_create(ctx, &train, &lc, &loader);
    if (st) {
        fail(ctx, st, "porta_batch_loader_create");
        goto done;
    }

    /* 3 and 4. The model, compiled with its optimizer and schedule. */
    const porta_graph_options go = {.seed = 42};
    st = porta_graph_create(ctx, &go, &g);
    if (!st)
        st = build_model(ctx, g, &images, &labels);
    if (!st)
        st = compile_model(ctx, g);
    if (st) {
        fail(ctx, st, "building the model");
        goto done;
    }

    /* 5 and 6. Training: each step uploads a batch and enqueues forward,
     * backward and the fused optimizer step; the losses come from the
     * device's metrics ring every PRINT_EVERY steps. */
    for (size_t step = 1; step <= steps; step++) {
        st = porta_batch_loader_next(ctx, loader, x, y, NULL, NULL);
        if (!st)
            st = porta_graph_set_input(ctx, g, images, x, X_BYTES);
        if (!st)
            st = porta_graph_set_input(ctx, g, labels, y, Y_BYTES);
        if (!st)
            st = porta_graph_train_step(ctx, g);
        if (!st && (step % PRINT_EVERY == 0 || step == steps))
            st = print_losses(ctx, g, step);
        if (st) {
            fail(ctx, st, "training");
            goto done;
        }
    }

    /* 7. Evaluation on the 10,000 test images. */
    double loss = 0.0, accuracy = 0.0;
    st = evaluate(ctx, g, images, labels, &test, x, y, &loss, &accuracy);
    if (st) {
        fail(ctx, st, "evaluation");
        goto done;
    }
    printf("test loss %.4f  test accuracy %.2f%%\n", loss, 100.0 * accuracy);
    rc = 0;

done:
    porta_graph_destroy(ctx, g);
    porta_batch_loader_destroy(ctx, loader);
    porta_image_set_destroy(ctx, &test);
    porta_image_set_destroy(ctx, &train);
    porta_context_destroy(ctx);
    free(y);
    free(x);
    return rc;
}
