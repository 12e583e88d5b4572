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
/* Support rows standardised at a time when accumulating X^T X. */
enum { ROW_BLOCK = 1024 };

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

/* Standardised support rows start..start+rows with the bias feature
 * appended (rows x d) and their +-1 targets (rows x c). */
static void design_rows(const xf_ridge *r, const float *train, const int32_t *labels,
                        const int *support, int start, int rows, double *x, double *y) {
    const int dim = r->dim, d = dim + 1, c = r->n_classes;
    for (int i = 0; i < rows; i++) {
        const float *row = train + (size_t)support[start + i] * dim;
        double *z = x + (size_t)i * d;
        for (int j = 0; j < dim; j++) z[j] = (row[j] - r->mean[j]) / r->scale[j];
        z[dim] = XF_RIDGE_BIAS;
        if (!y) continue;
        for (int k = 0; k < c; k++) y[(size_t)i * c + k] = -1;
        y[(size_t)i * c + labels[support[start + i]]] = 1;
    }
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

/* Checks the arguments, allocates `out` and fills its mean and scale. */
static xf_status prepare(const float *train, const int32_t *train_labels, const int *support,
                         int n_support, int dim, int n_classes, xf_ridge *out) {
    memset(out, 0, sizeof *out);
    if (n_support < 1 || dim < 1 || n_classes < 1)
        return xf_fail(XF_EINVAL,
                       "ridge probe: need at least one support row, feature and class "
                       "(got %d, %d, %d)",
                       n_support, dim, n_classes);
    for (int i = 0; i < n_support; i++) {
        if (support[i] < 0)
            return xf_fail(XF_EINVAL, "ridge probe: support entry %d is a negative index (%d)", i,
                           support[i]);
        int32_t y = train_labels[support[i]];
        if (y < 0 || y >= n_classes)
            return xf_fail(XF_EINVAL, "ridge probe: training row %d has label %d, outside [0, %d)",
                           support[i], (int)y, n_classes);
    }
    out->dim = dim;
    out->n_classes = n_classes;
    out->mean = xf_malloc(sizeof(double) * dim);
    out->scale = xf_malloc(sizeof(double) * dim);
    out->weights = xf_calloc((size_t)(dim + 1) * n_classes, sizeof(double));
    xf_status st = XF_ENOMEM;
    if (out->mean && out->scale && out->weights)
        st = support_stats(train, support, n_support, dim, out->mean, out->scale);
    if (st != XF_OK) xf_ridge_free(out);
    return st;
}

/* Upper triangle of X^T X (d x d) and X^T Y (d x c) over the support rows,
 * standardised a block at a time so a support set of every training image
 * (--shots all) needs no n x d copy. */
static xf_status primal_normal(const xf_ridge *r, const float *train, const int32_t *labels,
                               const int *support, int n, double *gram, double *xty) {
    const int d = r->dim + 1, c = r->n_classes;
    int block = n < ROW_BLOCK ? n : ROW_BLOCK;
    double *x = xf_malloc(sizeof(double) * block * d);
    double *y = xf_malloc(sizeof(double) * block * c);
    if (!x || !y) {
        free(x);
        free(y);
        return XF_ENOMEM;
    }
    for (int start = 0; start < n; start += block) {
        int rows = n - start < block ? n - start : block;
        double beta = start ? 1.0 : 0.0;
        design_rows(r, train, labels, support, start, rows, x, y);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0, x, d, beta, gram, d);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, c, rows, 1.0, x, d, y, c, beta,
                    xty, c);
    }
    free(x);
    free(y);
    return XF_OK;
}

