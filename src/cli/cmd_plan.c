#include <stdio.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/path.h"
#include "study/plan.h"
#include "study/runner.h"
#include "study/store.h"

static const cli_command command = {
    .name = "plan",
    .usage = "xfer plan FILE [--out DIR] [-q]",
    .about = "Lists the trials of the study FILE (index, id, status in the study's\n"
             "store, what varies) without running anything, then a summary. Every\n"
             "value of the file is checked against its limits first.",
    .operand = "FILE",
    .min_operands = 1,
    .max_operands = 1,
};

int cmd_plan(int argc, char **argv) {
    const char *file = NULL, *out = NULL;
    bool quiet = false;
    cli_option opts[] = {
        {.name = "--out", .value = "DIR", .kind = CLI_STRING, .dest = &out,
         .help = "the study folder (default: runs/<name>)"},
        {.name = "-q", .kind = CLI_FLAG, .dest = &quiet, .help = "the summary only"},
    };
    int rc = cli_parse(&command, opts, 2, argc, argv, &file, NULL);
    if (rc >= 0) return rc;
    xf_study_config cfg;
    xf_status st = xf_study_config_load(file, &cfg);
    if (st) return cli_fail(st, "plan");
    char dir[XF_PATH_MAX], db[XF_PATH_MAX];
    if ((st = xf_study_dir(&cfg, out, dir, sizeof dir)) ||
        (st = xf_path_format(db, sizeof db, "%s/study.db", dir)))
        return cli_fail(st, "plan");
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
