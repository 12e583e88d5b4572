/* The full study report: every analysis of analysis/study.h on one page,
 * each figure also written as PNG, SVG and PDF. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/path.h"
#include "report/charts.h"
#include "report/json.h"
#include "report/plot.h"
#include "report/report.h"

enum { CELL_W = 560, CELL_H = 420, MAX_SETS = 256 };

typedef struct {
    const char *dir; /* DIR/report */
    xf_sbuf *page;
    int several_us;  /* the study has several US tasks: titles and tables name them */
} out_ctx;

/* Renders a figure in the three formats: the PNG goes into the page, all
 * three into figures/. kind 0: panel grid, 1: charts. */
static xf_status emit(out_ctx *o, const char *name, const char *caption, int kind,
                      const void *items, int n, int cols) {
    for (int f = XF_FIG_PNG; f <= XF_FIG_PDF; f++) {
        unsigned char *data;
        size_t size;
        xf_status st = kind == 0 ? xf_plot_grid(items, n, cols, CELL_W, CELL_H, f, &data, &size)
                                 : xf_plot_charts(items, n, cols, CELL_W, CELL_H, f, &data, &size);
        if (st != XF_OK) return st;
        char path[XF_PATH_MAX];
        st = xf_path_format(path, sizeof path, "%s/figures/%s.%s", o->dir, name, xf_fig_ext(f));
        if (st == XF_OK) st = xf_write_file_atomic(path, data, size);
        if (st == XF_OK && f == XF_FIG_PNG) {
            xf_sbuf_puts(o->page, "<figure class=\"wide\">");
            xf_report_img(o->page, caption, data, size);
            xf_sbuf_puts(o->page, "<figcaption>");
            xf_sbuf_html(o->page, caption);
            xf_sbuf_printf(o->page, " (also <a href=\"figures/%s.svg\">SVG</a>, "
                                    "<a href=\"figures/%s.pdf\">PDF</a>)</figcaption></figure>\n",
                           name, name);
        }
        free(data);
        if (st != XF_OK) return st;
    }
    return XF_OK;
}

static int distinct_shots(const xf_study_results *r, int *shots) {
    int n = 0;
    for (int i = 0; i < r->n_sets; i++) {
        int j = 0;
        while (j < n && shots[j] != r->sets[i].shots) j++;
        if (j == n && n < MAX_SETS) shots[n++] = r->sets[i].shots;
    }
    for (int i = 1; i < n; i++) /* insertion sort, few values */
        for (int j = i; j > 0 && shots[j] < shots[j - 1]; j--) {
            int t = shots[j];
            shots[j] = shots[j - 1];
            shots[j - 1] = t;
        }
    return n;
}

/* The US tasks of the sets in set order (the most common first); returns
 * how many. */
static int distinct_us(const xf_study_results *r, const char **us) {
    int n = 0;
    for (int i = 0; i < r->n_sets; i++)
        if ((n == 0 || strcmp(us[n - 1], r->sets[i].us_task) != 0) && n < MAX_SETS)
            us[n++] = r->sets[i].us_task;
    return n;
}

/* A US task's name as a file-name part: characters other than letters,
 * digits, '.', '_' and '-' become '-' ("mnist+fashion-mnist" ->
 * "mnist-fashion-mnist"). */
static void file_part(char *out, size_t cap, const char *name) {
    size_t n = 0;
    for (; name[n] && n + 1 < cap; n++) {
        char c = name[n];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
        out[n] = keep ? c : '-';
    }
    out[n] = 0;
}

/* One figure per (US task, shots): the first US task's figures keep the
 * names of a study with one (ds_vs_us_10shot), the others' add _us-NAME. */
