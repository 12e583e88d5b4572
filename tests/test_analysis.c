#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/csvpoints.h"
#include "analysis/hull.h"
#include "analysis/satfit.h"
#include "analysis/setfit.h"
#include "core/rng.h"
#include "core/status.h"
#include "support.h"

/* Runs the hull (whole, or rising part) and checks the kept indices, in order. */
static void expect_hull_mode(const double *x, const double *y, int n, int mode, const int *want,
                             int n_want) {
    int hull[64], n_hull = -1;
    cr_assert_eq(xf_hull_upper_mode(x, y, n, mode, hull, &n_hull), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(n_hull, n_want, "kept %d points, want %d", n_hull, n_want);
    for (int i = 0; i < n_want; i++)
        cr_assert_eq(hull[i], want[i], "hull[%d] = %d, want %d", i, hull[i], want[i]);
}

static void expect_hull(const double *x, const double *y, int n, const int *want, int n_want) {
    expect_hull_mode(x, y, n, XF_HULL_WHOLE, want, n_want);
}

Test(analysis, hull_single_point_and_empty) {
    double x[] = {0.4}, y[] = {0.7};
    expect_hull(x, y, 1, (int[]){0}, 1);
    expect_hull(x, y, 0, NULL, 0);
}

Test(analysis, hull_two_points) {
    double x[] = {0.8, 0.3}, y[] = {0.6, 0.5};
    expect_hull(x, y, 2, (int[]){1, 0}, 2); /* rising: both, in increasing x */
    double yd[] = {0.4, 0.5};
    expect_hull(x, yd, 2, (int[]){1, 0}, 2); /* falling: the whole hull keeps both */
    expect_hull_mode(x, yd, 2, XF_HULL_RISING, (int[]){1}, 1); /* the right one declines */
}

Test(analysis, hull_collinear_interior_points_dropped) {
    double x[] = {0.0, 0.5, 1.0, 0.25}, y[] = {0.0, 0.5, 1.0, 0.25};
    expect_hull(x, y, 4, (int[]){0, 2}, 2);
}

Test(analysis, hull_same_x_keeps_the_best) {
    double x[] = {0.5, 0.5, 0.7, 0.5}, y[] = {0.1, 0.3, 0.4, 0.2};
    expect_hull(x, y, 4, (int[]){1, 2}, 2);
    /* also at the left end, where the chain has nothing to pop against */
    double x2[] = {0.2, 0.2, 0.6}, y2[] = {0.1, 0.5, 0.9};
    expect_hull(x2, y2, 3, (int[]){1, 2}, 2);
    /* exact duplicates: one of them, the first */
    double x3[] = {0.3, 0.3}, y3[] = {0.4, 0.4};
    expect_hull(x3, y3, 2, (int[]){0}, 1);
}

Test(analysis, hull_points_below_excluded) {
    /* A concave frontier 0,2,4,6 with points under it (1, 3, 5). */
    double x[] = {0.1, 0.3, 0.2, 0.5, 0.6, 0.7, 0.9};
    double y[] = {0.2, 0.3, 0.5, 0.55, 0.7, 0.6, 0.75};
    expect_hull(x, y, 7, (int[]){0, 2, 4, 6}, 4);
    /* a point just under the chord of two vertices is out, just above is in */
    double xc[] = {0.0, 0.5, 1.0}, yc[] = {0.0, 0.5 - 1e-9, 1.0};
    expect_hull(xc, yc, 3, (int[]){0, 2}, 2);
    yc[1] = 0.5 + 1e-9;
    expect_hull(xc, yc, 3, (int[]){0, 1, 2}, 3);
}

Test(analysis, hull_keeps_falling_tail_rising_mode_drops_it) {
    double x[] = {0.1, 0.5, 0.9, 0.95}, y[] = {0.2, 0.6, 0.5, 0.3};
    expect_hull(x, y, 4, (int[]){0, 1, 2, 3}, 4);
    expect_hull_mode(x, y, 4, XF_HULL_RISING, (int[]){0, 1}, 2);
    double yf[] = {0.2, 0.6, 0.6, 0.3};
    expect_hull_mode(x, yf, 4, XF_HULL_RISING, (int[]){0, 1, 2}, 3);
    xf_hull_decline d;
    xf_hull_decline_of(x, y, 4, &d);
    cr_assert_eq(d.peak_x, 0.5);
    cr_assert_eq(d.peak_y, 0.6);
    cr_assert_float_eq(d.drop, 0.3, 1e-15);
    cr_assert_eq(d.n_after, 2);
    xf_hull_decline_of(x, yf, 4, &d);
    cr_assert_float_eq(d.drop, 0.3, 1e-15);
    double yr[] = {0.2, 0.6, 0.7, 0.75};
    xf_hull_decline_of(x, yr, 4, &d);
    cr_assert_eq(d.drop, 0);
    cr_assert_eq(d.n_after, 0);
}

Test(analysis, hull_rejects_nan) {
    double x[] = {0.1, NAN}, y[] = {0.2, 0.3};
    int hull[2], n;
    cr_assert_eq(xf_hull_upper(x, y, 2, hull, &n), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "point 1"), "%s", xf_error_message());
}

