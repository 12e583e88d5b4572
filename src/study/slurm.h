/* A study on a Slurm cluster: a job array of W workers, each an array task
 * (`xfer study FILE --array W`) that takes its share of the trials still to
 * run and writes one result file per trial, and a merge job
 * (`xfer merge DIR`) that runs after the array ends, however it ends
 * (afterany), folding the result files into study.db. Both are bash batch
 * scripts written into <study>/slurm/ so they can be read, and re-submitted
 * by hand. */
#ifndef XF_STUDY_SLURM_H
#define XF_STUDY_SLURM_H

#include <stdbool.h>

#include "core/path.h"
#include "study/config.h"

typedef struct {
    const char *xfer_bin;   /* absolute path of the xfer binary the jobs run */
    const char *study_file; /* the study file */
    const char *out_dir;    /* the study folder; NULL: runs/<name> */
    int workers;            /* array tasks */
    const char *partition;  /* NULL: the cluster's default */
    const char *time;       /* per array task, Slurm syntax ("2:00:00"); NULL: default */
    int cpus_per_task;      /* 0: leave to Slurm */
    bool retry_failed;
    bool dry_run;           /* write the scripts, submit nothing */
} xf_slurm_options;

typedef struct {
    char worker_script[XF_PATH_MAX]; /* <study>/slurm/workers.sh */
    char merge_script[XF_PATH_MAX];  /* <study>/slurm/merge.sh */
    char todo_path[XF_PATH_MAX];     /* <study>/slurm/todo.txt: the trials to run */
    int todo;                 /* trials in it */
    int workers;              /* array tasks submitted (<= todo) */
    char array_job[64];       /* job ids; "" for a dry run */
    char merge_job[64];
} xf_slurm_submission;

/* Merges leftover result files, writes the todo list (trials not finished;
 * failed ones only with retry_failed) and the two scripts, then submits
 * them with sbatch (found on PATH) unless dry_run. Nothing is submitted
 * when nothing is left to run. */
xf_status xf_slurm_submit(const xf_study_config *cfg, const xf_slurm_options *opts,
                          xf_slurm_submission *out);

#endif
