/* Runs a study: every planned trial not yet done is pre-trained, evaluated
 * on the US test set, checkpointed (temp file + rename), probed on every DS
 * task and recorded in one transaction. A trial that fails or diverges is
 * recorded with its error and the study goes on; a re-run skips finished
 * trials and, unless retry_failed, failed and diverged ones too. A trial
 * the machine fails (XF_EENV: a full disk, an I/O error) or whose outcome
 * cannot be recorded is not a result: it is left for the next run and its
 * worker stops.
 *
 * With several workers, each is a forked process that claims trials in the
 * store (store.h: a claim of a killed process is taken over by the next
 * run), so a study killed at any moment and run again ends with every trial
 * finished once. The cores are split between the workers' BLAS threads.
 *
 * An array worker (a cluster job array task) takes the trials whose index
 * in the plan (or in a todo list) is its own modulo the array size and
 * writes one result file per trial (results.h) instead of the store.
 *
 * Output, under the study folder (runs/<name>/ unless given):
 *   study.db                          the results store (store.h)
 *   checkpoints/<trial id>.safetensors
 *   results/<trial id>.json           array workers only */
#ifndef XF_STUDY_RUNNER_H
#define XF_STUDY_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "study/config.h"
#include "study/plan.h"
#include "study/store.h"

typedef struct {
    const char *out_dir;   /* the study folder; NULL: runs/<name> */
    int workers;           /* processes; <= 1 runs in this one */
    bool retry_failed;     /* run failed and diverged trials again */
    int array_count;       /* > 0: be array task array_index of array_count */
    int array_index;
    const char *todo_path; /* array task: the trial ids to share out (one a line);
                              NULL: the whole plan */
} xf_study_options;

typedef struct {
    int planned;        /* trials in the plan */
    int skipped;        /* already finished */
    int skipped_failed; /* failed or diverged before, not retried */
    int ran;            /* run now: finished + failed + diverged */
    int finished;       /* of those run now */
    int failed;
    int diverged;
    int workers;        /* processes used */
    int blas_threads;   /* per worker */
    double seconds;
} xf_study_summary;

/* Writes the study folder for cfg into buf: out_dir if not NULL, else
 * "runs/<name>" (relative to the current directory). */
xf_status xf_study_dir(const xf_study_config *cfg, const char *out_dir, char *buf, size_t size);

/* Runs cfg's plan (see above). Fails for what stops the whole study or a
 * worker (a task that cannot be loaded, the store, the folder, a trial left
 * by an XF_EENV or a failed record: the first such error, naming the
 * trial); trial failures are counted in the summary. */
xf_status xf_study_run(const xf_study_config *cfg, const xf_study_options *opts,
                       xf_study_summary *summary);

/* Checkpoint trials finished with another US accuracy than the study file
 * (or its results table) now gives get the new one: it is not part of
 * their id, and the probes do not depend on it. Called by every run and
 * Slurm submission before it looks for trials to do. */
xf_status xf_study_update_us_acc(const xf_study_config *cfg, const xf_plan *plan,
                                 xf_store *store);

/* This array task's index, from the first set of SLURM_ARRAY_TASK_ID,
 * PBS_ARRAY_INDEX, SGE_TASK_ID and LSB_JOBINDEX; *var names it. */
xf_status xf_array_index_from_env(int *index, const char **var);

#endif
