#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "report/base64.h"
#include "report/plot.h"

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1500px;"
    "color:#222;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
    "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}"
    "th{border-bottom:2px solid #444;background:#f6f6f6}"
    "td:first-child,th:first-child{text-align:left}"
    ".panels{display:flex;flex-wrap:wrap;gap:12px}"
    "figure{margin:0;max-width:720px}figure img{width:100%;height:auto}"
    "figcaption{font-size:13px;color:#555}"
    "p.note{font-size:13px;color:#555;max-width:60em}";

void xf_report_cell(xf_sbuf *b, const char *fmt, double v) {
    if (isnan(v))
        xf_sbuf_puts(b, "<td>&ndash;</td>");
    else {
        xf_sbuf_puts(b, "<td>");
        xf_sbuf_printf(b, fmt, v);
        xf_sbuf_puts(b, "</td>");
    }
}

void xf_report_set_title(char *buf, size_t cap, const char *us_task, const char *ds_task,
                         int shots, int several_us) {
    if (several_us)
        snprintf(buf, cap, "%s, %d-shot (US: %s)", ds_task, shots, us_task);
    else
        snprintf(buf, cap, "%s, %d-shot", ds_task, shots);
}

void xf_report_set_cells(xf_sbuf *b, int several_us, const char *us_task, const char *ds_task,
                         int shots) {
    xf_sbuf_puts(b, "<tr><td>");
    if (several_us) {
        xf_sbuf_html(b, us_task);
        xf_sbuf_puts(b, "</td><td>");
    }
    xf_sbuf_html(b, ds_task);
    xf_sbuf_printf(b, "</td><td>%d</td>", shots);
}

void xf_report_fit_table(xf_sbuf *b, const xf_set_fit *fits, int n_sets) {
    int several_us = xf_set_fits_us_tasks(fits, n_sets) > 1;
    xf_sbuf_printf(b, "<table>\n<tr>%s<th>DS task</th><th>shots</th><th>points</th>"
                      "<th>hull points</th><th>k</th><th>&alpha;</th><th>e<sub>IR</sub></th>"
                      "<th>saturation 1&minus;e<sub>IR</sub></th><th>RMS</th><th>fit</th>"
                      "</tr>\n",
                   several_us ? "<th>US task</th>" : "");
    for (int i = 0; i < n_sets; i++) {
        const xf_set_fit *s = &fits[i];
        xf_report_set_cells(b, several_us, s->us_task, s->ds_task, s->shots);
        xf_sbuf_printf(b, "<td>%d</td><td>%d</td>", s->n_points, s->n_hull);
        xf_report_cell(b, "%.4g", s->fit.k);
        xf_report_cell(b, "%.4g", s->fit.alpha);
        xf_report_cell(b, "%.4f", s->fit.e_ir);
        xf_report_cell(b, "%.4f", xf_satfit_saturation(&s->fit));
        xf_report_cell(b, "%.3g", s->fit.rms);
        xf_sbuf_printf(b, "<td>%s</td></tr>\n", xf_satfit_status_name(s->fit.status));
    }
    xf_sbuf_puts(b, "</table>\n");
}

void xf_report_img(xf_sbuf *b, const char *alt, const unsigned char *png, size_t size) {
    xf_sbuf_puts(b, "<img alt=\"");
    xf_sbuf_html(b, alt);
    xf_sbuf_puts(b, "\" src=\"data:image/png;base64,");
    char *at = xf_sbuf_reserve(b, xf_base64_len(size));
    if (at) {
        xf_base64_encode(png, size, at);
        b->len += xf_base64_len(size);
    }
    xf_sbuf_puts(b, "\">");
}

static xf_status figure(xf_sbuf *b, const xf_point_set *set, const xf_set_fit *fit,
                        int several_us) {
    char title[160];
    xf_report_set_title(title, sizeof title, set->us_task, set->ds_task, set->shots, several_us);
    xf_panel panel = {title, set->points, set->n_points, fit->hull, fit->n_hull, &fit->fit,
                      0,     0,           0,              &fit->frontier};
    unsigned char *png;
    size_t size;
    xf_status st = xf_plot_panel_png(&panel, XF_PLOT_WIDTH, XF_PLOT_HEIGHT, &png, &size);
    if (st != XF_OK) return st;
    xf_sbuf_puts(b, "<figure>");
    xf_report_img(b, title, png, size);
    free(png);
    xf_sbuf_puts(b, "<figcaption>");
    xf_sbuf_html(b, title);
    xf_sbuf_printf(b, ": %d models, %d on the upper hull.</figcaption></figure>\n",
                   set->n_points, fit->n_hull);
    return XF_OK;
}

xf_status xf_report_html(const char *study, const xf_point_set *sets, const xf_set_fit *fits,
                         int n_sets, xf_sbuf *out) {
    xf_sbuf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<title>xfer report: ");
    xf_sbuf_html(out, study);
    xf_sbuf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>xfer report: ", style);
    xf_sbuf_html(out, study);
    xf_sbuf_puts(out, "</h1>\n<p class=\"note\">Downstream (DS) against upstream (US) accuracy "
                      "of every finished model, probed few-shot at its last layer (mean over "
                      "draws). The saturation law e<sub>DS</sub> = k&middot;e<sub>US</sub>"
                      "<sup>&alpha;</sup> + e<sub>IR</sub> (e = 1 &minus; accuracy) is fitted by "
                      "least squares to the whole upper convex hull; DS accuracy "
                      "saturates at 1 &minus; e<sub>IR</sub>. A fit needs at least 3 hull points "
                      "with distinct US accuracy.</p>\n<h2>Fits</h2>\n");
    if (n_sets == 0)
        xf_sbuf_puts(out, "<p>No finished trials with probes yet.</p>\n");
    else
        xf_report_fit_table(out, fits, n_sets);
    xf_sbuf_puts(out, "<h2>DS vs US accuracy</h2>\n<div class=\"panels\">\n");
    int several_us = xf_set_fits_us_tasks(fits, n_sets) > 1;
    for (int i = 0; i < n_sets; i++) {
        xf_status st = figure(out, &sets[i], &fits[i], several_us);
        if (st != XF_OK) return st;
    }
    xf_sbuf_puts(out, "</div>\n</body>\n</html>\n");
    return xf_sbuf_status(out);
}
