#include "report/plot.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/setfit.h"
#include "report/plot_internal.h"
#include "report/sbuf.h"

/* Okabe-Ito, the colour-blind-safe palette. Families take the first six;
 * black draws the hull, vermillion the fit and a purple outside the palette
 * the frontier, so none is confused with a family. */
typedef struct {
    double r, g, b;
} rgb;
#define HEX(v) {((v) >> 16 & 255) / 255.0, ((v) >> 8 & 255) / 255.0, ((v)&255) / 255.0}
static const rgb family_colours[] = {HEX(0x0072B2), HEX(0xE69F00), HEX(0x009E73),
                                     HEX(0xCC79A7), HEX(0x56B4E9), HEX(0xF0E442)};
static const rgb fit_colour = HEX(0xD55E00);
static const rgb frontier_colour = HEX(0x5E2B97);
static const char *const known_families[] = {"vit", "mixer", "resnet", "mlp"};
enum { N_COLOURS = 6, MAX_LEGEND_FAMILIES = 12, CURVE_SAMPLES = 240 };


/* Plotted coordinate of an accuracy: itself, or log10 of its error (errors
 * below 1e-4 are drawn at 1e-4). */
static double tv(const frame *f, double acc) { return f->log ? log10(fmax(1 - acc, 1e-4)) : acc; }
static double untv(const frame *f, double v) { return f->log ? 1 - pow(10, v) : v; }

static double pxr(const frame *f, double x) { return f->x0 + (x - f->xlo) / (f->xhi - f->xlo) * f->w; }
static double px(const frame *f, double x) { return pxr(f, tv(f, x)); }
static double pyr(const frame *f, double y) { return f->y0 + f->h - (y - f->ylo) / (f->yhi - f->ylo) * f->h; }
static double py(const frame *f, double y) { return pyr(f, tv(f, y)); }

static void set_rgb(cairo_t *cr, rgb c, double alpha) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

/* Text anchored at (x, y): ha, va in [0, 1] pick the point of its box
 * (0 = left/top, 0.5 = centre, 1 = right/bottom). */
static void text_at(cairo_t *cr, double x, double y, double ha, double va, const char *s) {
    cairo_text_extents_t e;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &e);
    cairo_font_extents(cr, &fe);
    double height = fe.ascent + fe.descent;
    cairo_move_to(cr, x - e.x_advance * ha, y - height * va + fe.ascent);
    cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, const char *s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static int tick_decimals(double step) {
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d;
}

/* Padded data range; a single value gets a fixed window around it. */
static void axis_range(double lo, double hi, double *out_lo, double *out_hi) {
    double pad = hi > lo ? 0.07 * (hi - lo) : 0.05;
    *out_lo = lo - pad;
    *out_hi = hi + pad;
}