static xf_status ds_vs_us(out_ctx *o, const xf_study_results *r) {
    int shots[MAX_SETS], ns = distinct_shots(r, shots);
    const char *us[MAX_SETS];
    int nu = distinct_us(r, us);
    xf_panel *panels = xf_calloc((size_t)(r->n_sets > 0 ? r->n_sets : 1), sizeof *panels);
    char (*titles)[160] = xf_calloc((size_t)(r->n_sets > 0 ? r->n_sets : 1), sizeof *titles);
    xf_status st = panels && titles ? XF_OK : XF_ENOMEM;
    for (int lg = 0; lg < 2 && st == XF_OK; lg++)
        for (int k = 0; k < ns && st == XF_OK; k++)
            for (int u = 0; u < nu && st == XF_OK; u++) {
                int n = 0;
                for (int i = 0; i < r->n_sets; i++) {
                    const xf_point_set *set = &r->sets[i];
                    if (set->shots != shots[k] || strcmp(set->us_task, us[u]) != 0) continue;
                    xf_report_set_title(titles[n], sizeof titles[n], set->us_task, set->ds_task,
                                        set->shots, o->several_us);
                    panels[n] = (xf_panel){titles[n],          set->points,
                                           set->n_points,      r->fits[i].hull,
                                           r->fits[i].n_hull,  &r->fits[i].fit,
                                           lg,                 r->error_bars,
                                           set->ds_test_size,  &r->fits[i].frontier};
                    n++;
                }
                if (n == 0) continue;
                char name[160], part[100] = "", caption[400], of_us[120] = "";
                if (u > 0) {
                    file_part(part + 4, sizeof part - 4, us[u]);
                    memcpy(part, "_us-", 4);
                }
                if (o->several_us) snprintf(of_us, sizeof of_us, ", US task %s", us[u]);
                snprintf(name, sizeof name, "ds_vs_us_%dshot%s%s", shots[k], part,
                         lg ? "_log" : "");
                snprintf(caption, sizeof caption,
                         "DS against US %s, %d-shot%s, one panel per DS task: models by family, "
                         "upper hull (black), fit to the hull and its saturation line "
                         "(vermillion), stochastic frontier with its e_IR interval (dotted purple)",
                         lg ? "error (log axes)" : "accuracy", shots[k], of_us);
                st = emit(o, name, caption, 0, panels, n, n < 3 ? n : 3);
            }
    free(panels);
    free(titles);
    return st;
}

static int same_set_group(const xf_point_set *a, const xf_point_set *b) {
    return strcmp(a->us_task, b->us_task) == 0 && strcmp(a->ds_task, b->ds_task) == 0;
}

/* The colour of a DS task: its place among the study's DS tasks, so it
 * keeps one colour in every US task's charts. */
static int ds_colour(const xf_study_results *r, const char *ds_task) {
    int c = 0;
    for (int i = 0; i < r->n_sets; i++) {
        if (strcmp(r->sets[i].ds_task, ds_task) == 0) return c;
        int j = 0;
        while (j < i && strcmp(r->sets[j].ds_task, r->sets[i].ds_task) != 0) j++;
        c += j == i;
    }
    return c;
}

/* k, alpha, e_IR against shots, one series per DS task with 95% bars; one
 * row of three charts per US task. */
static xf_status params_vs_shots(out_ctx *o, const xf_study_results *r) {
    int n = r->n_sets;
    size_t cap = (size_t)(n > 0 ? n : 1);
    double *v = xf_malloc(cap * 10 * sizeof *v);
    xf_series *ser = xf_calloc(3 * cap, sizeof *ser);
    xf_chart *charts = xf_calloc(3 * cap, sizeof *charts);
    char (*titles)[120] = xf_calloc(3 * cap, sizeof *titles);
    if (!v || !ser || !charts || !titles) {
        free(v);
        free(ser);
        free(charts);
        free(titles);
        return XF_ENOMEM;
    }
    double *x = v, *y[3] = {v + n, v + 2 * n, v + 3 * n}, *lo[3] = {v + 4 * n, v + 5 * n, v + 6 * n},
           *hi[3] = {v + 7 * n, v + 8 * n, v + 9 * n};
    static const char *const param[3] = {"k", "\xce\xb1", "e_IR"};
    int n_series = 0, m = 0, nc = 0;
    for (int i = 0; i < n;) { /* one US task */
        int first = n_series, end = i;
        while (end < n && strcmp(r->sets[end].us_task, r->sets[i].us_task) == 0) end++;
        for (int g = i; g < end;) { /* one DS task */
            int start = m, j = g;
            for (; j < end && same_set_group(&r->sets[j], &r->sets[g]); j++, m++) {
                const xf_set_fit *f = &r->fits[j];
                x[m] = f->shots;
                /* the stochastic frontier and its profile intervals */
                const xf_sfrontier *sf = &f->frontier;
                y[0][m] = sf->k, y[1][m] = sf->alpha, y[2][m] = sf->e_ir;
                for (int p = 0; p < 3; p++) lo[p][m] = sf->ci[p][0], hi[p][m] = sf->ci[p][1];
            }
            int colour = ds_colour(r, r->sets[g].ds_task);
            for (int p = 0; p < 3; p++)
                ser[p * n + n_series] = (xf_series){r->sets[g].ds_task, x + start, y[p] + start,
                                                    lo[p] + start, hi[p] + start, m - start, -1,
                                                    colour};
            n_series++;
            g = j;
        }
        for (int p = 0; p < 3; p++, nc++) {
            if (o->several_us)
                snprintf(titles[nc], sizeof titles[nc], "%s (US: %s)", param[p],
                         r->sets[i].us_task);
            else
                snprintf(titles[nc], sizeof titles[nc], "%s", param[p]);
            charts[nc] = (xf_chart){titles[nc], "shots", param[p], ser + p * n + first,
                                    n_series - first, 1};
        }
        i = end;
    }
    xf_status st = emit(o, "params_vs_shots",
                        o->several_us ? "Frontier parameters against shots per DS task, "
                                        "one row per US task, with profile-likelihood 95% "
                                        "intervals"
                                      : "Frontier parameters against shots per DS task, "
                                        "with profile-likelihood 95% intervals",
                        1, charts, nc, 3);
    free(v);
    free(ser);
    free(charts);
    free(titles);
    return st;
}