static const double K = 0.6, ALPHA = 1.3, EIR = 0.08;

static double law(double e) { return K * pow(e, ALPHA) + EIR; }

Test(analysis, satfit_exact_recovery_without_noise) {
    double eu[30], ed[30];
    for (int i = 0; i < 30; i++) {
        eu[i] = 0.05 + 0.55 * i / 29.0;
        ed[i] = law(eu[i]);
    }
    xf_satfit f;
    cr_assert_eq(xf_satfit_errors(eu, ed, 30, &f), XF_OK, "%s", xf_error_message());
    cr_assert_eq(f.status, XF_SATFIT_OK);
    cr_assert_eq(f.n, 30);
    cr_assert(fabs(f.k - K) < 1e-6, "k %.10g", f.k);
    cr_assert(fabs(f.alpha - ALPHA) < 1e-6, "alpha %.10g", f.alpha);
    cr_assert(fabs(f.e_ir - EIR) < 1e-6, "e_ir %.10g", f.e_ir);
    cr_assert(f.rms < 1e-8, "rms %g", f.rms);
    cr_assert(fabs(xf_satfit_predict(&f, 0.3) - law(0.3)) < 1e-8);
    cr_assert(fabs(xf_satfit_saturation(&f) - (1 - EIR)) < 1e-6);
}

