/* vision_models.h: the image classifiers of porta-train vision. */
#ifndef PORTA_VISION_MODELS_H
#define PORTA_VISION_MODELS_H

#include "porta/porta.h"

typedef struct vision_model {
    porta_tensor images; /* input [batch, channels, height, width] */
    porta_tensor labels; /* input [batch] */
    porta_tensor logits; /* [batch, classes] */
    porta_tensor loss;
} vision_model;

/* Build `name` (mlp, cnn, resnet) into g for batch x channels x height x
 * width images of `classes` classes. depth: residual blocks per stage
 * (resnet). Returns PORTA_ERROR_INVALID_ARGUMENT for an unknown name. */
porta_status vision_model_build(porta_context *ctx, porta_graph *g, const char *name, size_t batch,
                                size_t channels, size_t height, size_t width, size_t classes,
                                int depth, vision_model *m);

#endif
