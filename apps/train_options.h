/* train_options.h: the options and set-up porta-train's workloads share. */
#ifndef PORTA_APPS_TRAIN_OPTIONS_H
#define PORTA_APPS_TRAIN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "porta/train.h"

typedef struct train_common {
    porta_optimizer_config opt;
    porta_scheduler_config sched;
    bool lr_set, min_lr_set, max_lr_set, wd_set, total_set; /* given on the command line */
    const char *device;
    const char *out;
    const char *resume;
    uint64_t seed;
    size_t batch;
    int eval_every;
    int log_every;
    int max_steps;
} train_common;

/* AdamW, GreedyLR (smoothed), seed 1, the given output directory and batch. */
void train_common_defaults(train_common *c, const char *out, size_t batch);

/* One shared option at argv position (name, value): returns how many
 * arguments it took (1 or 2), 0 if it is not a shared option, -1 after
 * printing a usage error. */
int train_common_option(train_common *c, const char *name, const char *value, const char *usage);

/* Defaults that depend on other options (min/max lr from lr); returns
 * PORTA_CLI_EXIT_USAGE after a usage error, else PORTA_CLI_RUN (cli.h). */
int train_common_finish(train_common *c, const char *usage);

/* Fill in what depends on the run's length (cosine's total steps). */
void train_common_schedule(train_common *c, uint64_t total_steps);

/* Print "porta-train: <fmt>" and the usage (with the optimizer options) to
 * stderr; returns PORTA_CLI_EXIT_USAGE. */
int train_usage(const char *usage, const char *fmt, const char *arg);

/* --help of a workload: its usage and the optimizer options on stdout;
 * returns PORTA_CLI_EXIT_HELP. */
int train_help(const char *usage);

/* One line about a compiled graph: parameters, planned memory. */
void train_print_graph(const char *program, porta_context *ctx, porta_graph *g, const char *name);

/* The workloads. */
int train_vision_main(int argc, char **argv);
int train_text_main(int argc, char **argv);

#endif
