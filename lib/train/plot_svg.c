/* plot_svg.c: porta_plot_svg(), stacked panels sharing the x axis as one
 * self-contained SVG file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "plot_svg.h"

/* Layout in pixels. */
#define MARGIN_LEFT 76
#define MARGIN_RIGHT 190 /* the legends */
#define TITLE_BAND 44
#define TOP_NO_TITLE 12
#define PANEL_TITLE 24
#define PANEL_GAP 14
#define BOTTOM 50

static const char *const colors[PORTA_PLOT_MAX_SERIES] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

typedef struct frame {
    double x0, x1, y0, y1; /* the plotting area */
    double xlo, xhi;       /* data range on x */
    double ylo, yhi;       /* data range on y (positive on a log axis) */
    bool log_y;
} frame;

static double map_x(const frame *f, double x)
{
    return f->x0 + (x - f->xlo) / (f->xhi - f->xlo) * (f->x1 - f->x0);
}

static double map_y(const frame *f, double y)
{
    double t = f->log_y ? (log10(y) - log10(f->ylo)) / (log10(f->yhi) - log10(f->ylo))
                        : (y - f->ylo) / (f->yhi - f->ylo);
    return f->y1 - t * (f->y1 - f->y0);
}

/* Text content or attribute value: XML-escaped; control characters (not
 * allowed in XML) become spaces. */
static void put_escaped(porta__text *t, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            porta__text_puts(t, "&amp;");
            break;
        case '<':
            porta__text_puts(t, "&lt;");
            break;
        case '>':
            porta__text_puts(t, "&gt;");
            break;
        case '"':
            porta__text_puts(t, "&quot;");
            break;
        case '\'':
            porta__text_puts(t, "&apos;");
            break;
        default:
            porta__text_append(t, c < 0x20 ? " " : s, 1);
        }
    }
}

static bool text_ok(const char *s)
{
    return !s || porta__utf8_valid(s, strlen(s));
}

static porta_status check_plot(porta_context *ctx, const char *path, const porta_plot *plot)
{
    const char *fn = "porta_plot_svg";
    if (!path || !*path || !plot)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT, "%s: %s", fn,
                                         !plot ? "plot is NULL" : "path is NULL or empty");
    if (plot->n_panels < 1 || plot->n_panels > PORTA_PLOT_MAX_PANELS)
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: n_panels %u (1..%d)", fn, plot->n_panels,
                                         PORTA_PLOT_MAX_PANELS);
    if ((plot->width && (plot->width < 320 || plot->width > 20000)) ||
        (plot->panel_height && (plot->panel_height < 60 || plot->panel_height > 20000)))
        return porta_context_set_message(
            ctx, PORTA_ERROR_INVALID_ARGUMENT,
            "%s: width %u / panel_height %u out of range (0 or 320.. / 60..)", fn, plot->width,
            plot->panel_height);
    if (!text_ok(plot->title) || !text_ok(plot->x_label))
        return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                         "%s: title or x_label is not valid UTF-8", fn);
    for (unsigned p = 0; p < plot->n_panels; p++) {
        const porta_plot_panel *pa = &plot->panels[p];
        if (pa->n_series > PORTA_PLOT_MAX_SERIES)
            return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                             "%s: panels[%u].n_series %u (at most %d)", fn, p,
                                             pa->n_series, PORTA_PLOT_MAX_SERIES);
        if (!text_ok(pa->title))
            return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                             "%s: panels[%u].title is not valid UTF-8", fn, p);
        for (unsigned s = 0; s < pa->n_series; s++) {
            const porta_plot_series *se = &pa->series[s];
            if (se->n > 0 && (!se->x || !se->y))
                return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                                 "%s: panels[%u].series[%u]: x or y is NULL", fn, p,
                                                 s);
            if ((unsigned)se->style > PORTA_PLOT_STEPS)
                return porta_context_set_message(ctx, PORTA_ERROR_INVALID_ARGUMENT,
                                                 "%s: panels[%u].series[%u]: unknown style %d", fn,
                                                 p, s, (int)se->style);
            if (!text_ok(se->label))
                return porta_context_set_message(
                    ctx, PORTA_ERROR_INVALID_ARGUMENT,
                    "%s: panels[%u].series[%u].label is not valid UTF-8", fn, p, s);
        }
    }
    return PORTA_OK;
}

/* The range of the finite values (y > 0 on a log axis); false if none. */
static bool data_range(const porta_plot *plot, bool want_x, int only_panel, double *lo, double *hi)
{
    bool found = false;
    for (unsigned p = 0; p < plot->n_panels; p++) {
        if (only_panel >= 0 && (unsigned)only_panel != p)
            continue;
        const porta_plot_panel *pa = &plot->panels[p];
        for (unsigned s = 0; s < pa->n_series; s++)
            for (size_t i = 0; i < pa->series[s].n; i++) {
                double x = pa->series[s].x[i], y = pa->series[s].y[i];
                if (!isfinite(x) || !isfinite(y) || (pa->log_y && y <= 0))
                    continue;
                double v = want_x ? x : y;
                if (!found || v < *lo)
                    *lo = v;
                if (!found || v > *hi)
                    *hi = v;
                found = true;
            }
    }
    return found;
}

