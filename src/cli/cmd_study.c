#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "study/config.h"
#include "study/runner.h"

static const char usage[] = "xfer study FILE [--out DIR]";

int cmd_study(int argc, char **argv) {
    const char *file = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s\n\n"
                   "Runs every trial of the study FILE (YAML; see examples/quick.yaml):\n"
                   "pre-trains each model of the grid on the upstream task, checkpoints it,\n"
                   "probes it few-shot at every layer on the downstream tasks and records\n"
                   "it in the study's SQLite store. A re-run skips finished trials and\n"
                   "retries failed ones.\n\n"
                   "  --out DIR   the study folder (default: runs/<name> in the current\n"
                   "              directory); holds study.db and checkpoints/\n",
                   usage);
            return 0;
        }
        if (strcmp(argv[i], "--out") == 0) {
            if (++i >= argc) return cli_usage(usage);
            out = argv[i];
        } else if (argv[i][0] == '-' || file) {
            return cli_usage(usage);
        } else {
            file = argv[i];
        }
    }
    if (!file) return cli_usage(usage);

    xf_study_config cfg;
    xf_status st = xf_study_config_load(file, &cfg);
    if (st) return cli_fail(st, "study");
    char dir[4000];
    if ((st = xf_study_dir(&cfg, out, dir, sizeof dir))) return cli_fail(st, "study");
    xf_study_summary sum;
    st = xf_study_run(&cfg, out, &sum);
    if (st) return cli_fail(st, cfg.name);
    printf("study %s: %d trials planned, %d run (%d finished, %d failed, %d diverged), "
           "%d skipped as already finished, %.1fs\nresults: %s/study.db\n",
           cfg.name, sum.planned, sum.ran, sum.finished, sum.failed, sum.diverged, sum.skipped,
           sum.seconds, dir);
    /* A diverged trial is a result of the study; a failed one is a fault. */
    return sum.failed > 0 ? 1 : 0;
}
