#include "analysis/satfit.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <math.h>
#include <stdlib.h>

#include "core/mem.h"

enum { ALPHA_GRID = 240, BRENT_MAX_ITER = 200 };

typedef struct {
    const double *e_us, *e_ds;
    double *x; /* scratch: e_us^alpha */
    int n;
} fit_data;

typedef struct {
    double k, e_ir, sse;
} linear_fit;

static double sse_of(const fit_data *d, double k, double e_ir) {
    double s = 0;
    for (int i = 0; i < d->n; i++) {
        double r = d->e_ds[i] - (k * d->x[i] + e_ir);
        s += r * r;
    }
    return s;
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static void consider(const fit_data *d, double k, double e_ir, linear_fit *best) {
    double s = sse_of(d, k, e_ir);
    if (s < best->sse) *best = (linear_fit){k, e_ir, s};
}

/* The exact minimiser of sum (y - k x - c)^2 over k >= 0, 0 <= c <= 1 for
 * the x already in d->x. The problem is a convex quadratic on a convex
 * region, so its minimum is the unconstrained one when that is feasible and
 * otherwise lies on an edge of the region; on each edge (c = 0, c = 1, k = 0)
 * it is a one-dimensional convex problem solved by clamping. Taking the best
 * of the feasible candidates therefore gives the global minimum. */
static linear_fit solve_linear(const fit_data *d) {
    double mx = 0, my = 0;
    for (int i = 0; i < d->n; i++) {
        mx += d->x[i];
        my += d->e_ds[i];
    }
    mx /= d->n;
    my /= d->n;
    double sxx = 0, sxy = 0, xx = 0, xy = 0, x1 = 0;
    for (int i = 0; i < d->n; i++) {
        double dx = d->x[i] - mx;
        sxx += dx * dx;
        sxy += dx * (d->e_ds[i] - my);
        xx += d->x[i] * d->x[i];
        xy += d->x[i] * d->e_ds[i];
        x1 += d->x[i];
    }
    linear_fit best = {0, clamp(my, 0, 1), INFINITY};
    consider(d, best.k, best.e_ir, &best); /* the k = 0 edge */
    if (sxx > 0) {
        double k = sxy / sxx, c = my - k * mx;
        if (k >= 0 && c >= 0 && c <= 1) {
            consider(d, k, c, &best);
            return best;
        }
    }
    if (xx > 0) {
        consider(d, fmax(0, xy / xx), 0, &best);             /* the c = 0 edge */
        consider(d, fmax(0, (xy - x1) / xx), 1, &best);      /* the c = 1 edge */
    }
    return best;
}

static linear_fit profile(const fit_data *d, double alpha) {
    for (int i = 0; i < d->n; i++) d->x[i] = pow(d->e_us[i], alpha);
    return solve_linear(d);
}

static double profile_sse(double alpha, void *param) { return profile(param, alpha).sse; }

static double grid_alpha(int i) {
    return XF_SATFIT_ALPHA_MIN *
           pow(XF_SATFIT_ALPHA_MAX / XF_SATFIT_ALPHA_MIN, (double)i / (ALPHA_GRID - 1));
}

/* Brent's method inside the grid cell pair around grid point i, which is a
 * valid bracket because the grid point is strictly below both neighbours.
 * Returns the grid point itself if GSL cannot improve on it. */
static double refine(fit_data *d, int i, double f_mid) {
    double lo = grid_alpha(i - 1), hi = grid_alpha(i + 1), mid = grid_alpha(i);
    gsl_function fn = {profile_sse, d};
    gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    if (!m) return mid;
    if (gsl_min_fminimizer_set_with_values(m, &fn, mid, f_mid, lo, profile_sse(lo, d), hi,
                                           profile_sse(hi, d)) != GSL_SUCCESS) {
        gsl_min_fminimizer_free(m);
        return mid;
    }
    for (int it = 0; it < BRENT_MAX_ITER; it++) {
        if (gsl_min_fminimizer_iterate(m) != GSL_SUCCESS) break;
        if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(m), gsl_min_fminimizer_x_upper(m),
                                  1e-12, 1e-10) == GSL_SUCCESS)
            break;
    }
    double best = gsl_min_fminimizer_x_minimum(m);
    double f_best = gsl_min_fminimizer_f_minimum(m);
    gsl_min_fminimizer_free(m);
    return f_best <= f_mid ? best : mid;
}