static void draw_series(porta__text *t, const frame *f, const porta_plot_series *se,
                        const char *color, const char *label, int clip, double *bx, double *by)
{
    size_t n = porta__plot_downsample(se->x, se->y, se->n, PORTA_PLOT_MAX_POINTS, f->log_y, bx, by);
    porta__text_printf(t, "<g class=\"series\" data-label=\"");
    put_escaped(t, label);
    porta__text_printf(t, "\" clip-path=\"url(#clip%d)\">\n", clip);
    bool line = se->style != PORTA_PLOT_POINTS, step = se->style == PORTA_PLOT_STEPS;
    if (line && n > 0) {
        porta__text_printf(t,
                           "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.4\" "
                           "stroke-linejoin=\"round\" d=\"",
                           color);
        bool pen = false;
        for (size_t i = 0; i < n; i++) {
            if (isnan(by[i])) {
                pen = false;
                continue;
            }
            double px = map_x(f, bx[i]), py = map_y(f, by[i]);
            if (!pen)
                porta__text_printf(t, "M%.1f %.1f", px, py);
            else if (step)
                porta__text_printf(t, "H%.1fV%.1f", px, py);
            else
                porta__text_printf(t, "L%.1f %.1f", px, py);
            pen = true;
        }
        porta__text_puts(t, "\"/>\n");
    }
    if (se->style == PORTA_PLOT_POINTS || se->style == PORTA_PLOT_LINE_POINTS)
        for (size_t i = 0; i < n; i++)
            if (!isnan(by[i]))
                porta__text_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"/>\n",
                                   map_x(f, bx[i]), map_y(f, by[i]), color);
    porta__text_puts(t, "</g>\n");
}

static void draw_legend(porta__text *t, const frame *f, const porta_plot_panel *pa)
{
    for (unsigned s = 0; s < pa->n_series; s++) {
        const porta_plot_series *se = &pa->series[s];
        double y = f->y0 + 12 + 18 * s, x = f->x1 + 14;
        if (se->style == PORTA_PLOT_POINTS)
            porta__text_printf(t, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x + 11,
                               y, colors[s]);
        else
            porta__text_printf(t,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"%s\" stroke-width=\"2\"/>\n",
                               x, y, x + 22, y, colors[s]);
        porta__text_printf(t, "<text x=\"%.1f\" y=\"%.1f\">", x + 28, y + 4);
        if (se->label)
            put_escaped(t, se->label);
        else
            porta__text_printf(t, "series %u", s + 1);
        porta__text_puts(t, "</text>\n");
    }
}

/* Grid, tick labels and frame of one panel; x tick labels when `bottom`. */
static void draw_axes(porta__text *t, const frame *f, const double *xt, size_t nxt, double xstep,
                      bool bottom)
{
    double yt[PORTA__PLOT_MAX_TICKS], ystep, lo = f->ylo, hi = f->yhi;
    size_t nyt = porta__plot_ticks(&lo, &hi, f->log_y, 5, false, yt, &ystep);
    char label[64];
    porta__text_puts(t, "<path fill=\"none\" stroke=\"#e3e3e3\" stroke-width=\"1\" d=\"");
    for (size_t i = 0; i < nyt; i++)
        porta__text_printf(t, "M%.1f %.1fH%.1f", f->x0, map_y(f, yt[i]), f->x1);
    for (size_t i = 0; i < nxt; i++)
        porta__text_printf(t, "M%.1f %.1fV%.1f", map_x(f, xt[i]), f->y0, f->y1);
    porta__text_puts(t, "\"/>\n<g fill=\"#333\">\n");
    for (size_t i = 0; i < nyt; i++) {
        porta__plot_tick_label(label, sizeof(label), yt[i], ystep);
        porta__text_printf(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                           f->x0 - 6, map_y(f, yt[i]) + 4, label);
    }
    for (size_t i = 0; bottom && i < nxt; i++) {
        porta__plot_tick_label(label, sizeof(label), xt[i], xstep);
        porta__text_printf(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                           map_x(f, xt[i]), f->y1 + 17, label);
    }
    porta__text_puts(t, "</g>\n");
}

