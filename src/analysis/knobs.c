/* Does anything beyond US accuracy predict DS accuracy? For each knob a
 * nested comparison: DS error on the saturation curve of US error alone
 * against the curve plus the knob, both fitted by least squares with the
 * curve's exponent profiled, so the F-test's degrees of freedom count the
 * curve's three parameters. Holm's correction runs over every test of the
 * report. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/study.h"
#include "core/mem.h"

enum { MAX_FAMILIES = 16, ALPHA_GRID = 80, GOLDEN_ITER = 40 };

const char *xf_knob_name(int knob) {
    static const char *const names[] = {"log params", "log US data size", "log epochs", "family",
                                        "log US examples seen", "log resolution"};
    return knob >= 0 && knob < XF_N_KNOBS ? names[knob] : "?";
}

/* The design: column 0 the intercept, 1 e_US^alpha, then q knob columns. */
typedef struct {
    const double *e_us, *y, *knob; /* knob: n x q, row-major */
    int n, q;
    double *x;                     /* scratch n x (2 + q) */
} design;

/* SSE and numerical rank of y on [1, e^alpha] (with_knob = 0) or on
 * [1, e^alpha, knob columns]; coef (NULL, or 2 + q long) the coefficients. */
static xf_status sse_at(design *d, double alpha, int with_knob, double *coef, double *sse,
                        int *rank) {
    int p = 2 + (with_knob ? d->q : 0);
    for (int i = 0; i < d->n; i++) {
        double *r = d->x + (size_t)i * p;
        r[0] = 1;
        r[1] = pow(d->e_us[i], alpha);
        for (int j = 2; j < p; j++) r[j] = d->knob[(size_t)i * d->q + j - 2];
    }
    return xf_ols_sse(d->x, d->n, p, NULL, d->y, coef, sse, rank);
}

static double grid_alpha(int i) {
    return XF_SATFIT_ALPHA_MIN *
           pow(XF_SATFIT_ALPHA_MAX / XF_SATFIT_ALPHA_MIN, (double)i / (ALPHA_GRID - 1));
}

/* The least SSE over alpha in [XF_SATFIT_ALPHA_MIN, XF_SATFIT_ALPHA_MAX]:
 * a log grid, then golden-section search (in log alpha) between the best
 * grid point's neighbours. *alpha receives where it is reached. */
static xf_status profile_sse(design *d, int with_knob, double *sse, int *rank, double *alpha) {
    int best = 0, r;
    double f_best = INFINITY, f;
    for (int i = 0; i < ALPHA_GRID; i++) {
        xf_status st = sse_at(d, grid_alpha(i), with_knob, NULL, &f, &r);
        if (st != XF_OK) return st;
        if (f < f_best) f_best = f, best = i, *rank = r, *alpha = grid_alpha(i);
    }
    double a = log(grid_alpha(best > 0 ? best - 1 : 0));
    double b = log(grid_alpha(best < ALPHA_GRID - 1 ? best + 1 : best));
    const double g = (sqrt(5.0) - 1) / 2;
    for (int it = 0; it < GOLDEN_ITER && b - a > 1e-9; it++) {
        double m1 = b - g * (b - a), m2 = a + g * (b - a), f1, f2;
        int r1, r2;
        xf_status st = sse_at(d, exp(m1), with_knob, NULL, &f1, &r1);
        if (st == XF_OK) st = sse_at(d, exp(m2), with_knob, NULL, &f2, &r2);
        if (st != XF_OK) return st;
        if (f1 < f2) b = m2;
        else a = m1;
        if (fmin(f1, f2) < f_best)
            f_best = fmin(f1, f2), *rank = f1 < f2 ? r1 : r2, *alpha = exp(f1 < f2 ? m1 : m2);
    }
    *sse = f_best;
    return XF_OK;
}

/* The nested test of one knob's q columns; alpha is the third fitted
 * parameter of both models. per_doubling (NULL for the family's dummies)
 * receives, for a knob whose one column is a log, the full model's change
 * in DS accuracy per doubling of the knob at equal US accuracy. */
static xf_status nested(design *d, xf_ftest *t, double *per_doubling) {
    double sse0, sse1, alpha0, alpha1;
    int r0 = 0, r1 = 0;
    xf_status st = profile_sse(d, 0, &sse0, &r0, &alpha0);
    if (st == XF_OK) st = profile_sse(d, 1, &sse1, &r1, &alpha1);
    if (st == XF_OK) xf_ftest_nested(sse0, r0, sse1, r1, d->n, 1, t);
    if (st == XF_OK && per_doubling && d->q == 1 && t->testable) {
        /* the full model again at its alpha, for its coefficients */
        double coef[3], sse;
        int rank;
        st = sse_at(d, alpha1, 1, coef, &sse, &rank);
        /* the knob's column is log(knob) and y is DS error */
        *per_doubling = -coef[2] * log(2.0);
    }
    return st;
}