/* One tick at plotted value t of an axis: grid line, tick mark, label. */
static void tick(const frame *f, int axis, double t, const char *label) {
    cairo_t *cr = f->cr;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_set_line_width(cr, 1 * f->s);
    if (axis) {
        cairo_move_to(cr, f->x0, pyr(f, t));
        cairo_line_to(cr, f->x0 + f->w, pyr(f, t));
    } else {
        cairo_move_to(cr, pxr(f, t), f->y0);
        cairo_line_to(cr, pxr(f, t), f->y0 + f->h);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    if (axis) {
        cairo_move_to(cr, f->x0, pyr(f, t));
        cairo_line_to(cr, f->x0 - 5 * f->s, pyr(f, t));
        cairo_stroke(cr);
        text_at(cr, f->x0 - 8 * f->s, pyr(f, t), 1, 0.5, label);
    } else {
        cairo_move_to(cr, pxr(f, t), f->y0 + f->h);
        cairo_line_to(cr, pxr(f, t), f->y0 + f->h + 5 * f->s);
        cairo_stroke(cr);
        text_at(cr, pxr(f, t), f->y0 + f->h + 8 * f->s, 0.5, 0, label);
    }
}

void xf_axis_ticks(const frame *f, int axis, int log_axis) {
    double lo = axis ? f->ylo : f->xlo, hi = axis ? f->yhi : f->xhi;
    char label[32];
    if (log_axis) {
        /* 1, 2, 5 of each decade; only the decades when the range is wide */
        static const double mult[] = {1, 2, 5};
        int wide = hi - lo > 2.5, placed = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int d = (int)floor(lo) - 1; d <= (int)ceil(hi); d++)
                for (int m = 0; m < (wide ? 1 : 3); m++) {
                    double v = mult[m] * pow(10, d), t = log10(v);
                    if (t < lo - 1e-9 || t > hi + 1e-9) continue;
                    if (pass == 0) {
                        placed++;
                    } else if (placed >= 2) {
                        snprintf(label, sizeof label, "%g", v);
                        tick(f, axis, t, label);
                    }
                }
        if (placed >= 2) return;
        /* A range that holds fewer than two of them (errors 0.28 to 0.45):
         * evenly spaced errors, placed on the log scale. */
        double vlo = pow(10, lo), vhi = pow(10, hi), step = nice_step(vhi - vlo, 5);
        int dec = tick_decimals(step);
        for (double v = ceil(vlo / step - 1e-9) * step; v <= vhi + 1e-9 * step; v += step) {
            if (v <= 0) continue;
            snprintf(label, sizeof label, "%.*f", dec, v);
            tick(f, axis, log10(v), label);
        }
        return;
    }
    double step = nice_step(hi - lo, axis ? 6 : 7);
    int dec = tick_decimals(step);
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) {
        snprintf(label, sizeof label, "%.*f", dec, fabs(t) < 1e-12 ? 0.0 : t);
        tick(f, axis, t, label);
    }
}

void xf_axis_labels(const frame *f, const char *xlabel, const char *ylabel) {
    cairo_t *cr = f->cr;
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_set_line_width(cr, 1.2 * f->s);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 15 * f->s);
    text_at(cr, f->x0 + f->w / 2, f->y0 + f->h + 34 * f->s, 0.5, 0, xlabel);
    cairo_save(cr);
    cairo_translate(cr, f->x0 - 62 * f->s, f->y0 + f->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, 0.5, 0, ylabel);
    cairo_restore(cr);
}

static void draw_axes(const frame *f) {
    cairo_set_font_size(f->cr, 13 * f->s);
    xf_axis_ticks(f, 0, f->log);
    xf_axis_ticks(f, 1, f->log);
    xf_axis_labels(f, f->log ? "US error (log)" : "US accuracy",
                   f->log ? "DS error (log)" : "DS accuracy");
}

static void marker(cairo_t *cr, double x, double y, double r) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * M_PI);
}

/* Index of a family's colour: the study's families keep one colour across
 * every panel and report. */
static int family_colour(const char *family, const char **unknown, int *n_unknown) {
    for (int i = 0; i < 4; i++)
        if (strcmp(family, known_families[i]) == 0) return i;
    int j = 0;
    while (j < *n_unknown && strcmp(unknown[j], family) != 0) j++;
    if (j == *n_unknown && *n_unknown < MAX_LEGEND_FAMILIES) unknown[(*n_unknown)++] = family;
    return (4 + j) % N_COLOURS;
}

typedef struct {
    const char *label;
    int kind; /* 0 point, 1 hull, 2 fit, 3 saturation, 4 frontier */
    rgb colour;
} legend_entry;

/* A law's DS accuracy at a US accuracy: law is the xf_satfit of the hull
 * fit or the xf_sfrontier of the frontier. */
typedef double (*law_fn)(const void *law, double acc_us);

static int fit_drawn(const xf_satfit *fit);
static double fit_acc(const void *fit, double acc_us);
static int frontier_drawn(const xf_sfrontier *fr);
static double frontier_acc(const void *frontier, double acc_us);

/* The US accuracy of sample i of n + 1 evenly spaced across the x axis. */
static double sample_x(const frame *f, int i, int n) {
    return untv(f, f->xlo + (f->xhi - f->xlo) * i / n);
}

typedef struct {
    double x, y, w, h;
} box;

static int in_box(const frame *f, box b, double x, double y) {
    double m = 4 * f->s;
    return x >= b.x - m && x <= b.x + b.w + m && y >= b.y - m && y <= b.y + b.h + m;
}

