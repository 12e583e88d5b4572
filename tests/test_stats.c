/* Bootstrap intervals, the extrapolation check, the nested F-tests and the
 * study-level analyses (knobs, layers, sweeps, US diversity) on synthetic
 * data with known answers, and the store's read-only table query. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/frontier.h"
#include "analysis/setfit.h"
#include "analysis/sfrontier.h"
#include "analysis/stats.h"
#include "analysis/study.h"
#include "core/rng.h"
#include "core/status.h"
#include "study/store.h"
#include "support.h"

static const double K = 0.6, ALPHA = 1.3, EIR = 0.08;

/* n accuracies of the law with Gaussian noise sd in DS error. */
static void synth(xf_rng *rng, int n, double sd, double *us, double *ds) {
    for (int i = 0; i < n; i++) {
        double e = 0.05 + 0.6 * xf_rng_uniform(rng);
        double d = K * pow(e, ALPHA) + EIR + sd * xf_rng_normal(rng);
        us[i] = 1 - e;
        ds[i] = 1 - fmin(1, fmax(0, d));
    }
}

Test(stats, quantile_interpolates_like_numpy) {
    double v[] = {4, 1, 3, 2};
    cr_assert_float_eq(xf_quantile(v, 4, 0.5), 2.5, 1e-12);
    cr_assert_float_eq(xf_quantile(v, 4, 0.0), 1, 1e-12);
    cr_assert_float_eq(xf_quantile(v, 4, 1.0), 4, 1e-12);
    cr_assert_float_eq(xf_quantile(v, 4, 0.7), 3.1, 1e-12);
    cr_assert(isnan(xf_quantile(v, 0, 0.5)));
}

/* The 95% percentile interval of each parameter (all-points fit) should
 * cover the truth in about 95% of datasets. 60 datasets x 100 resamples
 * keep this under a second; with 60 datasets a true 95% coverage lands in
 * [0.85, 1] with probability > 0.99 (binomial), and the percentile method's
 * known slight under-coverage at n = 40 still passes, while intervals that
 * were too narrow by half (coverage ~ 66%) fail. */
Test(stats, bootstrap_intervals_cover_the_truth) {
    enum { DATASETS = 60, N = 40, B = 100 };
    xf_rng rng;
    xf_rng_seed(&rng, 2024);
    int cover[3] = {0, 0, 0};
    for (int d = 0; d < DATASETS; d++) {
        double us[N], ds[N];
        synth(&rng, N, 0.01, us, ds);
        xf_satfit_ci ci;
        cr_assert_eq(xf_frontier_bootstrap(us, ds, N, 0, B, 100 + d, &ci), XF_OK);
        cr_assert_eq(ci.b, B);
        cr_assert_eq(ci.b_used, B);
        cover[0] += ci.k[0] <= K && K <= ci.k[1];
        cover[1] += ci.alpha[0] <= ALPHA && ALPHA <= ci.alpha[1];
        cover[2] += ci.e_ir[0] <= EIR && EIR <= ci.e_ir[1];
    }
    for (int j = 0; j < 3; j++)
        cr_assert(cover[j] >= 0.85 * DATASETS && cover[j] <= DATASETS,
                  "parameter %d covered in %d of %d datasets", j, cover[j], DATASETS);
}

