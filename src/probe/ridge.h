/* The closed-form ridge head of shared/STUDY.md's few-shot protocol, split
 * into fit and predict so tests can check the weights themselves.
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

/* predictions[i] = argmax over classes of the standardised x row i times
 * the weights (the first class on ties); x: n x dim. */
xf_status xf_ridge_predict(const xf_ridge *r, const float *x, int n, int32_t *predictions);

void xf_ridge_free(xf_ridge *r);

#endif
