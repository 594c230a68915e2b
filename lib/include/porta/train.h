/** @file porta/train.h
 * @brief porta's training toolkit: the host-side pieces a training program
 * needs around the core (porta/porta.h).
 *
 * Image-set and text-corpus readers, the threaded batch loader, the
 * JSON-lines metrics log and SVG plots. A separate library
 * (libporta_train; CMake target porta::porta_train; pkg-config
 * porta-train) so that linking the core brings in neither zlib nor
 * threads.
 *
 * The core's conventions hold here too: every fallible call takes a
 * context and returns a porta_status, with the detail in
 * porta_context_message(); every handle and every set or corpus a call
 * filled is released by its `_destroy`, except the metrics log, whose
 * porta_metrics_log_close() releases it and also says whether its lines
 * reached the disk. None of these calls needs an open device, and none
 * reads the environment.
 *
 * Readers check every byte they are given: a missing file is
 * PORTA_ERROR_IO, a file whose content cannot be right (truncated, wrong
 * magic or dtype, inconsistent counts, a label out of range, absurd
 * dimensions, binary text) is PORTA_ERROR_CORRUPT_DATA; the message names
 * the file and says what is wrong. A reader that fails leaves *out zeroed
 * and allocates nothing.
 *
 * Every file written whole (plots, a truncated metrics log) is written
 * atomically: to "<path>.tmp.<pid>" in the same directory, fsynced,
 * renamed over path, then the directory fsynced; a reader sees the old
 * file or the complete new one.
 */
#ifndef PORTA_PORTA_TRAIN_H
#define PORTA_PORTA_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- image sets -------------------------------------------------------- */

/** An in-memory labelled image set: pixels in CHW order, one byte each. */
typedef struct porta_image_set {
    size_t count;      /**< number of images */
    unsigned channels; /**< channels per image */
    unsigned height;   /**< rows per image */
    unsigned width;    /**< columns per image */
    unsigned classes;  /**< every label is < classes */
    uint8_t *pixels;   /**< count * channels * height * width bytes, image-major */
    uint8_t *labels;   /**< count bytes */
} porta_image_set;

/** Load an MNIST-family IDX pair: images_path an idx3 file of unsigned
 * bytes (count x height x width), labels_path an idx1 file of count
 * unsigned bytes. Each file may be plain or gzip-compressed; which one is
 * decided by its first bytes, not its name. The result has 1 channel and
 * 10 classes (MNIST, Fashion-MNIST, KMNIST): a label >= 10 is an error.
 * Height and width must lie in 1..4096, the count must be at least 1 and
 * the pixels at most 2^36 bytes. Trailing bytes after the data are an
 * error too (a wrong file, not a longer one). */
PORTA_API porta_status porta_image_set_load_idx(porta_context *ctx, const char *images_path,
                                                const char *labels_path, porta_image_set *out);

/** Load CIFAR-10 binary batches (data_batch_N.bin, test_batch.bin), in the
 * order given, into one set of 3 x 32 x 32 images with 10 classes. Each
 * record is 1 label byte then 3072 pixel bytes (the red, green, blue
 * planes); a file's size must be a non-zero multiple of 3073 and every
 * label < 10. Files may be gzip-compressed (detected by content).
 * n_paths >= 1. */
PORTA_API porta_status porta_image_set_load_cifar10(porta_context *ctx, const char *const *paths,
                                                    size_t n_paths, porta_image_set *out);

/** Load a data set from a directory: the training split when train, else
 * the test split. Recognised, in this order:
 * - MNIST family: {train,t10k}-images-idx3-ubyte[.gz] with
 *   {train,t10k}-labels-idx1-ubyte[.gz] (also the "-images.idx3-ubyte"
 *   spelling), e.g. Debian's /usr/share/datasets/fashion-mnist;
 * - CIFAR-10: data_batch_1.bin .. data_batch_5.bin (train, all five
 *   required) or test_batch.bin, in dir or in dir/cifar-10-batches-bin.
 *
 * A directory holding neither is PORTA_ERROR_IO with a message listing
 * what was looked for. */