/* DS accuracy against tap depth at the largest shot count, per (US task,
 * DS task). */
static xf_status layers(out_ctx *o, const xf_study_results *r) {
    xf_chart charts[64];
    xf_series ser[64][XF_LAYERS_TOP];
    char labels[64][XF_LAYERS_TOP][48], titles[64][160];
    int nc = 0;
    for (int i = 0; i < r->n_sets && nc < 64; i++) {
        int last = i + 1 == r->n_sets || !same_set_group(&r->sets[i + 1], &r->sets[i]);
        const xf_layer_row *l = &r->layers[i];
        if (!last || l->n_curves == 0) continue;
        for (int c = 0; c < l->n_curves; c++) {
            const xf_layer_curve *cv = &l->curve[c];
            snprintf(labels[nc][c], 48, "US acc %.3f", cv->us_acc);
            ser[nc][c] = (xf_series){labels[nc][c], cv->depth, cv->acc, NULL, NULL,
                                     cv->n_layers, cv->best, c};
        }
        xf_report_set_title(titles[nc], sizeof titles[nc], l->us_task, l->ds_task, l->shots,
                            o->several_us);
        charts[nc] = (xf_chart){titles[nc], "relative depth of the tap", "DS accuracy",
                                ser[nc], l->n_curves, 0};
        nc++;
    }
    if (nc == 0) {
        xf_sbuf_puts(o->page, "<p>No model has two or more probed taps.</p>\n");
        return XF_OK;
    }
    return emit(o, "layers",
                "DS accuracy against relative tap depth for the best models by US accuracy; "
                "rings mark each model's best layer",
                1, charts, nc, nc < 3 ? nc : 3);
}

static int same_sweep_group(const xf_sweep_point *a, const xf_sweep_point *b) {
    return strcmp(a->us_task, b->us_task) == 0 && strcmp(a->ds_task, b->ds_task) == 0;
}

/* Mean US and DS accuracy against the knob's value, per (US task, DS task)
 * at its largest shots. */
