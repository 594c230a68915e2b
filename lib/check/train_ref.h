/* train_ref.h: the host reference of the training checks (check_train.c):
 * a small CNN and a small GPT, forward, backward and AdamW, computed with
 * the C reference of every kernel (lib/ref/) on the host, layer by layer
 * as porta's graph runs them on the device. Not installed.
 *
 * Parameters are named as the graph names them and start from the values
 * the device initialised (read back after compiling), so both sides train
 * the same model from the same point on the same batches.
 */
#ifndef PORTA_CHECK_TRAIN_REF_H
#define PORTA_CHECK_TRAIN_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIN_REF_MAX_TENSORS 40

/* One parameter tensor with its gradient and AdamW moments. */
typedef struct train_ref_tensor {
    char name[48];
    size_t n;
    bool decay; /* optimizer group 0 (weights) or 1 (biases, layer norms) */
    float *w, *g, *m, *v;
} train_ref_tensor;

typedef struct train_ref_params {
    train_ref_tensor t[TRAIN_REF_MAX_TENSORS];
    size_t count;
} train_ref_params;

/* Add a tensor of n values (copied from init); false when out of memory
 * or room. */
bool train_ref_add(train_ref_params *p, const char *name, size_t n, bool decay, const float *init);
void train_ref_free(train_ref_params *p);

/* The tensor named `name`, or NULL. */
train_ref_tensor *train_ref_find(train_ref_params *p, const char *name);

/* The small CNN of check_train.c: images [batch, 1, side, side], conv1
 * (c1 channels, 3x3, padding 1) - ReLU - 2x2 max pool, conv2 (c2) - ReLU -
 * pool, fc1 (hidden) - ReLU, classifier. */
typedef struct train_ref_cnn {
    size_t batch, side, c1, c2, hidden, classes;
} train_ref_cnn;

/* One step's forward and backward: the mean loss; gradients into p. */
bool train_ref_cnn_step(const train_ref_cnn *m, train_ref_params *p, const float *images,
                        const uint32_t *labels, double *loss);

/* The small GPT of check_train.c: token and position embeddings, `layers`
 * pre-norm blocks (causal attention of `heads` heads, a GELU MLP of 4 dim),
 * a final layer norm and a head tied to the token embedding (GPT-2's
 * names: wte, wpe, h.N.ln_1, h.N.attn.c_attn, ...). */
typedef struct train_ref_gpt {
    size_t batch, context, vocab, dim, heads, layers;
} train_ref_gpt;

bool train_ref_gpt_step(const train_ref_gpt *m, train_ref_params *p, const uint32_t *tokens,
                        const uint32_t *positions, const uint32_t *targets, double *loss);

/* AdamW on every tensor (porta_ref_adamw_step): update t (1-based), rate
 * lr for both groups, weight decay for group 0 only, gradients clipped to
 * a global norm of clip_norm first when clip_norm > 0. */
void train_ref_adamw(train_ref_params *p, unsigned t, float lr, float weight_decay, float beta1,
                     float beta2, float eps, float clip_norm);

#endif