PORTA_API porta_status porta_image_set_load_dir(porta_context *ctx, const char *dir, bool train,
                                                porta_image_set *out);

/** Free the pixels and labels and zero *set. NULL or a zeroed set is a
 * no-op. */
PORTA_API void porta_image_set_destroy(porta_context *ctx, porta_image_set *set);

/* ---- the batch loader -------------------------------------------------- */

/** A batch loader: a background thread (POSIX threads) prepares the next
 * few batches (a ring of 3) while the caller trains.
 * - Order: batch b of epoch e holds the samples perm_e[b*batch ..
 *   (b+1)*batch), perm_e a Fisher-Yates shuffle of 0..count-1 drawn from a
 *   counter-based generator keyed by (seed, e) only, so every machine sees
 *   the same order and a resumed run can seek straight to (e, b). Without
 *   shuffle, perm_e is the identity.
 * - The last count % batch samples of each epoch's order are dropped:
 *   every batch is full (batches_per_epoch = count / batch).
 * - Pixels become floats ((p / 255 - mean[c]) / std[c]) for channel c,
 *   computed in float exactly like that.
 * - augment: each image is cropped back to height x width from itself
 *   padded by 4 pixels of value 0 (black, before normalisation) on every
 *   side, at an offset uniform in 0..8 per axis, then flipped horizontally
 *   with probability 1/2 (the CIFAR recipe). The draws come from a
 *   counter-based generator keyed by (seed, epoch, sample index in the
 *   set), so they do not depend on thread timing or batch position.
 * - Labels are delivered as uint32.
 *
 * The loader borrows the image set: it must stay alive and unchanged until
 * porta_batch_loader_destroy(). */
typedef struct porta_batch_loader porta_batch_loader;

/** How a loader orders and prepares its batches. */
typedef struct porta_batch_loader_config {
    size_t batch;  /**< samples per batch, 1..count */
    uint64_t seed; /**< shuffle and augmentation seed */
    bool shuffle;  /**< a new order every epoch (else the set's order) */
    bool augment;  /**< random crop (pad 4) and horizontal flip */
    float mean[4]; /**< per channel (only the first `channels` are used) */
    float std[4];  /**< per channel, finite and > 0 */
} porta_batch_loader_config;

/** Create a loader over `set` (channels 1..4, count >= cfg->batch) and
 * start its thread at epoch 0, batch 0. */
PORTA_API porta_status porta_batch_loader_create(porta_context *ctx, const porta_image_set *set,
                                                 const porta_batch_loader_config *cfg,
                                                 porta_batch_loader **out);

/** count / batch: full batches per epoch (0 for NULL). */
PORTA_API size_t porta_batch_loader_batches_per_epoch(const porta_batch_loader *l);

/** Position the loader at batch `batch` (< batches_per_epoch) of epoch
 * `epoch`, e.g. to resume a run; the next porta_batch_loader_next()
 * returns exactly that batch, as a run that never stopped would have seen
 * it. Batches already prepared are discarded. */
PORTA_API porta_status porta_batch_loader_seek(porta_context *ctx, porta_batch_loader *l,
                                               uint64_t epoch, size_t batch);

/** Copy the next batch into images (batch * channels * height * width
 * floats, NCHW) and labels (batch uint32). Blocks only while the thread
 * has not prepared it yet. epoch and index (either may be NULL) receive
 * which batch it was; after the last batch of epoch e comes batch 0 of
 * e + 1. */
PORTA_API porta_status porta_batch_loader_next(porta_context *ctx, porta_batch_loader *l,
                                               float *images, uint32_t *labels, uint64_t *epoch,
                                               size_t *index);

/** Stop and join the thread and free the loader. NULL is a no-op. */
PORTA_API void porta_batch_loader_destroy(porta_context *ctx, porta_batch_loader *l);

/* ---- text corpora ------------------------------------------------------ */

/** A byte-level text corpus for language models: tokens are the bytes
 * 0..255. */
typedef struct porta_text {
    uint8_t *bytes;    /**< the whole file */
    size_t size;       /**< its length in bytes */
    size_t train_size; /**< bytes[0, train_size) train, bytes[train_size, size) validate */
} porta_text;