/* Knob k's value for model i (NaN: the model has none); the family's
 * dummies are set apart. */
static double knob_value(const xf_knob_values *v, int k, int i) {
    switch (k) {
    case XF_KNOB_PARAMS: return log(v->params[i]);
    case XF_KNOB_DATA: return log(v->data[i]);
    case XF_KNOB_EPOCHS: return log(v->epochs[i]);
    case XF_KNOB_EXAMPLES: return log(v->data[i] * v->epochs[i]);
    case XF_KNOB_RESOLUTION: return log(v->resolution[i]);
    default: return 0; /* family: every model has one */
    }
}

xf_status xf_knobs_test(const double *us_acc, const double *ds_acc, const xf_knob_values *v,
                        int n, xf_knob_row *row) {
    row->n = n;
    for (int k = 0; k < XF_N_KNOBS; k++) {
        row->knob[k] = (xf_ftest){0, 0, NAN, NAN, NAN, NAN, 0};
        row->informative[k] = 0;
        row->per_doubling[k] = NAN;
    }
    int levels = 0;
    for (int i = 0; i < n; i++)
        if (v->family[i] + 1 > levels) levels = v->family[i] + 1;
    int q_max = levels > 2 ? levels - 1 : 1;
    size_t m = n > 0 ? (size_t)n : 1;
    double *buf = xf_malloc(m * (2 + (size_t)q_max + 2 + (size_t)q_max) * sizeof *buf);
    int *code = xf_malloc(m * sizeof *code);
    if (!buf || !code) {
        free(buf);
        free(code);
        return XF_ENOMEM;
    }
    double *e_us = buf, *y = buf + m, *knob = buf + 2 * m, *x = knob + m * (size_t)q_max;
    xf_status st = XF_OK;
    for (int k = 0; st == XF_OK && k < XF_N_KNOBS; k++) {
        /* The models that have this knob, and for the family the levels
         * among them renumbered from 0. */
        int used = 0, seen[MAX_FAMILIES], n_levels = 0;
        for (int i = 0; i < n; i++) {
            double value = knob_value(v, k, i);
            if (!isfinite(value)) continue;
            e_us[used] = 1 - us_acc[i];
            y[used] = 1 - ds_acc[i];
            if (k == XF_KNOB_FAMILY) {
                int f = 0;
                while (f < n_levels && seen[f] != v->family[i]) f++;
                if (f == n_levels) seen[n_levels++] = v->family[i];
                code[used] = f;
            } else {
                knob[used] = value;
            }
            used++;
        }
        design d = {e_us, y, knob, used, 1, x};
        if (k == XF_KNOB_FAMILY) {
            d.q = n_levels > 1 ? n_levels - 1 : 0;
            if (d.q == 0) continue; /* one family: nothing to test */
            for (int i = 0; i < used; i++) /* dummies, level 0 the base */
                for (int j = 0; j < d.q; j++) knob[(size_t)i * d.q + j] = code[i] == j + 1;
        }
        if (used == 0) continue;
        st = nested(&d, &row->knob[k], k == XF_KNOB_FAMILY ? NULL : &row->per_doubling[k]);
    }
    free(buf);
    free(code);
    return st;
}

/* train.epochs of a trial's config, or NaN. */
static double config_epochs(const char *json) {
    cJSON *root = cJSON_Parse(json);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "train"), "epochs");
    double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    cJSON_Delete(root);
    return v;
}

/* The point of trial_id in set, or NULL. */
static const xf_point *find_point(const xf_point_set *set, const char *trial_id) {
    for (int i = 0; i < set->n_points; i++)
        if (strcmp(set->points[i].trial_id, trial_id) == 0) return &set->points[i];
    return NULL;
}

