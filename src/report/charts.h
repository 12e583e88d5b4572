/* Line charts for the report's other figures (parameters against shots,
 * DS accuracy against tap depth, accuracy against head weight decay):
 * series of (x, y) points, optional 95% interval bars and a marked point,
 * drawn in a grid of charts through the same render path as the panels. */
#ifndef XF_CHARTS_H
#define XF_CHARTS_H

#include <stddef.h>

#include "core/status.h"
#include "report/plot.h"

typedef struct {
    const char *label;
    const double *x, *y;
    const double *lo, *hi; /* NULL, or interval bars (NaN: none at that x) */
    int n;
    int mark;   /* index of a point drawn as a large ring, or -1 */
    int colour; /* index into the Okabe-Ito palette */
} xf_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    const xf_series *series;
    int n_series;
    int log_x;
} xf_chart;

/* n charts in `cols` columns, cells cell_width x cell_height. */
xf_status xf_plot_charts(const xf_chart *charts, int n, int cols, int cell_width,
                         int cell_height, xf_fig_format format, unsigned char **out,
                         size_t *size);

#endif
