/* vision_models.c: mlp, cnn and a small residual network, as graphs. */
#include <stdio.h>
#include <string.h>

#include "vision_models.h"

/* 784-512-256-10 style: flatten, two ReLU layers, the classifier. */
static porta_status build_mlp(porta_context *ctx, porta_graph *g, size_t batch, size_t features,
                              size_t classes, vision_model *m)
{
    porta_tensor h;
    const size_t flat[2] = {batch, features};
    porta_status st = porta_graph_reshape(ctx, g, m->images, 2, flat, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, 512, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, 256, true, "fc2", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, classes, true, "classifier", &m->logits);
    return st;
}

/* conv(3x3) -> ReLU -> 2x2 max pool */
static porta_status conv_block(porta_context *ctx, porta_graph *g, porta_tensor x, size_t channels,
                               const char *name, porta_tensor *y)
{
    porta_status st = porta_graph_conv2d(ctx, g, x, channels, 3, 1, 1, true, name, y);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, *y, y);
    if (!st)
        st = porta_graph_pool(ctx, g, PORTA_POOL_MAX, *y, 2, 2, 0, y);
    return st;
}

/* Two conv blocks (32, 64 channels), then 128 hidden units. */
static porta_status build_cnn(porta_context *ctx, porta_graph *g, size_t batch, size_t height,
                              size_t width, size_t classes, vision_model *m)
{
    porta_tensor h;
    porta_status st = conv_block(ctx, g, m->images, 32, "conv1", &h);
    if (!st)
        st = conv_block(ctx, g, h, 64, "conv2", &h);
    const size_t flat[2] = {batch, 64 * (height / 4) * (width / 4)};
    if (!st)
        st = porta_graph_reshape(ctx, g, h, 2, flat, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, 128, true, "fc1", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, classes, true, "classifier", &m->logits);
    return st;
}

/* A basic residual block: conv-ReLU-conv plus the input (a 1x1 strided
 * projection when the shape changes), then ReLU. */
static porta_status residual_block(porta_context *ctx, porta_graph *g, porta_tensor x,
                                   size_t in_channels, size_t channels, size_t stride,
                                   const char *name, porta_tensor *y)
{
    char n1[64], n2[64], np[64];
    snprintf(n1, sizeof n1, "%s.conv1", name);
    snprintf(n2, sizeof n2, "%s.conv2", name);
    snprintf(np, sizeof np, "%s.shortcut", name);
    porta_tensor h, skip = x;
    porta_status st = porta_graph_conv2d(ctx, g, x, channels, 3, stride, 1, true, n1, &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    if (!st)
        st = porta_graph_conv2d(ctx, g, h, channels, 3, 1, 1, true, n2, &h);
    if (!st && (stride != 1 || in_channels != channels))
        st = porta_graph_conv2d(ctx, g, x, channels, 1, stride, 0, false, np, &skip);
    if (!st)
        st = porta_graph_add(ctx, g, h, skip, &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, y);
    return st;
}

/* A stem conv (16 channels), three stages of `depth` blocks (16, 32, 64
 * channels, the last two halving the resolution), global average pooling,
 * the classifier: ResNet-(6 depth + 2) of the CIFAR paper, without batch
 * normalisation. */
static porta_status build_resnet(porta_context *ctx, porta_graph *g, int depth, size_t classes,
                                 vision_model *m)
{
    porta_tensor h;
    porta_status st = porta_graph_conv2d(ctx, g, m->images, 16, 3, 1, 1, true, "stem", &h);
    if (!st)
        st = porta_graph_activation(ctx, g, PORTA_RELU, h, &h);
    size_t in_channels = 16;
    for (int stage = 0; stage < 3 && !st; stage++) {
        const size_t channels = (size_t)16 << stage;
        for (int b = 0; b < depth && !st; b++) {
            char name[32];
            snprintf(name, sizeof name, "stage%d.block%d", stage + 1, b + 1);
            st = residual_block(ctx, g, h, in_channels, channels, stage > 0 && b == 0 ? 2 : 1, name,
                                &h);
            in_channels = channels;
        }
    }
    if (!st)
        st = porta_graph_global_avg_pool(ctx, g, h, &h);
    if (!st)
        st = porta_graph_linear(ctx, g, h, classes, true, "classifier", &m->logits);
    return st;
}

porta_status vision_model_build(porta_context *ctx, porta_graph *g, const char *name, size_t batch,
                                size_t channels, size_t height, size_t width, size_t classes,
                                int depth, vision_model *m)
{
    const size_t image[4] = {batch, channels, height, width};
    porta_status st = porta_graph_input(ctx, g, "images", PORTA_F32, 4, image, &m->images);
    if (!st)
        st = porta_graph_input(ctx, g, "labels", PORTA_U32, 1, &batch, &m->labels);
    if (st)
        return st;
    if (strcmp(name, "mlp") == 0)
        st = build_mlp(ctx, g, batch, channels * height * width, classes, m);
    else if (strcmp(name, "cnn") == 0)
        st = build_cnn(ctx, g, batch, height, width, classes, m);
    else if (strcmp(name, "resnet") == 0)
        st = build_resnet(ctx, g, depth < 1 ? 1 : depth, classes, m);
    else
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!st)
        st = porta_graph_cross_entropy(ctx, g, m->logits, m->labels, &m->loss);
    return st;
}