Test(stats, bootstrap_is_seeded_and_narrows_with_less_noise) {
    xf_rng rng;
    xf_rng_seed(&rng, 5);
    double us[50], ds[50], us2[50], ds2[50];
    synth(&rng, 50, 0.02, us, ds);
    xf_rng_seed(&rng, 5);
    synth(&rng, 50, 0.002, us2, ds2);
    xf_satfit_ci a, b, c;
    cr_assert_eq(xf_frontier_bootstrap(us, ds, 50, 0, 50, 9, &a), XF_OK);
    cr_assert_eq(xf_frontier_bootstrap(us, ds, 50, 0, 50, 9, &b), XF_OK);
    cr_assert_eq(xf_frontier_bootstrap(us2, ds2, 50, 0, 50, 9, &c), XF_OK);
    cr_assert_eq(a.e_ir[0], b.e_ir[0]);
    cr_assert_eq(a.k[1], b.k[1]);
    cr_assert_lt(c.e_ir[1] - c.e_ir[0], 0.5 * (a.e_ir[1] - a.e_ir[0]));
    xf_satfit_ci none;
    cr_assert_eq(xf_frontier_bootstrap(us, ds, 50, 1, 0, 9, &none), XF_OK);
    cr_assert(isnan(none.k[0]) && none.b_used == 0);
    /* a hull of 2 points (the best model dominates the middle two):
     * underdetermined, so no interval, although the resamples that miss the
     * best model have a 3-corner hull and would fit */
    double hus[4] = {0.5, 0.6, 0.7, 0.9}, hds[4] = {0.40, 0.50, 0.55, 0.90};
    xf_satfit full;
    cr_assert_eq(xf_frontier_fit(hus, hds, 3, 1, &full), XF_OK);
    cr_assert_neq(full.status, XF_SATFIT_UNDERDETERMINED);
    cr_assert_eq(xf_frontier_fit(hus, hds, 4, 1, &full), XF_OK);
    cr_assert_eq(full.status, XF_SATFIT_UNDERDETERMINED);
    cr_assert_eq(xf_frontier_bootstrap(hus, hds, 4, 1, 50, 9, &none), XF_OK);
    cr_assert(isnan(none.e_ir[0]) && none.b_used == 0 && none.b == 50);
}

Test(stats, validation_extrapolates_an_exact_law_and_flags_a_bent_one) {
    enum { N = 30 };
    double us[N], ds[N];
    for (int i = 0; i < N; i++) {
        double e = 0.05 + 0.6 * i / (N - 1.0);
        us[i] = 1 - e;
        ds[i] = 1 - (K * pow(e, ALPHA) + EIR);
    }
    xf_validation v;
    cr_assert_eq(xf_frontier_validate(us, ds, N, 0, 0.7, &v), XF_OK);
    cr_assert_eq(v.n_fit + v.n_test, N);
    cr_assert_eq(v.n_test, 9, "held out %d", v.n_test); /* above the 70th percentile */
    cr_assert_lt(v.fit_rms, 1e-6);
    cr_assert_lt(v.predict_rms, 1e-5);
    cr_assert_eq(xf_frontier_validate(us, ds, N, 1, 0.7, &v), XF_OK);
    cr_assert_lt(v.predict_rms, 1e-5);
    /* the best models saturate lower than the weak ones predict */
    for (int i = 0; i < N; i++)
        if (us[i] > 0.8) ds[i] -= 0.3 * (us[i] - 0.8);
    cr_assert_eq(xf_frontier_validate(us, ds, N, 0, 0.7, &v), XF_OK);
    cr_assert_gt(v.predict_rms, 10 * v.fit_rms);
    cr_assert_gt(v.predict_rms, 0.005);
    cr_assert_eq(xf_frontier_validate(us, ds, N, 0, 0, &v), XF_EINVAL);
}

/* A planted column is found, a noise column and a constant one are not;
 * the F-test's numbers for a hand-computed case. */
