#include "report/charts.h"

#include <math.h>
#include <stdio.h>

#include "report/plot_internal.h"

typedef struct {
    double r, g, b;
} rgb;
#define HEX(v) {((v) >> 16 & 255) / 255.0, ((v) >> 8 & 255) / 255.0, ((v)&255) / 255.0}
/* Okabe-Ito without yellow, which is unreadable as a thin line on white */
static const rgb palette[] = {HEX(0x0072B2), HEX(0xD55E00), HEX(0x009E73), HEX(0xCC79A7),
                              HEX(0xE69F00), HEX(0x56B4E9), HEX(0x000000)};
enum { N_PALETTE = 7 };

static double sx(const frame *f, const xf_chart *c, double x) {
    double v = c->log_x ? log10(x) : x;
    return f->x0 + (v - f->xlo) / (f->xhi - f->xlo) * f->w;
}
static double sy(const frame *f, double y) {
    return f->y0 + f->h - (y - f->ylo) / (f->yhi - f->ylo) * f->h;
}

static int usable(const xf_chart *c, double x, double y) {
    return isfinite(x) && isfinite(y) && (!c->log_x || x > 0);
}

static void ranges(frame *f, const xf_chart *c) {
    double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
    for (int s = 0; s < c->n_series; s++) {
        const xf_series *se = &c->series[s];
        for (int i = 0; i < se->n; i++) {
            if (!usable(c, se->x[i], se->y[i])) continue;
            double x = c->log_x ? log10(se->x[i]) : se->x[i];
            xl = fmin(xl, x), xh = fmax(xh, x);
            yl = fmin(yl, se->y[i]), yh = fmax(yh, se->y[i]);
            if (se->lo && isfinite(se->lo[i])) yl = fmin(yl, se->lo[i]);
            if (se->hi && isfinite(se->hi[i])) yh = fmax(yh, se->hi[i]);
        }
    }
    if (!(xh >= xl)) xl = 0, xh = 1;
    if (!(yh >= yl)) yl = 0, yh = 1;
    double px = xh > xl ? 0.08 * (xh - xl) : 0.5, py = yh > yl ? 0.08 * (yh - yl) : 0.05;
    f->xlo = xl - px, f->xhi = xh + px, f->ylo = yl - py, f->yhi = yh + py;
}

/* What a legend box at (bx, by) would hide: markers count double, lines and
 * interval bars by the samples along them under the box. */
static int covered(const void *ctx, const frame *f, double bx, double by, double bw, double bh) {
    const xf_chart *c = ctx;
    double m = 4 * f->s;
#define INSIDE(X, Y) ((X) >= bx - m && (X) <= bx + bw + m && (Y) >= by - m && (Y) <= by + bh + m)
    int n = 0;
    for (int k = 0; k < c->n_series; k++) {
        const xf_series *se = &c->series[k];
        int prev = -1;
        for (int i = 0; i < se->n; i++) {
            if (!usable(c, se->x[i], se->y[i])) {
                prev = -1;
                continue;
            }
            double x = sx(f, c, se->x[i]), y = sy(f, se->y[i]);
            n += 2 * INSIDE(x, y);
            if (se->lo && se->hi && isfinite(se->lo[i]) && isfinite(se->hi[i]))
                for (int t = 0; t <= 8; t++)
                    n += INSIDE(x, sy(f, se->lo[i] + (se->hi[i] - se->lo[i]) * t / 8));
            if (prev >= 0) {
                double x1 = sx(f, c, se->x[prev]), y1 = sy(f, se->y[prev]);
                for (int t = 1; t < 24; t++)
                    n += INSIDE(x1 + (x - x1) * t / 24, y1 + (y - y1) * t / 24);
            }
            prev = i;
        }
    }
#undef INSIDE
    return n;
}

static void legend_size(cairo_t *cr, const xf_chart *c, double s, double *w, double *h) {
    cairo_set_font_size(cr, 12 * s);
    double wmax = 0;
    for (int k = 0; k < c->n_series; k++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, c->series[k].label ? c->series[k].label : "", &e);
        wmax = fmax(wmax, e.x_advance);
    }
    *w = wmax + 48 * s;
    *h = 18 * s * c->n_series + 10 * s;
}

