/* check_checkpoint: exit 0 if a porta checkpoint loads and holds the named
 * tensors and the optimizer state (used by test_train.sh after killing a
 * run mid-write). */
#include <stdio.h>

#include "porta/porta.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: check_checkpoint FILE [TENSOR...]\n");
        return 2;
    }
    porta_context *ctx = NULL;
    porta_safetensors *f = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_safetensors_open(ctx, argv[1], &f);
    for (int i = 2; i < argc && !st; i++)
        st = porta_safetensors_get(ctx, f, argv[i], NULL, NULL, NULL, NULL, NULL);
    if (!st)
        st = porta_safetensors_get(ctx, f, "porta.optimizer_state", NULL, NULL, NULL, NULL, NULL);
    if (st)
        fprintf(stderr, "check_checkpoint: %s: %s\n", porta_strerror(st),
                porta_context_message(ctx));
    porta_safetensors_destroy(ctx, f);
    porta_context_destroy(ctx);
    return st ? 1 : 0;
}
