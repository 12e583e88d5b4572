/* The closed-form ridge head of the few-shot protocol (docs/protocol.md),
 * split into fit and predict so tests can check the weights themselves.
 *
 * Every computation is in double. With D = dim + 1 (the features plus the
 * constant bias feature of 100), the fit solves the primal D x D system
 * (X^T X + lambda I) W = X^T Y when N >= D and the dual N x N system
 * (X X^T + lambda I) A = Y, W = X^T A, otherwise: the two give the same W,
 * and this rule always solves the smaller system. */
#ifndef XF_RIDGE_H
#define XF_RIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

enum { XF_RIDGE_BIAS = 100 };

typedef struct {
    int dim, n_classes;
    double *mean;    /* dim: the support set's feature means */
    double *scale;   /* dim: population std + 1e-5 */
    double *weights; /* (dim + 1) x n_classes, row-major; the last row is the bias's */
} xf_ridge;

/* True when a support set of n rows and `dim` features is solved in the
 * primal form (n >= dim + 1). */
bool xf_ridge_uses_primal(int n, int dim);

/* Fits the head on rows support[0..n_support) of `train` (rows of `dim`
 * floats) with labels train_labels[support[i]] in [0, n_classes). */
xf_status xf_ridge_fit(const float *train, const int32_t *train_labels, const int *support,
                       int n_support, int dim, int n_classes, double lambda, xf_ridge *out);

/* Leave-one-out scores of one lambda on the support set (closed form, from
 * the hat matrix H = X (X^T X + lambda I)^-1 X^T of the standardised
 * support rows X: the LOO residual of row i is (y_i - yhat_i) / (1 - H_ii)). */
typedef struct {
    int errors;   /* rows whose LOO scores' argmax is not their label */
    double press; /* sum of squared LOO residuals over rows and classes */
} xf_ridge_loo;

/* Heads for several lambdas from one symmetric eigendecomposition of the
 * Gram matrix (X^T X in the primal, X X^T in the dual form):
 * W(lambda) = V diag(1 / (s + lambda)) V^T X^T Y. Without `loo`, out[l] is
 * the head of lambdas[l] for every l < n_lambdas. With `loo`, `lambdas` is
 * a grid: out[0] is the head of the grid value with the fewest LOO errors
 * (then the smallest PRESS, then the first), *chosen its index; `scores`
 * (may be NULL) receives every grid value's LOO scores. */
xf_status xf_ridge_fit_path(const float *train, const int32_t *train_labels, const int *support,
                            int n_support, int dim, int n_classes, const double *lambdas,
                            int n_lambdas, bool loo, xf_ridge *out, int *chosen,
                            xf_ridge_loo *scores);

/* Folds the standardisation into the weights so a head scores raw
 * features: score = (x - center) . w + bias, with w[j] = W[j] / scale[j]
 * and bias = 100 W[dim] - sum_j (mean[j] - center[j]) w[j]. center (dim;
 * NULL: zeros) is any point near the data: subtracting it from the test
 * rows keeps float32 sums from cancelling. Writes w as dim rows of
 * n_classes floats at stride ldw, and n_classes biases. */
void xf_ridge_fold(const xf_ridge *r, const double *center, float *w, int ldw, float *bias);

/* predictions[i] = argmax over classes of the standardised x row i times
 * the weights (the first class on ties); x: n x dim. */
xf_status xf_ridge_predict(const xf_ridge *r, const float *x, int n, int32_t *predictions);

void xf_ridge_free(xf_ridge *r);

#endif
