/* progress.h: a progress display for long loops in the porta programs.
 *
 * On a terminal: one line redrawn in place ("\r", cleared to the end) at
 * most every 0.1 s:
 *   epoch 2/5 [=========>          ] 450/1000  45% loss 0.4312 lr 1e-03  123 it/s ETA 0:04
 * Otherwise (a log file, a pipe): the same without the bar, as plain lines
 * every `every_s` seconds or `every_percent` percent, whichever comes
 * first, and at the end.
 *
 * The logic is pure: progress_update() / progress_finish() take the time as
 * an argument and return the text to print (or NULL), so tests drive them
 * with made-up clocks. progress_start() / progress_tick() / progress_done()
 * are the thin wrappers that read the clock and write to a stream.
 */
#ifndef PORTA_APPS_PROGRESS_H
#define PORTA_APPS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct progress {
    char prefix[64];
    uint64_t total;       /* steps in the loop; 0: unknown (no bar, no ETA) */
    bool tty;             /* redraw one line in place */
    unsigned columns;     /* line width to stay under; 0: no limit */
    unsigned bar_width;   /* characters inside [ ] on a terminal */
    double redraw_s;      /* terminal: least time between redraws (0.1) */
    double every_s;       /* plain lines: at least this often (30 s) */
    double every_percent; /* plain lines: at every multiple of this (10 %) */
    /* state */
    double start, last_draw, sample_time;
    uint64_t sample_step;
    double rate; /* steps per second (smoothed); < 0 until measured */
    double next_percent;
    bool drawn; /* something has been shown */
    char line[512];
} progress;

/* Set up a display for `total` steps starting at time `now` (seconds). */
void progress_init(progress *p, const char *prefix, uint64_t total, bool tty, unsigned columns,
                   double now);

/* One line of text, no control characters: prefix, bar (bar_width > 0 and
 * total > 0), step/total and percent, `fields` (free text such as "loss
 * 0.4312 lr 1e-03"; may be NULL), the rate ("123 it/s", or "2.50 s/it" when
 * slower than one step a second; rate < 0: "? it/s") and "ETA 1:02:03"
 * (or, when done, "in 4:05" with `elapsed`). Cut to columns - 1 characters
 * when columns > 0. Returns the length written (< cap). */
size_t progress_format(char *out, size_t cap, const char *prefix, uint64_t step, uint64_t total,
                       const char *fields, double rate, double elapsed, unsigned bar_width,
                       unsigned columns, bool done);

/* "m:ss" or "h:mm:ss" of a duration in seconds ("?" when negative or not
 * finite). */
void progress_duration(char *out, size_t cap, double seconds);

/* Step `step` reached at time `now`: the text to write (a "\r...\033[K"
 * redraw on a terminal, a "...\n" line otherwise), or NULL when nothing is
 * due. The text lives in p until the next call. */
const char *progress_update(progress *p, uint64_t step, const char *fields, double now);

/* The loop ended at `step`: the final line (always), ending with "\n". */
const char *progress_finish(progress *p, uint64_t step, const char *fields, double now);

/* Monotonic clock in seconds. */
double progress_now(void);

/* progress_init() for `stream`: a terminal when isatty(), its width from
 * the terminal (or $COLUMNS). */
void progress_start(progress *p, FILE *stream, const char *prefix, uint64_t total);

/* progress_update() / progress_finish() with the clock, written to stream
 * and flushed. */
void progress_tick(progress *p, FILE *stream, uint64_t step, const char *fields);
void progress_done(progress *p, FILE *stream, uint64_t step, const char *fields);

#endif
