/* train_vision.c: porta-train vision: image classification (Fashion-MNIST,
 * MNIST, CIFAR-10) with any optimizer and schedule, GreedyLR by default. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "optim_options.h"
#include "progress.h"
#include "train_options.h"
#include "train_run.h"
#include "vision_models.h"

static const char usage[] =
    "usage: porta-train vision [options]\n"
    "  --data DIR          MNIST-format or CIFAR-10 directory\n"
    "                      (default /usr/share/datasets/fashion-mnist)\n"
    "  --model mlp|cnn|resnet   (cnn)\n"
    "  --depth N           residual blocks per stage of resnet (1)\n"
    "  --epochs N          (5)\n"
    "  --batch N           (64; the last partial training batch of an epoch is dropped)\n"
    "  --seed N            initial weights, shuffling, augmentation (1)\n"
    "  --device SPEC       (default: PORTA_DEVICE or the best device)\n"
    "  --out DIR           metrics.jsonl, curves.svg, checkpoint.safetensors (runs/vision)\n"
    "  --resume DIR        continue the run saved in DIR (same options)\n"
    "  --eval-every N      also evaluate every N steps (0: after each epoch only)\n"
    "  --log-every N       drain the device metrics every N steps (100)\n"
    "  --limit-train N     use only the first N training images (tests)\n"
    "  --limit-test N      use only the first N test images\n"
    "  --max-steps N       stop after N steps in all (tests)\n"
    "  --help              this text\n"
    "optimizer (AdamW, lr 2e-3, weight decay 0.01) and schedule (GreedyLR, smoothed,\n"
    "min-lr lr/10, max-lr 4 lr):\n";

typedef struct vision_options {
    train_common c;
    const char *data;
    const char *model;
    int depth;
    int epochs;
    int limit_train, limit_test;
} vision_options;

/* PORTA_CLI_RUN, or the exit status (cli.h). */
static int parse(int argc, char **argv, vision_options *o)
{
    memset(o, 0, sizeof *o);
    o->data = "/usr/share/datasets/fashion-mnist";
    o->model = "cnn";
    o->depth = 1;
    o->epochs = 5;
    train_common_defaults(&o->c, "runs/vision", 64);
    /* measured on Fashion-MNIST, CNN, 5 epochs: 2e-3 reaches 91.6%, 1e-3 90.4% */
    o->c.opt.groups[0].lr = 2e-3f;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (porta_cli_is_help(a))
            return train_help(usage);
        int rc = train_common_option(&o->c, a, v, usage);
        if (rc < 0)
            return PORTA_CLI_EXIT_USAGE;
        if (rc > 0) {
            i += rc - 1;
            continue;
        }
        if (!v)
            return train_usage(usage, "%s: unknown option or missing value", a);
        if (strcmp(a, "--data") == 0)
            o->data = v;
        else if (strcmp(a, "--model") == 0)
            o->model = v;
        else if (strcmp(a, "--depth") == 0 || strcmp(a, "--epochs") == 0 ||
                 strcmp(a, "--limit-train") == 0 || strcmp(a, "--limit-test") == 0) {
            int *at = strcmp(a, "--depth") == 0         ? &o->depth
                      : strcmp(a, "--epochs") == 0      ? &o->epochs
                      : strcmp(a, "--limit-train") == 0 ? &o->limit_train
                                                        : &o->limit_test;
            const int min = strncmp(a, "--limit", 7) == 0 ? 0 : 1;
            if (porta_cli_parse_int(v, at) != 0 || *at < min)
                return train_usage(usage, "%s: not a valid count", a);
        } else
            return train_usage(usage, "unknown option %s", a);
        i++;
    }
    if (strcmp(o->model, "mlp") != 0 && strcmp(o->model, "cnn") != 0 &&
        strcmp(o->model, "resnet") != 0)
        return train_usage(usage, "--model %s: mlp, cnn or resnet", o->model);
    return train_common_finish(&o->c, usage);
}

/* The channel statistics inputs are normalised with. */
static void normalisation(const porta_image_set *set, float *mean, float *std)
{
    static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
    static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};
    for (unsigned c = 0; c < 4; c++) {
        mean[c] = set->channels == 3 && c < 3 ? cifar_mean[c] : 0.2860f;
        std[c] = set->channels == 3 && c < 3 ? cifar_std[c] : 0.3530f;
    }
}

