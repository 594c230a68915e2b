/* progress.c: see progress.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

void progress_init(progress *p, const char *prefix, uint64_t total, bool tty, unsigned columns,
                   double now)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->prefix, sizeof(p->prefix), "%s", prefix ? prefix : "");
    p->total = total;
    p->tty = tty;
    p->columns = columns;
    p->bar_width = 24;
    p->redraw_s = 0.1;
    p->every_s = 30;
    p->every_percent = 10;
    p->start = p->last_draw = p->sample_time = now;
    p->rate = -1;
    p->next_percent = p->every_percent;
}

void progress_duration(char *out, size_t cap, double seconds)
{
    if (!isfinite(seconds) || seconds < 0 || seconds > 1e9) {
        snprintf(out, cap, "?");
        return;
    }
    unsigned long long s = (unsigned long long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, cap, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, cap, "%llu:%02llu", s / 60, s % 60);
}

/* Append to out[*len] within cap (always NUL-terminated). */
static void add(char *out, size_t cap, size_t *len, const char *fmt, const char *a, const char *b)
{
    if (*len + 1 >= cap)
        return;
    int n = snprintf(out + *len, cap - *len, fmt, a, b);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

size_t progress_format(char *out, size_t cap, const char *prefix, uint64_t step, uint64_t total,
                       const char *fields, double rate, double elapsed, unsigned bar_width,
                       unsigned columns, bool done)
{
    char buf[96], rate_text[32], time_text[32];
    size_t len = 0;
    if (cap == 0)
        return 0;
    out[0] = '\0';
    if (prefix && *prefix)
        add(out, cap, &len, "%s%s", prefix, " ");
    if (total > 0 && bar_width > 0 && bar_width < sizeof(buf) - 3) {
        double frac = step >= total ? 1.0 : (double)step / (double)total;
        unsigned full = (unsigned)(frac * bar_width);
        buf[0] = '[';
        for (unsigned i = 0; i < bar_width; i++)
            buf[1 + i] = i < full ? '=' : (i == full ? '>' : ' ');
        buf[1 + bar_width] = ']';
        buf[2 + bar_width] = '\0';
        add(out, cap, &len, "%s%s", buf, " ");
    }
    if (total > 0) {
        double pct = step >= total ? 100.0 : 100.0 * (double)step / (double)total;
        snprintf(buf, sizeof(buf), "%llu/%llu %3.0f%%", (unsigned long long)step,
                 (unsigned long long)total, floor(pct));
    } else {
        snprintf(buf, sizeof(buf), "step %llu", (unsigned long long)step);
    }
    add(out, cap, &len, "%s%s", buf, "");
    if (fields && *fields)
        add(out, cap, &len, "  %s%s", fields, "");
    if (!(rate > 0) || !isfinite(rate))
        snprintf(rate_text, sizeof(rate_text), "? it/s");
    else if (rate >= 100)
        snprintf(rate_text, sizeof(rate_text), "%.0f it/s", rate);
    else if (rate >= 10)
        snprintf(rate_text, sizeof(rate_text), "%.1f it/s", rate);
    else if (rate >= 1)
        snprintf(rate_text, sizeof(rate_text), "%.2f it/s", rate);
    else
        snprintf(rate_text, sizeof(rate_text), "%.2f s/it", 1.0 / rate);
    add(out, cap, &len, "  %s%s", rate_text, "");
    if (done) {
        progress_duration(time_text, sizeof(time_text), elapsed);
        add(out, cap, &len, "  in %s%s", time_text, "");
    } else if (total > 0) {
        double eta = rate > 0 && step <= total ? (double)(total - step) / rate : -1;
        progress_duration(time_text, sizeof(time_text), eta);
        add(out, cap, &len, "  ETA %s%s", time_text, "");
    }
    if (columns > 1 && len > columns - 1) {
        len = columns - 1;
        out[len] = '\0';
    }
    return len;
}

/* Fold the steps since the last sample into the smoothed rate (samples at
 * least 0.1 s apart, so one fast step does not swing it). */
static void sample_rate(progress *p, uint64_t step, double now)
{
    double dt = now - p->sample_time;
    if (dt < 0.1 || step < p->sample_step)
        return;
    double inst = (double)(step - p->sample_step) / dt;
    p->rate = p->rate < 0 ? inst : 0.7 * p->rate + 0.3 * inst;
    p->sample_time = now;
    p->sample_step = step;
}

static const char *render(progress *p, uint64_t step, const char *fields, double now, bool done)
{
    char body[sizeof(p->line) - 16];
    double rate = p->rate;
    if (done && now > p->start)
        rate = (double)step / (now - p->start);
    progress_format(body, sizeof(body), p->prefix, step, p->total, fields, rate, now - p->start,
                    p->tty ? p->bar_width : 0, p->tty ? p->columns : 0, done);
    if (p->tty)
        snprintf(p->line, sizeof(p->line), "\r%s\033[K%s", body, done ? "\n" : "");
    else
        snprintf(p->line, sizeof(p->line), "%s\n", body);
    p->last_draw = now;
    p->drawn = true;
    return p->line;
}

const char *progress_update(progress *p, uint64_t step, const char *fields, double now)
{
    sample_rate(p, step, now);
    if (p->tty) {
        if (p->drawn && now - p->last_draw < p->redraw_s)
            return NULL;
        return render(p, step, fields, now, false);
    }
    bool due = now - p->last_draw >= p->every_s;
    if (p->total > 0 && p->every_percent > 0) {
        double pct = 100.0 * (double)step / (double)p->total;
        if (pct >= p->next_percent) {
            due = true;
            while (p->next_percent <= pct)
                p->next_percent += p->every_percent;
        }
    }
    return due ? render(p, step, fields, now, false) : NULL;
}

const char *progress_finish(progress *p, uint64_t step, const char *fields, double now)
{
    sample_rate(p, step, now);
    return render(p, step, fields, now, true);
}

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, FILE *stream, const char *prefix, uint64_t total)
{
    int fd = fileno(stream);
    bool tty = fd >= 0 && isatty(fd);
    unsigned columns = 0;
    struct winsize ws;
    if (tty && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        columns = ws.ws_col;
    const char *env = getenv("COLUMNS");
    if (tty && !columns && env && atoi(env) > 0)
        columns = (unsigned)atoi(env);
    progress_init(p, prefix, total, tty, columns, progress_now());
}

void progress_tick(progress *p, FILE *stream, uint64_t step, const char *fields)
{
    const char *text = progress_update(p, step, fields, progress_now());
    if (text) {
        fputs(text, stream);
        fflush(stream);
    }
}

void progress_done(progress *p, FILE *stream, uint64_t step, const char *fields)
{
    fputs(progress_finish(p, step, fields, progress_now()), stream);
    fflush(stream);
}