Test(stats, nested_ftests_find_a_planted_column_only) {
    enum { N = 80 };
    double x[N * 4], y[N];
    xf_rng rng;
    xf_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        double a = xf_rng_normal(&rng), b = xf_rng_normal(&rng);
        x[i * 4 + 0] = 1;
        x[i * 4 + 1] = a;
        x[i * 4 + 2] = b;
        x[i * 4 + 3] = 7; /* constant: no new column next to the intercept */
        y[i] = 0.5 * a + 0.3 * xf_rng_normal(&rng);
    }
    double sse_f, sse_r;
    int rank_f, rank_r;
    xf_ftest t;
    cr_assert_eq(xf_ols_sse(x, N, 4, NULL, y, NULL, &sse_f, &rank_f), XF_OK);
    cr_assert_eq(rank_f, 3);
    const int keep[3][4] = {{1, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0}};
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(xf_ols_sse(x, N, 4, keep[k], y, NULL, &sse_r, &rank_r), XF_OK);
        xf_ftest_nested(sse_r, rank_r, sse_f, rank_f, N, 0, &t);
        if (k == 0)
            cr_assert(t.testable && t.p < 1e-10 && t.partial_r2 > 0.5, "p %g", t.p);
        else if (k == 1)
            cr_assert(t.testable && t.p > 0.01 && t.df_num == 1 && t.df_den == N - 3);
        else
            cr_assert(!t.testable && t.df_num == 0);
    }
    /* the coefficients come back in X's units, NaN for a column left out */
    double exact[N], coef[4];
    for (int i = 0; i < N; i++) exact[i] = 0.2 + 0.5 * x[i * 4 + 1] - 0.7 * x[i * 4 + 2];
    cr_assert_eq(xf_ols_sse(x, N, 4, keep[2], exact, coef, &sse_f, &rank_f), XF_OK);
    cr_assert_float_eq(coef[0], 0.2, 1e-10);
    cr_assert_float_eq(coef[1], 0.5, 1e-10);
    cr_assert_float_eq(coef[2], -0.7, 1e-10);
    cr_assert(isnan(coef[3]));
    cr_assert_lt(sse_f, 1e-18);
    /* (10 - 8) / 1 over 8 / 16: F = 4 on (1, 16), p = P(|t_16| > 2) */
    xf_ftest_nested(10, 2, 8, 3, 20, 1, &t);
    cr_assert_eq(t.df_num, 1);
    cr_assert_eq(t.df_den, 16);
    cr_assert_float_eq(t.f, 4, 1e-12);
    cr_assert_float_eq(t.p, 0.06277, 1e-4);
    cr_assert_float_eq(t.partial_r2, 0.2, 1e-12);
}

Test(stats, spearman_ranks_with_ties) {
    double x[] = {1, 2, 3, 4, 5}, y[] = {10, 20, 30, 40, 50}, z[] = {5, 4, 4, 2, 1};
    cr_assert_float_eq(xf_spearman(x, y, 5), 1, 1e-12);
    /* z's mid-ranks 5, 3.5, 3.5, 2, 1 against 1..5 */
    cr_assert_float_eq(xf_spearman(x, z, 5), -0.9746794344808963, 1e-12);
    double c[] = {1, 1, 1};
    cr_assert(isnan(xf_spearman(x, c, 3)));
}

/* Models on a grid of knobs: US accuracy rises with params and data, DS
 * accuracy is the law of US accuracy plus noise, plus (planted) an epochs
 * effect that US accuracy does not carry. */
static void knob_data(int planted, double *us, double *ds, double *par, double *data,
                      double *ep, double *res, int *fam, int n) {
    xf_rng rng;
    xf_rng_seed(&rng, 11);
    for (int i = 0; i < n; i++) {
        par[i] = 1e4 * pow(2, i % 5);
        ep[i] = 1 + (i / 5) % 3;
        data[i] = 1000 * pow(2, (i / 15) % 4);
        fam[i] = i % 2;
        res[i] = 16 * (1 + i % 3);
        double e_us = 0.7 - 0.05 * log2(par[i] / 1e4) - 0.06 * log2(data[i] / 1000) +
                      0.02 * xf_rng_normal(&rng);
        us[i] = 1 - e_us;
        ds[i] = 1 - (K * pow(e_us, ALPHA) + EIR) + 0.01 * xf_rng_normal(&rng) +
                (planted ? 0.03 * log(ep[i]) : 0);
    }
}