xf_status xf_ridge_fit(const float *train, const int32_t *train_labels, const int *support,
                       int n_support, int dim, int n_classes, double lambda, xf_ridge *out) {
    memset(out, 0, sizeof *out);
    if (!(lambda >= 0) || !isfinite(lambda))
        return xf_fail(XF_EINVAL, "ridge probe: lambda must be a finite value >= 0, not %g",
                       lambda);
    xf_status st = prepare(train, train_labels, support, n_support, dim, n_classes, out);
    if (st != XF_OK) return st;
    const int n = n_support, d = dim + 1, c = n_classes;
    double *x = NULL, *y = NULL, *gram = NULL;
    st = XF_ENOMEM;
    if (xf_ridge_uses_primal(n, dim)) {
        /* (X^T X + lambda I) W = X^T Y; dposv reads only the upper triangle. */
        if (!(gram = xf_malloc(sizeof(double) * d * d))) goto done;
        if ((st = primal_normal(out, train, train_labels, support, n, gram, out->weights)) != XF_OK)
            goto done;
        for (int j = 0; j < d; j++) gram[(size_t)j * d + j] += lambda;
        st = solve_spd(gram, d, out->weights, c, "primal");
    } else {
        /* (X X^T + lambda I) A = Y, then W = X^T A. */
        x = xf_malloc(sizeof(double) * n * d);
        y = xf_malloc(sizeof(double) * n * c);
        gram = xf_malloc(sizeof(double) * n * n);
        if (!x || !y || !gram) goto done;
        design_rows(out, train, train_labels, support, 0, n, x, y);
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

void xf_ridge_fold(const xf_ridge *r, const double *center, float *w, int ldw, float *bias) {
    const int dim = r->dim, c = r->n_classes;
    for (int k = 0; k < c; k++) {
        double b = XF_RIDGE_BIAS * r->weights[(size_t)dim * c + k];
        for (int j = 0; j < dim; j++) {
            double wj = r->weights[(size_t)j * c + k] / r->scale[j];
            w[(size_t)j * ldw + k] = (float)wj;
            b -= (r->mean[j] - (center ? center[j] : 0)) * wj;
        }
        bias[k] = (float)b;
    }
}

/* The eigendecomposition behind every lambda of one support set. With
 * m = d (primal: G = X^T X = V S V^T, proj = V^T X^T Y) or m = n (dual:
 * K = X X^T = U S U^T, proj = U^T Y, xtu = X^T U), every head is
 * W(lambda) = B diag(1 / (s + lambda)) proj with B = V or X^T U. */
typedef struct {
    bool primal;
    int n, d, c, m;
    double *s;     /* m eigenvalues, ascending, clamped at 0 */
    double *basis; /* m x m eigenvectors as columns: V or U */
    double *proj;  /* m x c */
    double *xtu;   /* dual: d x n */
} spectrum;

static void spectrum_free(spectrum *sp) {
    free(sp->s);
    free(sp->basis);
    free(sp->proj);
    free(sp->xtu);
}

static xf_status eigen(double *a, int m, double *s) {
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', m, a, m, s);
    if (info != 0)
        return xf_fail(XF_ENUMERIC, "ridge probe: the %d x %d eigendecomposition failed "
                       "(LAPACKE_dsyevd info %d)", m, m, (int)info);
    /* Rounding can leave a tiny negative eigenvalue of a PSD Gram matrix. */
    for (int j = 0; j < m; j++) s[j] = s[j] > 0 ? s[j] : 0;
    return XF_OK;
}

static xf_status spectrum_make(const xf_ridge *r, const float *train, const int32_t *labels,
                               const int *support, int n, spectrum *sp) {
    memset(sp, 0, sizeof *sp);
    const int d = r->dim + 1, c = r->n_classes;
    sp->primal = xf_ridge_uses_primal(n, r->dim);
    sp->n = n, sp->d = d, sp->c = c, sp->m = sp->primal ? d : n;
    const int m = sp->m;
    sp->s = xf_malloc(sizeof(double) * m);
    sp->basis = xf_malloc(sizeof(double) * m * m);
    sp->proj = xf_malloc(sizeof(double) * m * c);
    double *x = NULL, *y = NULL;
    xf_status st = XF_ENOMEM;
    if (!sp->s || !sp->basis || !sp->proj) goto done;
    if (sp->primal) {
        double *xty = xf_malloc(sizeof(double) * d * c);
        if (!xty) goto done;
        st = primal_normal(r, train, labels, support, n, sp->basis, xty);
        if (st == XF_OK) st = eigen(sp->basis, m, sp->s);
        if (st == XF_OK)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, c, d, 1.0, sp->basis, d, xty,
                        c, 0.0, sp->proj, c);
        free(xty);
    } else {
        x = xf_malloc(sizeof(double) * n * d);
        y = xf_malloc(sizeof(double) * n * c);
        sp->xtu = xf_malloc(sizeof(double) * d * n);
        if (!x || !y || !sp->xtu) goto done;
        design_rows(r, train, labels, support, 0, n, x, y);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0, x, d, 0.0, sp->basis, n);
        if ((st = eigen(sp->basis, m, sp->s)) != XF_OK) goto done;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, c, n, 1.0, sp->basis, n, y, c,
                    0.0, sp->proj, c);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, n, n, 1.0, x, d, sp->basis, n,
                    0.0, sp->xtu, n);
    }