static xf_status sweep(out_ctx *o, const xf_sweep_point *p, int n, int groups, const char *knob) {
    if (groups == 0) {
        xf_sbuf_printf(o->page, "<p>No configs differ only in %s: nothing to compare.</p>\n",
                       knob);
        return XF_OK;
    }
    xf_sbuf_printf(o->page, "<p>%d groups of configs equal but for %s.</p>\n", groups, knob);
    /* one chart per (US task, DS task) at its largest shots: DS and US mean
     * per value */
    enum { MAXV = 64 };
    xf_chart charts[32];
    xf_series ser[32][2];
    double xs[32][MAXV], ds[32][MAXV], us[32][MAXV];
    char titles[32][160];
    const xf_sweep_point *first[32];
    int nc = 0;
    for (int i = 0; i < n && nc < 32; i++) {
        int seen = 0, best_shots = p[i].shots;
        for (int c = 0; c < nc && !seen; c++) seen = same_sweep_group(first[c], &p[i]);
        if (seen) continue;
        first[nc] = &p[i];
        for (int j = 0; j < n; j++)
            if (same_sweep_group(&p[j], &p[i]) && p[j].shots > best_shots) best_shots = p[j].shots;
        int nv = 0, cnt[MAXV] = {0};
        for (int j = 0; j < n; j++) {
            if (!same_sweep_group(&p[j], &p[i]) || p[j].shots != best_shots) continue;
            int v = 0;
            while (v < nv && xs[nc][v] != p[j].value) v++;
            if (v == nv) {
                if (nv == MAXV) continue;
                xs[nc][nv] = p[j].value, ds[nc][nv] = us[nc][nv] = 0, nv++;
            }
            ds[nc][v] += p[j].ds_acc, us[nc][v] += p[j].us_acc, cnt[v]++;
        }
        for (int a = 1; a < nv; a++) /* sort by value */
            for (int b = a; b > 0 && xs[nc][b] < xs[nc][b - 1]; b--) {
                double t;
                int ti;
                t = xs[nc][b], xs[nc][b] = xs[nc][b - 1], xs[nc][b - 1] = t;
                t = ds[nc][b], ds[nc][b] = ds[nc][b - 1], ds[nc][b - 1] = t;
                t = us[nc][b], us[nc][b] = us[nc][b - 1], us[nc][b - 1] = t;
                ti = cnt[b], cnt[b] = cnt[b - 1], cnt[b - 1] = ti;
            }
        for (int v = 0; v < nv; v++) ds[nc][v] /= cnt[v], us[nc][v] /= cnt[v];
        int pos = 1;
        for (int v = 0; v < nv; v++) pos &= xs[nc][v] > 0;
        ser[nc][0] = (xf_series){"DS accuracy (mean)", xs[nc], ds[nc], NULL, NULL, nv, -1, 0};
        ser[nc][1] = (xf_series){"US accuracy (mean)", xs[nc], us[nc], NULL, NULL, nv, -1, 1};
        xf_report_set_title(titles[nc], sizeof titles[nc], p[i].us_task, p[i].ds_task, best_shots,
                            o->several_us);
        charts[nc] = (xf_chart){titles[nc], knob, "accuracy", ser[nc], 2, pos};
        nc++;
    }
    char name[64], caption[128];
    snprintf(name, sizeof name, "sweep_%s", knob);
    snprintf(caption, sizeof caption, "US and DS accuracy against %s (means over groups)", knob);
    return emit(o, name, caption, 1, charts, nc, nc < 3 ? nc : 3);
}

/* The US tasks and their finished trials: each is analysed on its own. */
static void us_tasks_note(xf_sbuf *b, const xf_study_results *r) {
    const char *us[MAX_SETS];
    int nu = distinct_us(r, us);
    xf_sbuf_puts(b, "<p>US tasks (finished trials): ");
    for (int u = 0; u < nu; u++) {
        int n = 0;
        for (int i = 0; i < r->table.n_trials; i++)
            n += r->table.trials[i].status == XF_TRIAL_FINISHED &&
                 strcmp(r->table.trials[i].us_task, us[u]) == 0;
        xf_sbuf_puts(b, u ? ", " : "");
        xf_sbuf_html(b, us[u]);
        xf_sbuf_printf(b, " (%d)", n);
    }
    xf_sbuf_puts(b, ". Their US accuracies are measured on different test sets, so every fit, "
                    "figure and table below is per US task.</p>\n");
}

/* The rows of the interval table and intervals.csv: the stochastic
 * frontier (the default intervals), then the two least-squares fits (their
 * bootstrap intervals only when asked for). */
enum { ROW_FRONTIER, ROW_HULL, ROW_ALL, N_ROWS };
static const char *const row_name[N_ROWS] = {"frontier", "hull", "all"};

typedef struct {
    const char *status;
    double k, alpha, e_ir, rms;
    const double *ci[3];
    const xf_validation *v;
} fit_row;

static fit_row row_of(const xf_set_fit *s, int row) {
    if (row == ROW_FRONTIER) {
        const xf_sfrontier *f = &s->frontier;
        return (fit_row){xf_satfit_status_name(f->status), f->k, f->alpha, f->e_ir, NAN,
                         {f->ci[XF_SF_K], f->ci[XF_SF_ALPHA], f->ci[XF_SF_EIR]}, NULL};
    }
    const xf_satfit *f = row == ROW_ALL ? &s->fit_all : &s->fit;
    const xf_satfit_ci *c = row == ROW_ALL ? &s->ci_all : &s->ci;
    return (fit_row){xf_satfit_status_name(f->status), f->k, f->alpha, f->e_ir, f->rms,
                     {c->k, c->alpha, c->e_ir}, row == ROW_ALL ? &s->val_all : &s->val};
}

