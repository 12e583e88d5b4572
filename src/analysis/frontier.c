#include "analysis/frontier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/hull.h"
#include "core/mem.h"
#include "core/rng.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double xf_quantile(const double *v, int n, double q) {
    if (n <= 0) return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) i = n - 1;
    double r = i + 1 < n ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i];
    free(s);
    return r;
}

/* Fit with caller-provided scratch: hull (n ints), hus/hds (n doubles each). */
static xf_status fit_with(const double *us, const double *ds, int n, int use_hull, int *hull,
                          double *hus, double *hds, xf_satfit *fit) {
    if (!use_hull) return xf_satfit_accuracies(us, ds, n, fit);
    int n_hull = 0;
    xf_status st = xf_hull_upper_mode(us, ds, n, use_hull, hull, &n_hull);
    if (st != XF_OK) return st;
    for (int i = 0; i < n_hull; i++) {
        hus[i] = us[hull[i]];
        hds[i] = ds[hull[i]];
    }
    return xf_satfit_accuracies(hus, hds, n_hull, fit);
}

typedef struct {
    int *hull;
    double *buf; /* 4n: hull us/ds, resample us/ds */
} scratch;

static xf_status scratch_init(scratch *s, int n) {
    size_t c = n > 0 ? (size_t)n : 1;
    s->hull = xf_malloc(c * sizeof *s->hull);
    s->buf = xf_malloc(4 * c * sizeof *s->buf);
    if (!s->hull || !s->buf) {
        free(s->hull);
        free(s->buf);
        return XF_ENOMEM;
    }
    return XF_OK;
}

static void scratch_free(scratch *s) {
    free(s->hull);
    free(s->buf);
}

xf_status xf_frontier_fit(const double *acc_us, const double *acc_ds, int n, int use_hull,
                          xf_satfit *fit) {
    scratch s;
    if (scratch_init(&s, n) != XF_OK) return XF_ENOMEM;
    xf_status st = fit_with(acc_us, acc_ds, n, use_hull, s.hull, s.buf, s.buf + n, fit);
    scratch_free(&s);
    return st;
}

static void interval(double *v, int n, double out[2]) {
    out[0] = xf_quantile(v, n, 0.025);
    out[1] = xf_quantile(v, n, 0.975);
}

xf_status xf_frontier_bootstrap(const double *acc_us, const double *acc_ds, int n, int use_hull,
                                int b, uint64_t seed, xf_satfit_ci *ci) {
    *ci = (xf_satfit_ci){{NAN, NAN}, {NAN, NAN}, {NAN, NAN}, b, 0};
    int requested = b;
    if (b <= 0 || n <= 0) return XF_OK;
    scratch s;
    if (scratch_init(&s, n) != XF_OK) return XF_ENOMEM;
    double *draws = xf_malloc(3 * (size_t)b * sizeof *draws);
    if (!draws) {
        scratch_free(&s);
        return XF_ENOMEM;
    }
    double *rus = s.buf + 2 * n, *rds = s.buf + 3 * n;
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    /* no interval for a fit the full data do not determine, however many
     * resamples happen to determine theirs */
    xf_satfit full;
    xf_status st = fit_with(acc_us, acc_ds, n, use_hull, s.hull, s.buf, s.buf + n, &full);
    if (st == XF_OK && full.status == XF_SATFIT_UNDERDETERMINED) b = 0;
    int used = 0;
    for (int r = 0; r < b && st == XF_OK; r++) {
        for (int i = 0; i < n; i++) {
            int j = (int)xf_rng_below(&rng, (uint64_t)n);
            rus[i] = acc_us[j];
            rds[i] = acc_ds[j];
        }
        xf_satfit fit;
        st = fit_with(rus, rds, n, use_hull, s.hull, s.buf, s.buf + n, &fit);
        if (st == XF_OK && fit.status != XF_SATFIT_UNDERDETERMINED) {
            draws[used] = fit.k;
            draws[b + used] = fit.alpha;
            draws[2 * b + used] = fit.e_ir;
            used++;
        }
    }
    if (st == XF_OK && used > 0) {
        interval(draws, used, ci->k);
        interval(draws + b, used, ci->alpha);
        interval(draws + 2 * b, used, ci->e_ir);
    }
    ci->b = requested;
    ci->b_used = used;
    free(draws);
    scratch_free(&s);
    return st;
}

static double acc_error(const xf_satfit *fit, double us, double ds) {
    return ds - (1 - xf_satfit_predict(fit, 1 - us));
}

xf_status xf_frontier_validate(const double *acc_us, const double *acc_ds, int n, int use_hull,
                               double quantile, xf_validation *v) {
    memset(v, 0, sizeof *v);
    v->fit_rms = v->predict_rms = v->threshold = NAN;
    v->fit.status = XF_SATFIT_UNDERDETERMINED;
    v->fit.k = v->fit.alpha = v->fit.e_ir = v->fit.sse = v->fit.rms = NAN;
    if (!(quantile > 0 && quantile <= 1))
        return xf_fail(XF_EINVAL, "validation: quantile %g is not in (0, 1]", quantile);
    if (n <= 0) return XF_OK;
    scratch s;
    if (scratch_init(&s, n) != XF_OK) return XF_ENOMEM;
    double *lus = s.buf + 2 * n, *lds = s.buf + 3 * n;
    v->threshold = xf_quantile(acc_us, n, quantile);
    int n_low = 0;
    for (int i = 0; i < n; i++)
        if (acc_us[i] <= v->threshold) {
            lus[n_low] = acc_us[i];
            lds[n_low++] = acc_ds[i];
        }
    xf_status st = fit_with(lus, lds, n_low, use_hull, s.hull, s.buf, s.buf + n, &v->fit);
    if (st == XF_OK && v->fit.status != XF_SATFIT_UNDERDETERMINED) {
        int n_fit = n_low;
        if (use_hull) st = xf_hull_upper_mode(lus, lds, n_low, use_hull, s.hull, &n_fit);
        double sum = 0;
        for (int i = 0; st == XF_OK && i < n_fit; i++) {
            int j = use_hull ? s.hull[i] : i;
            double e = acc_error(&v->fit, lus[j], lds[j]);
            sum += e * e;
        }
        v->n_fit = n_fit;
        v->fit_rms = sqrt(sum / n_fit);
        /* the target, the same for every variant: the whole upper hull of
         * the held-out models (the frontier beyond the fitted range) */
        int n_high = 0;
        for (int i = 0; i < n; i++)
            if (acc_us[i] > v->threshold) {
                lus[n_high] = acc_us[i];
                lds[n_high++] = acc_ds[i];
            }
        int n_test = 0;
        if (st == XF_OK) st = xf_hull_upper(lus, lds, n_high, s.hull, &n_test);
        sum = 0;
        for (int i = 0; st == XF_OK && i < n_test; i++) {
            double e = acc_error(&v->fit, lus[s.hull[i]], lds[s.hull[i]]);
            sum += e * e;
        }
        v->n_test = n_test;
        v->predict_rms = n_test >= XF_VALIDATION_MIN_TEST ? sqrt(sum / n_test) : NAN;
    }
    scratch_free(&s);
    return st;
}