/* One panel: clip path, axes, series, legend, frame. */
static void draw_panel(porta__text *t, const porta_plot *plot, unsigned p, frame *f,
                       const double *xt, size_t nxt, double xstep, double *bx, double *by)
{
    const porta_plot_panel *pa = &plot->panels[p];
    double lo = 0, hi = 1;
    bool any = data_range(plot, false, (int)p, &lo, &hi);
    if (!any) {
        lo = pa->log_y ? 1 : 0;
        hi = pa->log_y ? 10 : 1;
    } else if (lo == hi) {
        double pad = pa->log_y ? 0 : (lo != 0 ? fabs(lo) * 0.1 : 1);
        lo = pa->log_y ? lo / 3.1623 : lo - pad;
        hi = pa->log_y ? hi * 3.1623 : hi + pad;
    }
    double ticks[PORTA__PLOT_MAX_TICKS], step;
    porta__plot_ticks(&lo, &hi, pa->log_y, 5, true, ticks, &step);
    f->ylo = lo;
    f->yhi = hi;
    f->log_y = pa->log_y;
    porta__text_printf(t,
                       "<g class=\"panel\">\n<clipPath id=\"clip%u\"><rect x=\"%.1f\" "
                       "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n",
                       p, f->x0 - 4, f->y0 - 4, f->x1 - f->x0 + 8, f->y1 - f->y0 + 8);
    porta__text_printf(t, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\" font-size=\"13\">",
                       f->x0, f->y0 - 8);
    if (pa->title)
        put_escaped(t, pa->title);
    if (pa->log_y)
        porta__text_puts(
            t, "<tspan dx=\"6\" font-weight=\"normal\" fill=\"#777\">(log scale)</tspan>");
    porta__text_puts(t, "</text>\n");
    draw_axes(t, f, xt, nxt, xstep, p + 1 == plot->n_panels);
    if (!any)
        porta__text_printf(t,
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                           "fill=\"#999\">no data</text>\n",
                           (f->x0 + f->x1) / 2, (f->y0 + f->y1) / 2);
    for (unsigned s = 0; s < pa->n_series; s++) {
        char fallback[32];
        snprintf(fallback, sizeof(fallback), "series %u", s + 1);
        const char *label = pa->series[s].label ? pa->series[s].label : fallback;
        draw_series(t, f, &pa->series[s], colors[s], label, (int)p, bx, by);
    }
    draw_legend(t, f, pa);
    porta__text_printf(t,
                       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                       "stroke=\"#555\"/>\n</g>\n",
                       f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
}

static void render(porta__text *t, const porta_plot *plot, double *bx, double *by)
{
    double W = plot->width ? plot->width : 960, ph = plot->panel_height ? plot->panel_height : 220;
    double top = plot->title ? TITLE_BAND : TOP_NO_TITLE;
    double H =
        top + plot->n_panels * (PANEL_TITLE + ph) + (plot->n_panels - 1) * PANEL_GAP + BOTTOM;
    porta__text_printf(t,
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                       "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, "
                       "sans-serif\" font-size=\"12\">\n"
                       "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n",
                       W, H, W, H, W, H);
    if (plot->title) {
        porta__text_printf(t,
                           "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" "
                           "font-weight=\"bold\">",
                           W / 2);
        put_escaped(t, plot->title);
        porta__text_puts(t, "</text>\n");
    }
    frame f;
    memset(&f, 0, sizeof(f));
    f.x0 = MARGIN_LEFT;
    f.x1 = W - MARGIN_RIGHT;
    f.xlo = 0;
    f.xhi = 1;
    if (data_range(plot, true, -1, &f.xlo, &f.xhi) && f.xlo == f.xhi) {
        f.xlo -= 1;
        f.xhi += 1;
    }
    double xt[PORTA__PLOT_MAX_TICKS], xstep;
    size_t nxt = porta__plot_ticks(&f.xlo, &f.xhi, false, 6, false, xt, &xstep);
    for (unsigned p = 0; p < plot->n_panels; p++) {
        f.y0 = top + p * (PANEL_TITLE + ph + PANEL_GAP) + PANEL_TITLE;
        f.y1 = f.y0 + ph;
        draw_panel(t, plot, p, &f, xt, nxt, xstep, bx, by);
    }
    if (plot->x_label) {
        porta__text_printf(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                           (f.x0 + f.x1) / 2, H - 10);
        put_escaped(t, plot->x_label);
        porta__text_puts(t, "</text>\n");
    }
    porta__text_puts(t, "</svg>\n");
}

porta_status porta_plot_svg(porta_context *ctx, const char *path, const porta_plot *plot)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = check_plot(ctx, path, plot);
    if (st)
        return st;
    size_t most = 1;
    for (unsigned p = 0; p < plot->n_panels; p++)
        for (unsigned s = 0; s < plot->panels[p].n_series; s++) {
            size_t c =
                porta__plot_downsample_capacity(plot->panels[p].series[s].n, PORTA_PLOT_MAX_POINTS);
            most = c > most ? c : most;
        }
    double *bx = malloc(most * sizeof(double)), *by = malloc(most * sizeof(double));
    porta__text t = {0};
    if (bx && by)
        render(&t, plot, bx, by);
    if (!bx || !by || t.failed)
        st = porta_context_set_message(ctx, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                       "porta_plot_svg: %s: no memory for the plot", path);
    else
        st = porta__train_write_file_atomic(ctx, path, t.data, t.len);
    porta__text_free(&t);
    free(bx);
    free(by);
    return st;
}