static void intervals_table(xf_sbuf *b, const xf_study_results *r, int several_us) {
    xf_sbuf_printf(b, "<table>\n<tr>%s<th>DS task</th><th>shots</th><th>fit</th><th>k</th>"
                      "<th>k 95%%</th><th>&alpha;</th><th>&alpha; 95%%</th><th>e<sub>IR</sub></th>"
                      "<th>e<sub>IR</sub> 95%%</th><th>fit RMS (low US)</th>"
                      "<th>prediction RMS (held-out hull)</th></tr>\n",
                   several_us ? "<th>US task</th>" : "");
    for (int i = 0; i < r->n_sets; i++)
        for (int h = 0; h < N_ROWS; h++) {
            const xf_set_fit *s = &r->fits[i];
            fit_row f = row_of(s, h);
            char c[3][64];
            xf_report_set_cells(b, several_us, s->us_task, s->ds_task, s->shots);
            xf_sbuf_printf(b, "<td>%s</td>", h == ROW_FRONTIER ? "frontier (ML)"
                                             : h == ROW_HULL  ? "hull (LS)"
                                                              : "all points (LS)");
            xf_report_cell(b, "%.4g", f.k);
            xf_sbuf_printf(b, "<td>%s</td>", xf_interval_text(c[0], 64, "%.3g", f.ci[0]));
            xf_report_cell(b, "%.4g", f.alpha);
            xf_sbuf_printf(b, "<td>%s</td>", xf_interval_text(c[1], 64, "%.3g", f.ci[1]));
            xf_report_cell(b, "%.4f", f.e_ir);
            xf_sbuf_printf(b, "<td>%s</td>", xf_interval_text(c[2], 64, "%.4f", f.ci[2]));
            if (!f.v) {
                xf_sbuf_puts(b, "<td>-</td><td>-</td>");
            } else {
                xf_report_cell(b, "%.3g", f.v->fit_rms);
                if (f.v->n_test < XF_VALIDATION_MIN_TEST)
                    xf_sbuf_printf(b, "<td>fewer than %d held-out hull points (%d)</td>",
                                   XF_VALIDATION_MIN_TEST, f.v->n_test);
                else
                    xf_sbuf_printf(b, "<td>%.3g (%d points)</td>", f.v->predict_rms,
                                   f.v->n_test);
            }
            xf_sbuf_puts(b, "</tr>\n");
        }
    xf_sbuf_puts(b, "</table>\n<p class=\"note\">Intervals: profile likelihood of the "
                    "stochastic frontier (the default); bootstrap intervals of the "
                    "least-squares fits only with <code>--bootstrap N</code> (they are not "
                    "calibrated for the hull: docs/analysis.md). Both least-squares fits are "
                    "scored on the same held-out points: the upper hull of the models above "
                    "the validation threshold.</p>\n");
}

static void knobs_section(xf_sbuf *b, const xf_study_results *r, int several_us) {
    xf_sbuf_printf(b, "<p>%d tests ran (one per knob and (US task, DS task) where the knob "
                      "varies); p-values are adjusted by Holm's method across all of them.</p>\n",
                   r->n_knob_tests);
    xf_sbuf_printf(b, "<table>\n<tr>%s<th>DS task</th><th>shot counts pooled</th><th>models</th>",
                   several_us ? "<th>US task</th>" : "");
    for (int k = 0; k < XF_N_KNOBS; k++)
        xf_sbuf_printf(b, "<th>%s: partial R&sup2; / p / p<sub>Holm</sub>%s</th>", xf_knob_name(k),
                       k == XF_KNOB_FAMILY ? "" : " / DS acc per 2&times;");
    xf_sbuf_puts(b, "</tr>\n");
    for (int i = 0; i < r->n_knob_rows; i++) {
        const xf_knob_row *k = &r->knobs[i];
        xf_sbuf_puts(b, "<tr>");
        if (several_us) {
            xf_sbuf_puts(b, "<td>");
            xf_sbuf_html(b, k->us_task);
            xf_sbuf_puts(b, "</td>");
        }
        xf_sbuf_puts(b, "<td>");
        xf_sbuf_html(b, k->ds_task);
        xf_sbuf_printf(b, "</td><td>%d</td><td>%d</td>", k->n_shots, k->n);
        for (int j = 0; j < XF_N_KNOBS; j++) {
            if (!k->knob[j].testable)
                xf_sbuf_puts(b, "<td>not testable</td>");
            else if (isnan(k->per_doubling[j]))
                xf_sbuf_printf(b, "<td>%s%.3f / %.2g / %.2g%s</td>",
                               k->informative[j] ? "<b>" : "", k->knob[j].partial_r2,
                               k->knob[j].p, k->knob[j].p_holm, k->informative[j] ? "</b>" : "");
            else
                xf_sbuf_printf(b, "<td>%s%.3f / %.2g / %.2g / %+.3f%s</td>",
                               k->informative[j] ? "<b>" : "", k->knob[j].partial_r2,
                               k->knob[j].p, k->knob[j].p_holm, k->per_doubling[j],
                               k->informative[j] ? "</b>" : "");
        }
        xf_sbuf_puts(b, "</tr>\n");
    }
    xf_sbuf_printf(b, "</table>\n<p class=\"note\">Each test compares DS error on the "
                      "saturation curve of US error (3 fitted parameters) with the curve plus "
                      "the knob alone (family: a factor), by an F-test whose degrees of freedom "
                      "count all fitted parameters. Shot counts are pooled (each model's mean DS "
                      "accuracy over them): they probe the same models, so per-shot tests would "
                      "not be independent. A knob adds information (bold) when its Holm-adjusted "
                      "p &lt; %g and its partial R&sup2; &ge; %g. The fourth number of a log knob "
                      "is its direction and size: the change in DS accuracy per doubling of the "
                      "knob at equal US accuracy. Not testable: constant in the study.</p>\n",
                   XF_KNOB_P, XF_KNOB_R2);
}

