#include "report/plot.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/sbuf.h"

/* Okabe-Ito, the colour-blind-safe palette. Families take the first six;
 * black draws the hull and vermillion the fit, so neither is confused with
 * a family. */
typedef struct {
    double r, g, b;
} rgb;
#define HEX(v) {((v) >> 16 & 255) / 255.0, ((v) >> 8 & 255) / 255.0, ((v)&255) / 255.0}
static const rgb family_colours[] = {HEX(0x0072B2), HEX(0xE69F00), HEX(0x009E73),
                                     HEX(0xCC79A7), HEX(0x56B4E9), HEX(0xF0E442)};
static const rgb fit_colour = HEX(0xD55E00);
static const char *const known_families[] = {"vit", "mixer", "resnet", "mlp"};
enum { N_COLOURS = 6, MAX_LEGEND_FAMILIES = 12, CURVE_SAMPLES = 240 };

typedef struct {
    cairo_t *cr;
    double s;              /* scale: 1 at XF_PLOT_WIDTH */
    double x0, y0, w, h;   /* plot area in pixels */
    double xlo, xhi, ylo, yhi;
} frame;

static double px(const frame *f, double x) { return f->x0 + (x - f->xlo) / (f->xhi - f->xlo) * f->w; }
static double py(const frame *f, double y) { return f->y0 + f->h - (y - f->ylo) / (f->yhi - f->ylo) * f->h; }

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

static void draw_axes(const frame *f) {
    cairo_t *cr = f->cr;
    double fs = 13 * f->s;
    cairo_set_font_size(cr, fs);
    for (int axis = 0; axis < 2; axis++) {
        double lo = axis ? f->ylo : f->xlo, hi = axis ? f->yhi : f->xhi;
        double step = nice_step(hi - lo, axis ? 6 : 7);
        int dec = tick_decimals(step);
        for (double t = ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) {
            char label[32];
            snprintf(label, sizeof label, "%.*f", dec, fabs(t) < 1e-12 ? 0.0 : t);
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
            cairo_set_line_width(cr, 1 * f->s);
            if (axis) {
                cairo_move_to(cr, f->x0, py(f, t));
                cairo_line_to(cr, f->x0 + f->w, py(f, t));
            } else {
                cairo_move_to(cr, px(f, t), f->y0);
                cairo_line_to(cr, px(f, t), f->y0 + f->h);
            }
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
            if (axis) {
                cairo_move_to(cr, f->x0, py(f, t));
                cairo_line_to(cr, f->x0 - 5 * f->s, py(f, t));
                cairo_stroke(cr);
                text_at(cr, f->x0 - 8 * f->s, py(f, t), 1, 0.5, label);
            } else {
                cairo_move_to(cr, px(f, t), f->y0 + f->h);
                cairo_line_to(cr, px(f, t), f->y0 + f->h + 5 * f->s);
                cairo_stroke(cr);
                text_at(cr, px(f, t), f->y0 + f->h + 8 * f->s, 0.5, 0, label);
            }
        }
    }
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_set_line_width(cr, 1.2 * f->s);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_stroke(cr);

    cairo_set_font_size(cr, 15 * f->s);
    text_at(cr, f->x0 + f->w / 2, f->y0 + f->h + 34 * f->s, 0.5, 0, "US accuracy");
    cairo_save(cr);
    cairo_translate(cr, f->x0 - 62 * f->s, f->y0 + f->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, 0.5, 0, "DS accuracy");
    cairo_restore(cr);
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
    int kind; /* 0 point, 1 hull, 2 fit, 3 saturation */
    rgb colour;
} legend_entry;

static int fit_drawn(const xf_satfit *fit);
static double fit_acc(const xf_satfit *fit, double acc_us);

/* How much of the figure a box at (bx, by) would hide: the points under it
 * and the samples of the fitted curve it covers. */