done:
    free(x);
    free(y);
    if (st != XF_OK) spectrum_free(sp);
    return st;
}

/* r->weights = W(lambda); tmp: m x c doubles. */
static void spectrum_head(const spectrum *sp, double lambda, double *tmp, xf_ridge *r) {
    const int m = sp->m, c = sp->c, d = sp->d;
    for (int j = 0; j < m; j++)
        for (int k = 0; k < c; k++)
            tmp[(size_t)j * c + k] = sp->proj[(size_t)j * c + k] / (sp->s[j] + lambda);
    const double *b = sp->primal ? sp->basis : sp->xtu;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, c, m, 1.0, b, m, tmp, c, 0.0,
                r->weights, c);
}

/* Adds one row's LOO outcome for one lambda: resid = y - yhat (c values),
 * one_minus_h = 1 - H_ii. */
static void loo_add(const double *resid, double one_minus_h, int label, int c, xf_ridge_loo *acc) {
    int best = 0;
    double best_score = 0;
    for (int k = 0; k < c; k++) {
        double e = resid[k] / one_minus_h;
        acc->press += e * e;
        double score = (k == label ? 1.0 : -1.0) - e;
        if (k == 0 || score > best_score) best = k, best_score = score;
    }
    acc->errors += best != label;
}

/* LOO scores of every grid value. Primal: Z = X V a block of rows at a
 * time, yhat = Z diag(1/(s+l)) proj and H_ii = sum_j Z_ij^2 / (s_j + l).
 * Dual: y - yhat = U diag(l/(s+l)) proj and 1 - H_ii = sum_j U_ij^2 l/(s_j+l),
 * both without cancellation. All grid values go through one gemm. */
static xf_status spectrum_loo(const spectrum *sp, const xf_ridge *r, const float *train,
                              const int32_t *labels, const int *support, const double *grid,
                              int g, xf_ridge_loo *scores) {
    const int m = sp->m, c = sp->c, d = sp->d, n = sp->n, gc = g * c;
    int block = sp->primal ? (n < ROW_BLOCK ? n : ROW_BLOCK) : n;
    double *coef = xf_malloc(sizeof(double) * m * gc); /* m x (g c) */
    double *hcoef = xf_malloc(sizeof(double) * m * g);  /* m x g */
    double *out = xf_malloc(sizeof(double) * block * gc);
    double *h = xf_malloc(sizeof(double) * block * g);
    double *sq = xf_malloc(sizeof(double) * block * m);
    double *x = sp->primal ? xf_malloc(sizeof(double) * block * d) : NULL;
    double *z = sp->primal ? xf_malloc(sizeof(double) * block * m) : NULL;
    xf_status st = XF_ENOMEM;
    if (!coef || !hcoef || !out || !h || !sq || (sp->primal && (!x || !z))) goto done;
    st = XF_OK;
    for (int j = 0; j < m; j++)
        for (int l = 0; l < g; l++) {
            double f = sp->primal ? 1 / (sp->s[j] + grid[l]) : grid[l] / (sp->s[j] + grid[l]);
            hcoef[(size_t)j * g + l] = f;
            for (int k = 0; k < c; k++)
                coef[(size_t)j * gc + l * c + k] = sp->proj[(size_t)j * c + k] * f;
        }
    for (int l = 0; l < g; l++) scores[l] = (xf_ridge_loo){0, 0};
    for (int start = 0; start < n; start += block) {
        int rows = n - start < block ? n - start : block;
        const double *basis_rows = sp->basis;
        if (sp->primal) {
            design_rows(r, train, labels, support, start, rows, x, NULL);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, d, 1.0, x, d,
                        sp->basis, m, 0.0, z, m);
            basis_rows = z;
        }
        for (size_t i = 0; i < (size_t)rows * m; i++) sq[i] = basis_rows[i] * basis_rows[i];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, gc, m, 1.0, basis_rows, m,
                    coef, gc, 0.0, out, gc);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g, m, 1.0, sq, m, hcoef, g,
                    0.0, h, g);
        for (int i = 0; i < rows; i++) {
            int label = labels[support[start + i]];
            for (int l = 0; l < g; l++) {
                double *o = out + (size_t)i * gc + l * c;
                double one_minus_h = h[(size_t)i * g + l];
                if (sp->primal) {
                    /* out holds yhat: turn it into the residual. */
                    for (int k = 0; k < c; k++) o[k] = (k == label ? 1.0 : -1.0) - o[k];
                    one_minus_h = 1 - one_minus_h;
                }
                loo_add(o, one_minus_h, label, c, &scores[l]);
            }
        }
    }