/* Inverse of a symmetric 3x3 matrix by cofactors. */
static void inverse3(const double a[3][3], double inv[3][3]) {
    double c00 = a[1][1] * a[2][2] - a[1][2] * a[2][1];
    double c01 = a[1][2] * a[2][0] - a[1][0] * a[2][2];
    double c02 = a[1][0] * a[2][1] - a[1][1] * a[2][0];
    double det = a[0][0] * c00 + a[0][1] * c01 + a[0][2] * c02;
    inv[0][0] = c00 / det;
    inv[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / det;
    inv[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / det;
    inv[0][1] = inv[1][0] = c01 / det;
    inv[0][2] = inv[2][0] = c02 / det;
    inv[1][2] = inv[2][1] = (a[0][2] * a[1][0] - a[0][0] * a[1][2]) / det;
}

/* 30 points with noise sd 0.002. The tolerance is 4 standard errors of each
 * parameter from the linearised least-squares covariance sd^2 (J^T J)^-1 at
 * the true parameters, so a correct fitter fails with probability ~1e-4 per
 * parameter for an arbitrary seed (and the seed is fixed). Independently of
 * noise, a least-squares minimum cannot be worse than the true parameters. */
Test(analysis, satfit_recovers_known_parameters_from_noisy_points) {
    enum { N = 30 };
    const double sd = 0.002;
    double eu[N], ed[N], jtj[3][3] = {{0}}, cov[3][3];
    xf_rng rng;
    xf_rng_seed(&rng, 2021);
    for (int i = 0; i < N; i++) {
        eu[i] = 0.05 + 0.55 * xf_rng_uniform(&rng);
        ed[i] = law(eu[i]) + sd * xf_rng_normal(&rng);
        double g[3] = {pow(eu[i], ALPHA), K * pow(eu[i], ALPHA) * log(eu[i]), 1};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) jtj[a][b] += g[a] * g[b];
    }
    inverse3(jtj, cov);
    xf_satfit f;
    cr_assert_eq(xf_satfit_errors(eu, ed, N, &f), XF_OK, "%s", xf_error_message());
    cr_assert_eq(f.status, XF_SATFIT_OK);
    double got[3] = {f.k, f.alpha, f.e_ir}, want[3] = {K, ALPHA, EIR};
    const char *name[3] = {"k", "alpha", "e_ir"};
    for (int p = 0; p < 3; p++) {
        double se = sd * sqrt(cov[p][p]);
        cr_assert(se < 0.5 * want[p], "%s: the design cannot identify it (se %g)", name[p], se);
        cr_assert(fabs(got[p] - want[p]) < 4 * se, "%s = %g, want %g +- %g", name[p], got[p],
                  want[p], 4 * se);
    }
    double sse_true = 0;
    for (int i = 0; i < N; i++) sse_true += (ed[i] - law(eu[i])) * (ed[i] - law(eu[i]));
    cr_assert(f.sse <= sse_true + 1e-15, "fit sse %g > sse at truth %g", f.sse, sse_true);
    cr_assert(fabs(f.rms - sqrt(f.sse / N)) < 1e-15);
    cr_assert(f.rms > 0.5 * sd && f.rms < 1.5 * sd, "rms %g for noise sd %g", f.rms, sd);
}

Test(analysis, satfit_keeps_e_ir_at_zero_when_data_want_it_negative) {
    /* e_DS = 0.5 e_US - 0.05: the unconstrained line has intercept -0.05. */
    double eu[20], ed[20];
    for (int i = 0; i < 20; i++) {
        eu[i] = 0.2 + 0.7 * i / 19.0;
        ed[i] = 0.5 * eu[i] - 0.05;
    }
    xf_satfit f;
    cr_assert_eq(xf_satfit_errors(eu, ed, 20, &f), XF_OK, "%s", xf_error_message());
    cr_assert_eq(f.e_ir, 0.0, "e_ir %g", f.e_ir);
    cr_assert(f.k > 0 && f.alpha > 1, "k %g alpha %g: a steeper power replaces the offset", f.k,
              f.alpha);
    /* no worse than the best feasible straight line through the origin */
    double sxy = 0, sxx = 0, sse_line = 0;
    for (int i = 0; i < 20; i++) {
        sxy += eu[i] * ed[i];
        sxx += eu[i] * eu[i];
    }
    for (int i = 0; i < 20; i++) sse_line += pow(ed[i] - sxy / sxx * eu[i], 2);
    cr_assert(f.sse < sse_line, "sse %g vs line %g", f.sse, sse_line);
    for (int i = 0; i < 20; i++) cr_assert(xf_satfit_predict(&f, eu[i]) >= 0);
}

Test(analysis, satfit_flat_when_ds_error_rises_as_us_error_falls) {
    double eu[] = {0.1, 0.3, 0.5, 0.7}, ed[] = {0.48, 0.44, 0.40, 0.36};
    xf_satfit f;
    cr_assert_eq(xf_satfit_errors(eu, ed, 4, &f), XF_OK);
    cr_assert_eq(f.status, XF_SATFIT_FLAT);
    cr_assert_eq(f.k, 0.0);
    cr_assert(fabs(f.e_ir - 0.42) < 1e-12, "e_ir %g is the mean", f.e_ir);
    cr_assert(fabs(xf_satfit_predict(&f, 0.05) - 0.42) < 1e-12);
}

Test(analysis, satfit_underdetermined_below_three_distinct_us_errors) {
    double eu[] = {0.2, 0.4, 0.4}, ed[] = {0.3, 0.5, 0.45};
    xf_satfit f;
    cr_assert_eq(xf_satfit_errors(eu, ed, 2, &f), XF_OK);
    cr_assert_eq(f.status, XF_SATFIT_UNDERDETERMINED);
    cr_assert_eq(f.n, 2);
    cr_assert(isnan(f.k) && isnan(f.alpha) && isnan(f.e_ir));
    cr_assert_eq(xf_satfit_errors(eu, ed, 3, &f), XF_OK);
    cr_assert_eq(f.status, XF_SATFIT_UNDERDETERMINED);
    cr_assert(isnan(xf_satfit_predict(&f, 0.1)));
    cr_assert_str_eq(xf_satfit_status_name(f.status), "underdetermined");
}

Test(analysis, satfit_rejects_errors_outside_unit_interval) {
    double eu[] = {0.2, 1.5, 0.4}, ed[] = {0.3, 0.5, 0.45};
    xf_satfit f;
    cr_assert_eq(xf_satfit_errors(eu, ed, 3, &f), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "point 1: US error 1.5"), "%s", xf_error_message());
}

