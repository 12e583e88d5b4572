#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "study/results.h"

static const char usage[] = "xfer merge DIR";

int cmd_merge(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n\n"
               "Folds the result files of array workers (DIR/results/*.json) into the\n"
               "study's store DIR/study.db. Idempotent: a trial already in the store is\n"
               "left alone, unless it failed there and finished in a file.\n",
               usage);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') return cli_usage(usage);
    xf_merge_summary sum;
    xf_status st = xf_study_merge(argv[1], &sum);
    if (st) return cli_fail(st, "merge");
    printf("merge %s: %d result files, %d merged, %d already in the store, %d unreadable\n",
           argv[1], sum.files, sum.merged, sum.skipped, sum.bad);
    return sum.bad > 0 ? 1 : 0;
}
