/* porta-train: train the sample models on any device.
 *
 *   porta-train vision [options]   image classification (Fashion-MNIST, CIFAR-10)
 *   porta-train text [options]     a byte-level GPT on a text corpus
 *
 * --help (or -h) prints the usage, here and after each workload. Exit
 * status 2 for a usage error, 1 for a failure.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train_options.h"

static const char usage[] = "usage: porta-train vision|text [options]\n"
                            "       porta-train vision|text --help   the options of a workload\n"
                            "  vision              image classification (MNIST family, CIFAR-10)\n"
                            "  text                a byte-level GPT on a text corpus\n";

int main(int argc, char **argv)
{
    porta_cli_prepare_environment();
    if (argc >= 2 && strcmp(argv[1], "vision") == 0)
        return train_vision_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "text") == 0)
        return train_text_main(argc - 2, argv + 2);
    if (argc >= 2 && porta_cli_is_help(argv[1]))
        return porta_cli_help(usage, NULL);
    if (argc < 2)
        return porta_cli_usage_error("porta-train", usage, NULL, "no workload given");
    return porta_cli_usage_error("porta-train", usage, NULL, "unknown workload %s", argv[1]);
}