static void diversity_section(xf_sbuf *b, const xf_study_results *r) {
    if (r->n_diversity == 0) {
        xf_sbuf_puts(b, "<p>The study has one US task: nothing to compare.</p>\n");
        return;
    }
    xf_sbuf_puts(b, "<table>\n<tr><th>DS task</th><th>shots</th><th>US task</th><th>models</th>"
                    "<th>best US acc</th><th>DS acc at US acc / best q1: hull fit, frontier"
                    "</th><th>at median</th><th>at q3</th></tr>\n");
    for (int i = 0; i < r->n_diversity; i++) {
        const xf_diversity_row *d = &r->diversity[i];
        xf_sbuf_puts(b, "<tr><td>");
        xf_sbuf_html(b, d->ds_task);
        xf_sbuf_printf(b, "</td><td>%d</td><td>", d->shots);
        xf_sbuf_html(b, d->us_task);
        xf_sbuf_printf(b, "</td><td>%d</td>", d->n_points);
        xf_report_cell(b, "%.4f", d->us_best);
        for (int q = 0; q < 3; q++) {
            char hull[32] = "&ndash;", frontier[32] = "&ndash;";
            if (!isnan(d->ds_at[q])) snprintf(hull, sizeof hull, "%.4f", d->ds_at[q]);
            if (!isnan(d->frontier_ds_at[q]))
                snprintf(frontier, sizeof frontier, "%.4f", d->frontier_ds_at[q]);
            xf_sbuf_printf(b, "<td>%s, %s (at %.3f)</td>", hull, frontier, d->us_at[q]);
        }
        xf_sbuf_puts(b, "</tr>\n");
    }
    xf_sbuf_puts(b, "</table>\n<p class=\"note\">Difficulty matched: each US task's accuracies are "
                    "divided by its best model's (raw accuracies on different test sets do not "
                    "compare); DS accuracy is read at the same fractions from that US task's hull fit "
                    "and from its stochastic frontier (the best expected accuracy, probe noise "
                    "taken out).</p>\n");
}

static void csv_value(xf_sbuf *b, double v) {
    if (isnan(v))
        xf_sbuf_puts(b, ",");
    else
        xf_sbuf_printf(b, ",%.10g", v);
}

static void intervals_csv(xf_sbuf *b, const xf_study_results *r) {
    xf_sbuf_puts(b, "us_task,ds_task,shots,fit_to,status,k,k_lo,k_hi,alpha,alpha_lo,alpha_hi,"
                    "e_ir,e_ir_lo,e_ir_hi,rms,val_threshold,val_n_fit,val_n_test,val_fit_rms,"
                    "val_predict_rms\n");
    for (int i = 0; i < r->n_sets; i++)
        for (int h = 0; h < N_ROWS; h++) {
            const xf_set_fit *s = &r->fits[i];
            fit_row f = row_of(s, h);
            xf_sbuf_printf(b, "\"%s\",\"%s\",%d,%s,%s", s->us_task, s->ds_task, s->shots,
                           row_name[h], f.status);
            double v[] = {f.k, f.ci[0][0], f.ci[0][1], f.alpha, f.ci[1][0], f.ci[1][1],
                          f.e_ir, f.ci[2][0], f.ci[2][1], f.rms};
            for (size_t j = 0; j < sizeof v / sizeof *v; j++) csv_value(b, v[j]);
            if (f.v) {
                csv_value(b, f.v->threshold);
                xf_sbuf_printf(b, ",%d,%d", f.v->n_fit, f.v->n_test);
                csv_value(b, f.v->fit_rms);
                csv_value(b, f.v->predict_rms);
            } else {
                xf_sbuf_puts(b, ",,,,,");
            }
            xf_sbuf_puts(b, "\n");
        }
}

