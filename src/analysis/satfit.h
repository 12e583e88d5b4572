/* Least-squares fit of the saturation law (docs/protocol.md, finding 1)
 *     e_DS = k * e_US^alpha + e_IR,   errors = 1 - accuracy,
 * with k >= 0, alpha in [XF_SATFIT_ALPHA_MIN, XF_SATFIT_ALPHA_MAX] and
 * 0 <= e_IR <= 1, minimising the sum of squared residuals in e_DS.
 *
 * Method (variable projection): for a fixed alpha the law is linear in
 * (k, e_IR), so the best bounded (k, e_IR) is solved exactly; the remaining
 * one-dimensional residual profile over alpha is searched on a log grid and
 * refined with Brent's method (GSL) around the best grid point. The grid
 * guards against the profile's local minima; Brent gives the last digits.
 *
 * The law has three parameters, so fewer than three distinct US errors
 * cannot determine it: the result is then XF_SATFIT_UNDERDETERMINED with
 * NaN parameters, not an error, because a study with few finished models is
 * a normal state to report. */
#ifndef XF_SATFIT_H
#define XF_SATFIT_H

#include "core/status.h"

#define XF_SATFIT_ALPHA_MIN 0.01
#define XF_SATFIT_ALPHA_MAX 20.0

typedef enum {
    XF_SATFIT_OK = 0,
    /* Fewer than 3 distinct US errors: k, alpha, e_IR, sse, rms are NaN. */
    XF_SATFIT_UNDERDETERMINED,
    /* The best fit has k = 0 (DS error does not fall as US error falls):
     * e_IR is the mean DS error (clamped to [0, 1]) and alpha, which then
     * changes nothing, is reported as 1. */
    XF_SATFIT_FLAT,
    /* The best alpha is at a search bound: a valid least-squares fit within
     * the bounds, but the data would like alpha further out. */
    XF_SATFIT_ALPHA_AT_BOUND,
} xf_satfit_status;

typedef struct {
    double k, alpha, e_ir;
    double sse; /* sum of squared residuals in e_DS */
    double rms; /* sqrt(sse / n) */
    int n;      /* points used */
    xf_satfit_status status;
} xf_satfit;

/* e_us, e_ds: n errors each, every one in [0, 1] (XF_EINVAL names the first
 * that is not). */
xf_status xf_satfit_errors(const double *e_us, const double *e_ds, int n, xf_satfit *fit);

/* The same fit from accuracies (errors are 1 - accuracy). */
xf_status xf_satfit_accuracies(const double *acc_us, const double *acc_ds, int n, xf_satfit *fit);

/* Predicted DS error at a US error (NaN for an underdetermined fit). */
double xf_satfit_predict(const xf_satfit *fit, double e_us);

/* The DS accuracy the fit saturates at, 1 - e_IR (NaN if underdetermined). */
double xf_satfit_saturation(const xf_satfit *fit);

/* How many distinct values v holds, counting up to `enough` (a fit needs a
 * few distinct US errors, not all of them). */
int xf_satfit_distinct(const double *v, int n, int enough);

/* "ok", "underdetermined", "flat", "alpha at bound". */
const char *xf_satfit_status_name(xf_satfit_status status);

#endif
