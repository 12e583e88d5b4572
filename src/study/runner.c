#include "study/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/blas.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timer.h"
#include "study/runner_internal.h"

void xf_runner_report(xf_runner *r, int kind, int trial, int status) {
    if (r->report_fd >= 0) {
        xf_runner_message msg = {kind, r->slot, trial, status, ""};
        if (kind == XF_RUNNER_MSG_LEFT)
            snprintf(msg.error, sizeof msg.error, "%s", xf_error_message());
        ssize_t n;
        do
            n = write(r->report_fd, &msg, sizeof msg);
        while (n < 0 && errno == EINTR);
        return;
    }
    if (kind != XF_RUNNER_MSG_END) return;
    xf_study_summary *sum = r->sum;
    sum->ran++;
    if (status == XF_TRIAL_FINISHED)
        sum->finished++;
    else if (status == XF_TRIAL_DIVERGED)
        sum->diverged++;
    else
        sum->failed++;
    if (r->progress) {
        char extra[64];
        snprintf(extra, sizeof extra, "%d failed", sum->failed + sum->diverged);
        xf_progress_add(r->progress, 1, extra);
    }
}

xf_status xf_study_update_us_acc(const xf_study_config *cfg, const xf_plan *plan,
                                  xf_store *store) {
    for (int i = 0; i < plan->n; i++) {
        const xf_trial *t = &plan->trials[i];
        if (!t->is_checkpoint) continue;
        const xf_study_checkpoint *e = &cfg->checkpoints[t->checkpoint];
        if (e->us_source == XF_US_ACC_MEASURE) continue;
        bool changed;
        xf_status st = xf_store_update_us_acc(store, t->id, e->us_acc, &changed);
        if (st) return st;
        if (changed)
            xf_log_info("trial %s (checkpoint %s): US accuracy set to %.4f, as the study now "
                        "gives it", t->id, t->label, e->us_acc);
    }
    return XF_OK;
}

xf_status xf_study_dir(const xf_study_config *cfg, const char *out_dir, char *buf, size_t size) {
    return out_dir ? xf_path_format(buf, size, "%s", out_dir)
                   : xf_path_format(buf, size, "runs/%s", cfg->name);
}

xf_status xf_runner_load_tasks(xf_runner *r, const int *todo, int n_todo) {
    /* Every task up front: a missing data set should stop the study before
     * hours of training, not after; and forked workers share these pages. */
    xf_task_entry *unused;
    xf_status st = XF_OK;
    for (int i = 0; i < n_todo && !st; i++) {
        const xf_trial *t = &r->plan->trials[todo[i]];
        /* A checkpoint's US task is only a name unless its accuracy is measured. */
        if (t->is_checkpoint &&
            r->cfg->checkpoints[t->checkpoint].us_source != XF_US_ACC_MEASURE)
            continue;
        st = xf_task_cache_get(&r->cache, t->upstream, &unused);
    }
    for (int k = 0; k < r->cfg->n_ds_tasks && n_todo > 0 && !st; k++)
        st = xf_task_cache_get(&r->cache, r->cfg->ds_tasks[k], &unused);
    return st;
}

