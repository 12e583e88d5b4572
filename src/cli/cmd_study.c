#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/mem.h"
#include "study/config.h"
#include "study/runner.h"
#include "study/slurm.h"

static const cli_command command = {
    .name = "study",
    .usage = "xfer study FILE [--out DIR] [-j N] [--retry-failed]\n"
             "       xfer study FILE --slurm [--workers W] [--partition P] [--time T]\n"
             "                       [--cpus-per-task C] [--dry-run] [--out DIR] [--retry-failed]\n"
             "       xfer study FILE --array W [--todo LIST] [--out DIR] [--retry-failed]",
    .about = "Runs every trial of the study FILE (YAML; see docs/studies.md and examples/):\n"
             "pre-trains each model of the plan on the upstream task, checkpoints it,\n"
             "probes it few-shot on the downstream tasks and records it in the study's\n"
             "SQLite store. A re-run skips finished trials, and failed ones unless\n"
             "--retry-failed; a study killed at any moment resumes where it stopped.",
    .epilog = "With --array W the task's index comes from SLURM_ARRAY_TASK_ID,\n"
              "PBS_ARRAY_INDEX, SGE_TASK_ID or LSB_JOBINDEX; it writes DIR/results/<trial>.json\n"
              "files that 'xfer merge DIR' folds into study.db.",
    .operand = "FILE",
    .min_operands = 1,
    .max_operands = 1,
};

int cmd_study(int argc, char **argv) {
    const char *file = NULL, *partition = NULL, *time = NULL, *todo = NULL;
    xf_study_options opts = {0};
    opts.workers = 1;
    bool slurm = false, dry_run = false;
    int slurm_workers = 4, cpus = 0, array = 0;
    cli_option options[] = {
        {.name = "--out", .value = "DIR", .kind = CLI_STRING, .dest = &opts.out_dir,
         .help = "the study folder (default: runs/<name>)"},
        {.name = "-j", .value = "N", .kind = CLI_INT, .dest = &opts.workers, .lo = 1,
         .hi = 1024, .help = "N worker processes sharing the cores (default 1)"},
        {.name = "--retry-failed", .kind = CLI_FLAG, .dest = &opts.retry_failed,
         .help = "run failed and diverged trials again"},
        {.name = "--slurm", .kind = CLI_FLAG, .dest = &slurm,
         .help = "submit a job array of W workers and a merge job (afterany)"},
        {.name = "--workers", .value = "W", .kind = CLI_INT, .dest = &slurm_workers, .lo = 1,
         .hi = 100000, .help = "--slurm: array tasks (default 4)"},
        {.name = "--partition", .value = "P", .kind = CLI_STRING, .dest = &partition,
         .help = "--slurm: passed to sbatch"},
        {.name = "--time", .value = "T", .kind = CLI_STRING, .dest = &time,
         .help = "--slurm: passed to sbatch"},
        {.name = "--cpus-per-task", .value = "C", .kind = CLI_INT, .dest = &cpus, .lo = 1,
         .hi = 4096, .help = "--slurm: passed to sbatch"},
        {.name = "--dry-run", .kind = CLI_FLAG, .dest = &dry_run,
         .help = "--slurm: write the batch scripts under DIR/slurm/, submit nothing"},
        {.name = "--array", .value = "W", .kind = CLI_INT, .dest = &array, .lo = 1,
         .hi = 100000, .help = "be one task of a job array of W (see below)"},
        {.name = "--todo", .value = "LIST", .kind = CLI_STRING, .dest = &todo,
         .help = "--array: share out only the trial ids listed in the file LIST"},
    };
    int rc = cli_parse(&command, options, (int)(sizeof options / sizeof options[0]), argc,
                       argv, &file, NULL);
    if (rc >= 0) return rc;
    if (slurm && array) {
        fprintf(stderr, "xfer study: give --slurm or --array, not both\n");
        return 2;
    }

    xf_study_config cfg;
    xf_status st = xf_study_config_load(file, &cfg);
    if (st) return cli_fail(st, "study");

    if (slurm) {
        char exe[PATH_MAX], abs_file[PATH_MAX], abs_out[PATH_MAX + 8];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0 || !realpath(file, abs_file)) return cli_fail(XF_EIO, file);
        exe[n] = 0;
        /* The jobs run elsewhere: every path they get is absolute. */
        char dir[XF_PATH_MAX];
        if ((st = xf_study_dir(&cfg, opts.out_dir, dir, sizeof dir))) return cli_fail(st, "study");
        if ((st = xf_mkdirs(dir))) return cli_fail(st, "study");
        if (!realpath(dir, abs_out)) return cli_fail(XF_EIO, dir);
        xf_slurm_options so = {exe,  abs_file, abs_out, slurm_workers, partition,
                               time, cpus,     opts.retry_failed, dry_run};
        xf_slurm_submission sub;
        if ((st = xf_slurm_submit(&cfg, &so, &sub))) return cli_fail(st, cfg.name);
        printf("study %s: %d trials to run over %d array tasks\n"
               "  workers: %s\n  merge:   %s\n  todo:    %s\n",
               cfg.name, sub.todo, sub.workers, sub.worker_script, sub.merge_script,
               sub.todo_path);
        if (sub.todo == 0)
            printf("nothing to submit: every trial is done\n");
        else if (dry_run)
            printf("dry run: submit with\n  jid=$(sbatch --parsable %s)\n"
                   "  sbatch --dependency=afterany:$jid %s\n",
                   sub.worker_script, sub.merge_script);
        else
            printf("submitted: array job %s, merge job %s (afterany)\n"
                   "follow with: xfer status %s\n",
                   sub.array_job, sub.merge_job, abs_out);
        return 0;
    }

    if (array) {
        const char *var;
        if ((st = xf_array_index_from_env(&opts.array_index, &var))) return cli_fail(st, "study");
        opts.array_count = array;
        opts.todo_path = todo;
    }
    char dir[XF_PATH_MAX];
    if ((st = xf_study_dir(&cfg, opts.out_dir, dir, sizeof dir))) return cli_fail(st, "study");
    xf_study_summary sum;
    st = xf_study_run(&cfg, &opts, &sum);
    if (st) return cli_fail(st, cfg.name);
    printf("study %s: %d trials planned, %d run (%d finished, %d failed, %d diverged), "
           "%d skipped as finished, %d as failed before, %.1fs\n",
           cfg.name, sum.planned, sum.ran, sum.finished, sum.failed, sum.diverged, sum.skipped,
           sum.skipped_failed, sum.seconds);
    if (array)
        printf("results: %s/results/ (fold in with: xfer merge %s)\n", dir, dir);
    else
        printf("results: %s/study.db\n", dir);
    /* A diverged trial is a result of the study; a failed one is a fault. */
    return sum.failed > 0 ? 1 : 0;
}
