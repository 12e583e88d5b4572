#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "study/results.h"

static const cli_command command = {
    .name = "merge",
    .usage = "xfer merge DIR",
    .about = "Folds the result files of array workers (DIR/results/*.json) into the\n"
             "study's store DIR/study.db. Idempotent: a trial already in the store is\n"
             "left alone, unless it failed there and finished in a file.",
    .operand = "DIR",
    .min_operands = 1,
    .max_operands = 1,
};

int cmd_merge(int argc, char **argv) {
    const char *dir = NULL;
    int rc = cli_parse(&command, NULL, 0, argc, argv, &dir, NULL);
    if (rc >= 0) return rc;
    xf_merge_summary sum;
    xf_status st = xf_study_merge(dir, &sum);
    if (st) return cli_fail(st, "merge");
    printf("merge %s: %d result files, %d merged, %d already in the store, %d unreadable\n",
           dir, sum.files, sum.merged, sum.skipped, sum.bad);
    return sum.bad > 0 ? 1 : 0;
}