/* How many of 61 samples of a law's curve lie under box b. */
static int curve_in_box(const frame *f, box b, law_fn acc, const void *law) {
    int n = 0;
    for (int i = 0; i <= 60; i++) {
        double x = sample_x(f, i, 60);
        n += in_box(f, b, px(f, x), py(f, acc(law, x)));
    }
    return n;
}

/* How much of the figure a box at (bx, by) would hide: the points under it
 * and the samples of the curves it covers. */
static int covered(const void *ctx, const frame *f, double bx, double by, double bw, double bh) {
    const xf_panel *p = ctx;
    box b = {bx, by, bw, bh};
    int n = 0;
    for (int i = 0; i < p->n_points; i++)
        n += 2 * in_box(f, b, px(f, p->points[i].us_acc), py(f, p->points[i].ds_acc));
    if (fit_drawn(p->fit)) n += curve_in_box(f, b, fit_acc, p->fit);
    if (frontier_drawn(p->frontier)) n += curve_in_box(f, b, frontier_acc, p->frontier);
    return n;
}

/* The legend goes in the inside corner that hides least. Upper left comes
 * first: a rising frontier leaves that corner empty. The top corners sit
 * under the saturation line when it runs through the upper half, so the
 * line stays visible. */
static void draw_legend(const frame *f, const xf_panel *p, const legend_entry *e, int n) {
    cairo_t *cr = f->cr;
    cairo_set_font_size(cr, 12 * f->s);
    double line = 19 * f->s, key = 26 * f->s, pad = 8 * f->s, width = 0, gap = 10 * f->s;
    for (int i = 0; i < n; i++) width = fmax(width, text_width(cr, e[i].label));
    double bw = pad * 2 + key + 6 * f->s + width, bh = pad * 2 + line * n;
    double top = NAN, bx, by;
    if (fit_drawn(p->fit)) {
        double sat = py(f, xf_satfit_saturation(p->fit));
        if (sat > f->y0 && sat < f->y0 + f->h / 2)
            top = fmin(sat + gap, f->y0 + f->h - bh - gap);
    }
    xf_legend_place(f, bw, bh, gap, top, covered, p, &bx, &by);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1 * f->s);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double cy = by + pad + line * (i + 0.5), kx = bx + pad;
        cairo_set_line_width(cr, (e[i].kind == 2 || e[i].kind == 4 ? 2.2 : 1.6) * f->s);
        set_rgb(cr, e[i].colour, 1);
        if (e[i].kind == 3 || e[i].kind == 4) {
            double dash[] = {6 * f->s, 4 * f->s}, dot[] = {2 * f->s, 3 * f->s};
            cairo_set_dash(cr, e[i].kind == 3 ? dash : dot, 2, 0);
        }
        if (e[i].kind > 0) {
            cairo_move_to(cr, kx, cy);
            cairo_line_to(cr, kx + key, cy);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        if (e[i].kind == 0) {
            marker(cr, kx + key / 2, cy, 4.5 * f->s);
            set_rgb(cr, e[i].colour, 0.85);
            cairo_fill(cr);
        } else if (e[i].kind == 1) {
            marker(cr, kx + key / 2, cy, 3 * f->s);
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, kx + key + 6 * f->s, cy, 0, 0.5, e[i].label);
    }
}

static int fit_drawn(const xf_satfit *fit) {
    return fit && fit->status != XF_SATFIT_UNDERDETERMINED;
}

static double fit_acc(const void *fit, double acc_us) {
    return 1 - xf_satfit_predict(fit, 1 - fmin(1, fmax(0, acc_us)));
}

static int frontier_drawn(const xf_sfrontier *fr) {
    return fr && fr->status != XF_SATFIT_UNDERDETERMINED && isfinite(fr->k) &&
           isfinite(fr->alpha) && isfinite(fr->e_ir);
}

static double frontier_acc(const void *frontier, double acc_us) {
    const xf_sfrontier *fr = frontier;
    return 1 - (fr->k * pow(1 - fmin(1, fmax(0, acc_us)), fr->alpha) + fr->e_ir);
}

/* Widens [*ymin, *ymax] to the samples of a curve that lie within 10% of
 * the span beyond it: the curve is seen where the data are, and a steep
 * end does not squash the points. */
