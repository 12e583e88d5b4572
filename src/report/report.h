/* The study report: one self-contained HTML page (the fit table and one
 * figure per (US task, DS task, shots) set, embedded as base64 PNG) and the
 * fit table as CSV, both under DIR/report/. */
#ifndef XF_REPORT_H
#define XF_REPORT_H

#include <stddef.h>

#include "analysis/setfit.h"
#include "analysis/study.h"
#include "core/status.h"
#include "report/sbuf.h"
#include "study/store.h"

/* The fit table as CSV, one row per set: us_task, ds_task, shots, n_points,
 * n_hull, status, k, alpha, e_ir, saturation, rms, sse (empty fields when
 * the fit is underdetermined). */
void xf_report_csv(const xf_set_fit *fits, int n_sets, xf_sbuf *out);

/* The HTML page for a study named `study`; fits[i] belongs to sets[i]. */
xf_status xf_report_html(const char *study, const xf_point_set *sets, const xf_set_fit *fits,
                         int n_sets, xf_sbuf *out);

/* Writes DIR/report/index.html and DIR/report/fits.csv, each atomically,
 * creating DIR/report if needed. html_path (may be NULL) receives the
 * page's path. */
xf_status xf_report_write(const char *dir, const char *study, const xf_point_set *sets,
                          const xf_set_fit *fits, int n_sets, char *html_path, size_t cap);

/* The full study report (docs/analysis.md): DIR/report/index.html with
 * every analysis and its figures embedded, plus fits.csv, intervals.csv
 * (all-points fits, 95% intervals, validation), knobs.csv, results.json
 * (every number) and figures/NAME.{png,svg,pdf}. */
xf_status xf_report_study_write(const char *dir, const char *study, const xf_study_results *r,
                                char *html_path, size_t cap);

/* "[lo, hi]" with each end printed by fmt ("inf" for an unbounded end),
 * or "-" when the interval is not determined (NaN): an underdetermined fit
 * never shows an interval. Returns buf. */
const char *xf_interval_text(char *buf, size_t cap, const char *fmt, const double ci[2]);
/* Appends a table cell with v printed by fmt, or a dash for NaN; used by the
 * page writers. */
void xf_report_cell(xf_sbuf *b, const char *fmt, double v);
/* The fit table of xf_report_html; it has a US task column when the fits
 * have several US tasks. */
void xf_report_fit_table(xf_sbuf *b, const xf_set_fit *fits, int n_sets);
/* A set's title: "DS, k-shot", or "DS, k-shot (US: NAME)" when several_us. */
void xf_report_set_title(char *buf, size_t cap, const char *us_task, const char *ds_task,
                         int shots, int several_us);
/* Opens a table row with a set's first cells: the US task (when several_us),
 * the DS task and the shots. */
void xf_report_set_cells(xf_sbuf *b, int several_us, const char *us_task, const char *ds_task,
                         int shots);
/* Appends an <img> with a PNG data URI. */
void xf_report_img(xf_sbuf *b, const char *alt, const unsigned char *png, size_t size);

#endif
