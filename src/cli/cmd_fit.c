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
#include "cli/args.h"
#include "cli/commands.h"
#include "report/json.h"
#include "report/report.h"
#include "study/store.h"

static const cli_command command = {
    .name = "fit",
    .usage = "xfer fit DIR [--json] [--bootstrap N] [--seed S] [--quantile Q] [--rising-only] [-j N]\n"
             "       xfer fit FILE.csv --us COL --ds COL [--group COL] [--percent] [--json] "
             "[...]",
    .about = "Fits e_DS = k * e_US^alpha + e_IR (e = 1 - accuracy) to the whole upper hull of\n"
             "the (US accuracy, DS accuracy) points and prints k, alpha, e_IR, the saturation\n"
             "accuracy 1 - e_IR and the RMS error of the fit.\n\n"
             "DIR is a study directory holding study.db (made by 'xfer study'); one fit per\n"
             "(US task, DS task, shots), at the last layer, averaged over draws (a us_task\n"
             "column when the study has several US tasks). FILE.csv is any CSV file with a\n"
             "header row; accuracies in [0, 1], or in 0..100 with --percent.",
    .epilog = "The 95% intervals are those of the stochastic frontier (docs/analysis.md): the\n"
              "best DS accuracy reachable at each US accuracy, fitted by maximum likelihood to\n"
              "models that fall short of it plus probe noise; it needs 8 models with 4\n"
              "distinct US accuracies, otherwise no interval is printed ('-'). A hull fit\n"
              "needs 3 hull points with distinct US accuracy; with fewer the row says\n"
              "'underdetermined'. 'flat' means DS accuracy does not rise with US accuracy.",
    .operand = "DIR or FILE.csv",
    .min_operands = 1,
    .max_operands = 1,
};

static xf_status parse_seed(const char *text, void *dest) {
    long long v;
    xf_status st = cli_parse_int("", text, 0, 1000000000000000000LL, &v);
    if (!st) *(uint64_t *)dest = (uint64_t)v;
    return st;
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

int cmd_fit(int argc, char **argv) {
    const char *input = NULL, *us = NULL, *ds = NULL, *group = NULL;
    bool json = false, percent = false, rising_only = false;
    xf_fit_options opts = xf_fit_options_default();
    cli_option options[] = {
        {.name = "--us", .value = "COL", .kind = CLI_STRING, .dest = &us,
         .help = "the CSV column of US accuracies"},
        {.name = "--ds", .value = "COL", .kind = CLI_STRING, .dest = &ds,
         .help = "the CSV column of DS accuracies"},
        {.name = "--group", .value = "COL", .kind = CLI_STRING, .dest = &group,
         .help = "fit each value of this column separately"},
        {.name = "--percent", .kind = CLI_FLAG, .dest = &percent,
         .help = "the CSV accuracies are in 0..100 (refused if all are below 1.5)"},
        {.name = "--json", .kind = CLI_FLAG, .dest = &json,
         .help = "print JSON instead of a table: for DIR every analysis of the report (fits "
                 "with intervals and validation, knobs, layers, head wd/lr sweeps, US "
                 "diversity, cost); for a CSV the fits"},
        {.name = "--bootstrap", .value = "N", .kind = CLI_INT, .dest = &opts.bootstrap,
         .lo = 0, .hi = 100000,
         .help = "also bootstrap the least-squares fits with N resamples (JSON, report; "
                 "default 0)"},
        {.name = "--seed", .value = "S", .kind = CLI_CUSTOM, .parse = parse_seed,
         .dest = &opts.seed, .help = "bootstrap seed (default 1)"},
        {.name = "--quantile", .value = "Q", .kind = CLI_REAL, .dest = &opts.quantile,
         .lo = 1e-9, .hi = 1,
         .help = "validation: fit on US accuracy up to this quantile (default 0.7)"},
        {.name = "--rising-only", .kind = CLI_FLAG, .dest = &rising_only,
         .help = "fit only the rising part of the hull, up to its highest DS accuracy"},
        {.name = "-j", .value = "N", .kind = CLI_INT, .dest = &opts.threads, .lo = 1,
         .hi = 1024, .help = "fit N sets at once (default: one per CPU; the numbers do not "
                             "depend on it)"},
    };
    int rc = cli_parse(&command, options, (int)(sizeof options / sizeof options[0]), argc, argv,
                       &input, NULL);
    if (rc >= 0) return rc;
    rc = 0;
    opts.rising_only = rising_only;
    int csv_mode = us || ds || group || percent || ends_with(input, ".csv");
    if (csv_mode && (!us || !ds)) {
        fprintf(stderr, "xfer fit: a CSV file needs --us COL and --ds COL\nusage: %s\n",
                command.usage);
        return 2;
    }
    if (!csv_mode) {
        xf_study_results r;
        xf_status st = xf_study_analyse(input, &opts, &r);
        if (st != XF_OK) return cli_fail(st, "fit");
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
