/* train_run.c: run directory, metrics, plots and checkpoints of the
 * training programs. */
/* realpath() is XSI, beyond the POSIX the build asks for. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "train_run.h"

#define STATE_TENSOR "porta.optimizer_state"

const char *train_path(char *buf, const char *dir, const char *name)
{
    const size_t d = strlen(dir), n = strlen(name);
    if (d + 1 + n >= TRAIN_PATH_MAX) { /* cut: the open fails and names it */
        snprintf(buf, TRAIN_PATH_MAX, "%.*s", TRAIN_PATH_MAX - 1, dir);
        return buf;
    }
    memcpy(buf, dir, d);
    buf[d] = '/';
    memcpy(buf + d + 1, name, n + 1);
    return buf;
}

const char *train_base_name(char *buf, size_t cap, const char *path)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    const size_t n = end - start;
    const bool dots =
        (n == 1 && path[start] == '.') || (n == 2 && path[start] == '.' && path[start + 1] == '.');
    char *real = dots ? realpath(path, NULL) : NULL;
    if (real) { /* a resolved path ends in a real name (or is "/") */
        train_base_name(buf, cap, real);
        free(real);
        return buf;
    }
    if (n == 0 && end > 0) /* "/" (or "//"): the root names itself */
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)n, path + start);
    return buf;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[TRAIN_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int train_run_open(train_run *r, const char *program, porta_context *ctx, porta_graph *g,
                   const char *out_dir, bool resume, uint64_t keep_steps)
{
    memset(r, 0, sizeof *r);
    r->program = program;
    r->ctx = ctx;
    r->g = g;
    r->loss_recent = NAN;
    snprintf(r->out_dir, sizeof r->out_dir, "%s", out_dir);
    porta_status st = porta_graph_optimizer(ctx, g, &r->opt);
    porta_optimizer_status os;
    if (!st)
        st = porta_optimizer_status_get(ctx, r->opt, &os);
    if (st) {
        porta_cli_report(program, ctx, "optimizer", st);
        return 1;
    }
    r->n_groups = os.n_groups;
    if (make_dirs(out_dir) != 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", program, out_dir, strerror(errno));
        return 1;
    }
    char path[TRAIN_PATH_MAX];
    train_path(path, out_dir, "metrics.jsonl");
    if (resume && keep_steps > 0)
        st = porta_metrics_log_truncate_after(ctx, path, keep_steps - 1);
    if (!st)
        st = porta_metrics_log_open(ctx, path, resume, &r->log);
    if (st) {
        porta_cli_report(program, ctx, path, st);
        return 1;
    }
    r->steps_logged = keep_steps;
    return 0;
}

void train_run_close(train_run *r)
{
    porta_status st = porta_metrics_log_close(r->ctx, r->log);
    if (st)
        porta_cli_report(r->program, r->ctx, "closing metrics.jsonl", st);
    r->log = NULL;
}

porta_status train_run_drain(train_run *r)
{
    porta_step_metrics m[256];
    porta_status st = PORTA_OK;
    double sum = 0.0;
    size_t finite = 0;
    for (;;) {
        size_t n = 0, lost = 0;
        st = porta_optimizer_metrics(r->ctx, r->opt, m, 256, &n, &lost);
        if (st)
            return st;
        if (lost)
            fprintf(stderr, "%s: %zu steps' metrics were lost (drain more often)\n", r->program,
                    lost);
        for (size_t i = 0; i < n && !st; i++) {
            st = porta_metrics_log_begin(r->ctx, r->log);
            if (!st)
                st = porta_metrics_log_int(r->ctx, r->log, "step", (int64_t)m[i].step);
            if (!st && r->with_epoch)
                st = porta_metrics_log_int(r->ctx, r->log, "epoch", (int64_t)r->epoch);
            if (!st)
                st = porta_metrics_log_float(r->ctx, r->log, "loss", m[i].loss);
            if (!st)
                st = porta_metrics_log_float(r->ctx, r->log, "lr", m[i].lr[0]);
            for (unsigned gi = 1; gi < r->n_groups && !st; gi++) {
                char key[16];
                snprintf(key, sizeof key, "lr_%u", gi);
                st = porta_metrics_log_float(r->ctx, r->log, key, m[i].lr[gi]);
            }
            if (!st)
                st = porta_metrics_log_int(r->ctx, r->log, "skipped", m[i].skipped ? 1 : 0);
            if (!st)
                st = porta_metrics_log_end(r->ctx, r->log);
            r->last_loss = m[i].loss;
            r->last_lr = m[i].lr[0];
            r->skipped += m[i].skipped != 0;
            if (isfinite(m[i].loss)) {
                sum += m[i].loss;
                finite++;
            }
            r->steps_logged = m[i].step + 1;
        }
        if (st || n < 256) {
            if (finite)
                r->loss_recent = sum / (double)finite;
            return st;
        }
    }
}

const char *train_run_fields(const train_run *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "loss %.4f lr %.3g", r->loss_recent, (double)r->last_lr);
    return buf;
}