static void knobs_csv(xf_sbuf *b, const xf_study_results *r) {
    xf_sbuf_puts(b, "us_task,ds_task,shot_counts_pooled,n,knob,testable,partial_r2,f,p,p_holm,"
                    "df_num,df_den,adds_information,ds_acc_per_doubling\n");
    for (int i = 0; i < r->n_knob_rows; i++)
        for (int k = 0; k < XF_N_KNOBS; k++) {
            const xf_knob_row *w = &r->knobs[i];
            const xf_ftest *t = &w->knob[k];
            xf_sbuf_printf(b, "\"%s\",\"%s\",%d,%d,%s,%d", w->us_task, w->ds_task, w->n_shots,
                           w->n, xf_knob_name(k), t->testable);
            csv_value(b, t->partial_r2);
            csv_value(b, t->f);
            csv_value(b, t->p);
            csv_value(b, t->p_holm);
            xf_sbuf_printf(b, ",%d,%d,%d", t->df_num, t->df_den, w->informative[k]);
            csv_value(b, w->per_doubling[k]);
            xf_sbuf_puts(b, "\n");
        }
}

/* Writes b to base/name and frees it. */
static xf_status write_sbuf(const char *base, const char *name, xf_sbuf *b) {
    char path[XF_PATH_MAX];
    xf_status st = xf_sbuf_status(b);
    if (st == XF_OK) st = xf_path_format(path, sizeof path, "%s/%s", base, name);
    if (st == XF_OK) st = xf_write_file_atomic(path, b->data, b->len);
    xf_sbuf_free(b);
    return st;
}