static void include_curve(const frame *f, law_fn acc, const void *law, double *ymin,
                          double *ymax) {
    double span = *ymax - *ymin, lo = *ymin, hi = *ymax;
    for (int i = 0; i <= CURVE_SAMPLES; i++) {
        double y = tv(f, acc(law, sample_x(f, i, CURVE_SAMPLES)));
        if (y >= lo - 0.1 * span && y <= hi + 0.1 * span) {
            *ymin = fmin(*ymin, y);
            *ymax = fmax(*ymax, y);
        }
    }
}

/* Adds a law's curve across the frame to the current path. */
static void curve_path(const frame *f, law_fn acc, const void *law) {
    for (int i = 0; i <= CURVE_SAMPLES; i++) {
        double x = sample_x(f, i, CURVE_SAMPLES);
        if (i == 0) cairo_move_to(f->cr, px(f, x), py(f, acc(law, x)));
        else cairo_line_to(f->cr, px(f, x), py(f, acc(law, x)));
    }
}

static void set_ranges(frame *f, const xf_panel *p) {
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < p->n_points; i++) {
        double x = tv(f, p->points[i].us_acc), y = tv(f, p->points[i].ds_acc);
        xmin = fmin(xmin, x);
        xmax = fmax(xmax, x);
        ymin = fmin(ymin, y);
        ymax = fmax(ymax, y);
    }
    if (p->n_points == 0) {
        xmin = ymin = f->log ? -2 : 0;
        xmax = ymax = f->log ? 0 : 1;
    }
    axis_range(xmin, xmax, &f->xlo, &f->xhi);
    if (fit_drawn(p->fit)) {
        /* the asymptote is the figure's message, so it is always in view */
        double sat = xf_satfit_saturation(p->fit);
        if (!f->log || p->fit->e_ir >= 1e-3) {
            ymax = fmax(ymax, tv(f, sat));
            ymin = fmin(ymin, tv(f, sat));
        }
        include_curve(f, fit_acc, p->fit, &ymin, &ymax);
    }
    if (frontier_drawn(p->frontier)) include_curve(f, frontier_acc, p->frontier, &ymin, &ymax);
    axis_range(ymin, ymax, &f->ylo, &f->yhi);
}

