/* xf_probe_sets: every head of one tap fitted, folded and scored at once.
 *
 * The test set dominates the cost (10k rows against a support set of at
 * most a few hundred), so prediction must not standardise the test rows per
 * head: each head's standardisation is folded into its weights and bias,
 * the heads are laid side by side as the columns of one dim x (heads * c)
 * float matrix, and a block of test rows is scored against all of them by
 * one sgemm. The fit stays in double, where a weak ridge needs it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/mem.h"
#include "probe/probe.h"
#include "probe/ridge.h"

/* Test rows per sgemm: bounds the score block (rows x heads x classes). */
enum { TEST_BLOCK = 1024 };

/* Fits the heads of one support set into w (columns col.. of stride ldw)
 * and bias; lambda_used gets each head's lambda. */
static xf_status fit_set(const xf_probe_data *data, const int *set, int n_set,
                         const double *lambdas, int n_lambdas, bool loo, const double *center,
                         float *w, int ldw, float *bias, double *lambda_used) {
    const int c = data->n_classes, heads = loo ? 1 : n_lambdas;
    xf_ridge stack[4], *r = heads <= 4 ? stack : xf_malloc(sizeof(xf_ridge) * heads);
    if (!r) return XF_ENOMEM;
    xf_status st;
    int chosen = 0;
    if (heads == 1 && !loo) {
        /* One lambda: a Cholesky solve is cheaper than an eigendecomposition. */
        st = xf_ridge_fit(data->train, data->train_labels, set, n_set, data->dim, c, lambdas[0],
                          &r[0]);
    } else {
        st = xf_ridge_fit_path(data->train, data->train_labels, set, n_set, data->dim, c, lambdas,
                               n_lambdas, loo, r, &chosen, NULL);
    }
    if (st == XF_OK) {
        for (int h = 0; h < heads; h++) {
            xf_ridge_fold(&r[h], center, w + (size_t)h * c, ldw, bias + (size_t)h * c);
            lambda_used[h] = loo ? lambdas[chosen] : lambdas[h];
            xf_ridge_free(&r[h]);
        }
    }
    if (r != stack) free(r);
    return st;
}

xf_status xf_probe_sets(const xf_probe_data *data, const int *const *sets, const int *set_sizes,
                        int n_sets, const double *lambdas, int n_lambdas, bool loo,
                        double *accuracy, double *lambda_used, int32_t *predictions) {
    const int dim = data->dim, c = data->n_classes, n_test = data->n_test;
    const int heads = loo ? 1 : n_lambdas, cols = n_sets * heads * c;
    if (n_test < 1) return xf_fail(XF_EINVAL, "ridge probe: the test set is empty");
    if (n_sets < 1 || n_lambdas < 1 || dim < 1 || c < 1)
        return xf_fail(XF_EINVAL, "ridge probe: %d support sets, %d lambdas, %d features, %d "
                       "classes: each must be >= 1", n_sets, n_lambdas, dim, c);
    for (int i = 0; i < n_test; i++)
        if (data->test_labels[i] < 0 || data->test_labels[i] >= c)
            return xf_fail(XF_EINVAL, "ridge probe: test row %d has label %d, outside [0, %d)", i,
                           (int)data->test_labels[i], c);
    int block = n_test < TEST_BLOCK ? n_test : TEST_BLOCK;
    double *center = xf_calloc((size_t)dim, sizeof(double));
    double *used = xf_malloc(sizeof(double) * n_sets * heads);
    float *w = xf_malloc(sizeof(float) * (size_t)dim * cols);
    float *bias = xf_malloc(sizeof(float) * cols);
    float *x = xf_malloc(sizeof(float) * (size_t)block * dim);
    float *scores = xf_malloc(sizeof(float) * (size_t)block * cols);
    long *correct = xf_calloc((size_t)n_sets * heads, sizeof(long));
    xf_status st = XF_ENOMEM;
    if (!center || !used || !w || !bias || !x || !scores || !correct) goto done;
    /* The test rows' mean as the fold's center: scores then sum terms of
     * the size of the features' spread, not of their offset. */
    for (int i = 0; i < n_test; i++) {
        const float *row = data->test + (size_t)i * dim;
        for (int j = 0; j < dim; j++) {
            if (!isfinite(row[j])) {
                st = xf_fail(XF_ENUMERIC, "ridge probe: feature %d of test row %d is %g", j, i,
                             (double)row[j]);
                goto done;
            }
            center[j] += row[j];
        }
    }
    for (int j = 0; j < dim; j++) center[j] /= n_test;
    st = XF_OK;
    for (int s = 0; s < n_sets && st == XF_OK; s++) {
        st = fit_set(data, sets[s], set_sizes[s], lambdas, n_lambdas, loo, center,
                     w + (size_t)s * heads * c, cols, bias + (size_t)s * heads * c,
                     used + (size_t)s * heads);
        if (st != XF_OK) xf_fail_context(st, "support set %d: ", s);
    }
    for (int start = 0; start < n_test && st == XF_OK; start += block) {
        int rows = n_test - start < block ? n_test - start : block;
        for (int i = 0; i < rows; i++) {
            const float *row = data->test + (size_t)(start + i) * dim;
            float *dst = x + (size_t)i * dim;
            for (int j = 0; j < dim; j++) dst[j] = (float)(row[j] - center[j]);
        }
        xf_sgemm(false, false, rows, cols, dim, 1.0f, x, dim, w, cols, 0.0f, scores, cols);
        for (int i = 0; i < rows && st == XF_OK; i++) {
            const float *srow = scores + (size_t)i * cols;
            int label = data->test_labels[start + i];
            for (int h = 0; h < n_sets * heads; h++) {
                const float *sc = srow + (size_t)h * c;
                const float *b = bias + (size_t)h * c;
                int best = 0;
                float best_score = sc[0] + b[0];
                bool finite = isfinite(best_score);
                for (int k = 1; k < c; k++) {
                    float v = sc[k] + b[k];
                    finite = finite && isfinite(v);
                    if (v > best_score) best = k, best_score = v;
                }
                if (!finite) {
                    st = xf_fail(XF_ENUMERIC, "ridge probe: test row %d has a non-finite feature",
                                 start + i);
                    break;
                }
                correct[h] += best == label;
                if (predictions) predictions[(size_t)h * n_test + start + i] = best;
            }
        }
    }
    if (st == XF_OK) {
        for (int h = 0; h < n_sets * heads; h++) {
            accuracy[h] = (double)correct[h] / n_test;
            if (lambda_used) lambda_used[h] = used[h];
        }
    }
done:
    free(center);
    free(used);
    free(w);
    free(bias);
    free(x);
    free(scores);
    free(correct);
    return st;
}