xf_status xf_report_study_write(const char *dir, const char *study, const xf_study_results *r,
                                char *html_path, size_t cap) {
    char base[XF_PATH_MAX], path[XF_PATH_MAX];
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    xf_status st = xf_path_format(base, sizeof base, "%.*s/report", (int)len, dir);
    if (st == XF_OK) st = xf_path_format(path, sizeof path, "%s/figures", base);
    if (st == XF_OK) st = xf_mkdirs(path);
    if (st != XF_OK) return st;
    xf_sbuf page, b;
    xf_sbuf_init(&page);
    int several_us = xf_set_fits_us_tasks(r->fits, r->n_sets) > 1;
    out_ctx o = {base, &page, several_us};
    /* the basic page's head and fit table, then the sections */
    xf_sbuf_puts(&page, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                        "<title>xfer report: ");
    xf_sbuf_html(&page, study);
    xf_sbuf_puts(&page, "</title>\n<style>body{font-family:'DejaVu Sans',Helvetica,Arial,"
                        "sans-serif;margin:2em auto;max-width:1700px;color:#222;padding:0 1em}"
                        "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
                        "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
                        "th{border-bottom:2px solid #444;background:#f6f6f6}"
                        "td:first-child,th:first-child{text-align:left}figure{margin:1em 0}"
                        "figure.wide img{max-width:100%;height:auto}figcaption{font-size:13px;"
                        "color:#555}p.note{font-size:13px;color:#555;max-width:60em}"
                        "pre{font-size:12px;background:#f6f6f6;padding:8px;white-space:pre-wrap}"
                        "</style>\n</head>\n<body>\n<h1>xfer report: ");
    xf_sbuf_html(&page, study);
    xf_sbuf_printf(&page, "</h1>\n<h2>Study and cost</h2>\n<p>%d trials recorded, %d finished; "
                          "%.3f hours of trial time (sum of trials.seconds); %.4g training "
                          "FLOPs (sum of trials.train_flops).</p>\n",
                   r->n_trials, r->n_finished, r->cpu_seconds / 3600, r->train_flops);
    /* A zoo study's checkpoints were trained elsewhere: their training is
     * in no sum above (docs/zoo.md). */
    int checkpoints = 0;
    for (int i = 0; i < r->table.n_trials; i++)
        checkpoints += strncmp(r->table.trials[i].config_json, "{\"checkpoint\":", 14) == 0;
    if (checkpoints)
        xf_sbuf_printf(&page, "<p>%d of the trials probe existing checkpoints (a zoo study): "
                              "their US accuracies come from the study file, a results table "
                              "or xfer's measurement, and their training is not counted.</p>\n",
                       checkpoints);
    if (several_us) us_tasks_note(&page, r);
    if (r->table.n_trials > 0) {
        xf_sbuf_puts(&page, "<p>Config of the first trial (the grid varies some fields):</p><pre>");
        xf_sbuf_html(&page, r->table.trials[0].config_json);
        xf_sbuf_puts(&page, "</pre>\n");
    }
    xf_sbuf_puts(&page, "<h2>Saturation fits (upper hull)</h2>\n<p class=\"note\">e<sub>DS</sub> "
                        "= k&middot;e<sub>US</sub><sup>&alpha;</sup> + e<sub>IR</sub>, e = 1 "
                        "&minus; accuracy, at the last layer; see docs/analysis.md.</p>\n");
    xf_report_fit_table(&page, r->fits, r->n_sets);
    xf_sbuf_puts(&page, "<h2>Intervals and validation</h2>\n<p class=\"note\">95% intervals "
                        "of the stochastic frontier (the best DS accuracy reachable at each US "
                        "accuracy: models fall short of it by a half-normal amount, plus probe "
                        "noise), from its profile likelihood; calibrated in simulation "
                        "(docs/analysis.md). No interval for a fit that the data do not "
                        "determine. Validation: fitted on models up to the 70th percentile of "
                        "US accuracy, RMS DS-accuracy error on those and on the upper hull of "
                        "the rest.</p>\n");
    intervals_table(&page, r, several_us);
    xf_sbuf_puts(&page, "<h2>DS against US</h2>\n");
    if (r->n_sets > 0) st = ds_vs_us(&o, r);
    if (st == XF_OK && r->n_sets > 0) {
        xf_sbuf_puts(&page, "<h2>Parameters against shots</h2>\n");
        st = params_vs_shots(&o, r);
    }
    if (st == XF_OK) {
        xf_sbuf_puts(&page, "<h2>Does anything beyond US accuracy predict DS accuracy?</h2>\n");
        knobs_section(&page, r, several_us);
        xf_sbuf_puts(&page, "<h2>Layers</h2>\n");
        st = layers(&o, r);
        xf_sbuf_printf(&page, "<p>Spearman correlation across the fitted sets between e<sub>IR"
                              "</sub> and the mean relative depth of the best layer: %.3f with "
                              "the frontier's e<sub>IR</sub>, %.3f with the hull fit's "
                              "(negative: tasks that saturate early peak at lower layers).</p>\n",
                       r->layer_rho[1], r->layer_rho[0]);
    }
    if (st == XF_OK) {
        xf_sbuf_puts(&page, "<h2>Head weight decay and learning rate</h2>\n");
        st = sweep(&o, r->wd, r->n_wd, r->wd_groups, "head_wd");
    }
    if (st == XF_OK) st = sweep(&o, r->lr, r->n_lr, r->lr_groups, "head_lr");
    if (st == XF_OK) {
        xf_sbuf_puts(&page, "<h2>US diversity</h2>\n");
        diversity_section(&page, r);
        xf_sbuf_puts(&page, "<p>Every number: <a href=\"results.json\">results.json</a>, "
                            "<a href=\"fits.csv\">fits.csv</a>, <a href=\"intervals.csv\">"
                            "intervals.csv</a>, <a href=\"knobs.csv\">knobs.csv</a>.</p>\n"
                            "</body>\n</html>\n");
        st = write_sbuf(base, "index.html", &page);
    } else {
        xf_sbuf_free(&page);
    }
    if (st == XF_OK) {
        xf_sbuf_init(&b);
        xf_report_csv(r->fits, r->n_sets, &b);
        st = write_sbuf(base, "fits.csv", &b);
    }
    if (st == XF_OK) {
        xf_sbuf_init(&b);
        intervals_csv(&b, r);
        st = write_sbuf(base, "intervals.csv", &b);
    }
    if (st == XF_OK) {
        xf_sbuf_init(&b);
        knobs_csv(&b, r);
        st = write_sbuf(base, "knobs.csv", &b);
    }
    if (st == XF_OK) {
        cJSON *j = xf_results_json(r);
        char *text = j ? cJSON_Print(j) : NULL;
        cJSON_Delete(j);
        st = text ? xf_path_format(path, sizeof path, "%s/results.json", base) : XF_ENOMEM;
        if (st == XF_OK) st = xf_write_file_atomic(path, text, strlen(text));
        free(text);
    }
    if (st == XF_OK && html_path) st = xf_path_format(html_path, cap, "%s/index.html", base);
    return st;
}
