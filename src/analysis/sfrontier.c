#include "analysis/sfrontier.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_erf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/frontier.h"
#include "analysis/hull.h"
#include "core/mem.h"

/* Internal coordinates, all unconstrained but e_IR: log k, log alpha, e_IR,
 * log sigma_u, log sigma_v. */
enum { DIM = XF_SF_NPARAMS };

/* Scales below 1e-4 in accuracy (one image in 10 000) are no longer
 * distinguishable from zero; the floor keeps the likelihood finite when a
 * study has no probe noise at all. */
#define SIGMA_MIN 1e-4
#define SIGMA_MAX 1.0
#define LOG_K_MIN log(1e-6)
#define LOG_K_MAX log(1e4)
/* Half the 0.95 quantiles of chi2_1 (a regular likelihood) and chi2_2:
 * when probe noise is negligible against the shortfall the frontier is the
 * edge of the data's support, and there twice the log-likelihood ratio of
 * the edge tends to chi2_2, not chi2_1 (as for the shift of an exponential;
 * the half-normal has a positive density at 0 too). The simulated gaps-only
 * studies cover 88% with the chi2_1 cut and 95% with chi2_2. */
#define DROP_REGULAR (3.841458820694124 / 2)
#define DROP_EDGE (5.991464547107979 / 2)
/* sigma_u / sigma_v above which the edge cut applies */
#define EDGE_RATIO 10.0
#define BAD 1e30

typedef struct {
    const double *e_us, *e_ds;
    const double *se; /* known probe-noise sd per point, or NULL: sigma_v is fitted */
    int n;
    int held[DIM];    /* coordinates held at base[] instead of optimised */
    double base[DIM];
} lik_data;

static double log_phi(double z) { return log(0.5) + gsl_sf_log_erfc(-z / M_SQRT2); }

/* Minus the log-likelihood at the internal parameters t. */
static double neg_loglik(const double *t, const lik_data *d) {
    double k = exp(t[0]), a = exp(t[1]), c = t[2], su = exp(t[3]), sv = exp(t[4]);
    if (!(a >= XF_SATFIT_ALPHA_MIN && a <= XF_SATFIT_ALPHA_MAX && c >= 0 && c <= 1 &&
          su >= SIGMA_MIN && su <= SIGMA_MAX && sv >= SIGMA_MIN && sv <= SIGMA_MAX &&
          t[0] >= LOG_K_MIN && t[0] <= LOG_K_MAX))
        return BAD;
    double ll = d->n * (log(2.0) - 0.5 * log(2 * M_PI));
    for (int i = 0; i < d->n; i++) {
        double v = d->se ? fmax(d->se[i], SIGMA_MIN) : sv, s = hypot(su, v);
        double eps = -(d->e_ds[i] - (k * pow(d->e_us[i], a) + c)); /* v - u */
        ll += -log(s) - 0.5 * (eps / s) * (eps / s) + log_phi(-eps * (su / v) / s);
    }
    return isfinite(ll) ? -ll : BAD;
}

/* The free coordinates x into t. */
static void expand(const lik_data *d, const double *x, double *t) {
    for (int i = 0, j = 0; i < DIM; i++) t[i] = d->held[i] ? d->base[i] : x[j++];
}

static double objective(const gsl_vector *x, void *param) {
    const lik_data *d = param;
    double t[DIM];
    expand(d, x->data, t);
    return neg_loglik(t, d);
}

/* Nelder-Mead from t (held coordinates taken from d->base), restarted
 * from its own result until a restart gains less than 1e-9: a collapsed
 * simplex is the method's usual failure and a fresh one cures it. t
 * receives the optimum; returns minus the log-likelihood there. */
static double maximise(lik_data *d, double *t) {
    int dim = 0;
    for (int i = 0; i < DIM; i++) {
        if (d->held[i]) t[i] = d->base[i];
        dim += !d->held[i];
    }
    const double step[DIM] = {0.3, 0.2, 0.02, 0.3, 0.3};
    gsl_vector *x = gsl_vector_alloc((size_t)dim), *ss = gsl_vector_alloc((size_t)dim);
    gsl_multimin_fminimizer *m =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, (size_t)dim);
    double best = neg_loglik(t, d);
    if (!x || !ss || !m) goto done;
    gsl_multimin_function fn = {objective, (size_t)dim, d};
    for (int restart = 0; restart < 6; restart++) {
        for (int i = 0, j = 0; i < DIM; i++) {
            if (d->held[i]) continue;
            gsl_vector_set(x, (size_t)j, t[i]);
            gsl_vector_set(ss, (size_t)j++, step[i]);
        }
        if (gsl_multimin_fminimizer_set(m, &fn, x, ss) != GSL_SUCCESS) break;
        for (int it = 0; it < 4000; it++) {
            if (gsl_multimin_fminimizer_iterate(m) != GSL_SUCCESS) break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), 1e-8) == GSL_SUCCESS)
                break;
        }
        double f = m->fval;
        if (!(f < best)) break;
        int gained = best - f > 1e-9;
        best = f;
        expand(d, m->x->data, t);
        if (!gained) break;
    }