/* Rows [0, n) of an evaluation batch from images [first, first + n). */
static void eval_batch(const porta_image_set *set, size_t first, size_t n, size_t batch,
                       const float *mean, const float *std, float *images, uint32_t *labels)
{
    const size_t per = (size_t)set->channels * set->height * set->width;
    const size_t plane = (size_t)set->height * set->width;
    memset(images, 0, batch * per * sizeof *images);
    memset(labels, 0, batch * sizeof *labels);
    for (size_t r = 0; r < n; r++) {
        const uint8_t *px = set->pixels + (first + r) * per;
        for (size_t i = 0; i < per; i++) {
            const size_t c = i / plane;
            images[r * per + i] = ((float)px[i] / 255.0f - mean[c]) / std[c];
        }
        labels[r] = set->labels[first + r];
    }
}

typedef struct eval_result {
    double loss, accuracy;
} eval_result;

static porta_status evaluate(porta_context *ctx, porta_graph *g, const vision_model *m,
                             const porta_image_set *test, size_t batch, const float *mean,
                             const float *std, float *images, uint32_t *labels, eval_result *out)
{
    double loss = 0.0;
    size_t correct = 0;
    porta_status st = PORTA_OK;
    const size_t per = (size_t)test->channels * test->height * test->width;
    for (size_t first = 0; first < test->count && !st; first += batch) {
        const size_t n = test->count - first < batch ? test->count - first : batch;
        eval_batch(test, first, n, batch, mean, std, images, labels);
        double l = 0.0;
        size_t c = 0;
        st = porta_graph_set_input(ctx, g, m->images, images, batch * per * sizeof *images);
        if (!st)
            st = porta_graph_set_input(ctx, g, m->labels, labels, batch * sizeof *labels);
        if (!st)
            st = porta_graph_evaluate(ctx, g, n, &l, &c);
        loss += l;
        correct += c;
    }
    out->loss = loss / (double)test->count;
    out->accuracy = (double)correct / (double)test->count;
    return st;
}

/* Everything a run holds, released in one place. */
typedef struct vision_state {
    porta_context *ctx;
    porta_graph *g;
    porta_image_set train, test;
    porta_batch_loader *loader;
    float *images;
    uint32_t *labels;
    train_run run;
    bool run_open;
} vision_state;

static void release(vision_state *s)
{
    if (s->run_open)
        train_run_close(&s->run);
    porta_batch_loader_destroy(s->ctx, s->loader);
    porta_graph_destroy(s->ctx, s->g);
    porta_image_set_destroy(s->ctx, &s->train);
    porta_image_set_destroy(s->ctx, &s->test);
    free(s->images);
    free(s->labels);
    porta_context_destroy(s->ctx);
}

static int fail(vision_state *s, const char *what, porta_status st)
{
    porta_cli_report("porta-train", s->ctx, what, st);
    release(s);
    return 1;
}