static xf_status run_local(xf_runner *r, xf_study_summary *summary) {
    const xf_plan *plan = r->plan;
    char db[XF_PATH_MAX], now[40], planned[32];
    xf_status st = xf_path_format(db, sizeof db, "%s/study.db", r->dir);
    if (!st) st = xf_store_open(db, &r->store);
    if (st) return st;
    snprintf(planned, sizeof planned, "%d", plan->n);
    if ((st = xf_store_set_meta(r->store, "study", r->cfg->name)) ||
        (st = xf_store_set_meta(r->store, "planned", planned)))
        return st;
    if ((st = xf_study_update_us_acc(r->cfg, plan, r->store))) return st;
    int *todo = xf_malloc((size_t)(plan->n ? plan->n : 1) * sizeof *todo);
    if (!todo) return XF_ENOMEM;
    int n_todo = 0;
    for (int i = 0; i < plan->n && !st; i++) {
        xf_trial_status ts;
        if ((st = xf_store_trial_status(r->store, plan->trials[i].id, &ts))) break;
        if (ts == XF_TRIAL_FINISHED)
            summary->skipped++;
        else if (ts != XF_TRIAL_ABSENT && !r->opts->retry_failed)
            summary->skipped_failed++;
        else
            todo[n_todo++] = i;
    }
    int workers = r->opts->workers < 1 ? 1 : r->opts->workers;
    if (workers > n_todo) workers = n_todo > 0 ? n_todo : 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = workers > 1 ? (int)(cores > workers ? cores / workers : 1) : xf_blas_threads();
    summary->workers = workers;
    summary->blas_threads = threads;
    if (!st)
        xf_log_info("study %s: %d trials planned, %d finished, %d failed before, %d to run "
                    "(%d worker%s x %d BLAS thread%s), in %s",
                    r->cfg->name, plan->n, summary->skipped, summary->skipped_failed, n_todo,
                    workers, workers > 1 ? "s" : "", threads, threads > 1 ? "s" : "", r->dir);
    if (!st) st = xf_runner_load_tasks(r, todo, n_todo);
    char run[40] = "";
    /* A run with trials to do is the latest run (`xfer status` measures it
     * from run_started to run_ended); one with nothing to do is not. */
    if (!st && n_todo > 0) {
        xf_utc_timestamp(now, sizeof now);
        st = xf_store_set_meta(r->store, "run_started", now);
    }
    if (!st && n_todo > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(run, sizeof run, "%d-%lld.%09ld", (int)getpid(), (long long)ts.tv_sec,
                 ts.tv_nsec);
        xf_claimant_self(&r->me, run);
        xf_progress progress;
        xf_progress_init(&progress, r->cfg->name, "trials", (size_t)n_todo);
        r->progress = &progress;
        st = workers > 1 ? xf_runner_workers_run(r, todo, n_todo, workers, threads)
                         : xf_runner_claim_loop(r, todo, n_todo, 0);
        char extra[64];
        snprintf(extra, sizeof extra, "%d failed", summary->failed + summary->diverged);
        xf_progress_finish(&progress, extra);
        r->progress = NULL;
    }
    if (r->store) {
        /* The claims go and the run ends even after a failure, whose
         * message stays first. */
        xf_saved_error first;
        xf_error_save(&first, st);
        xf_status later = xf_store_release_run(r->store, run);
        xf_utc_timestamp(now, sizeof now);
        if (!later && run[0]) later = xf_store_set_meta(r->store, "run_ended", now);
        st = xf_error_restore(&first, later);
    }
    free(todo);
    return st;
}

xf_status xf_study_run(const xf_study_config *cfg, const xf_study_options *opts,
                       xf_study_summary *summary) {
    memset(summary, 0, sizeof *summary);
    double t0 = xf_now();
    xf_runner *r = xf_calloc(1, sizeof *r);
    if (!r) return XF_ENOMEM;
    r->cfg = cfg;
    r->opts = opts;
    r->sum = summary;
    r->report_fd = -1;
    xf_plan plan = {0};
    xf_status st = xf_study_dir(cfg, opts->out_dir, r->dir, sizeof r->dir);
    if (!st) st = xf_path_format(r->ckpt_dir, sizeof r->ckpt_dir, "%s/checkpoints", r->dir);
    if (!st) st = xf_mkdirs(r->ckpt_dir);
    if (!st) st = xf_plan_build(cfg, &plan);
    r->plan = &plan;
    summary->planned = plan.n;
    if (!st && opts->array_count > 0) {
        if (!(st = xf_path_format(r->results_dir, sizeof r->results_dir, "%s/results", r->dir)) &&
            !(st = xf_mkdirs(r->results_dir)))
            st = xf_runner_array_run(r);
    } else if (!st) {
        st = run_local(r, summary);
    }
    summary->seconds = xf_now() - t0;
    xf_task_cache_free(&r->cache);
    xf_store_close(r->store);
    xf_plan_free(&plan);
    free(r);
    return st;
}
