/* What the parts of the study runner share (runner.c, trial.c,
 * claim_loop.c, workers.c, array.c); not for callers of runner.h. */
#ifndef XF_STUDY_RUNNER_INTERNAL_H
#define XF_STUDY_RUNNER_INTERNAL_H

#include "core/path.h"
#include "core/progress.h"
#include "study/runner.h"
#include "study/store.h"
#include "study/task_cache.h"

/* How a worker tells the parent what it does: fixed-size messages on a
 * pipe (atomic below PIPE_BUF, so workers never interleave). */
typedef struct {
    int kind;        /* XF_RUNNER_MSG_* */
    int worker;      /* the sender's slot */
    int trial;       /* index into the plan */
    int status;      /* END: the xf_trial_status; LEFT: the xf_status */
    char error[1024]; /* LEFT: why */
} xf_runner_message;

enum {
    XF_RUNNER_MSG_START = 1, /* a trial starts */
    XF_RUNNER_MSG_END,       /* it is recorded */
    XF_RUNNER_MSG_LEFT,      /* it is left unrecorded and the worker stops */
};

typedef struct {
    const xf_study_config *cfg;
    const xf_study_options *opts;
    const xf_plan *plan;
    char dir[XF_PATH_MAX];
    char ckpt_dir[XF_PATH_MAX];
    char results_dir[XF_PATH_MAX]; /* array workers write here instead of the store */
    xf_store *store;         /* this process's connection */
    xf_task_cache cache;
    xf_claimant me;
    int report_fd;           /* a worker's pipe to the parent; -1 in the parent */
    int slot;                /* a worker's slot in the parent */
    xf_progress *progress;   /* in-process runs */
    xf_study_summary *sum;
    int done_now;            /* trials this process recorded */
} xf_runner;

/* Loads the tasks of the trials in todo and the DS tasks (runner.c). */
xf_status xf_runner_load_tasks(xf_runner *r, const int *todo, int n_todo);

/* A trial started, ended or was left: a worker tells its parent (a LEFT
 * with the current error message), the parent (or an in-process run)
 * counts what ended in the summary and the progress (runner.c). */
void xf_runner_report(xf_runner *r, int kind, int trial, int status);

/* Runs trial `index` of the plan and records its outcome (trial.c). */
xf_status xf_runner_trial_run(xf_runner *r, int index);

/* Runs the trials of todo that this run can claim (claim_loop.c). */
xf_status xf_runner_claim_loop(xf_runner *r, const int *todo, int n_todo, int start);

/* Forks n_workers processes over todo and follows them (workers.c). */
xf_status xf_runner_workers_run(xf_runner *r, const int *todo, int n_todo, int n_workers,
                                int threads);

/* An array task's share of the trials, recorded as result files (array.c). */
xf_status xf_runner_array_run(xf_runner *r);

#endif
