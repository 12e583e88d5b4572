/* The stochastic frontier: the best DS accuracy achievable at a given US
 * accuracy, estimated from models that fall short of it by random amounts
 * and are measured with probe noise (docs/analysis.md, section 1).
 *
 * Model, in errors (e = 1 - accuracy), for model i:
 *     e_DS,i = k * e_US,i^alpha + e_IR + u_i - v_i,
 *     u_i >= 0 half-normal with scale sigma_u (how far a model falls short
 *              of the frontier: training budget, architecture, luck),
 *     v_i normal with sd sigma_v (probe noise: few-shot draws, test set).
 * When the standard error of each DS accuracy is known (a study's probes
 * record the test-set size and the spread over draws), v_i has that sd and
 * sigma_v is not fitted: the likelihood then has a single regular maximum
 * instead of the two competing explanations of scatter (all shortfall, or
 * all noise) that make the free-sigma_v intervals too narrow at 40 models
 * (the calibration table in docs/analysis.md shows both).
 * The frontier k e^alpha + e_IR is the paper's saturation law; its
 * parameters and the two scales are fitted by maximum likelihood
 * (normal/half-normal composed error, Aigner-Lovell-Schmidt 1977) with
 * GSL's Nelder-Mead simplex from several starts.
 *
 * Intervals are profile-likelihood 95% intervals: every value c of a
 * parameter whose profile log-likelihood (the other four maximised) is
 * within chi2_1(0.95)/2 = 1.92 of the maximum, or chi2_2(0.95)/2 = 3.00
 * when the shortfall dwarfs the probe noise and the frontier is the edge
 * of the data (sfrontier.c says why). An interval stops at a
 * parameter bound (e_IR in [0, 1], alpha in [XF_SATFIT_ALPHA_MIN,
 * XF_SATFIT_ALPHA_MAX], k >= 0 with "unbounded" as +inf) when the data do
 * not exclude the bound. Unlike a bootstrap of the upper hull, which can
 * never place the frontier above every observed model, the likelihood
 * knows that the frontier lies above the models by an estimated amount.
 *
 * Fewer than XF_SFRONTIER_MIN_POINTS points or fewer than 4 distinct US
 * accuracies leave five parameters undetermined: status
 * XF_SATFIT_UNDERDETERMINED, every number NaN, no interval. */
#ifndef XF_SFRONTIER_H
#define XF_SFRONTIER_H

#include "analysis/satfit.h"
#include "core/status.h"

#define XF_SFRONTIER_MIN_POINTS 8

enum { XF_SF_K, XF_SF_ALPHA, XF_SF_EIR, XF_SF_SIGMA_U, XF_SF_SIGMA_V, XF_SF_NPARAMS };

typedef struct {
    xf_satfit_status status; /* OK, UNDERDETERMINED or ALPHA_AT_BOUND */
    int n;
    double k, alpha, e_ir, sigma_u, sigma_v;
    double loglik;
    double ci[3][2]; /* 95% profile intervals of k, alpha, e_IR ([low, high]) */
    int have_ci;     /* 0: intervals not computed (or undetermined): NaN */
} xf_sfrontier;

/* acc_us, acc_ds: n accuracies in [0, 1]; ds_se: the standard error of
 * each DS accuracy, or NULL to fit sigma_v. intervals: also compute the
 * three profile intervals (most of the cost). sigma_v is NaN when ds_se is
 * given. */
xf_status xf_sfrontier_fit(const double *acc_us, const double *acc_ds, const double *ds_se,
                           int n, int intervals, xf_sfrontier *fit);

#endif
