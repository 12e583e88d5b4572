/* xfer report: a study's self-contained HTML report and its fit table. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/setfit.h"
#include "analysis/study.h"
#include "analysis/studydir.h"
#include "cli/commands.h"
#include "report/plot.h"
#include "report/report.h"
#include "study/store.h"

static const char usage[] = "xfer report DIR [--out OUT]";

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
               "the saturation fit of every (US task, DS task, shots) set of the study in\n"
               "DIR/study.db and a DS-vs-US accuracy figure for each, and DIR/report/fits.csv\n"
               "with the fit table. Prints the page's path.\n\n"
               "  --out OUT  write OUT/report/ instead (for a study on read-only media)\n",
               usage);
        return 0;
    }
    bool out = argc == 4 && strcmp(argv[2], "--out") == 0;
    if ((argc != 2 && !out) || argv[1][0] == '-') return cli_usage(usage);
    const char *dir = argv[1];
    xf_fit_options opts = xf_fit_options_default();
    xf_study_results r;
    xf_status st = xf_study_analyse(dir, &opts, &r);
    if (st != XF_OK) return cli_fail(st, "report");
    char name[256], path[1200];
    study_name(dir, name, sizeof name);
    st = xf_report_study_write(out ? argv[3] : dir, name, &r, path, sizeof path);
    int rc = st == XF_OK ? 0 : cli_fail(st, dir);
    if (rc == 0) printf("%s\n", path);
    xf_study_results_free(&r);
    xf_plot_release_caches();
    return rc;
}