done:
    gsl_vector_free(x);
    gsl_vector_free(ss);
    if (m) gsl_multimin_fminimizer_free(m);
    return best;
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* A starting point from a least-squares fit: the curve shifted so that it
 * passes through the best model relative to it (corrected least squares),
 * scales from the spread of the residuals. */
static void start_from(const xf_satfit *ls, const lik_data *d, double *t) {
    double k = ls->status == XF_SATFIT_UNDERDETERMINED ? 0.5 : fmax(ls->k, 1e-3);
    double a = ls->status == XF_SATFIT_OK || ls->status == XF_SATFIT_ALPHA_AT_BOUND ? ls->alpha : 1;
    double c = ls->status == XF_SATFIT_UNDERDETERMINED ? 0.1 : ls->e_ir;
    double lo = INFINITY, sum = 0, sum2 = 0;
    for (int i = 0; i < d->n; i++) {
        double r = d->e_ds[i] - (k * pow(d->e_us[i], a) + c);
        lo = fmin(lo, r);
        sum += r;
        sum2 += r * r;
    }
    double sd = sqrt(fmax(0, sum2 / d->n - (sum / d->n) * (sum / d->n)));
    sd = fmax(sd, 10 * SIGMA_MIN);
    t[0] = clamp(log(k), LOG_K_MIN + 1, LOG_K_MAX - 1);
    t[1] = log(clamp(a, 1.01 * XF_SATFIT_ALPHA_MIN, 0.99 * XF_SATFIT_ALPHA_MAX));
    t[2] = clamp(c + lo, 1e-6, 1 - 1e-6);
    t[3] = log(clamp(1.5 * sd, 2 * SIGMA_MIN, 0.5));
    t[4] = log(clamp(0.5 * sd, 2 * SIGMA_MIN, 0.5));
}

/* Profile bounds of internal coordinate j. */
static void coord_bounds(int j, double *lo, double *hi) {
    if (j == XF_SF_K) *lo = LOG_K_MIN, *hi = LOG_K_MAX;
    else if (j == XF_SF_ALPHA) *lo = log(XF_SATFIT_ALPHA_MIN), *hi = log(XF_SATFIT_ALPHA_MAX);
    else *lo = 0, *hi = 1;
}

/* Minus the profile log-likelihood of coordinate j at v, warm-started from
 * (and writing the optimum to) t. */
static double profile_at(lik_data *d, int j, double v, double *t) {
    d->held[j] = 1;
    d->base[j] = v;
    double f = maximise(d, t);
    d->held[j] = 0;
    return f;
}

/* The end of coordinate j's interval in direction dir (+1, -1) from the
 * optimum t_hat with minus log-likelihood f_hat: doubling steps outwards
 * until the profile drops by `drop` (or a bound), then bisection. */
static double profile_end(lik_data *d, int j, int dir, const double *t_hat, double f_hat,
                          double drop) {
    double lo, hi, t[DIM], t_in[DIM];
    coord_bounds(j, &lo, &hi);
    double bound = dir > 0 ? hi : lo, inside = t_hat[j], target = f_hat + drop;
    memcpy(t_in, t_hat, sizeof t_in);
    double step = j == XF_SF_EIR ? 0.005 : 0.05, outside = NAN;
    for (int s = 0; s < 40; s++, step *= 2) {
        double v = inside + dir * step;
        if (dir * (v - bound) >= 0) v = bound;
        memcpy(t, t_in, sizeof t);
        if (profile_at(d, j, v, t) > target) {
            outside = v;
            break;
        }
        inside = v;
        memcpy(t_in, t, sizeof t_in);
        if (v == bound) return bound;
    }
    if (isnan(outside)) return bound;
    double tol = j == XF_SF_EIR ? 1e-4 : 1e-3;
    while (fabs(outside - inside) > tol) {
        double mid = 0.5 * (inside + outside);
        memcpy(t, t_in, sizeof t);
        if (profile_at(d, j, mid, t) > target) {
            outside = mid;
        } else {
            inside = mid;
            memcpy(t_in, t, sizeof t_in);
        }
    }
    return 0.5 * (inside + outside);
}

