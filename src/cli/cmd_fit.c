/* xfer fit: the saturation fit of every (US task, DS task, shots) set of a
 * study, or of any CSV file of accuracies. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/csvpoints.h"
#include "analysis/setfit.h"
#include "analysis/study.h"
#include "analysis/studydir.h"
#include "cli/commands.h"
#include "report/json.h"
#include "report/report.h"
#include "study/store.h"

static const char usage[] =
    "xfer fit DIR [--json] [--bootstrap N] [--seed S] [--quantile Q]\n"
    "       xfer fit FILE.csv --us COL --ds COL [--group COL] [--percent] [--json] [...]";

static void print_help(void) {
    printf("usage: %s\n\n"
           "Fits e_DS = k * e_US^alpha + e_IR (e = 1 - accuracy) to the whole upper hull of the\n"
           "(US accuracy, DS accuracy) points and prints k, alpha, e_IR, the saturation\n"
           "accuracy 1 - e_IR and the RMS error of the fit.\n\n"
           "  DIR          a study directory holding study.db (made by 'xfer study'); one fit per\n"
           "               (US task, DS task, shots), at the last layer, averaged over draws\n"
           "               (a us_task column when the study has several US tasks)\n"
           "  FILE.csv     any CSV file with a header row; accuracies in [0, 1]\n"
           "  --us COL     the CSV column of US accuracies\n"
           "  --ds COL     the CSV column of DS accuracies\n"
           "  --group COL  fit each value of this column separately\n"
           "  --percent    the CSV accuracies are in 0..100 (refused if all are below 1.5)\n"
           "  --json       print JSON instead of a table: for DIR every analysis of the\n"
           "               report (fits with intervals and validation, knobs, layers,\n"
           "               head wd/lr sweeps, US diversity, cost); for a CSV the fits\n"
           "  --bootstrap N  also bootstrap the least-squares fits (JSON, report; default 0)\n"
           "  --seed S     bootstrap seed (default 1)\n"
           "  --quantile Q validation: fit on US accuracy up to this quantile (0.7)\n\n"
           "The 95%% intervals are those of the stochastic frontier (docs/analysis.md): the\n"
           "best DS accuracy reachable at each US accuracy, fitted by maximum likelihood to\n"
           "models that fall short of it plus probe noise; it needs %d models with 4\n"
           "distinct US accuracies, otherwise no interval is printed ('-'). A hull fit\n"
           "needs 3 hull points with distinct US accuracy; with fewer the row says\n"
           "'underdetermined'. 'flat' means DS accuracy does not rise with US accuracy.\n",
           usage, XF_SFRONTIER_MIN_POINTS);
}

static int print_json(cJSON *root) {
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return cli_fail(xf_fail(XF_ENOMEM, "out of memory writing JSON"), "fit");
    printf("%s\n", text);
    free(text);
    return 0;
}

/* A table cell: the number, or "-" where the fit has none. */
static const char *cell(char *buf, size_t cap, const char *fmt, double v) {
    if (isnan(v)) return "-";
    snprintf(buf, cap, fmt, v);
    return buf;
}

/* The US task column: as wide as the longest name when the study has
 * several US tasks, absent (0) otherwise. */
static int us_width(const xf_set_fit *fits, int n) {
    if (xf_set_fits_us_tasks(fits, n) < 2) return 0;
    int w = (int)strlen("us_task");
    for (int i = 0; i < n; i++)
        if ((int)strlen(fits[i].us_task) > w) w = (int)strlen(fits[i].us_task);
    return w;
}

/* The US task cell and its separator, or nothing. */
static void print_us(int width, const char *us_task) {
    if (width) printf("%-*s ", width, us_task);
}