porta_status train_run_log_eval(train_run *r, uint64_t step, int64_t epoch, const char *const *keys,
                                const double *values, int n)
{
    porta_status st = porta_metrics_log_begin(r->ctx, r->log);
    if (!st)
        st = porta_metrics_log_int(r->ctx, r->log, "step", (int64_t)step);
    if (!st && epoch >= 0)
        st = porta_metrics_log_int(r->ctx, r->log, "epoch", epoch);
    for (int i = 0; i < n && !st; i++)
        st = porta_metrics_log_float(r->ctx, r->log, keys[i], values[i]);
    if (!st)
        st = porta_metrics_log_end(r->ctx, r->log);
    return st;
}

/* The number after "key": in a JSON line we wrote (null: NAN); false if
 * absent. */
static bool json_number(const char *line, const char *key, double *v)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(line, pattern);
    if (!at)
        return false;
    at += strlen(pattern);
    if (strncmp(at, "null", 4) == 0) {
        *v = NAN;
        return true;
    }
    char *end = NULL;
    *v = strtod(at, &end);
    return end != at;
}

/* Growable columns read back from metrics.jsonl. */
typedef struct column {
    double *x, *y;
    size_t n, cap;
} column;

static int column_push(column *c, double x, double y)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        double *nx = realloc(c->x, cap * sizeof *nx);
        if (nx)
            c->x = nx;
        double *ny = nx ? realloc(c->y, cap * sizeof *ny) : NULL;
        if (!ny)
            return -1;
        c->y = ny;
        c->cap = cap;
    }
    c->x[c->n] = x;
    c->y[c->n++] = y;
    return 0;
}

#define MAX_EVAL 4

porta_status train_run_plot(train_run *r, const char *title, const char *const *eval_keys,
                            int n_eval, const char *eval_title, bool eval_log_y)
{
    char path[TRAIN_PATH_MAX];
    FILE *f = fopen(train_path(path, r->out_dir, "metrics.jsonl"), "r");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", r->program, path, strerror(errno));
        return PORTA_ERROR_IO;
    }
    column loss = {0}, lr[PORTA_MAX_PARAM_GROUPS] = {{0}}, eval[MAX_EVAL] = {{0}};
    if (n_eval > MAX_EVAL)
        n_eval = MAX_EVAL;
    char line[4096];
    int oom = 0;
    while (fgets(line, sizeof line, f)) {
        double step, v;
        if (!json_number(line, "step", &step))
            continue;
        if (json_number(line, "loss", &v)) {
            oom |= column_push(&loss, step, v);
            for (unsigned gi = 0; gi < r->n_groups; gi++) {
                char key[16];
                snprintf(key, sizeof key, gi ? "lr_%u" : "lr", gi);
                if (json_number(line, key, &v))
                    oom |= column_push(&lr[gi], step, v);
            }
        }
        for (int e = 0; e < n_eval; e++)
            if (json_number(line, eval_keys[e], &v))
                oom |= column_push(&eval[e], step, v);
    }
    fclose(f);
    porta_plot plot;
    memset(&plot, 0, sizeof plot);
    plot.title = title;
    plot.x_label = "step";
    plot.n_panels = 3;
    plot.panels[0].title = "training loss";
    plot.panels[0].log_y = true;
    plot.panels[0].n_series = 1;
    plot.panels[0].series[0] =
        (porta_plot_series){"loss per step", loss.x, loss.y, loss.n, PORTA_PLOT_LINE};
    plot.panels[1].title = eval_title;
    plot.panels[1].log_y = eval_log_y;
    plot.panels[1].n_series = (unsigned)n_eval;
    for (int e = 0; e < n_eval; e++)
        plot.panels[1].series[e] = (porta_plot_series){eval_keys[e], eval[e].x, eval[e].y,
                                                       eval[e].n, PORTA_PLOT_LINE_POINTS};
    static const char *const group_names[] = {"lr (weights)", "lr (biases, norms)", "lr group 2",
                                              "lr group 3",   "lr group 4",         "lr group 5",
                                              "lr group 6",   "lr group 7"};
    plot.panels[2].title = "learning rate";
    plot.panels[2].log_y = true;
    plot.panels[2].n_series = r->n_groups;
    for (unsigned gi = 0; gi < r->n_groups; gi++)
        plot.panels[2].series[gi] =
            (porta_plot_series){group_names[gi], lr[gi].x, lr[gi].y, lr[gi].n, PORTA_PLOT_STEPS};
    porta_status st =
        oom ? PORTA_ERROR_OUT_OF_HOST_MEMORY
            : porta_plot_svg(r->ctx, train_path(path, r->out_dir, "curves.svg"), &plot);
    free(loss.x);
    free(loss.y);
    for (unsigned gi = 0; gi < PORTA_MAX_PARAM_GROUPS; gi++) {
        free(lr[gi].x);
        free(lr[gi].y);
    }
    for (int e = 0; e < MAX_EVAL; e++) {
        free(eval[e].x);
        free(eval[e].y);
    }
    return st;
}

