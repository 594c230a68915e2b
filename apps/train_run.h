/* train_run.h: what the training programs share around a compiled graph:
 * the run directory (metrics.jsonl, curves.svg, checkpoint.safetensors),
 * draining the optimizer's metrics ring into the log, checkpoints that
 * restore a run exactly, and loading weights to fine-tune. */
#ifndef PORTA_TRAIN_RUN_H
#define PORTA_TRAIN_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "porta/train.h"

#define TRAIN_PATH_MAX 1024

typedef struct train_run {
    const char *program;
    porta_context *ctx;
    porta_graph *g;
    porta_optimizer *opt;
    char out_dir[TRAIN_PATH_MAX];
    porta_metrics_log *log;
    unsigned n_groups;
    uint64_t epoch; /* written into each step line (vision) */
    bool with_epoch;
    /* the latest drained step, for progress lines */
    uint64_t steps_logged;
    float last_loss, last_lr;
    double loss_recent; /* mean finite loss of the steps drained last (NAN: none) */
    uint64_t skipped;
} train_run;

/* Create out_dir (and parents) and open its metrics.jsonl: a fresh log, or
 * when resuming after `keep_steps` steps the existing one cut back to those
 * steps. Prints the reason and returns non-zero on failure. */
int train_run_open(train_run *r, const char *program, porta_context *ctx, porta_graph *g,
                   const char *out_dir, bool resume, uint64_t keep_steps);

/* Drain the metrics ring (one device read): one line per step with
 * "step", ["epoch",] "loss", "lr" (group 0), "lr_1"... and "skipped". */
porta_status train_run_drain(train_run *r);

/* The progress-line fields of the latest drain: "loss 0.4312 lr 0.001". */
const char *train_run_fields(const train_run *r, char *buf, size_t cap);

/* An evaluation line: {"step": s, ["epoch": e,] k[0]: v[0], ...}. */
porta_status train_run_log_eval(train_run *r, uint64_t step, int64_t epoch, const char *const *keys,
                                const double *values, int n);

/* curves.svg from metrics.jsonl: training loss, the evaluation metrics
 * (keys, with their panel title), the learning rate of every group. */
porta_status train_run_plot(train_run *r, const char *title, const char *const *eval_keys,
                            int n_eval, const char *eval_title, bool eval_log_y);

/* Write checkpoint.safetensors atomically: every parameter by name (F32),
 * the optimizer and scheduler state ("porta.optimizer_state", U8), and
 * the metadata pairs (key, value, ..., NULL). Checkpoints travel: no value
 * should name a path of the writing machine (see train_base_name()). */
porta_status train_run_save(train_run *r, const char *const *metadata);

/* Open a checkpoint (a file, or a directory holding checkpoint.safetensors)
 * and load every parameter of the graph from it by name and shape; with
 * `optimizer` also the optimizer and scheduler state. *file stays open for
 * the caller's metadata reads (porta_safetensors_destroy()). */
porta_status train_run_load(train_run *r, const char *path, bool optimizer,
                            porta_safetensors **file);

/* "<dir>/<name>" into buf. */
const char *train_path(char *buf, const char *dir, const char *name);

/* The last component of a path, without trailing slashes, into buf (cap
 * bytes): "/home/me/.cache/porta/kjv.txt" -> "kjv.txt",
 * "/usr/share/datasets/fashion-mnist/" -> "fashion-mnist"; ".", ".." and
 * paths ending in them are resolved first (realpath), so they give the
 * directory's own name. What a checkpoint records of its data instead of
 * the path, which would tell every reader the writer's file system. */
const char *train_base_name(char *buf, size_t cap, const char *path);

/* Close the log. */
void train_run_close(train_run *r);

#endif
