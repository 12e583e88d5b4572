/* xfer report: a study's self-contained HTML report and its fit table. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/setfit.h"
#include "analysis/study.h"
#include "analysis/studydir.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/path.h"
#include "report/plot.h"
#include "report/report.h"
#include "study/store.h"

static const cli_command command = {
    .name = "report",
    .usage = "xfer report DIR [--out OUT] [--error-bars] [-j N]",
    .about = "Writes DIR/report/index.html, one self-contained page (figures embedded) with\n"
             "the saturation fit of every (US task, DS task, shots) set of the study in\n"
             "DIR/study.db and a DS-vs-US accuracy figure for each, and DIR/report/fits.csv\n"
             "with the fit table. Prints the page's path.",
    .operand = "DIR",
    .min_operands = 1,
    .max_operands = 1,
};

/* The study's name is its directory's name (runs/quick -> quick). */
static void study_name(const char *dir, char *out, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/') start--;
    snprintf(out, cap, "%.*s", (int)(n - start), dir + start);
}

int cmd_report(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    bool error_bars = false;
    xf_fit_options opts = xf_fit_options_default();
    cli_option options[] = {
        {.name = "--out", .value = "OUT", .kind = CLI_STRING, .dest = &out,
         .help = "write OUT/report/ instead of DIR/report/ (for a study on read-only media)"},
        {.name = "--error-bars", .kind = CLI_FLAG, .dest = &error_bars,
         .help = "draw each DS accuracy's +-1.96 standard error (test-set size and draws) on "
                 "the DS-vs-US figures"},
        {.name = "-j", .value = "N", .kind = CLI_INT, .dest = &opts.threads, .lo = 1,
         .hi = 1024, .help = "fit N sets at once (default: one per CPU; the numbers do not "
                             "depend on it)"},
    };
    int rc = cli_parse(&command, options, (int)(sizeof options / sizeof options[0]), argc, argv,
                       &dir, NULL);
    if (rc >= 0) return rc;
    opts.error_bars = error_bars;
    xf_study_results r;
    xf_status st = xf_study_analyse(dir, &opts, &r);
    if (st != XF_OK) return cli_fail(st, "report");
    char name[256], path[XF_PATH_MAX];
    study_name(dir, name, sizeof name);
    st = xf_report_study_write(out ? out : dir, name, &r, path, sizeof path);
    rc = st == XF_OK ? 0 : cli_fail(st, dir);
    if (rc == 0) printf("%s\n", path);
    xf_study_results_free(&r);
    xf_plot_release_caches();
    return rc;
}