porta_status train_run_save(train_run *r, const char *const *metadata)
{
    char path[TRAIN_PATH_MAX];
    porta_safetensors_writer *w = NULL;
    porta_status st =
        porta_safetensors_begin(r->ctx, train_path(path, r->out_dir, "checkpoint.safetensors"), &w);
    size_t count = 0;
    if (!st)
        st = porta_graph_parameter_count(r->ctx, r->g, &count);
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor t;
        const char *name;
        unsigned ndim = 0;
        size_t shape[PORTA_MAX_DIMS], n = 1;
        st = porta_graph_parameter_at(r->ctx, r->g, i, &t, &name);
        if (!st)
            st = porta_graph_shape(r->ctx, r->g, t, &ndim, shape);
        for (unsigned d = 0; d < ndim; d++)
            n *= shape[d];
        float *v = st ? NULL : malloc(n * sizeof *v);
        if (!st && !v)
            st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
        if (!st)
            st = porta_graph_parameter_read(r->ctx, r->g, t, false, v, n);
        if (!st)
            st = porta_safetensors_add(r->ctx, w, name, "F32", shape, ndim, v, n * sizeof *v);
        free(v);
    }
    size_t bytes = 0;
    if (!st)
        st = porta_optimizer_state_size(r->ctx, r->opt, &bytes);
    void *state = st ? NULL : malloc(bytes);
    if (!st && !state)
        st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = porta_optimizer_state_get(r->ctx, r->opt, state, bytes);
    if (!st)
        st = porta_safetensors_add(r->ctx, w, STATE_TENSOR, "U8", &bytes, 1, state, bytes);
    free(state);
    if (!st)
        st = porta_safetensors_add_metadata(r->ctx, w, "format", "porta-checkpoint-1");
    for (const char *const *kv = metadata; kv && kv[0] && kv[1] && !st; kv += 2)
        st = porta_safetensors_add_metadata(r->ctx, w, kv[0], kv[1]);
    if (st) {
        porta_safetensors_writer_destroy(r->ctx, w);
        return st;
    }
    return porta_safetensors_commit(r->ctx, w);
}

porta_status train_run_load(train_run *r, const char *path, bool optimizer,
                            porta_safetensors **file)
{
    char buf[TRAIN_PATH_MAX];
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        path = train_path(buf, path, "checkpoint.safetensors");
    porta_safetensors *f = NULL;
    porta_status st = porta_safetensors_open(r->ctx, path, &f);
    size_t count = 0;
    if (!st)
        st = porta_graph_parameter_count(r->ctx, r->g, &count);
    for (size_t i = 0; i < count && !st; i++) {
        porta_tensor t;
        const char *name, *dtype = NULL;
        const void *data = NULL;
        unsigned ndim = 0, fdim = 0;
        size_t shape[PORTA_MAX_DIMS], fshape[PORTA_SAFETENSORS_MAX_DIMS], bytes = 0, n = 1;
        st = porta_graph_parameter_at(r->ctx, r->g, i, &t, &name);
        if (!st)
            st = porta_graph_shape(r->ctx, r->g, t, &ndim, shape);
        if (!st)
            st = porta_safetensors_get(r->ctx, f, name, &dtype, fshape, &fdim, &data, &bytes);
        for (unsigned d = 0; d < ndim; d++)
            n *= shape[d];
        if (!st && (strcmp(dtype, "F32") != 0 || fdim != ndim ||
                    memcmp(fshape, shape, ndim * sizeof *shape) != 0)) {
            fprintf(stderr, "%s: %s: '%s' is %s with %u dimensions, not the model's F32 shape\n",
                    r->program, path, name, dtype, fdim);
            st = PORTA_ERROR_INVALID_ARGUMENT;
        }
        float *v = st ? NULL : malloc(bytes);
        if (!st && !v)
            st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
        if (!st) {
            memcpy(v, data, bytes);
            st = porta_graph_parameter_write(r->ctx, r->g, t, v, n);
        }
        free(v);
    }
    if (!st && optimizer) {
        const void *data = NULL;
        size_t bytes = 0;
        st = porta_safetensors_get(r->ctx, f, STATE_TENSOR, NULL, NULL, NULL, &data, &bytes);
        void *copy = st ? NULL : malloc(bytes ? bytes : 1);
        if (!st && !copy)
            st = PORTA_ERROR_OUT_OF_HOST_MEMORY;
        if (!st) {
            memcpy(copy, data, bytes);
            st = porta_optimizer_state_set(r->ctx, r->opt, copy, bytes, path);
        }
        free(copy);
    }
    if (st || !file)
        porta_safetensors_destroy(r->ctx, f);
    else
        *file = f;
    return st;
}