xf_status xf_sfrontier_fit(const double *acc_us, const double *acc_ds, const double *ds_se,
                           int n, int intervals, xf_sfrontier *fit) {
    memset(fit, 0, sizeof *fit);
    fit->status = XF_SATFIT_UNDERDETERMINED;
    fit->n = n;
    fit->k = fit->alpha = fit->e_ir = fit->sigma_u = fit->sigma_v = fit->loglik = NAN;
    for (int p = 0; p < 3; p++) fit->ci[p][0] = fit->ci[p][1] = NAN;
    if (n < 0) return xf_fail(XF_EINVAL, "stochastic frontier: negative point count %d", n);
    for (int i = 0; i < n; i++)
        if (!(acc_us[i] >= 0 && acc_us[i] <= 1 && acc_ds[i] >= 0 && acc_ds[i] <= 1))
            return xf_fail(XF_EINVAL,
                           "stochastic frontier: point %d: accuracies (%g, %g) are not in [0, 1]",
                           i, acc_us[i], acc_ds[i]);
    for (int i = 0; ds_se && i < n; i++)
        if (!(ds_se[i] >= 0 && ds_se[i] <= 1))
            return xf_fail(XF_EINVAL,
                           "stochastic frontier: point %d: standard error %g is not in [0, 1]", i,
                           ds_se[i]);
    if (n < XF_SFRONTIER_MIN_POINTS || xf_satfit_distinct(acc_us, n, 4) < 4) return XF_OK;

    double *e = xf_malloc(2 * (size_t)n * sizeof *e);
    int *hull = xf_malloc((size_t)n * sizeof *hull);
    if (!e || !hull) {
        free(e);
        free(hull);
        return XF_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        e[i] = 1 - acc_us[i];
        e[n + i] = 1 - acc_ds[i];
    }
    lik_data d = {e, e + n, ds_se, n, {0}, {0}};
    d.held[XF_SF_SIGMA_V] = ds_se != NULL; /* unused then; held so it is not searched */
    d.base[XF_SF_SIGMA_V] = log(SIGMA_MIN);
    /* starts: the all-points and the hull least-squares fits */
    xf_satfit ls[2];
    int n_hull = 0;
    xf_status st = xf_satfit_errors(e, e + n, n, &ls[0]);
    if (st == XF_OK) st = xf_hull_upper(acc_us, acc_ds, n, hull, &n_hull);
    double *hus = NULL;
    if (st == XF_OK && !(hus = xf_malloc(2 * (size_t)n_hull * sizeof *hus))) st = XF_ENOMEM;
    if (st == XF_OK) {
        for (int i = 0; i < n_hull; i++) {
            hus[i] = e[hull[i]];
            hus[n_hull + i] = e[n + hull[i]];
        }
        st = xf_satfit_errors(hus, hus + n_hull, n_hull, &ls[1]);
    }
    free(hus);
    free(hull);
    if (st != XF_OK) {
        free(e);
        return st;
    }
    /* GSL's handler is off (main): a failed step comes back as a code and
     * only ends a search. */
    double t_hat[DIM], f_hat = INFINITY;
    for (int s = 0; s < 2; s++) {
        double t[DIM];
        start_from(&ls[s], &d, t);
        double f = maximise(&d, t);
        if (f < f_hat) {
            f_hat = f;
            memcpy(t_hat, t, sizeof t_hat);
        }
    }
    if (f_hat < BAD) {
        fit->k = exp(t_hat[0]);
        fit->alpha = exp(t_hat[1]);
        fit->e_ir = t_hat[2];
        fit->sigma_u = exp(t_hat[3]);
        fit->sigma_v = ds_se ? NAN : exp(t_hat[4]);
        fit->loglik = -f_hat;
        fit->status = fit->alpha <= 1.001 * XF_SATFIT_ALPHA_MIN ||
                              fit->alpha >= 0.999 * XF_SATFIT_ALPHA_MAX
                          ? XF_SATFIT_ALPHA_AT_BOUND
                          : XF_SATFIT_OK;
    }
    if (intervals && f_hat < BAD) {
        double noise = ds_se ? xf_quantile(ds_se, n, 0.5) : fit->sigma_v;
        double drop =
            fit->sigma_u >= EDGE_RATIO * fmax(noise, SIGMA_MIN) ? DROP_EDGE : DROP_REGULAR;
        for (int p = 0; p < 3; p++)
            for (int side = 0; side < 2; side++)
                fit->ci[p][side] = profile_end(&d, p, side ? 1 : -1, t_hat, f_hat, drop);
        for (int side = 0; side < 2; side++) {
            fit->ci[XF_SF_K][side] = fit->ci[XF_SF_K][side] <= LOG_K_MIN ? 0
                                     : fit->ci[XF_SF_K][side] >= LOG_K_MAX
                                         ? INFINITY
                                         : exp(fit->ci[XF_SF_K][side]);
            fit->ci[XF_SF_ALPHA][side] = exp(fit->ci[XF_SF_ALPHA][side]);
        }
        fit->have_ci = 1;
    }
    free(e);
    return XF_OK;
}
