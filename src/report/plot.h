/* One figure panel: DS accuracy against US accuracy for one (DS task, shots)
 * pair, the models coloured by family, the upper hull, the fitted saturation
 * curve and its asymptote, the stochastic frontier, rendered with cairo to PNG, SVG or PDF bytes in
 * memory; grids of panels; and the charts of report/charts.h. */
#ifndef XF_PLOT_H
#define XF_PLOT_H

#include <stddef.h>

#include "analysis/satfit.h"
#include "analysis/sfrontier.h"
#include "core/status.h"
#include "study/store.h"

#define XF_PLOT_WIDTH 720
#define XF_PLOT_HEIGHT 540

typedef struct {
    const char *title;
    const xf_point *points;
    int n_points;
    const int *hull; /* indices into points, increasing US accuracy */
    int n_hull;
    const xf_satfit *fit; /* NULL, or underdetermined: no curve is drawn */
    int log_error;        /* axes are US and DS error on log scales */
    /* Draw each DS accuracy's +-1.96 standard error (xf_ds_se of the
     * point's draws and this test-set size) as a bar; accuracy axes only. */
    int error_bars;
    int ds_test_size;
    /* NULL, or underdetermined: not drawn. The stochastic frontier's
     * curve, labelled with its e_IR interval. */
    const xf_sfrontier *frontier;
} xf_panel;

typedef enum { XF_FIG_PNG, XF_FIG_SVG, XF_FIG_PDF } xf_fig_format;

/* "png", "svg", "pdf". */
const char *xf_fig_ext(xf_fig_format format);

/* Renders the panel at width x height (pixels, or points for SVG and PDF;
 * fonts and lines scale with the width) into a new buffer the caller
 * frees. */
xf_status xf_plot_panel(const xf_panel *panel, int width, int height, xf_fig_format format,
                        unsigned char **out, size_t *size);

/* n panels in a grid of `cols` columns, each cell cell_width x cell_height. */
xf_status xf_plot_grid(const xf_panel *panels, int n, int cols, int cell_width, int cell_height,
                       xf_fig_format format, unsigned char **out, size_t *size);

/* xf_plot_panel as PNG. */
xf_status xf_plot_panel_png(const xf_panel *panel, int width, int height, unsigned char **png,
                            size_t *size);

/* Frees the font caches cairo and fontconfig keep for the whole process,
 * which leak checkers otherwise report at exit. Call only when no cairo
 * object is alive, e.g. at the end of a command or a test. */
void xf_plot_release_caches(void);

#endif
