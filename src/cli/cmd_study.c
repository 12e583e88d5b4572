#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/mem.h"
#include "study/config.h"
#include "study/runner.h"
#include "study/slurm.h"

static const char usage[] =
    "xfer study FILE [--out DIR] [-j N] [--retry-failed]\n"
    "       xfer study FILE --slurm [--workers W] [--partition P] [--time T]\n"
    "                       [--cpus-per-task C] [--dry-run] [--out DIR] [--retry-failed]\n"
    "       xfer study FILE --array W [--todo LIST] [--out DIR] [--retry-failed]";

static void help(void) {
    printf("usage: %s\n\n"
           "Runs every trial of the study FILE (YAML; see docs/studies.md and examples/):\n"
           "pre-trains each model of the plan on the upstream task, checkpoints it,\n"
           "probes it few-shot on the downstream tasks and records it in the study's\n"
           "SQLite store. A re-run skips finished trials, and failed ones unless\n"
           "--retry-failed; a study killed at any moment resumes where it stopped.\n\n"
           "  --out DIR        the study folder (default: runs/<name>)\n"
           "  -j N             N worker processes sharing the cores (default 1)\n"
           "  --retry-failed   run failed and diverged trials again\n"
           "  --slurm          submit a job array of W workers and a merge job (afterany)\n"
           "    --workers W    array tasks (default 4)\n"
           "    --partition P, --time T, --cpus-per-task C   passed to sbatch\n"
           "    --dry-run      write the batch scripts under DIR/slurm/, submit nothing\n"
           "  --array W        be one task of a job array of W (the index comes from\n"
           "                   SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX, SGE_TASK_ID or\n"
           "                   LSB_JOBINDEX); writes DIR/results/<trial>.json files that\n"
           "                   'xfer merge DIR' folds into study.db\n"
           "    --todo LIST    share out only the trial ids listed in LIST\n",
           usage);
}

static bool int_arg(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

int cmd_study(int argc, char **argv) {
    const char *file = NULL, *partition = NULL, *time = NULL, *todo = NULL;
    xf_study_options opts = {0};
    opts.workers = 1;
    bool slurm = false, dry_run = false;
    int slurm_workers = 4, cpus = 0, array = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help();
            return 0;
        } else if (strcmp(a, "--out") == 0 && has_value) {
            opts.out_dir = argv[++i];
        } else if (strcmp(a, "-j") == 0 && has_value) {
            if (!int_arg(argv[++i], 1, 1024, &opts.workers)) return cli_usage(usage);
        } else if (strcmp(a, "--retry-failed") == 0) {
            opts.retry_failed = true;
        } else if (strcmp(a, "--slurm") == 0) {
            slurm = true;
        } else if (strcmp(a, "--workers") == 0 && has_value) {
            if (!int_arg(argv[++i], 1, 100000, &slurm_workers)) return cli_usage(usage);
        } else if (strcmp(a, "--cpus-per-task") == 0 && has_value) {
            if (!int_arg(argv[++i], 1, 4096, &cpus)) return cli_usage(usage);
        } else if (strcmp(a, "--partition") == 0 && has_value) {
            partition = argv[++i];
        } else if (strcmp(a, "--time") == 0 && has_value) {
            time = argv[++i];
        } else if (strcmp(a, "--dry-run") == 0) {
            dry_run = true;
        } else if (strcmp(a, "--array") == 0 && has_value) {
            if (!int_arg(argv[++i], 1, 100000, &array)) return cli_usage(usage);
        } else if (strcmp(a, "--todo") == 0 && has_value) {
            todo = argv[++i];
        } else if (a[0] == '-' || file) {
            return cli_usage(usage);
        } else {
            file = a;
        }
    }
    if (!file || (slurm && array)) return cli_usage(usage);

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