/* Points on the law (a concave frontier for alpha > 1) plus dominated models
 * under it: the set fit keeps exactly the frontier and recovers the law,
 * while a fit of all points is pulled off. */
Test(analysis, set_fit_uses_the_hull) {
    enum { ON = 12, UNDER = 20 };
    xf_point pts[ON + UNDER];
    xf_rng rng;
    xf_rng_seed(&rng, 5);
    for (int i = 0; i < ON + UNDER; i++) {
        double e = i < ON ? 0.05 + 0.5 * i / (ON - 1.0) : 0.1 + 0.4 * xf_rng_uniform(&rng);
        double drop = i < ON ? 0 : 0.03 + 0.1 * xf_rng_uniform(&rng);
        pts[i] = (xf_point){.us_acc = 1 - e, .ds_acc = 1 - law(e) - drop, .params = 1000};
        snprintf(pts[i].trial_id, sizeof pts[i].trial_id, "t%02d", i);
        snprintf(pts[i].family, sizeof pts[i].family, "mlp");
    }
    xf_point_set set = {.ds_task = "digits", .shots = 10, .points = pts, .n_points = ON + UNDER};
    xf_set_fit *fits;
    cr_assert_eq(xf_set_fits_compute(&set, 1, &fits), XF_OK, "%s", xf_error_message());
    cr_assert_str_eq(fits[0].ds_task, "digits");
    cr_assert_eq(fits[0].shots, 10);
    cr_assert_eq(fits[0].n_points, ON + UNDER);
    cr_assert_eq(fits[0].n_hull, ON);
    for (int i = 0; i < ON; i++) cr_assert_eq(fits[0].hull[i], ON - 1 - i); /* rising US acc */
    cr_assert(fabs(fits[0].fit.k - K) < 1e-6 && fabs(fits[0].fit.alpha - ALPHA) < 1e-6 &&
                  fabs(fits[0].fit.e_ir - EIR) < 1e-6,
              "k %g alpha %g e_ir %g", fits[0].fit.k, fits[0].fit.alpha, fits[0].fit.e_ir);
    double us[ON + UNDER], ds[ON + UNDER];
    for (int i = 0; i < ON + UNDER; i++) {
        us[i] = pts[i].us_acc;
        ds[i] = pts[i].ds_acc;
    }
    xf_satfit all;
    cr_assert_eq(xf_satfit_accuracies(us, ds, ON + UNDER, &all), XF_OK);
    cr_assert(fabs(all.e_ir - EIR) > 0.01, "all-points e_ir %g", all.e_ir);
    xf_set_fits_free(fits, 1);
}