Test(stats, knob_tests_nested_on_the_curve) {
    enum { N = 120 };
    double us[N], ds[N], par[N], data[N], ep[N], res[N];
    int fam[N];
    xf_knob_row row;
    xf_knob_values v = {par, data, ep, res, fam};
    knob_data(1, us, ds, par, data, ep, res, fam, N);
    cr_assert_eq(xf_knobs_test(us, ds, &v, N, &row), XF_OK);
    cr_assert_eq(row.n, N);
    const xf_ftest *e = &row.knob[XF_KNOB_EPOCHS];
    cr_assert(e->testable && e->p < 1e-6 && e->partial_r2 > 0.3, "epochs p %g pr2 %g", e->p,
              e->partial_r2);
    /* the planted 0.03 log(epochs) is 0.0208 DS accuracy per doubling; the
     * family's dummies have no direction */
    cr_assert_float_eq(row.per_doubling[XF_KNOB_EPOCHS], 0.03 * log(2.0), 0.004, "%g",
                       row.per_doubling[XF_KNOB_EPOCHS]);
    cr_assert(isnan(row.per_doubling[XF_KNOB_FAMILY]));
    /* curve (3 parameters) + one column */
    cr_assert_eq(e->df_num, 1);
    cr_assert_eq(e->df_den, N - 4);
    cr_assert(isnan(e->p_holm));
    /* params and data drive US accuracy, and through it DS accuracy: they
     * add nothing beyond it */
    cr_assert_gt(row.knob[XF_KNOB_PARAMS].p, 0.01, "%g", row.knob[XF_KNOB_PARAMS].p);
    cr_assert_gt(row.knob[XF_KNOB_DATA].p, 0.01, "%g", row.knob[XF_KNOB_DATA].p);
    cr_assert_gt(row.knob[XF_KNOB_FAMILY].p, 0.01, "%g", row.knob[XF_KNOB_FAMILY].p);
    knob_data(0, us, ds, par, data, ep, res, fam, N);
    cr_assert_eq(xf_knobs_test(us, ds, &v, N, &row), XF_OK);
    for (int k = 0; k < XF_N_KNOBS; k++) {
        cr_assert(row.knob[k].testable, "%s", xf_knob_name(k));
        cr_assert_gt(row.knob[k].p, 0.001, "%s: p %g", xf_knob_name(k), row.knob[k].p);
    }
    /* one family only: untestable, not an error */
    for (int i = 0; i < N; i++) fam[i] = 0;
    cr_assert_eq(xf_knobs_test(us, ds, &v, N, &row), XF_OK);
    cr_assert(!row.knob[XF_KNOB_FAMILY].testable);
}

/* Checkpoints of a zoo study have no US data size or epochs: those knobs
 * are tested on the models that have them, the others on all. */
Test(stats, knob_tests_use_the_models_that_have_the_knob) {
    enum { N = 120, ZOO = 40 };
    double us[N], ds[N], par[N], data[N], ep[N], res[N];
    int fam[N];
    xf_knob_row row;
    xf_knob_values v = {par, data, ep, res, fam};
    knob_data(1, us, ds, par, data, ep, res, fam, N);
    for (int i = N - ZOO; i < N; i++) data[i] = ep[i] = NAN;
    cr_assert_eq(xf_knobs_test(us, ds, &v, N, &row), XF_OK);
    cr_assert_eq(row.knob[XF_KNOB_PARAMS].df_den, N - 4);
    cr_assert_eq(row.knob[XF_KNOB_RESOLUTION].df_den, N - 4);
    cr_assert_eq(row.knob[XF_KNOB_EPOCHS].df_den, N - ZOO - 4);
    cr_assert_eq(row.knob[XF_KNOB_DATA].df_den, N - ZOO - 4);
    cr_assert_eq(row.knob[XF_KNOB_EXAMPLES].df_den, N - ZOO - 4);
    /* the planted epochs effect is still found on the models with epochs */
    cr_assert_lt(row.knob[XF_KNOB_EPOCHS].p, 1e-6);
    /* a resolution that does not vary says nothing */
    for (int i = 0; i < N; i++) res[i] = 224;
    cr_assert_eq(xf_knobs_test(us, ds, &v, N, &row), XF_OK);
    cr_assert(!row.knob[XF_KNOB_RESOLUTION].testable);
}

