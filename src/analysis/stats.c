#include "analysis/stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <math.h>
#include <stdlib.h>

#include "core/mem.h"

/* Relative singular-value cutoff: columns are scaled to unit norm, so a
 * knob that others reproduce to 1e-9 counts as no new direction. */
#define RANK_TOL 1e-9

xf_status xf_ols_sse(const double *x, int n, int p, const int *keep, const double *y, double *coef,
                     double *sse, int *rank) {
    int q = 0;
    for (int j = 0; j < p; j++) q += !keep || keep[j];
    for (int j = 0; coef && j < p; j++) coef[j] = NAN;
    *sse = 0;
    *rank = 0;
    for (int i = 0; i < n; i++) *sse += y[i] * y[i];
    if (q == 0 || n == 0) return XF_OK;
    gsl_matrix *m = gsl_matrix_alloc((size_t)n, (size_t)q);
    gsl_vector *v = gsl_vector_alloc((size_t)n), *c = gsl_vector_alloc((size_t)q);
    gsl_matrix *cov = gsl_matrix_alloc((size_t)q, (size_t)q);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc((size_t)n, (size_t)q);
    xf_status st = XF_OK;
    if (!m || !v || !c || !cov || !w) {
        st = xf_fail(XF_ENOMEM, "regression: out of memory for %d x %d", n, q);
        goto done;
    }
    for (int j = 0, col = 0; j < p; j++) {
        if (keep && !keep[j]) continue;
        double norm = 0;
        for (int i = 0; i < n; i++) norm += x[(size_t)i * p + j] * x[(size_t)i * p + j];
        norm = norm > 0 ? sqrt(norm) : 1;
        for (int i = 0; i < n; i++) gsl_matrix_set(m, (size_t)i, (size_t)col, x[(size_t)i * p + j] / norm);
        col++;
    }
    for (int i = 0; i < n; i++) gsl_vector_set(v, (size_t)i, y[i]);
    size_t r = 0;
    double chisq = 0;
    /* GSL's handler is off (main): its errors come back as codes. */
    int rc = gsl_multifit_linear_tsvd(m, v, RANK_TOL, c, cov, &chisq, &r, w);
    if (rc != GSL_SUCCESS) {
        st = xf_fail(XF_EINVAL, "regression: GSL: %s", gsl_strerror(rc));
        goto done;
    }
    *sse = chisq;
    *rank = (int)r;
    /* the columns were scaled to unit norm: undo it */
    for (int j = 0, col = 0; coef && j < p; j++) {
        if (keep && !keep[j]) continue;
        double norm = 0;
        for (int i = 0; i < n; i++) norm += x[(size_t)i * p + j] * x[(size_t)i * p + j];
        coef[j] = gsl_vector_get(c, (size_t)col++) / (norm > 0 ? sqrt(norm) : 1);
    }
done:
    gsl_matrix_free(m);
    gsl_vector_free(v);
    gsl_vector_free(c);
    gsl_matrix_free(cov);
    if (w) gsl_multifit_linear_free(w);
    return st;
}

void xf_ftest_nested(double sse_r, int rank_r, double sse_f, int rank_f, int n, int extra,
                     xf_ftest *t) {
    *t = (xf_ftest){rank_f - rank_r, n - rank_f - extra, NAN, NAN, NAN, NAN, 0};
    if (t->df_num <= 0 || t->df_den <= 0) return;
    t->testable = 1;
    double gain = fmax(0, sse_r - sse_f);
    t->partial_r2 = sse_r > 0 ? gain / sse_r : 0;
    if (sse_f > 0) {
        t->f = (gain / t->df_num) / (sse_f / t->df_den);
        t->p = gsl_cdf_fdist_Q(t->f, t->df_num, t->df_den);
    } else {
        t->f = gain > 0 ? INFINITY : 0;
        t->p = gain > 0 ? 0 : 1;
    }
}

typedef struct {
    double v;
    int i;
} ranked;

static int cmp_ranked(const void *a, const void *b);

xf_status xf_holm_adjust(const double *p, int n, double *adj) {
    ranked *r = xf_malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    if (!r) return XF_ENOMEM;
    int m = 0;
    for (int i = 0; i < n; i++) {
        adj[i] = NAN;
        if (!isnan(p[i])) r[m++] = (ranked){p[i], i};
    }
    qsort(r, (size_t)m, sizeof *r, cmp_ranked);
    double run = 0;
    for (int i = 0; i < m; i++) {
        run = fmax(run, fmin(1, (m - i) * r[i].v));
        adj[r[i].i] = run;
    }
    free(r);
    return XF_OK;
}

static int cmp_ranked(const void *a, const void *b) {
    double x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return (x > y) - (x < y);
}

static int mid_ranks(const double *v, int n, double *rank) {
    ranked *r = malloc((size_t)n * sizeof *r);
    if (!r) return -1;
    for (int i = 0; i < n; i++) r[i] = (ranked){v[i], i};
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && r[j + 1].v == r[i].v) j++;
        for (int k = i; k <= j; k++) rank[r[k].i] = (i + j) / 2.0 + 1;
        i = j + 1;
    }
    free(r);
    return 0;
}

double xf_spearman(const double *x, const double *y, int n) {
    if (n < 3) return NAN;
    double *rx = malloc(2 * (size_t)n * sizeof *rx);
    if (!rx) return NAN;
    double *ry = rx + n, res = NAN;
    if (mid_ranks(x, n, rx) == 0 && mid_ranks(y, n, ry) == 0) {
        double mx = (n + 1) / 2.0, sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            sxy += (rx[i] - mx) * (ry[i] - mx);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - mx) * (ry[i] - mx);
        }
        if (sxx > 0 && syy > 0) res = sxy / sqrt(sxx * syy);
    }
    free(rx);
    return res;
}