static char *write_tmp_csv(const char *text) {
    char *dir = test_tmpdir();
    cr_assert_not_null(dir);
    char *path = malloc(strlen(dir) + 16);
    sprintf(path, "%s/acc.csv", dir);
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    free(dir);
    return path;
}

static void remove_tmp_csv(char *path) {
    remove(path);
    *strrchr(path, '/') = 0;
    remove(path);
    free(path);
}

Test(analysis, csv_points_grouped_with_quotes_and_crlf) {
    char *path = write_tmp_csv("model,\"task, name\",us,ds\r\n"
                               "a,\"x \"\"1\"\"\",0.5,0.4\r\n"
                               "b,y,0.6,0.45\r\n"
                               "\r\n"
                               "c,\"x \"\"1\"\"\",0.7, 0.5\r\n");
    xf_point_set *sets;
    int n;
    cr_assert_eq(xf_csv_point_sets(path, "us", "ds", "task, name", &sets, &n), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(n, 2);
    cr_assert_str_eq(sets[0].ds_task, "x \"1\"");
    cr_assert_eq(sets[0].n_points, 2);
    cr_assert_eq(sets[0].points[1].us_acc, 0.7);
    cr_assert_eq(sets[0].points[1].ds_acc, 0.5);
    cr_assert_str_eq(sets[0].points[1].trial_id, "line 5");
    cr_assert_str_eq(sets[1].ds_task, "y");
    cr_assert_eq(sets[1].points[0].ds_acc, 0.45);
    xf_csv_point_sets_free(sets, n);
    cr_assert_eq(xf_csv_point_sets(path, "us", "ds", NULL, &sets, &n), XF_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(sets[0].ds_task, "all");
    cr_assert_eq(sets[0].n_points, 3);
    xf_csv_point_sets_free(sets, n);
    remove_tmp_csv(path);
}

Test(analysis, csv_points_errors_name_line_and_column) {
    char *path = write_tmp_csv("us,ds\n0.5,0.4\n0.6,abc\n");
    xf_point_set *sets;
    int n;
    cr_assert_eq(xf_csv_point_sets(path, "us", "ds", NULL, &sets, &n), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "acc.csv: line 3: column 'ds': 'abc' is not a number"),
              "%s", xf_error_message());
    cr_assert_null(sets);
    cr_assert_eq(xf_csv_point_sets(path, "us", "acc", NULL, &sets, &n), XF_ENOTFOUND);
    cr_assert(strstr(xf_error_message(), "no column named 'acc'"), "%s", xf_error_message());
    remove_tmp_csv(path);
    path = write_tmp_csv("us,ds\n0.5,40\n");
    cr_assert_eq(xf_csv_point_sets(path, "us", "ds", NULL, &sets, &n), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "line 2: column 'ds': 40 is not an accuracy in [0, 1]"),
              "%s", xf_error_message());
    remove_tmp_csv(path);
    path = write_tmp_csv("us,ds\n0.5,\"0.4\n");
    cr_assert_eq(xf_csv_point_sets(path, "us", "ds", NULL, &sets, &n), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "line 2: unterminated"), "%s", xf_error_message());
    remove_tmp_csv(path);
}

/* tools/fit_reference.py --fixtures wrote hull points and SciPy's fit of
 * them; xfer must agree to 1e-3 relative in every parameter, or reach the
 * same SSE within 1e-6 where the optimum is flat. */
