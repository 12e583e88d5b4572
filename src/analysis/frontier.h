/* The least-squares saturation fit as the analysis uses it: on the upper
 * hull or on all points, with optional bootstrap intervals and the paper's
 * extrapolation check. The bootstrap is not the default interval: a
 * resample's hull never lies above the full data's, so for the hull fit
 * the interval sits on one side of the estimate (docs/analysis.md,
 * calibration); the stochastic frontier (sfrontier.h) gives the default.
 *
 * Bootstrap: models are resampled with replacement (a resample is a study
 * that happened to train a different set of models); on each resample the
 * hull is recomputed when the fit is to the hull, and the law is refitted.
 * The 95% interval of each parameter is the 2.5th to 97.5th percentile of
 * its bootstrap values (percentile method), over the resamples whose fit is
 * determined; underdetermined resamples are counted, not used.
 *
 * Validation: the points whose US accuracy is at most the `quantile`
 * quantile of US accuracy (default 0.7, the paper's "fit on the weaker
 * models") form the fitting part; the law is fitted there (to its hull, or
 * to all its points) and its RMS error in DS accuracy is the fitting error.
 * The prediction error is the RMS error of that fit on the upper hull of
 * the held-out models (the frontier beyond the fitted range), the same
 * points for the hull and the all-points variant so that the two errors
 * compare; with fewer than XF_VALIDATION_MIN_TEST such points there is no
 * prediction error (NaN) and the report says so. */
#ifndef XF_FRONTIER_H
#define XF_FRONTIER_H

#include <stdint.h>

#include "analysis/satfit.h"
#include "core/status.h"

#define XF_VALIDATION_MIN_TEST 3
#define XF_HOLDOUT_QUANTILE_DEFAULT 0.7

/* Fits the law to acc_us/acc_ds (n accuracies): use_hull is XF_HULL_NONE
 * (all points), XF_HULL_WHOLE or XF_HULL_RISING (analysis/hull.h). */
xf_status xf_frontier_fit(const double *acc_us, const double *acc_ds, int n, int use_hull,
                          xf_satfit *fit);

typedef struct {
    double k[2], alpha[2], e_ir[2]; /* [low, high]; NaN when no resample fits */
    int b;                          /* resamples drawn */
    int b_used;                     /* resamples with a determined fit */
} xf_satfit_ci;

/* Percentile bootstrap 95% intervals from b resamples drawn with `seed`.
 * b = 0, or a fit the full data leave underdetermined, gives NaN intervals
 * (b_used 0) without resampling. */
xf_status xf_frontier_bootstrap(const double *acc_us, const double *acc_ds, int n, int use_hull,
                                int b, uint64_t seed, xf_satfit_ci *ci);

typedef struct {
    double threshold;    /* US accuracy at the quantile: fit on us_acc <= threshold */
    int n_fit, n_test;   /* points fitted (hull vertices for the hull variant), held-out hull */
    double fit_rms;      /* RMS DS-accuracy error on the fitted points */
    double predict_rms;  /* on the held-out hull (NaN with fewer than XF_VALIDATION_MIN_TEST) */
    xf_satfit fit;       /* the fit on the low part */
} xf_validation;

/* quantile in (0, 1]. */
xf_status xf_frontier_validate(const double *acc_us, const double *acc_ds, int n, int use_hull,
                               double quantile, xf_validation *v);

/* The q-quantile (0 <= q <= 1) of n values, linear interpolation between
 * order statistics (NumPy's default); NaN for n = 0. */
double xf_quantile(const double *v, int n, double q);

#endif