static void draw_chart(cairo_t *cr, const xf_chart *c, double ox, double oy, double cw,
                       double ch) {
    double s = cw / XF_PLOT_WIDTH;
    frame f = {cr, s, ox + 84 * s, oy + 44 * s, cw - 84 * s - 18 * s, ch - 44 * s - 66 * s,
               0, 0, 0, 0, 0};
    ranges(&f, c);
    /* the legend goes in the corner that hides least (plot.c's rule); when
     * every corner hides something, the y range grows upwards to leave a
     * free band for it above the data, if that band is not most of the chart */
    double bw = 0, bh = 0, bx = 0, by = 0, gap = 10 * s;
    if (c->n_series > 0) {
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               CAIRO_FONT_WEIGHT_NORMAL);
        legend_size(cr, c, s, &bw, &bh);
        double band = (bh + 2 * gap) / f.h;
        if (xf_legend_place(&f, bw, bh, gap, NAN, covered, c, &bx, &by) > 0 && band < 0.5) {
            f.yhi += (f.yhi - f.ylo) * band / (1 - band);
            xf_legend_place(&f, bw, bh, gap, NAN, covered, c, &bx, &by);
        }
    }
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16 * s);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    xf_plot_text(cr, f.x0 + f.w / 2, oy + 12 * s, 0.5, 0, c->title ? c->title : "");
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 13 * s);
    xf_axis_ticks(&f, 0, c->log_x);
    xf_axis_ticks(&f, 1, 0);
    xf_axis_labels(&f, c->xlabel ? c->xlabel : "", c->ylabel ? c->ylabel : "");
    cairo_save(cr);
    cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
    cairo_clip(cr);
    for (int k = 0; k < c->n_series; k++) {
        const xf_series *se = &c->series[k];
        rgb col = palette[se->colour % N_PALETTE];
        cairo_set_source_rgb(cr, col.r, col.g, col.b);
        /* interval bars */
        cairo_set_line_width(cr, 1.4 * s);
        for (int i = 0; i < se->n && se->lo && se->hi; i++) {
            if (!usable(c, se->x[i], se->y[i]) || !isfinite(se->lo[i]) || !isfinite(se->hi[i]))
                continue;
            double x = sx(&f, c, se->x[i]), cap = 4 * s;
            cairo_move_to(cr, x, sy(&f, se->lo[i]));
            cairo_line_to(cr, x, sy(&f, se->hi[i]));
            cairo_move_to(cr, x - cap, sy(&f, se->lo[i]));
            cairo_line_to(cr, x + cap, sy(&f, se->lo[i]));
            cairo_move_to(cr, x - cap, sy(&f, se->hi[i]));
            cairo_line_to(cr, x + cap, sy(&f, se->hi[i]));
            cairo_stroke(cr);
        }
        cairo_set_line_width(cr, 2 * s);
        int started = 0;
        for (int i = 0; i < se->n; i++) {
            if (!usable(c, se->x[i], se->y[i])) {
                started = 0;
                continue;
            }
            if (started) cairo_line_to(cr, sx(&f, c, se->x[i]), sy(&f, se->y[i]));
            else cairo_move_to(cr, sx(&f, c, se->x[i]), sy(&f, se->y[i]));
            started = 1;
        }
        cairo_stroke(cr);
        for (int i = 0; i < se->n; i++) {
            if (!usable(c, se->x[i], se->y[i])) continue;
            cairo_new_sub_path(cr);
            cairo_arc(cr, sx(&f, c, se->x[i]), sy(&f, se->y[i]), 4 * s, 0, 2 * M_PI);
            cairo_fill(cr);
        }
        if (se->mark >= 0 && se->mark < se->n && usable(c, se->x[se->mark], se->y[se->mark])) {
            cairo_set_line_width(cr, 2.2 * s);
            cairo_new_sub_path(cr);
            cairo_arc(cr, sx(&f, c, se->x[se->mark]), sy(&f, se->y[se->mark]), 9 * s, 0, 2 * M_PI);
            cairo_stroke(cr);
        }
    }
    cairo_restore(cr);
    if (c->n_series > 0) {
        double line = 18 * s;
        cairo_set_font_size(cr, 12 * s);
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, bx, by, bw, bh);
        cairo_fill(cr);
        for (int k = 0; k < c->n_series; k++) {
            rgb col = palette[c->series[k].colour % N_PALETTE];
            double cy = by + 5 * s + line * (k + 0.5);
            cairo_set_source_rgb(cr, col.r, col.g, col.b);
            cairo_set_line_width(cr, 2 * s);
            cairo_move_to(cr, bx + 6 * s, cy);
            cairo_line_to(cr, bx + 32 * s, cy);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            xf_plot_text(cr, bx + 38 * s, cy, 0, 0.5,
                         c->series[k].label ? c->series[k].label : "");
        }
    }
}

typedef struct {
    const xf_chart *charts;
    int n, cols;
} chart_grid;

static void draw_charts(cairo_t *cr, int w, int h, const void *ctx) {
    const chart_grid *g = ctx;
    int rows = (g->n + g->cols - 1) / g->cols;
    double cw = (double)w / g->cols, chh = (double)h / rows;
    for (int i = 0; i < g->n; i++)
        draw_chart(cr, &g->charts[i], cw * (i % g->cols), chh * (i / g->cols), cw, chh);
}

xf_status xf_plot_charts(const xf_chart *charts, int n, int cols, int cell_width,
                         int cell_height, xf_fig_format format, unsigned char **out,
                         size_t *size) {
    if (n <= 0 || cols <= 0)
        return xf_fail(XF_EINVAL, "charts: %d charts in %d columns", n, cols);
    if (cols > n) cols = n;
    chart_grid g = {charts, n, cols};
    int rows = (n + cols - 1) / cols;
    return xf_plot_render(cell_width * cols, cell_height * rows, format, draw_charts, &g,
                          charts[0].title ? charts[0].title : "chart", out, size);
}