/* One (US task, DS task): sets[0..n_sets-1] are its shot counts. */
static xf_status one_pair(const xf_study_table *t, const xf_point_set *sets, int n_sets,
                          xf_knob_row *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->us_task, sizeof row->us_task, "%s", sets[0].us_task);
    snprintf(row->ds_task, sizeof row->ds_task, "%s", sets[0].ds_task);
    row->n_shots = n_sets;
    int n = sets[0].n_points;
    size_t m = n > 0 ? (size_t)n : 1;
    double *buf = xf_malloc(6 * m * sizeof *buf);
    int *fam = xf_malloc(m * sizeof *fam);
    if (!buf || !fam) {
        free(buf);
        free(fam);
        return XF_ENOMEM;
    }
    double *us = buf, *ds = buf + m, *par = buf + 2 * m, *data = buf + 3 * m, *ep = buf + 4 * m,
           *res = buf + 5 * m;
    const char *names[MAX_FAMILIES];
    int n_names = 0, used = 0;
    for (int i = 0; i < n; i++) {
        const xf_point *pt = &sets[0].points[i];
        double sum = 0;
        int found = 1;
        for (int s = 0; s < n_sets && found; s++) {
            const xf_point *q = find_point(&sets[s], pt->trial_id);
            found = q != NULL;
            if (q) sum += q->ds_acc;
        }
        int ti = found ? xf_study_table_find(t, pt->trial_id) : -1;
        if (ti < 0) continue;
        const xf_trial_full *tr = &t->trials[ti];
        /* images seen: the trainer counts 3 * flops_per_image per image
         * (forward and backward), so this is data size x epochs exactly; a
         * checkpoint of a zoo study was trained elsewhere: neither is known */
        double seen = tr->flops_per_image > 0 ? tr->train_flops / (3 * tr->flops_per_image) : NAN;
        double epochs = config_epochs(tr->config_json);
        if (!(seen > 0 && epochs > 0)) seen = epochs = NAN;
        if (!(tr->params > 0)) continue;
        int f = 0;
        while (f < n_names && strcmp(names[f], tr->family) != 0) f++;
        if (f == n_names) {
            if (n_names == MAX_FAMILIES) continue;
            names[n_names++] = tr->family;
        }
        us[used] = pt->us_acc;
        ds[used] = sum / n_sets;
        par[used] = tr->params;
        data[used] = seen / epochs;
        ep[used] = epochs;
        res[used] = tr->resolution > 0 ? tr->resolution : NAN;
        fam[used++] = f;
    }
    xf_knob_values values = {par, data, ep, res, fam};
    xf_status st = xf_knobs_test(us, ds, &values, used, row);
    free(buf);
    free(fam);
    return st;
}

static int same_pair(const xf_point_set *a, const xf_point_set *b) {
    return strcmp(a->us_task, b->us_task) == 0 && strcmp(a->ds_task, b->ds_task) == 0;
}

/* Holm over every testable test of every row. */
static xf_status adjust(xf_knob_row *rows, int n_rows, int *n_tests) {
    size_t total = (size_t)(n_rows > 0 ? n_rows : 1) * XF_N_KNOBS;
    double *p = xf_malloc(2 * total * sizeof *p);
    if (!p) return XF_ENOMEM;
    for (int r = 0; r < n_rows; r++)
        for (int k = 0; k < XF_N_KNOBS; k++)
            p[r * XF_N_KNOBS + k] = rows[r].knob[k].testable ? rows[r].knob[k].p : NAN;
    xf_status st = xf_holm_adjust(p, n_rows * XF_N_KNOBS, p + total);
    *n_tests = 0;
    for (int r = 0; st == XF_OK && r < n_rows; r++)
        for (int k = 0; k < XF_N_KNOBS; k++) {
            xf_ftest *t = &rows[r].knob[k];
            if (!t->testable) continue;
            (*n_tests)++;
            t->p_holm = p[total + r * XF_N_KNOBS + k];
            rows[r].informative[k] = t->p_holm < XF_KNOB_P && t->partial_r2 >= XF_KNOB_R2;
        }
    free(p);
    return st;
}

xf_status xf_knobs_analyse(const xf_study_table *t, const xf_point_set *sets, int n_sets,
                           xf_knob_row **rows, int *n_rows, int *n_tests) {
    *n_rows = *n_tests = 0;
    *rows = xf_calloc(n_sets > 0 ? (size_t)n_sets : 1, sizeof **rows);
    if (!*rows) return XF_ENOMEM;
    xf_status st = XF_OK;
    for (int s = 0; st == XF_OK && s < n_sets;) {
        int e = s + 1;
        while (e < n_sets && same_pair(&sets[e], &sets[s])) e++;
        st = one_pair(t, sets + s, e - s, &(*rows)[(*n_rows)++]);
        if (st != XF_OK)
            st = xf_fail_context(st, "US %s, DS %s: ", sets[s].us_task, sets[s].ds_task);
        s = e;
    }
    if (st == XF_OK) st = adjust(*rows, *n_rows, n_tests);
    if (st != XF_OK) {
        free(*rows);
        *rows = NULL;
        *n_rows = *n_tests = 0;
    }
    return st;
}