Test(analysis, satfit_agrees_with_scipy_on_fixtures) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/fit/expected.csv", test_root());
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, f));
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64];
        int n_hull;
        double k, alpha, e_ir, sse;
        cr_assert_eq(sscanf(line, "%63[^,],%d,%lf,%lf,%lf,%lf", name, &n_hull, &k, &alpha, &e_ir,
                            &sse), 6, "%s", line);
        char csv[1024];
        snprintf(csv, sizeof csv, "%s/tests/fixtures/fit/%s.csv", test_root(), name);
        xf_point_set *sets;
        int n_sets;
        cr_assert_eq(xf_csv_point_sets(csv, "us_acc", "ds_acc", NULL, &sets, &n_sets), XF_OK, "%s",
                     xf_error_message());
        xf_set_fit *fits;
        xf_fit_options o = xf_fit_options_default();
        o.bootstrap = 0;
        cr_assert_eq(xf_set_fits_compute_opts(sets, n_sets, &o, &fits), XF_OK);
        const xf_satfit *fit = &fits[0].fit;
        cr_assert_eq(fits[0].n_hull, n_hull, "%s: hull %d, SciPy's %d", name, fits[0].n_hull,
                     n_hull);
        int same = fabs(fit->k - k) <= 1e-3 * k && fabs(fit->alpha - alpha) <= 1e-3 * alpha &&
                   fabs(fit->e_ir - e_ir) <= 1e-3 * fmax(e_ir, 1e-3);
        cr_assert(same || fabs(fit->sse - sse) <= 1e-6, "%s: xfer k %g alpha %g e_IR %g sse %g",
                  name, fit->k, fit->alpha, fit->e_ir, fit->sse);
        cr_assert_leq(fit->sse, sse * (1 + 1e-9) + 1e-15, "%s: worse than SciPy", name);
        xf_set_fits_free(fits, n_sets);
        xf_csv_point_sets_free(sets, n_sets);
        cases++;
    }
    fclose(f);
    cr_assert_eq(cases, 4);
}

Test(analysis, csv_points_in_percent) {
    char *path = write_tmp_csv("us,ds\n50,40\n60,45.5\n0.5,1\n");
    xf_point_set *sets;
    int n;
    cr_assert_eq(xf_csv_point_sets_scaled(path, "us", "ds", NULL, 100, &sets, &n), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(sets[0].n_points, 3);
    cr_assert_float_eq(sets[0].points[1].ds_acc, 0.455, 1e-15);
    cr_assert_float_eq(sets[0].points[2].us_acc, 0.005, 1e-15);
    xf_csv_point_sets_free(sets, n);
    /* without --percent the same file is refused, with the hint */
    cr_assert_eq(xf_csv_point_sets(path, "us", "ds", NULL, &sets, &n), XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "50 is not an accuracy in [0, 1] (percentages? use "
                                         "--percent)"),
              "%s", xf_error_message());
    remove_tmp_csv(path);
    /* a file of fractions given as percentages, and a percentage over 100 */
    const char *bad[2][2] = {{"us,ds\n0.5,0.4\n0.9,1.0\n",
                              "every value is below 1.5, so they hold fractions"},
                             {"us,ds\n50,101\n", "101 is not an accuracy in [0, 100]"}};
    for (int i = 0; i < 2; i++) {
        path = write_tmp_csv(bad[i][0]);
        cr_assert_eq(xf_csv_point_sets_scaled(path, "us", "ds", NULL, 100, &sets, &n),
                     XF_EFORMAT);
        cr_assert(strstr(xf_error_message(), bad[i][1]), "%s", xf_error_message());
        cr_assert_null(sets);
        remove_tmp_csv(path);
    }
}

/* `xfer fit FILE.csv --percent` fits the same law as the fraction file. */
Test(analysis, fit_cli_reads_a_percent_csv) {
    char *path = write_tmp_csv("us,ds\n50,30\n60,40\n70,47\n80,52\n90,55\n");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s fit %s --us us --ds ds --percent --json > %s.out 2>&1",
             test_xfer_bin(), path, path);
    cr_assert_eq(test_system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s.out", path);
    FILE *f = fopen(cmd, "r");
    cr_assert_not_null(f);
    char out[8192];
    size_t len = fread(out, 1, sizeof out - 1, f);
    out[len] = 0;
    fclose(f);
    remove(cmd);
    cr_assert(strstr(out, "\"n_points\":\t5"), "%s", out);
    cr_assert(strstr(out, "\"status\":\t\"ok\""), "%s", out);
    snprintf(cmd, sizeof cmd, "%s fit %s --us us --ds ds > /dev/null 2>&1", test_xfer_bin(), path);
    cr_assert_neq(test_system(cmd), 0, "a percent file without --percent must fail");
    remove_tmp_csv(path);
}

