#include "probe/ridge.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "probe/probe.h"

/* Rows of test features standardised at a time: bounds the double copy
 * while keeping the prediction a gemm rather than a loop of dot products. */
enum { PREDICT_BLOCK = 256 };

bool xf_ridge_uses_primal(int n, int dim) { return n >= dim + 1; }

void xf_ridge_free(xf_ridge *r) {
    free(r->mean);
    free(r->scale);
    free(r->weights);
    memset(r, 0, sizeof *r);
}

/* Mean and population std of the support rows, in double so the standardised
 * values do not depend on the summation order beyond rounding. */
static xf_status support_stats(const float *train, const int *support, int n, int dim, double *mean,
                               double *scale) {
    for (int j = 0; j < dim; j++) mean[j] = 0, scale[j] = 0;
    for (int i = 0; i < n; i++) {
        const float *row = train + (size_t)support[i] * dim;
        for (int j = 0; j < dim; j++) {
            if (!isfinite(row[j]))
                return xf_fail(XF_ENUMERIC, "ridge probe: feature %d of training row %d is %g", j,
                               support[i], (double)row[j]);
            mean[j] += row[j];
        }
    }
    for (int j = 0; j < dim; j++) mean[j] /= n;
    for (int i = 0; i < n; i++) {
        const float *row = train + (size_t)support[i] * dim;
        for (int j = 0; j < dim; j++) {
            double d = row[j] - mean[j];
            scale[j] += d * d;
        }
    }
    for (int j = 0; j < dim; j++) scale[j] = sqrt(scale[j] / n) + 1e-5;
    return XF_OK;
}

/* One standardised row with the bias feature appended: dim + 1 doubles. */
static void standardise_row(const xf_ridge *r, const float *x, double *z) {
    for (int j = 0; j < r->dim; j++) z[j] = (x[j] - r->mean[j]) / r->scale[j];
    z[r->dim] = XF_RIDGE_BIAS;
}

static xf_status solve_spd(double *a, int n, double *b, int nrhs, const char *form) {
    lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', n, nrhs, a, n, b, nrhs);
    if (info != 0)
        return xf_fail(XF_ENUMERIC,
                       "ridge probe: the %s %d x %d system is not positive definite "
                       "(LAPACKE_dposv info %d); is lambda > 0?",
                       form, n, n, (int)info);
    return XF_OK;
}

xf_status xf_ridge_fit(const float *train, const int32_t *train_labels, const int *support,
                       int n_support, int dim, int n_classes, double lambda, xf_ridge *out) {
    memset(out, 0, sizeof *out);
    if (n_support < 1 || dim < 1 || n_classes < 1)
        return xf_fail(XF_EINVAL,
                       "ridge probe: need at least one support row, feature and class "
                       "(got %d, %d, %d)",
                       n_support, dim, n_classes);
    if (!(lambda >= 0) || !isfinite(lambda))
        return xf_fail(XF_EINVAL, "ridge probe: lambda must be a finite value >= 0, not %g",
                       lambda);
    for (int i = 0; i < n_support; i++) {
        if (support[i] < 0)
            return xf_fail(XF_EINVAL, "ridge probe: support entry %d is a negative index (%d)", i,
                           support[i]);
        int32_t y = train_labels[support[i]];
        if (y < 0 || y >= n_classes)
            return xf_fail(XF_EINVAL, "ridge probe: training row %d has label %d, outside [0, %d)",
                           support[i], (int)y, n_classes);
    }
    const int n = n_support, d = dim + 1, c = n_classes;
    out->dim = dim;
    out->n_classes = c;
    out->mean = xf_malloc(sizeof(double) * dim);
    out->scale = xf_malloc(sizeof(double) * dim);
    out->weights = xf_calloc((size_t)d * c, sizeof(double));
    double *x = xf_malloc(sizeof(double) * n * d);
    double *y = xf_malloc(sizeof(double) * n * c);
    bool primal = xf_ridge_uses_primal(n, dim);
    double *gram = primal ? xf_malloc(sizeof(double) * d * d) : xf_malloc(sizeof(double) * n * n);
    xf_status st = XF_ENOMEM;
    if (!out->mean || !out->scale || !out->weights || !x || !y || !gram) goto done;
    st = support_stats(train, support, n, dim, out->mean, out->scale);
    if (st != XF_OK) goto done;
    for (int i = 0; i < n; i++) {
        standardise_row(out, train + (size_t)support[i] * dim, x + (size_t)i * d);
        for (int k = 0; k < c; k++) y[(size_t)i * c + k] = -1;
        y[(size_t)i * c + train_labels[support[i]]] = 1;
    }
    if (primal) {
        /* (X^T X + lambda I) W = X^T Y; dposv reads only the upper triangle. */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0, x, d, 0.0, gram, d);
        for (int j = 0; j < d; j++) gram[(size_t)j * d + j] += lambda;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, c, n, 1.0, x, d, y, c, 0.0,
                    out->weights, c);
        st = solve_spd(gram, d, out->weights, c, "primal");
    } else {
        /* (X X^T + lambda I) A = Y, then W = X^T A. */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0, x, d, 0.0, gram, n);
        for (int i = 0; i < n; i++) gram[(size_t)i * n + i] += lambda;
        st = solve_spd(gram, n, y, c, "dual");
        if (st == XF_OK)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, c, n, 1.0, x, d, y, c, 0.0,
                        out->weights, c);
    }
