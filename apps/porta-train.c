/* porta-train: train the sample models on any device.
 *
 *   porta-train vision [options]   image classification (Fashion-MNIST, CIFAR-10)
 *   porta-train text [options]     a byte-level GPT on a text corpus
 *
 * Exit status 2 for a usage error, 1 for a failure.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train.h"

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    if (argc >= 2 && strcmp(argv[1], "vision") == 0)
        return train_vision_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "text") == 0)
        return train_text_main(argc - 2, argv + 2);
    fprintf(stderr, "usage: porta-train vision|text [options]  (--help on each for options)\n");
    return 2;
}
