#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "study/plan.h"
#include "study/runner.h"
#include "study/store.h"

static const char usage[] = "xfer plan FILE [--out DIR] [-q]";

int cmd_plan(int argc, char **argv) {
    const char *file = NULL, *out = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s\n\n"
                   "Lists the trials of the study FILE (index, id, status in the study's\n"
                   "store, what varies) without running anything, then a summary.\n\n"
                   "  --out DIR   the study folder (default: runs/<name>)\n"
                   "  -q          the summary only\n",
                   usage);
            return 0;
        }
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "-q") == 0)
            quiet = true;
        else if (argv[i][0] == '-' || file)
            return cli_usage(usage);
        else
            file = argv[i];
    }
    if (!file) return cli_usage(usage);
    xf_study_config cfg;
    xf_status st = xf_study_config_load(file, &cfg);
    if (st) return cli_fail(st, "plan");
    char dir[4000], db[4100];
    if ((st = xf_study_dir(&cfg, out, dir, sizeof dir))) return cli_fail(st, "plan");
    snprintf(db, sizeof db, "%s/study.db", dir);
    xf_plan plan;
    if ((st = xf_plan_build(&cfg, &plan))) return cli_fail(st, cfg.name);
    /* Only look into a store that exists: planning must not create one. */
    xf_store *store = NULL;
    if (access(db, F_OK) == 0 && (st = xf_store_open_read(db, &store))) {
        xf_plan_free(&plan);
        return cli_fail(st, cfg.name);
    }
    int count[4] = {0};
    for (int i = 0; i < plan.n && !st; i++) {
        xf_trial_status ts = XF_TRIAL_ABSENT;
        if (store && (st = xf_store_trial_status(store, plan.trials[i].id, &ts))) break;
        count[ts]++;
        if (quiet) continue;
        char what[256];
        xf_trial_describe(&plan.trials[i], what, sizeof what);
        printf("%5d  %s  %-8s  %s\n", i, plan.trials[i].id,
               ts == XF_TRIAL_ABSENT ? "todo" : xf_trial_status_name(ts), what);
    }
    xf_store_close(store);
    if (!st)
        printf("study %s: %d trials (%s search over a space of %.0f): %d finished, %d failed, "
               "%d diverged, %d to run; store %s%s\n",
               cfg.name, plan.n, cfg.search == XF_SEARCH_RANDOM ? "random" : "grid", plan.space,
               count[XF_TRIAL_FINISHED], count[XF_TRIAL_FAILED], count[XF_TRIAL_DIVERGED],
               count[XF_TRIAL_ABSENT], db, store ? "" : " (not created yet)");
    xf_plan_free(&plan);
    return st ? cli_fail(st, cfg.name) : 0;
}