int train_vision_main(int argc, char **argv)
{
    vision_options o;
    int rc = parse(argc, argv, &o);
    if (rc != PORTA_CLI_RUN)
        return rc;
    vision_state s;
    memset(&s, 0, sizeof s);
    s.ctx = porta_cli_open_device("porta-train", o.c.device);
    if (!s.ctx)
        return 1;
    porta_status st = porta_image_set_load_dir(s.ctx, o.data, true, &s.train);
    if (st)
        return fail(&s, "training data", st);
    if ((st = porta_image_set_load_dir(s.ctx, o.data, false, &s.test)))
        return fail(&s, "test data", st);
    if (o.limit_train && (size_t)o.limit_train < s.train.count)
        s.train.count = (size_t)o.limit_train;
    if (o.limit_test && (size_t)o.limit_test < s.test.count)
        s.test.count = (size_t)o.limit_test;
    const size_t batch = o.c.batch;
    if (s.train.count < batch) {
        fprintf(stderr, "porta-train: %zu training images, fewer than one batch of %zu\n",
                s.train.count, batch);
        release(&s);
        return 2;
    }
    porta_batch_loader_config lc = {
        .batch = batch, .seed = o.c.seed, .shuffle = true, .augment = s.train.channels == 3};
    normalisation(&s.train, lc.mean, lc.std);
    if ((st = porta_batch_loader_create(s.ctx, &s.train, &lc, &s.loader)))
        return fail(&s, "batch loader", st);
    const size_t per_epoch = porta_batch_loader_batches_per_epoch(s.loader);
    const uint64_t total_steps = (uint64_t)per_epoch * (uint64_t)o.epochs;
    fprintf(stderr,
            "porta-train: %s, %zu training and %zu test images of %ux%ux%u, %u classes; %zu "
            "steps an epoch\n",
            o.data, s.train.count, s.test.count, s.train.channels, s.train.height, s.train.width,
            s.train.classes, per_epoch);

    vision_model m;
    if ((st = porta_graph_create(s.ctx, &(porta_graph_options){.seed = o.c.seed}, &s.g)))
        return fail(&s, "graph", st);
    st = vision_model_build(s.ctx, s.g, o.model, batch, s.train.channels, s.train.height,
                            s.train.width, s.train.classes, o.depth, &m);
    if (st)
        return fail(&s, "building the model", st);
    train_common_schedule(&o.c, total_steps);
    if ((st = porta_graph_compile(s.ctx, s.g, &o.c.opt, &o.c.sched)))
        return fail(&s, "compiling the model", st);
    train_print_graph("porta-train", s.ctx, s.g, o.model);

    /* The checkpoint names the data by the directory's base name, not its
     * path (checkpoints travel; a path tells where they were made). */
    char data_name[256];
    train_base_name(data_name, sizeof data_name, o.data);
    uint64_t start_epoch = 0, step = 0;
    porta_safetensors *ck = NULL;
    if (o.c.resume) {
        /* the run's own train_run is opened below; load through a scratch one */
        train_run probe = {.program = "porta-train", .ctx = s.ctx, .g = s.g};
        porta_graph_optimizer(s.ctx, s.g, &probe.opt);
        st = train_run_load(&probe, o.c.resume, true, &ck);
        if (st)
            return fail(&s, "resuming", st);
        const char *e = porta_safetensors_metadata(ck, "epoch");
        const char *sp = porta_safetensors_metadata(ck, "step");
        const char *was = porta_safetensors_metadata(ck, "data_dir");
        start_epoch = e ? strtoull(e, NULL, 10) : 0;
        step = sp ? strtoull(sp, NULL, 10) : 0;
        /* A name is no proof of content (and the same data may sit under
         * another name), so a different one only warns. */
        if (was && strcmp(was, data_name) != 0)
            fprintf(stderr,
                    "porta-train: warning: %s was trained on data in a directory named %s, "
                    "not %s\n",
                    o.c.resume, was, data_name);
        porta_safetensors_destroy(s.ctx, ck);
        fprintf(stderr, "porta-train: resuming %s after epoch %llu (step %llu)\n", o.c.resume,
                (unsigned long long)start_epoch, (unsigned long long)step);
        if ((st = porta_batch_loader_seek(s.ctx, s.loader, start_epoch, 0)))
            return fail(&s, "resuming", st);
    }
    if (train_run_open(&s.run, "porta-train", s.ctx, s.g, o.c.out, o.c.resume != NULL, step)) {
        release(&s);
        return 1;
    }
    s.run_open = true;
    s.run.with_epoch = true;

    const size_t per = (size_t)s.train.channels * s.train.height * s.train.width;
    s.images = malloc(batch * per * sizeof *s.images);
    s.labels = malloc(batch * sizeof *s.labels);
    if (!s.images || !s.labels)
        return fail(&s, "host buffers", PORTA_ERROR_OUT_OF_HOST_MEMORY);
    const char *eval_keys[] = {"test_accuracy", "test_loss"};
    const double t0 = progress_now();
    uint64_t steps_run = 0;
    eval_result ev = {NAN, NAN};
    for (uint64_t epoch = start_epoch; epoch < (uint64_t)o.epochs; epoch++) {
        s.run.epoch = epoch + 1;
        progress bar;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "epoch %llu/%d", (unsigned long long)epoch + 1, o.epochs);
        progress_start(&bar, stderr, prefix, per_epoch);
        const double epoch_t0 = progress_now();
        size_t b = 0;
        for (; b < per_epoch && !st; b++, step++) {
            if (o.c.max_steps && steps_run >= (uint64_t)o.c.max_steps)
                break;
            uint64_t e_got;
            size_t b_got;
            st = porta_batch_loader_next(s.ctx, s.loader, s.images, s.labels, &e_got, &b_got);
            if (!st)
                st = porta_graph_set_input(s.ctx, s.g, m.images, s.images,
                                           batch * per * sizeof *s.images);
            if (!st)
                st =
                    porta_graph_set_input(s.ctx, s.g, m.labels, s.labels, batch * sizeof *s.labels);
            if (!st)
                st = porta_graph_train_step(s.ctx, s.g);
            steps_run++;
            if (!st && ((step + 1) % (uint64_t)o.c.log_every == 0 || b + 1 == per_epoch)) {
                st = train_run_drain(&s.run);
                char fields[96];
                train_run_fields(&s.run, fields, sizeof fields);
                progress_tick(&bar, stderr, b + 1, fields);
            }
            if (!st && o.c.eval_every && (step + 1) % (uint64_t)o.c.eval_every == 0) {
                st = evaluate(s.ctx, s.g, &m, &s.test, batch, lc.mean, lc.std, s.images, s.labels,
                              &ev);
                const double v[2] = {ev.accuracy, ev.loss};
                if (!st)
                    st = train_run_log_eval(&s.run, step, -1, eval_keys, v, 2);
                if (!st && o.c.sched.observe_eval)
                    st = porta_optimizer_observe(s.ctx, s.run.opt, (float)ev.loss);
            }
        }
        if (!st)
            st = train_run_drain(&s.run);
        if (st)
            return fail(&s, "training", st);
        char fields[96];
        train_run_fields(&s.run, fields, sizeof fields);
        progress_done(&bar, stderr, b, fields);
        const double epoch_s = progress_now() - epoch_t0;
        if ((st = evaluate(s.ctx, s.g, &m, &s.test, batch, lc.mean, lc.std, s.images, s.labels,
                           &ev)))
            return fail(&s, "evaluating", st);
        const double v[2] = {ev.accuracy, ev.loss};
        if ((st = train_run_log_eval(&s.run, step - 1, (int64_t)epoch + 1, eval_keys, v, 2)))
            return fail(&s, "metrics.jsonl", st);
        if (o.c.sched.observe_eval && !o.c.eval_every &&
            (st = porta_optimizer_observe(s.ctx, s.run.opt, (float)ev.loss)))
            return fail(&s, "observing the test loss", st);
        printf("epoch %llu: test accuracy %.2f%%, test loss %.4f, train loss %.4f, %.1f s (%.2f "
               "ms/step)%s\n",
               (unsigned long long)epoch + 1, 100.0 * ev.accuracy, ev.loss, s.run.loss_recent,
               epoch_s, b ? 1000.0 * epoch_s / (double)b : 0.0,
               s.run.skipped ? " (some steps skipped: non-finite loss)" : "");
        fflush(stdout);
        char e_text[32], s_text[32], seed_text[32];
        snprintf(e_text, sizeof e_text, "%llu", (unsigned long long)epoch + 1);
        snprintf(s_text, sizeof s_text, "%llu", (unsigned long long)step);
        snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)o.c.seed);
        const char *meta[] = {"program",  "porta-train vision",
                              "model",    o.model,
                              "epoch",    e_text,
                              "step",     s_text,
                              "seed",     seed_text,
                              "data_dir", data_name,
                              NULL};
        if (b == per_epoch && (st = train_run_save(&s.run, meta)))
            return fail(&s, "checkpoint", st);
        if ((st = train_run_plot(&s.run, "porta-train vision", eval_keys, 1, "test accuracy",
                                 false)))
            return fail(&s, "curves.svg", st);
        if (b < per_epoch)
            break; /* --max-steps */
    }
    printf("final test accuracy %.2f%% (%s, %llu steps, %.1f s)\n", 100.0 * ev.accuracy, o.model,
           (unsigned long long)step, progress_now() - t0);
    release(&s);
    return 0;
}