static void print_table(const xf_set_fit *fits, int n, int csv_mode) {
    int uw = csv_mode ? 0 : us_width(fits, n);
    print_us(uw, "us_task");
    printf("%-20s %5s %6s %5s %9s %9s %9s %10s %9s  %s\n", csv_mode ? "group" : "ds_task",
           csv_mode ? "" : "shots", "points", "hull", "k", "alpha", "e_IR", "saturation", "rms",
           "fit");
    for (int i = 0; i < n; i++) {
        const xf_set_fit *s = &fits[i];
        char shots[16] = "", c[5][32];
        if (!csv_mode) snprintf(shots, sizeof shots, "%d", s->shots);
        print_us(uw, s->us_task);
        printf("%-20s %5s %6d %5d %9s %9s %9s %10s %9s  %s\n", s->ds_task, shots, s->n_points,
               s->n_hull, cell(c[0], 32, "%.4g", s->fit.k), cell(c[1], 32, "%.4g", s->fit.alpha),
               cell(c[2], 32, "%.4f", s->fit.e_ir),
               cell(c[3], 32, "%.4f", xf_satfit_saturation(&s->fit)),
               cell(c[4], 32, "%.3g", s->fit.rms), xf_satfit_status_name(s->fit.status));
    }
    if (n == 0) {
        printf("(no finished trials with probes yet)\n");
        return;
    }
    printf("\n");
    print_us(uw, "us_task");
    printf("%-20s %5s  %-8s %-23s %-23s %-23s %s\n", csv_mode ? "group" : "ds_task",
           csv_mode ? "" : "shots", "frontier", "k 95%", "alpha 95%", "e_IR 95%",
           "validation rms fit/predict (held-out hull points)");
    for (int i = 0; i < n; i++) {
        const xf_set_fit *s = &fits[i];
        char shots[16] = "", c[4][48];
        if (!csv_mode) snprintf(shots, sizeof shots, "%d", s->shots);
        xf_interval_text(c[0], 48, "%.4g", s->frontier.ci[XF_SF_K]);
        xf_interval_text(c[1], 48, "%.4g", s->frontier.ci[XF_SF_ALPHA]);
        xf_interval_text(c[2], 48, "%.4f", s->frontier.ci[XF_SF_EIR]);
        print_us(uw, s->us_task);
        printf("%-20s %5s  %-8s %-23s %-23s %-23s ", s->ds_task, shots,
               cell(c[3], 48, "%.4f", s->frontier.e_ir), c[0], c[1], c[2]);
        if (s->val.n_test < XF_VALIDATION_MIN_TEST)
            printf("fewer than %d held-out hull points (%d)\n", XF_VALIDATION_MIN_TEST,
                   s->val.n_test);
        else
            printf("hull %.3g/%.3g, all %.3g/%.3g (%d)\n", s->val.fit_rms, s->val.predict_rms,
                   s->val_all.fit_rms, s->val_all.predict_rms, s->val.n_test);
    }
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int parse_num(const char *flag, const char *text, double lo, double hi, double *out) {
    char *end;
    double v = strtod(text, &end);
    if (*text == 0 || *end != 0 || !(v >= lo && v <= hi)) {
        fprintf(stderr, "xfer fit: %s '%s': expected a number in [%g, %g]\n", flag, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_fit(int argc, char **argv) {
    const char *input = NULL, *us = NULL, *ds = NULL, *group = NULL;
    const char *boot = NULL, *seed = NULL, *quant = NULL;
    int json = 0, percent = 0;
    for (int i = 1; i < argc; i++) {
        const char **value = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--percent") == 0) {
            percent = 1;
        } else if (strcmp(argv[i], "--us") == 0) {
            value = &us;
        } else if (strcmp(argv[i], "--ds") == 0) {
            value = &ds;
        } else if (strcmp(argv[i], "--group") == 0) {
            value = &group;
        } else if (strcmp(argv[i], "--bootstrap") == 0) {
            value = &boot;
        } else if (strcmp(argv[i], "--seed") == 0) {
            value = &seed;
        } else if (strcmp(argv[i], "--quantile") == 0) {
            value = &quant;
        } else if (argv[i][0] == '-' || input) {
            fprintf(stderr, "xfer fit: unexpected argument '%s'\n", argv[i]);
            return cli_usage(usage);
        } else {
            input = argv[i];
        }
        if (value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "xfer fit: %s needs a value\n", argv[i]);
                return cli_usage(usage);
            }
            *value = argv[++i];
        }
    }
    if (!input) return cli_usage(usage);
    xf_fit_options opts = xf_fit_options_default();
    double v;
    if (boot) {
        if (parse_num("--bootstrap", boot, 0, 100000, &v)) return 2;
        opts.bootstrap = (int)v;
    }
    if (seed) {
        if (parse_num("--seed", seed, 0, 1e18, &v)) return 2;
        opts.seed = (uint64_t)v;
    }
    if (quant) {
        if (parse_num("--quantile", quant, 1e-9, 1, &v)) return 2;
        opts.quantile = v;
    }
    int csv_mode = us || ds || group || percent || ends_with(input, ".csv");
    if (csv_mode && (!us || !ds)) {
        fprintf(stderr, "xfer fit: a CSV file needs --us COL and --ds COL\n");
        return cli_usage(usage);
    }
    if (!csv_mode) {
        xf_study_results r;
        xf_status st = xf_study_analyse(input, &opts, &r);
        if (st != XF_OK) return cli_fail(st, "fit");
        int rc = 0;
        if (json) rc = print_json(xf_results_json(&r));
        else print_table(r.fits, r.n_sets, 0);
        xf_study_results_free(&r);
        return rc;
    }
    xf_point_set *sets = NULL;
    int n_sets = 0;
    xf_status st =
        xf_csv_point_sets_scaled(input, us, ds, group, percent ? 100 : 1, &sets, &n_sets);
    if (st != XF_OK) return cli_fail(st, "fit");
    xf_set_fit *fits;
    st = xf_set_fits_compute_opts(sets, n_sets, &opts, &fits);
    int rc = 0;
    if (st != XF_OK)
        rc = cli_fail(st, input);
    else if (json)
        rc = print_json(xf_fits_json(fits, sets, n_sets, 1));
    else
        print_table(fits, n_sets, 1);
    if (st == XF_OK) xf_set_fits_free(fits, n_sets);
    xf_csv_point_sets_free(sets, n_sets);
    return rc;
}