/** The two parts of a corpus. */
typedef enum porta_text_split {
    PORTA_TEXT_TRAIN = 0,     /**< bytes[0, train_size) */
    PORTA_TEXT_VALIDATION = 1 /**< bytes[train_size, size) */
} porta_text_split;

/** Read a text file (gzip-compressed files are decompressed, detected by
 * content) and split it deterministically: the last round(size *
 * val_fraction) bytes are the validation split, the bytes before them the
 * training split (0 <= val_fraction < 1). A missing file is
 * PORTA_ERROR_IO; an empty file or a binary one (a NUL byte, or more than
 * 1% of its bytes neither part of valid UTF-8 nor printable ASCII or
 * whitespace) is PORTA_ERROR_CORRUPT_DATA naming the file. */
PORTA_API porta_status porta_text_load(porta_context *ctx, const char *path, float val_fraction,
                                       porta_text *out);

/** Fill `batch` windows of context + 1 consecutive bytes from one split:
 * inputs[b * context + t] = window[t], targets[b * context + t] =
 * window[t + 1], t < context. Window b starts at an offset uniform over
 * the split's possible starts, drawn from a counter-based generator keyed
 * by (seed, step, split, b): the same arguments give the same batch
 * anywhere, and the two splits draw differently. The split must hold at
 * least context + 1 bytes (else PORTA_ERROR_INVALID_ARGUMENT naming its
 * size); batch and context >= 1; another split value is
 * PORTA_ERROR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_text_batch(porta_context *ctx, const porta_text *text,
                                        porta_text_split split, size_t batch, size_t context,
                                        uint64_t seed, uint64_t step, uint32_t *inputs,
                                        uint32_t *targets);

/** Free the bytes and zero *text. NULL or a zeroed text is a no-op. */
PORTA_API void porta_text_destroy(porta_context *ctx, porta_text *text);

/* ---- metrics logs ------------------------------------------------------ */

/** A metrics log: one JSON object per line (JSON Lines), e.g.
 * `{"step":120,"loss":0.4312,"lr":0.001}`. A line is built field by field
 * between porta_metrics_log_begin() and porta_metrics_log_end(), which
 * writes it with one write() (no user-space buffering, so a crash loses at
 * most the line being written). */
typedef struct porta_metrics_log porta_metrics_log;

/** Open path for writing lines. Without append an existing file is
 * truncated; with append what is there is kept (for a resumed run, after
 * porta_metrics_log_truncate_after()), first cutting off a torn last line
 * (one without its newline) that a crash may have left. */
PORTA_API porta_status porta_metrics_log_open(porta_context *ctx, const char *path, bool append,
                                              porta_metrics_log **out);

/** Start a line. A line already begun and not ended is an error. */
PORTA_API porta_status porta_metrics_log_begin(porta_context *ctx, porta_metrics_log *log);

/** Add an integer field to the line begun. Keys: valid UTF-8, unique
 * within the line. */
PORTA_API porta_status porta_metrics_log_int(porta_context *ctx, porta_metrics_log *log,
                                             const char *key, int64_t value);
/** Add a number field, written in the shortest form that reads back to the
 * same value (to the same float when the value is exactly a float: 0.1f
 * is "0.1"); NaN and infinities are written as null. */
PORTA_API porta_status porta_metrics_log_float(porta_context *ctx, porta_metrics_log *log,
                                               const char *key, double value);
/** Add a string field: valid UTF-8, escaped as JSON needs. */
PORTA_API porta_status porta_metrics_log_str(porta_context *ctx, porta_metrics_log *log,
                                             const char *key, const char *value);

/** Finish the line and write it ("}\n"). */
PORTA_API porta_status porta_metrics_log_end(porta_context *ctx, porta_metrics_log *log);

/** Write a ready-made line: one JSON object, checked with a strict parser,
 * without a line break inside (the newline is added). */
PORTA_API porta_status porta_metrics_log_write(porta_context *ctx, porta_metrics_log *log,
                                               const char *json_object);