static int covered(const frame *f, const xf_panel *p, double bx, double by, double bw, double bh) {
    int n = 0;
#define INSIDE(X, Y) ((X) >= bx - 4 * f->s && (X) <= bx + bw + 4 * f->s && (Y) >= by - 4 * f->s && (Y) <= by + bh + 4 * f->s)
    for (int i = 0; i < p->n_points; i++)
        n += 2 * INSIDE(px(f, p->points[i].us_acc), py(f, p->points[i].ds_acc));
    if (fit_drawn(p->fit))
        for (int i = 0; i <= 60; i++) {
            double x = f->xlo + (f->xhi - f->xlo) * i / 60;
            n += INSIDE(px(f, x), py(f, fit_acc(p->fit, x)));
        }
#undef INSIDE
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
    double left = f->x0 + gap, right = f->x0 + f->w - bw - gap;
    double top = f->y0 + gap, bottom = f->y0 + f->h - bh - gap;
    if (fit_drawn(p->fit)) {
        double sat = py(f, xf_satfit_saturation(p->fit));
        if (sat > f->y0 && sat < f->y0 + f->h / 2) top = fmin(sat + gap, bottom);
    }
    double corners[4][2] = {{left, top}, {right, bottom}, {right, top}, {left, bottom}};
    int best = 0, best_cover = -1;
    for (int c = 0; c < 4; c++) {
        int cover = covered(f, p, corners[c][0], corners[c][1], bw, bh);
        if (best_cover < 0 || cover < best_cover) best = c, best_cover = cover;
    }
    double bx = corners[best][0], by = corners[best][1];
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1 * f->s);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double cy = by + pad + line * (i + 0.5), kx = bx + pad;
        cairo_set_line_width(cr, (e[i].kind == 2 ? 2.2 : 1.6) * f->s);
        set_rgb(cr, e[i].colour, 1);
        if (e[i].kind == 3) {
            double dash[] = {6 * f->s, 4 * f->s};
            cairo_set_dash(cr, dash, 2, 0);
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

static double fit_acc(const xf_satfit *fit, double acc_us) {
    return 1 - xf_satfit_predict(fit, 1 - fmin(1, fmax(0, acc_us)));
}

static void set_ranges(frame *f, const xf_panel *p) {
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < p->n_points; i++) {
        xmin = fmin(xmin, p->points[i].us_acc);
        xmax = fmax(xmax, p->points[i].us_acc);
        ymin = fmin(ymin, p->points[i].ds_acc);
        ymax = fmax(ymax, p->points[i].ds_acc);
    }
    if (p->n_points == 0) xmin = ymin = 0, xmax = ymax = 1;
    axis_range(xmin, xmax, &f->xlo, &f->xhi);
    if (fit_drawn(p->fit)) {
        /* the asymptote is the figure's message, so it is always in view */
        double sat = xf_satfit_saturation(p->fit);
        ymax = fmax(ymax, sat);
        for (int i = 0; i <= CURVE_SAMPLES; i++) {
            double y = fit_acc(p->fit, f->xlo + (f->xhi - f->xlo) * i / CURVE_SAMPLES);
            if (y >= ymin - 0.1 * (ymax - ymin)) ymin = fmin(ymin, y);
        }
    }
    axis_range(ymin, ymax, &f->ylo, &f->yhi);
}

static cairo_status_t to_sbuf(void *closure, const unsigned char *data, unsigned int length) {
    xf_sbuf *b = closure;
    xf_sbuf_append(b, (const char *)data, length);
    return b->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

static void draw(frame *f, const xf_panel *p) {
    cairo_t *cr = f->cr;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16 * f->s);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, f->x0 + f->w / 2, 12 * f->s, 0.5, 0, p->title ? p->title : "");
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    draw_axes(f);

    cairo_save(cr);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_clip(cr);
    legend_entry legend[MAX_LEGEND_FAMILIES + 3];
    int n_legend = 0;
    const char *unknown[MAX_LEGEND_FAMILIES];
    int n_unknown = 0;
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
        for (int i = 0; i <= CURVE_SAMPLES; i++) {
            double x = f->xlo + (f->xhi - f->xlo) * i / CURVE_SAMPLES;
            if (i == 0) cairo_move_to(cr, px(f, x), py(f, fit_acc(p->fit, x)));
            else cairo_line_to(cr, px(f, x), py(f, fit_acc(p->fit, x)));
        }
        cairo_stroke(cr);
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

    char fit_label[96], sat_label[64];
    legend[n_legend++] = (legend_entry){"upper hull", 1, {0, 0, 0}};
    if (fit_drawn(p->fit)) {
        snprintf(fit_label, sizeof fit_label, "fit: k=%.3g, \xce\xb1=%.3g, e_IR=%.3g", p->fit->k,
                 p->fit->alpha, p->fit->e_ir);
        snprintf(sat_label, sizeof sat_label, "saturation 1\xe2\x88\x92" "e_IR = %.3f",
                 xf_satfit_saturation(p->fit));
        legend[n_legend++] = (legend_entry){fit_label, 2, fit_colour};
        legend[n_legend++] = (legend_entry){sat_label, 3, fit_colour};
    } else {
        legend[n_legend++] = (legend_entry){"no fit: fewer than 3 hull points", 2, {0.6, 0.6, 0.6}};
    }
    draw_legend(f, p, legend, n_legend);
}

xf_status xf_plot_panel_png(const xf_panel *panel, int width, int height, unsigned char **png,
                            size_t *size) {
    *png = NULL;
    *size = 0;
    if (width < 100 || height < 100 || width > 8000 || height > 8000)
        return xf_fail(XF_EINVAL, "plot: size %dx%d is outside 100..8000 pixels", width, height);
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(surface);
    double s = width / (double)XF_PLOT_WIDTH;
    frame f = {cr, s, 84 * s, 44 * s, width - 84 * s - 18 * s, height - 44 * s - 66 * s, 0, 0, 0, 0};
    set_ranges(&f, panel);
    draw(&f, panel);
    cairo_status_t cs = cairo_status(cr);
    xf_sbuf out;
    xf_sbuf_init(&out);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_write_to_png_stream(surface, to_sbuf, &out);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    if (cs != CAIRO_STATUS_SUCCESS || out.failed) {
        xf_sbuf_free(&out);
        return xf_fail(cs == CAIRO_STATUS_NO_MEMORY ? XF_ENOMEM : XF_EIO, "plot '%s': cairo: %s",
                       panel->title ? panel->title : "", cairo_status_to_string(cs));
    }
    *png = (unsigned char *)out.data;
    *size = out.len;
    return XF_OK;
}

void xf_plot_release_caches(void) {
    cairo_debug_reset_static_data();
    FcFini();
}