static cairo_status_t to_sbuf(void *closure, const unsigned char *data, unsigned int length) {
    xf_sbuf *b = closure;
    xf_sbuf_append(b, (const char *)data, length);
    return b->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

static void draw(frame *f, const xf_panel *p, double top) {
    cairo_t *cr = f->cr;
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16 * f->s);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, f->x0 + f->w / 2, top + 12 * f->s, 0.5, 0, p->title ? p->title : "");
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    draw_axes(f);

    cairo_save(cr);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_clip(cr);
    legend_entry legend[MAX_LEGEND_FAMILIES + 4];
    int n_legend = 0;
    const char *unknown[MAX_LEGEND_FAMILIES];
    int n_unknown = 0;
    cairo_set_line_width(cr, 0.8 * f->s);
    for (int i = 0; p->error_bars && !p->log_error && i < p->n_points; i++) {
        const xf_point *pt = &p->points[i];
        double se = xf_ds_se(pt->ds_acc, p->ds_test_size, pt->draws, pt->ds_draw_sd);
        cairo_set_source_rgba(cr, 0.4, 0.4, 0.4, 0.7);
        cairo_set_line_width(cr, 2 * f->s);
        cairo_move_to(cr, px(f, pt->us_acc), py(f, pt->ds_acc - 1.96 * se));
        cairo_line_to(cr, px(f, pt->us_acc), py(f, pt->ds_acc + 1.96 * se));
        cairo_stroke(cr);
    }
    cairo_set_line_width(cr, 0.8 * f->s);
    for (int i = 0; i < p->n_points; i++) {
        const xf_point *pt = &p->points[i];
        int c = family_colour(pt->family, unknown, &n_unknown);
        marker(cr, px(f, pt->us_acc), py(f, pt->ds_acc), 4.5 * f->s);
        set_rgb(cr, family_colours[c], 0.8);
        cairo_fill_preserve(cr);
        cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
        cairo_stroke(cr);
        int slot = 0; /* one legend entry per family name */
        while (slot < n_legend && strcmp(legend[slot].label, pt->family) != 0) slot++;
        if (slot == n_legend && n_legend < MAX_LEGEND_FAMILIES)
            legend[n_legend++] = (legend_entry){pt->family, 0, family_colours[c]};
    }
    if (fit_drawn(p->fit)) {
        double sat = xf_satfit_saturation(p->fit), dash[] = {7 * f->s, 5 * f->s};
        set_rgb(cr, fit_colour, 1);
        cairo_set_line_width(cr, 1.6 * f->s);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, f->x0, py(f, sat));
        cairo_line_to(cr, f->x0 + f->w, py(f, sat));
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_line_width(cr, 2.4 * f->s);
        curve_path(f, fit_acc, p->fit);
        cairo_stroke(cr);
    }
    if (frontier_drawn(p->frontier)) {
        double dot[] = {2 * f->s, 3 * f->s};
        set_rgb(cr, frontier_colour, 1);
        cairo_set_line_width(cr, 2.4 * f->s);
        cairo_set_dash(cr, dot, 2, 0);
        curve_path(f, frontier_acc, p->frontier);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.6 * f->s);
    for (int i = 0; i < p->n_hull; i++) {
        const xf_point *pt = &p->points[p->hull[i]];
        if (i == 0) cairo_move_to(cr, px(f, pt->us_acc), py(f, pt->ds_acc));
        else cairo_line_to(cr, px(f, pt->us_acc), py(f, pt->ds_acc));
    }
    cairo_stroke(cr);
    for (int i = 0; i < p->n_hull; i++) {
        const xf_point *pt = &p->points[p->hull[i]];
        marker(cr, px(f, pt->us_acc), py(f, pt->ds_acc), 2.8 * f->s);
        cairo_fill(cr);
    }
    cairo_restore(cr);

    char fit_label[96], sat_label[64], frontier_label[96];
    legend[n_legend++] = (legend_entry){"upper hull", 1, {0, 0, 0}};
    if (fit_drawn(p->fit)) {
        snprintf(fit_label, sizeof fit_label, "hull fit: k=%.3g, \xce\xb1=%.3g, e_IR=%.3g", p->fit->k,
                 p->fit->alpha, p->fit->e_ir);
        snprintf(sat_label, sizeof sat_label, "saturation 1\xe2\x88\x92" "e_IR = %.3f",
                 xf_satfit_saturation(p->fit));
        legend[n_legend++] = (legend_entry){fit_label, 2, fit_colour};
        legend[n_legend++] = (legend_entry){sat_label, 3, fit_colour};
    } else {
        legend[n_legend++] = (legend_entry){"no fit: fewer than 3 hull points", 2, {0.6, 0.6, 0.6}};
    }
    if (frontier_drawn(p->frontier)) {
        const xf_sfrontier *fr = p->frontier;
        if (fr->have_ci)
            snprintf(frontier_label, sizeof frontier_label,
                     "frontier (ML): e_IR=%.3f [%.3f, %.3f]", fr->e_ir, fr->ci[2][0], fr->ci[2][1]);
        else
            snprintf(frontier_label, sizeof frontier_label, "frontier (ML): e_IR=%.3f", fr->e_ir);
        legend[n_legend++] = (legend_entry){frontier_label, 4, frontier_colour};
    }
    draw_legend(f, p, legend, n_legend);
}

int xf_legend_place(const frame *f, double w, double h, double gap, double top, xf_cover_fn cover,
                    const void *ctx, double *x, double *y) {
    double left = f->x0 + gap, right = f->x0 + f->w - w - gap;
    double up = isnan(top) ? f->y0 + gap : top, bottom = f->y0 + f->h - h - gap;
    double corners[4][2] = {{left, up}, {right, bottom}, {right, up}, {left, bottom}};
    int best = 0, best_cover = -1;
    for (int c = 0; c < 4; c++) {
        int n = cover(ctx, f, corners[c][0], corners[c][1], w, h);
        if (best_cover < 0 || n < best_cover) best = c, best_cover = n;
    }
    *x = corners[best][0];
    *y = corners[best][1];
    return best_cover;
}

void xf_plot_text(cairo_t *cr, double x, double y, double ha, double va, const char *s) {
    text_at(cr, x, y, ha, va, s);
}

