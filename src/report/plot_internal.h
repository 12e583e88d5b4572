/* What the figure files share: the plot frame, axes, text and the one
 * render path for PNG, SVG and PDF. Not for use outside src/report. */
#ifndef XF_PLOT_INTERNAL_H
#define XF_PLOT_INTERNAL_H

#include <cairo.h>

#include "report/plot.h"

typedef struct {
    cairo_t *cr;
    double s;                  /* scale: 1 at XF_PLOT_WIDTH */
    double x0, y0, w, h;       /* plot area in pixels */
    double xlo, xhi, ylo, yhi; /* in plotted units: accuracy, or log10(error) */
    int log;                   /* DS-vs-US panels: log error axes */
} frame;

/* Text anchored at (x, y): ha, va in [0, 1] pick the point of its box. */
void xf_plot_text(cairo_t *cr, double x, double y, double ha, double va, const char *s);
/* Ticks, grid lines and labels of axis 0 (x) or 1 (y) over the frame's
 * range; log_axis: the range is log10 of the values. */
void xf_axis_ticks(const frame *f, int axis, int log_axis);
/* The frame's box and the axis titles. */
void xf_axis_labels(const frame *f, const char *xlabel, const char *ylabel);

/* How much of a figure a box at (x, y), w x h pixels, would hide. */
typedef int (*xf_cover_fn)(const void *ctx, const frame *f, double x, double y, double w,
                           double h);
/* Where a legend box of w x h goes: the inside corner of the frame, `gap`
 * from its edges, that hides least by cover's count; on ties upper left,
 * lower right, upper right, lower left in that order. top (NaN: the frame's
 * top + gap) is the y of the upper corners. Returns the count there. */
int xf_legend_place(const frame *f, double w, double h, double gap, double top, xf_cover_fn cover,
                    const void *ctx, double *x, double *y);

typedef void (*xf_draw_fn)(cairo_t *cr, int width, int height, const void *ctx);
/* Paints the background white, calls fn and encodes the surface. */
xf_status xf_plot_render(int width, int height, xf_fig_format format, xf_draw_fn fn,
                         const void *ctx, const char *what, unsigned char **out, size_t *size);

#endif