Test(stats, holm_adjusts_step_down) {
    double p[] = {0.01, 0.04, 0.03, NAN, 0.005}, adj[5];
    cr_assert_eq(xf_holm_adjust(p, 5, adj), XF_OK);
    cr_assert_float_eq(adj[0], 0.03, 1e-15);
    cr_assert_float_eq(adj[1], 0.06, 1e-15);
    cr_assert_float_eq(adj[2], 0.06, 1e-15);
    cr_assert(isnan(adj[3]));
    cr_assert_float_eq(adj[4], 0.02, 1e-15);
    double q[] = {0.9, 0.8};
    cr_assert_eq(xf_holm_adjust(q, 2, adj), XF_OK);
    cr_assert_eq(adj[0], 1);
    cr_assert_eq(adj[1], 1);
}

/* Both variants are scored on the same held-out points (the upper hull of
 * the models above the threshold), and fewer than 3 give no number. */
Test(stats, validation_scores_both_fits_on_the_same_held_out_hull) {
    enum { N = 40 };
    xf_rng rng;
    xf_rng_seed(&rng, 12);
    double us[N], ds[N];
    synth(&rng, N, 0.03, us, ds);
    xf_validation h, a;
    cr_assert_eq(xf_frontier_validate(us, ds, N, 1, 0.7, &h), XF_OK);
    cr_assert_eq(xf_frontier_validate(us, ds, N, 0, 0.7, &a), XF_OK);
    cr_assert_eq(h.n_test, a.n_test);
    cr_assert_geq(h.n_test, 3);
    cr_assert_lt(h.n_test, 12, "the held-out hull, not all %d held-out models", 12);
    cr_assert(isfinite(h.predict_rms) && isfinite(a.predict_rms));
    cr_assert_eq(xf_frontier_validate(us, ds, N, 1, 0.98, &h), XF_OK);
    cr_assert_lt(h.n_test, 3);
    cr_assert(isnan(h.predict_rms));
}

/* The stochastic frontier recovers a planted frontier from models that
 * fall short of it, where the all-points least-squares fit cannot. */
Test(stats, stochastic_frontier_recovers_the_planted_frontier) {
    enum { N = 60 };
    xf_rng rng;
    xf_rng_seed(&rng, 31);
    double us[N], ds[N], se[N];
    for (int i = 0; i < N; i++) {
        double e = 0.05 + 0.6 * xf_rng_uniform(&rng);
        double d = K * pow(e, ALPHA) + EIR + 0.05 * fabs(xf_rng_normal(&rng)) -
                   0.01 * xf_rng_normal(&rng);
        us[i] = 1 - e;
        ds[i] = 1 - d;
        se[i] = 0.01;
    }
    xf_sfrontier f;
    cr_assert_eq(xf_sfrontier_fit(us, ds, se, N, 1, &f), XF_OK);
    cr_assert_eq(f.status, XF_SATFIT_OK);
    cr_assert(f.ci[XF_SF_EIR][0] <= EIR && EIR <= f.ci[XF_SF_EIR][1], "[%g, %g]",
              f.ci[XF_SF_EIR][0], f.ci[XF_SF_EIR][1]);
    cr_assert(f.ci[XF_SF_EIR][0] <= f.e_ir && f.e_ir <= f.ci[XF_SF_EIR][1]);
    cr_assert_float_eq(f.sigma_u, 0.05, 0.02);
    cr_assert(isnan(f.sigma_v));
    xf_satfit ls;
    cr_assert_eq(xf_satfit_accuracies(us, ds, N, &ls), XF_OK);
    cr_assert_gt(ls.e_ir - EIR, 0.02, "least squares sits inside the cloud: %g", ls.e_ir);
    cr_assert_eq(xf_sfrontier_fit(us, ds, se, 7, 1, &f), XF_OK);
    cr_assert_eq(f.status, XF_SATFIT_UNDERDETERMINED);
}