/** fsync, close and free the log, whatever happens: the log's destructor,
 * and the one that can say whether everything reached the disk (its
 * status). A line begun and not ended is dropped (and reported as
 * PORTA_ERROR_INVALID_ARGUMENT after closing). NULL is a no-op. */
PORTA_API porta_status porta_metrics_log_close(porta_context *ctx, porta_metrics_log *log);

/** For resuming at `step`: rewrite the log at path atomically, keeping the
 * lines that belong to steps <= step. A line with a "step" (a non-negative
 * integer) is kept when its step <= step; a line without one (an
 * evaluation by epoch, a note) is kept when the last line with a "step"
 * before it was kept (or there was none), so it stays with the step it
 * followed. A torn last line without its newline is dropped. A line that
 * is not a JSON object, or whose "step" is not a non-negative integer, is
 * PORTA_ERROR_CORRUPT_DATA naming the line, and the file is left as it
 * was. A missing file is not an error (nothing to keep). */
PORTA_API porta_status porta_metrics_log_truncate_after(porta_context *ctx, const char *path,
                                                        uint64_t step);

/* ---- SVG plots --------------------------------------------------------- */

/* A plot: a title over up to PORTA_PLOT_MAX_PANELS panels stacked
 * vertically that share the x axis (its tick labels under the bottom
 * panel), e.g. training loss, test accuracy, learning rate per group. Each
 * panel has up to PORTA_PLOT_MAX_SERIES series, a legend, and nice-number
 * ticks (1, 2, 5 x 10^k; decades on a log scale). A non-finite point (or a
 * point <= 0 on a log scale) is skipped, breaking the line. A series of
 * more than PORTA_PLOT_MAX_POINTS points is drawn from the minimum and
 * maximum of each of PORTA_PLOT_MAX_POINTS / 2 buckets of consecutive
 * points, so spikes stay visible. */

/** The most panels of a plot. */
#define PORTA_PLOT_MAX_PANELS 3
/** The most series of a panel. */
#define PORTA_PLOT_MAX_SERIES 8
/** The most points a series is drawn with (see above). */
#define PORTA_PLOT_MAX_POINTS 2000

/** How a series is drawn. */
typedef enum porta_plot_style {
    PORTA_PLOT_LINE = 0,        /**< straight segments between points */
    PORTA_PLOT_POINTS = 1,      /**< a marker at every point */
    PORTA_PLOT_LINE_POINTS = 2, /**< both */
    PORTA_PLOT_STEPS = 3        /**< horizontal then vertical: a value held until the next x */
} porta_plot_style;

/** One series of a panel. */
typedef struct porta_plot_series {
    const char *label;      /**< legend text (UTF-8); NULL: "series N" */
    const double *x;        /**< n values (steps), ascending for lines */
    const double *y;        /**< n values */
    size_t n;               /**< points */
    porta_plot_style style; /**< how it is drawn */
} porta_plot_series;

/** One panel of a plot. */
typedef struct porta_plot_panel {
    const char *title; /**< above the panel, e.g. "training loss"; may be NULL */
    bool log_y;        /**< logarithmic y axis */
    unsigned n_series; /**< 0..PORTA_PLOT_MAX_SERIES */
    porta_plot_series series[PORTA_PLOT_MAX_SERIES]; /**< series[0 .. n_series) */
} porta_plot_panel;

/** A whole plot. */
typedef struct porta_plot {
    const char *title;     /**< at the top; may be NULL */
    const char *x_label;   /**< under the bottom panel, e.g. "step"; may be NULL */
    unsigned width;        /**< pixels; 0: 960 */
    unsigned panel_height; /**< pixels of each panel's plotting area; 0: 220 */
    unsigned n_panels;     /**< 1..PORTA_PLOT_MAX_PANELS */
    porta_plot_panel panels[PORTA_PLOT_MAX_PANELS]; /**< panels[0 .. n_panels) */
} porta_plot;

/** Write the plot as a self-contained SVG file, atomically. */
PORTA_API porta_status porta_plot_svg(porta_context *ctx, const char *path, const porta_plot *plot);

#ifdef __cplusplus
}
#endif

#endif
