/* xfer report: a study's self-contained HTML report and its fit table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/setfit.h"
#include "analysis/studydir.h"
#include "cli/commands.h"
#include "report/plot.h"
#include "report/report.h"
#include "study/store.h"

static const char usage[] = "xfer report DIR";

/* The study's name is its directory's name (runs/quick -> quick). */
static void study_name(const char *dir, char *out, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    snprintf(out, cap, "%.*s", (int)(n - start), dir + start);
}

int cmd_report(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n\n"
               "Writes DIR/report/index.html, one self-contained page (figures embedded) with\n"
               "the saturation fit of every (DS task, shots) pair of the study in DIR/study.db\n"
               "and a DS-vs-US accuracy figure for each, and DIR/report/fits.csv with the fit\n"
               "table. Prints the page's path.\n",
               usage);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') return cli_usage(usage);
    const char *dir = argv[1];
    xf_store *store;
    xf_status st = xf_studydir_open(dir, &store);
    if (st != XF_OK) return cli_fail(st, "report");
    xf_point_set *sets = NULL;
    int n_sets = 0;
    st = xf_store_points(store, &sets, &n_sets);
    xf_store_close(store);
    if (st != XF_OK) return cli_fail(st, dir);
    xf_set_fit *fits = NULL;
    st = xf_set_fits_compute(sets, n_sets, &fits);
    char name[256], *path = malloc(strlen(dir) + 32);
    study_name(dir, name, sizeof name);
    if (st == XF_OK && !path) st = xf_fail(XF_ENOMEM, "out of memory");
    if (st == XF_OK) st = xf_report_write(dir, name, sets, fits, n_sets, path, strlen(dir) + 32);
    int rc = st == XF_OK ? 0 : cli_fail(st, dir);
    if (rc == 0) printf("%s\n", path);
    free(path);
    xf_set_fits_free(fits, n_sets);
    xf_point_sets_free(sets, n_sets);
    xf_plot_release_caches();
    return rc;
}