done:
    free(x);
    free(y);
    free(gram);
    if (st != XF_OK) xf_ridge_free(out);
    return st;
}

xf_status xf_ridge_predict(const xf_ridge *r, const float *x, int n, int32_t *predictions) {
    const int d = r->dim + 1, c = r->n_classes;
    int block = n < PREDICT_BLOCK ? n : PREDICT_BLOCK;
    if (block < 1) return XF_OK;
    double *z = xf_malloc(sizeof(double) * block * d);
    double *scores = xf_malloc(sizeof(double) * block * c);
    if (!z || !scores) {
        free(z);
        free(scores);
        return XF_ENOMEM;
    }
    xf_status st = XF_OK;
    for (int start = 0; start < n && st == XF_OK; start += block) {
        int rows = n - start < block ? n - start : block;
        for (int i = 0; i < rows; i++)
            standardise_row(r, x + (size_t)(start + i) * r->dim, z + (size_t)i * d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, c, d, 1.0, z, d, r->weights, c,
                    0.0, scores, c);
        for (int i = 0; i < rows; i++) {
            const double *s = scores + (size_t)i * c;
            bool finite = true;
            for (int k = 0; k < c; k++) finite = finite && isfinite(s[k]);
            if (!finite) {
                st = xf_fail(XF_ENUMERIC, "ridge probe: test row %d has a non-finite feature",
                             start + i);
                break;
            }
            int best = 0;
            for (int k = 1; k < c; k++)
                if (s[k] > s[best]) best = k;
            predictions[start + i] = best;
        }
    }
    free(z);
    free(scores);
    return st;
}

xf_status xf_ridge_probe(const float *train, const int32_t *train_labels, const int *support,
                         int n_support, const float *test, const int32_t *test_labels, int n_test,
                         int dim, int n_classes, double lambda, int32_t *predictions,
                         double *accuracy) {
    if (n_test < 1) return xf_fail(XF_EINVAL, "ridge probe: the test set is empty");
    xf_ridge r;
    xf_status st =
        xf_ridge_fit(train, train_labels, support, n_support, dim, n_classes, lambda, &r);
    if (st != XF_OK) return st;
    int32_t *pred = predictions ? predictions : xf_malloc(sizeof(int32_t) * n_test);
    if (!pred) {
        xf_ridge_free(&r);
        return XF_ENOMEM;
    }
    st = xf_ridge_predict(&r, test, n_test, pred);
    if (st == XF_OK) {
        int correct = 0;
        for (int i = 0; i < n_test; i++) correct += pred[i] == test_labels[i];
        *accuracy = (double)correct / n_test;
    }
    if (pred != predictions) free(pred);
    xf_ridge_free(&r);
    return st;
}