const char *xf_fig_ext(xf_fig_format format) {
    return format == XF_FIG_SVG ? "svg" : format == XF_FIG_PDF ? "pdf" : "png";
}

/* The one code path of every figure: the surface is the only thing that
 * differs between PNG, SVG and PDF (vector units are points, one per
 * pixel of the PNG). */
xf_status xf_plot_render(int width, int height, xf_fig_format format, xf_draw_fn fn,
                         const void *ctx, const char *what, unsigned char **out, size_t *size) {
    *out = NULL;
    *size = 0;
    if (width < 100 || height < 100 || width > 8000 || height > 8000)
        return xf_fail(XF_EINVAL, "plot '%s': size %dx%d is outside 100..8000 pixels", what,
                       width, height);
    xf_sbuf buf;
    xf_sbuf_init(&buf);
    cairo_surface_t *surface;
    if (format == XF_FIG_SVG)
        surface = cairo_svg_surface_create_for_stream(to_sbuf, &buf, width, height);
    else if (format == XF_FIG_PDF)
        surface = cairo_pdf_surface_create_for_stream(to_sbuf, &buf, width, height);
    else
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    fn(cr, width, height, ctx);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (format == XF_FIG_PNG) {
        if (cs == CAIRO_STATUS_SUCCESS)
            cs = cairo_surface_write_to_png_stream(surface, to_sbuf, &buf);
    } else {
        cairo_surface_finish(surface); /* writes the rest of the vector stream */
        if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(surface);
    }
    cairo_surface_destroy(surface);
    if (cs != CAIRO_STATUS_SUCCESS || buf.failed) {
        xf_sbuf_free(&buf);
        return xf_fail(cs == CAIRO_STATUS_NO_MEMORY || buf.failed ? XF_ENOMEM : XF_EIO,
                       "plot '%s': cairo: %s", what, cairo_status_to_string(cs));
    }
    *out = (unsigned char *)buf.data;
    *size = buf.len;
    return XF_OK;
}

/* Draws panel p in the cell of the given size whose top left is (ox, oy). */
static void draw_cell(cairo_t *cr, const xf_panel *p, double ox, double oy, double cw, double ch) {
    double s = cw / XF_PLOT_WIDTH;
    frame f = {cr, s, ox + 84 * s, oy + 44 * s, cw - 84 * s - 18 * s, ch - 44 * s - 66 * s,
               0, 0, 0, 0, p->log_error};
    set_ranges(&f, p);
    draw(&f, p, oy);
}

static void draw_panel(cairo_t *cr, int w, int h, const void *ctx) {
    draw_cell(cr, ctx, 0, 0, w, h);
}

xf_status xf_plot_panel(const xf_panel *panel, int width, int height, xf_fig_format format,
                        unsigned char **out, size_t *size) {
    return xf_plot_render(width, height, format, draw_panel, panel,
                          panel->title ? panel->title : "", out, size);
}

xf_status xf_plot_panel_png(const xf_panel *panel, int width, int height, unsigned char **png,
                            size_t *size) {
    return xf_plot_panel(panel, width, height, XF_FIG_PNG, png, size);
}

typedef struct {
    const xf_panel *panels;
    int n, cols;
} grid;

static void draw_grid(cairo_t *cr, int w, int h, const void *ctx) {
    const grid *g = ctx;
    int rows = (g->n + g->cols - 1) / g->cols;
    double cw = (double)w / g->cols, ch = (double)h / rows;
    for (int i = 0; i < g->n; i++)
        draw_cell(cr, &g->panels[i], cw * (i % g->cols), ch * (i / g->cols), cw, ch);
}

xf_status xf_plot_grid(const xf_panel *panels, int n, int cols, int cell_width, int cell_height,
                       xf_fig_format format, unsigned char **out, size_t *size) {
    if (n <= 0 || cols <= 0)
        return xf_fail(XF_EINVAL, "plot grid: %d panels in %d columns", n, cols);
    if (cols > n) cols = n;
    grid g = {panels, n, cols};
    int rows = (n + cols - 1) / cols;
    return xf_plot_render(cell_width * cols, cell_height * rows, format, draw_grid, &g, "grid",
                          out, size);
}

void xf_plot_release_caches(void) {
    cairo_debug_reset_static_data();
    FcFini();
}