done:
    free(coef);
    free(hcoef);
    free(out);
    free(h);
    free(sq);
    free(x);
    free(z);
    return st;
}

xf_status xf_ridge_fit_path(const float *train, const int32_t *train_labels, const int *support,
                            int n_support, int dim, int n_classes, const double *lambdas,
                            int n_lambdas, bool loo, xf_ridge *out, int *chosen,
                            xf_ridge_loo *scores) {
    int n_out = loo ? 1 : n_lambdas;
    for (int l = 0; l < n_out && l >= 0; l++) memset(&out[l], 0, sizeof out[l]);
    if (n_lambdas < 1)
        return xf_fail(XF_EINVAL, "ridge probe: no lambda given");
    for (int l = 0; l < n_lambdas; l++)
        if (!(lambdas[l] > 0) || !isfinite(lambdas[l]))
            return xf_fail(XF_EINVAL, "ridge probe: lambda %d is %g, expected a finite value > 0",
                           l, lambdas[l]);
    xf_status st = prepare(train, train_labels, support, n_support, dim, n_classes, &out[0]);
    if (st != XF_OK) return st;
    spectrum sp;
    if ((st = spectrum_make(&out[0], train, train_labels, support, n_support, &sp)) != XF_OK) {
        xf_ridge_free(&out[0]);
        return st;
    }
    double *tmp = xf_malloc(sizeof(double) * sp.m * n_classes);
    xf_ridge_loo *own = NULL;
    if (!tmp) st = XF_ENOMEM;
    if (st == XF_OK && loo) {
        xf_ridge_loo *sc = scores ? scores : (own = xf_malloc(sizeof *own * n_lambdas));
        st = sc ? spectrum_loo(&sp, &out[0], train, train_labels, support, lambdas, n_lambdas, sc)
                : XF_ENOMEM;
        int best = 0;
        for (int l = 1; st == XF_OK && l < n_lambdas; l++)
            if (sc[l].errors < sc[best].errors ||
                (sc[l].errors == sc[best].errors && sc[l].press < sc[best].press))
                best = l;
        if (st == XF_OK) {
            *chosen = best;
            spectrum_head(&sp, lambdas[best], tmp, &out[0]);
        }
    }
    for (int l = 0; st == XF_OK && !loo && l < n_lambdas; l++) {
        if (l > 0) {
            xf_ridge *r = &out[l];
            r->dim = dim, r->n_classes = n_classes;
            r->mean = xf_malloc(sizeof(double) * dim);
            r->scale = xf_malloc(sizeof(double) * dim);
            r->weights = xf_malloc(sizeof(double) * (dim + 1) * n_classes);
            if (!r->mean || !r->scale || !r->weights) {
                st = XF_ENOMEM;
                break;
            }
            memcpy(r->mean, out[0].mean, sizeof(double) * dim);
            memcpy(r->scale, out[0].scale, sizeof(double) * dim);
        }
        spectrum_head(&sp, lambdas[l], tmp, &out[l]);
    }
    free(tmp);
    free(own);
    spectrum_free(&sp);
    if (st != XF_OK)
        for (int l = 0; l < n_out; l++) xf_ridge_free(&out[l]);
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