int xf_satfit_distinct(const double *v, int n, int enough) {
    int count = 0;
    for (int i = 0; i < n && count < enough; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = v[j] == v[i];
        count += !seen;
    }
    return count;
}

xf_status xf_satfit_errors(const double *e_us, const double *e_ds, int n, xf_satfit *fit) {
    *fit = (xf_satfit){NAN, NAN, NAN, NAN, NAN, n < 0 ? 0 : n, XF_SATFIT_UNDERDETERMINED};
    if (n < 0) return xf_fail(XF_EINVAL, "saturation fit: negative point count %d", n);
    for (int i = 0; i < n; i++) {
        if (!(e_us[i] >= 0 && e_us[i] <= 1))
            return xf_fail(XF_EINVAL, "saturation fit: point %d: US error %g is not in [0, 1]",
                           i, e_us[i]);
        if (!(e_ds[i] >= 0 && e_ds[i] <= 1))
            return xf_fail(XF_EINVAL, "saturation fit: point %d: DS error %g is not in [0, 1]",
                           i, e_ds[i]);
    }
    if (xf_satfit_distinct(e_us, n, 3) < 3) return XF_OK;

    fit_data d = {e_us, e_ds, xf_malloc((size_t)n * sizeof(double)), n};
    if (!d.x) return XF_ENOMEM;
    int best_i = 0;
    double best_sse = INFINITY, grid_sse[ALPHA_GRID];
    for (int i = 0; i < ALPHA_GRID; i++) {
        grid_sse[i] = profile_sse(grid_alpha(i), &d);
        if (grid_sse[i] < best_sse) {
            best_sse = grid_sse[i];
            best_i = i;
        }
    }
    double alpha = grid_alpha(best_i);
    int interior = best_i > 0 && best_i < ALPHA_GRID - 1;
    if (interior && grid_sse[best_i] < grid_sse[best_i - 1] &&
        grid_sse[best_i] < grid_sse[best_i + 1])
        alpha = refine(&d, best_i, grid_sse[best_i]);
    linear_fit lin = profile(&d, alpha);
    free(d.x);

    fit->k = lin.k;
    fit->alpha = alpha;
    fit->e_ir = lin.e_ir;
    fit->sse = lin.sse;
    fit->rms = sqrt(lin.sse / n);
    fit->status = XF_SATFIT_OK;
    if (lin.k == 0) {
        fit->alpha = 1;
        fit->status = XF_SATFIT_FLAT;
    } else if (!interior) {
        fit->status = XF_SATFIT_ALPHA_AT_BOUND;
    }
    return XF_OK;
}

xf_status xf_satfit_accuracies(const double *acc_us, const double *acc_ds, int n, xf_satfit *fit) {
    if (n <= 0) return xf_satfit_errors(acc_us, acc_ds, n, fit);
    double *e = xf_malloc(2 * (size_t)n * sizeof *e);
    if (!e) return XF_ENOMEM;
    for (int i = 0; i < n; i++) {
        e[i] = 1 - acc_us[i];
        e[n + i] = 1 - acc_ds[i];
    }
    xf_status st = xf_satfit_errors(e, e + n, n, fit);
    free(e);
    return st;
}

double xf_satfit_predict(const xf_satfit *fit, double e_us) {
    if (fit->status == XF_SATFIT_UNDERDETERMINED) return NAN;
    return fit->k * pow(e_us, fit->alpha) + fit->e_ir;
}

double xf_satfit_saturation(const xf_satfit *fit) {
    return fit->status == XF_SATFIT_UNDERDETERMINED ? NAN : 1 - fit->e_ir;
}

const char *xf_satfit_status_name(xf_satfit_status status) {
    switch (status) {
    case XF_SATFIT_OK: return "ok";
    case XF_SATFIT_UNDERDETERMINED: return "underdetermined";
    case XF_SATFIT_FLAT: return "flat";
    case XF_SATFIT_ALPHA_AT_BOUND: return "alpha at bound";
    }
    return "unknown";
}