/* Sets fitted on several threads get exactly the numbers of one thread
 * (each set draws its bootstrap from its own seed), and a set that fails
 * is reported as a serial run reports it. */
Test(analysis, set_fits_do_not_depend_on_the_thread_count) {
    enum { SETS = 18, POINTS = 24 };
    xf_point pts[SETS][POINTS];
    xf_point_set sets[SETS];
    xf_rng rng;
    xf_rng_seed(&rng, 5);
    for (int s = 0; s < SETS; s++) {
        for (int i = 0; i < POINTS; i++) {
            double e_us = 0.08 + 0.6 * i / (POINTS - 1);
            double e_ds = 0.3 * pow(e_us, 1.2) + 0.1 + 0.01 * s +
                          fabs(0.03 * xf_rng_normal(&rng)); /* shortfall below the law */
            pts[s][i] = (xf_point){.us_acc = 1 - e_us, .ds_acc = 1 - e_ds, .draws = 3,
                                   .ds_draw_sd = 0.01};
            snprintf(pts[s][i].trial_id, sizeof pts[s][i].trial_id, "t%d", i);
        }
        sets[s] = (xf_point_set){.shots = s + 1, .points = pts[s], .n_points = POINTS,
                                 .ds_test_size = 1000};
        snprintf(sets[s].ds_task, sizeof sets[s].ds_task, "ds%d", s);
    }
    xf_fit_options o = xf_fit_options_default();
    o.bootstrap = 20;
    xf_set_fit *fits[2];
    for (int k = 0; k < 2; k++) {
        o.threads = k ? 3 : 1;
        cr_assert_eq(xf_set_fits_compute_opts(sets, SETS, &o, &fits[k]), XF_OK, "%s",
                     xf_error_message());
    }
#define SAME(x) cr_assert(a->x == b->x || (isnan(a->x) && isnan(b->x)), "set %d: " #x, s)
    for (int s = 0; s < SETS; s++) {
        const xf_set_fit *a = &fits[0][s], *b = &fits[1][s];
        SAME(fit.k);
        SAME(fit.alpha);
        SAME(fit.e_ir);
        SAME(fit.sse);
        SAME(fit_all.k);
        SAME(fit_all.alpha);
        SAME(fit_all.e_ir);
        SAME(ci.e_ir[0]);
        SAME(ci.e_ir[1]);
        SAME(ci_all.k[0]);
        SAME(ci_all.k[1]);
        SAME(val.predict_rms);
        SAME(val_all.predict_rms);
        SAME(frontier.k);
        SAME(frontier.alpha);
        SAME(frontier.e_ir);
        SAME(frontier.sigma_u);
        SAME(frontier.ci[2][0]);
        SAME(frontier.ci[2][1]);
        SAME(frontier.loglik);
        cr_assert_eq(a->n_hull, b->n_hull);
        cr_assert_eq(memcmp(a->hull, b->hull, (size_t)a->n_hull * sizeof *a->hull), 0);
    }
#undef SAME
    for (int k = 0; k < 2; k++) xf_set_fits_free(fits[k], SETS);

    /* a NaN accuracy in set 7 fails the fit, named as with one thread */
    pts[7][3].ds_acc = NAN;
    char messages[2][XF_ERROR_CAPACITY];
    for (int k = 0; k < 2; k++) {
        o.threads = k ? 3 : 1;
        xf_set_fit *none = NULL;
        cr_assert_neq(xf_set_fits_compute_opts(sets, SETS, &o, &none), XF_OK);
        cr_assert_null(none);
        snprintf(messages[k], sizeof messages[k], "%s", xf_error_message());
    }
    cr_assert(strstr(messages[0], "ds7"), "%s", messages[0]);
    cr_assert_str_eq(messages[1], messages[0]);
}
