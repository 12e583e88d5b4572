/* xfer fit: the saturation fit of every (DS task, shots) pair of a study,
 * or of any CSV file of accuracies. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/csvpoints.h"
#include "analysis/setfit.h"
#include "analysis/studydir.h"
#include "cli/commands.h"
#include "study/store.h"

static const char usage[] = "xfer fit DIR [--json]\n"
                            "       xfer fit FILE.csv --us COL --ds COL [--group COL] [--json]";

static void print_help(void) {
    printf("usage: %s\n\n"
           "Fits e_DS = k * e_US^alpha + e_IR (e = 1 - accuracy) to the upper hull of the\n"
           "(US accuracy, DS accuracy) points and prints k, alpha, e_IR, the saturation\n"
           "accuracy 1 - e_IR and the RMS error of the fit.\n\n"
           "  DIR          a study directory holding study.db (made by 'xfer study'); one fit per\n"
           "               (DS task, shots) pair, at the last layer, averaged over draws\n"
           "  FILE.csv     any CSV file with a header row; accuracies in [0, 1]\n"
           "  --us COL     the CSV column of US accuracies\n"
           "  --ds COL     the CSV column of DS accuracies\n"
           "  --group COL  fit each value of this column separately\n"
           "  --json       print a JSON array instead of a table\n\n"
           "A fit needs 3 hull points with distinct US accuracy; with fewer the row says\n"
           "'underdetermined'. 'flat' means DS accuracy does not rise with US accuracy.\n",
           usage);
}

static cJSON *json_num(double v) { return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v); }

static int print_json(const xf_set_fit *fits, int n, int csv_mode) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n && arr; i++) {
        const xf_set_fit *s = &fits[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, csv_mode ? "group" : "ds_task", s->ds_task);
        if (!csv_mode) cJSON_AddNumberToObject(o, "shots", s->shots);
        cJSON_AddNumberToObject(o, "n_points", s->n_points);
        cJSON_AddNumberToObject(o, "n_hull", s->n_hull);
        cJSON_AddStringToObject(o, "status", xf_satfit_status_name(s->fit.status));
        cJSON_AddItemToObject(o, "k", json_num(s->fit.k));
        cJSON_AddItemToObject(o, "alpha", json_num(s->fit.alpha));
        cJSON_AddItemToObject(o, "e_ir", json_num(s->fit.e_ir));
        cJSON_AddItemToObject(o, "saturation", json_num(xf_satfit_saturation(&s->fit)));
        cJSON_AddItemToObject(o, "rms", json_num(s->fit.rms));
        cJSON_AddItemToObject(o, "sse", json_num(s->fit.sse));
    }
    char *text = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
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

static void print_table(const xf_set_fit *fits, int n, int csv_mode) {
    printf("%-20s %5s %6s %5s %9s %9s %9s %10s %9s  %s\n", csv_mode ? "group" : "ds_task",
           csv_mode ? "" : "shots", "points", "hull", "k", "alpha", "e_IR", "saturation", "rms",
           "fit");
    for (int i = 0; i < n; i++) {
        const xf_set_fit *s = &fits[i];
        char shots[16] = "", c[5][32];
        if (!csv_mode) snprintf(shots, sizeof shots, "%d", s->shots);
        printf("%-20s %5s %6d %5d %9s %9s %9s %10s %9s  %s\n", s->ds_task, shots, s->n_points,
               s->n_hull, cell(c[0], 32, "%.4g", s->fit.k), cell(c[1], 32, "%.4g", s->fit.alpha),
               cell(c[2], 32, "%.4f", s->fit.e_ir),
               cell(c[3], 32, "%.4f", xf_satfit_saturation(&s->fit)),
               cell(c[4], 32, "%.3g", s->fit.rms), xf_satfit_status_name(s->fit.status));
    }
    if (n == 0) printf("(no finished trials with probes yet)\n");
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cmd_fit(int argc, char **argv) {
    const char *input = NULL, *us = NULL, *ds = NULL, *group = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char **value = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help();
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--us") == 0) {
            value = &us;
        } else if (strcmp(argv[i], "--ds") == 0) {
            value = &ds;
        } else if (strcmp(argv[i], "--group") == 0) {
            value = &group;
        } else if (argv[i][0] == '-' || input) {
            fprintf(stderr, "xfer fit: unexpected argument '%s'\n", argv[i]);
            return cli_usage(usage);
        } else {
            input = argv[i];
        }
        if (value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "xfer fit: %s needs a column name\n", argv[i]);
                return cli_usage(usage);
            }
            *value = argv[++i];
        }
    }
    if (!input) return cli_usage(usage);
    int csv_mode = us || ds || group || ends_with(input, ".csv");
    if (csv_mode && (!us || !ds)) {
        fprintf(stderr, "xfer fit: a CSV file needs --us COL and --ds COL\n");
        return cli_usage(usage);
    }

    xf_point_set *sets = NULL;
    int n_sets = 0;
    xf_store *store = NULL;
    xf_status st;
    if (csv_mode) {
        st = xf_csv_point_sets(input, us, ds, group, &sets, &n_sets);
    } else {
        st = xf_studydir_open(input, &store);
        if (st == XF_OK) st = xf_store_points(store, &sets, &n_sets);
    }
    if (st != XF_OK) {
        if (store) xf_store_close(store);
        return cli_fail(st, "fit");
    }
    xf_set_fit *fits;
    st = xf_set_fits_compute(sets, n_sets, &fits);
    int rc = 0;
    if (st != XF_OK)
        rc = cli_fail(st, input);
    else if (json)
        rc = print_json(fits, n_sets, csv_mode);
    else
        print_table(fits, n_sets, csv_mode);
    if (st == XF_OK) xf_set_fits_free(fits, n_sets);
    if (csv_mode) {
        xf_csv_point_sets_free(sets, n_sets);
    } else {
        xf_point_sets_free(sets, n_sets);
        xf_store_close(store);
    }
    return rc;
}
