#include "analysis/setfit.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/hull.h"
#include "core/mem.h"
#include "core/pool.h"
#include "core/progress.h"

enum { PROGRESS_MIN_SETS = 16 };

xf_fit_options xf_fit_options_default(void) {
    return (xf_fit_options){0, 1, XF_HOLDOUT_QUANTILE_DEFAULT, 1, 0, 0, 0};
}

double xf_ds_se(double acc, int test_size, int draws, double draw_sd) {
    double v = 0;
    if (test_size > 0) v += acc * (1 - acc) / test_size;
    if (draws > 1) v += draw_sd * draw_sd / draws;
    return sqrt(v);
}

static xf_status fit_one(const xf_point_set *set, const xf_fit_options *o, uint64_t seed,
                         xf_set_fit *out) {
    int n = set->n_points;
    snprintf(out->us_task, sizeof out->us_task, "%s", set->us_task);
    snprintf(out->ds_task, sizeof out->ds_task, "%s", set->ds_task);
    out->shots = set->shots;
    out->n_points = n;
    size_t count = n > 0 ? (size_t)n : 1;
    double *buf = xf_malloc(3 * count * sizeof *buf);
    out->hull = xf_malloc(count * sizeof *out->hull);
    if (!buf || !out->hull) {
        free(buf);
        return XF_ENOMEM;
    }
    double *us = buf, *ds = buf + count, *se = buf + 2 * count;
    int known = 0;
    for (int i = 0; i < n; i++) {
        const xf_point *p = &set->points[i];
        us[i] = p->us_acc;
        ds[i] = p->ds_acc;
        se[i] = xf_ds_se(p->ds_acc, set->ds_test_size, p->draws, p->ds_draw_sd);
        known += set->ds_test_size > 0 || p->draws > 1;
    }
    out->frontier_se_known = n > 0 && known == n;
    int hull_mode = o->rising_only ? XF_HULL_RISING : XF_HULL_WHOLE;
    xf_status st = xf_hull_upper_mode(us, ds, n, hull_mode, out->hull, &out->n_hull);
    if (st == XF_OK) xf_hull_decline_of(us, ds, n, &out->decline);
    if (st == XF_OK)
        st = xf_sfrontier_fit(us, ds, out->frontier_se_known ? se : NULL, n, o->intervals,
                              &out->frontier);
    if (st == XF_OK) st = xf_frontier_fit(us, ds, n, hull_mode, &out->fit);
    if (st == XF_OK) st = xf_frontier_fit(us, ds, n, 0, &out->fit_all);
    if (st == XF_OK)
        st = xf_frontier_bootstrap(us, ds, n, hull_mode, o->bootstrap, seed, &out->ci);
    if (st == XF_OK)
        st = xf_frontier_bootstrap(us, ds, n, 0, o->bootstrap, seed + 7919, &out->ci_all);
    if (st == XF_OK) st = xf_frontier_validate(us, ds, n, hull_mode, o->quantile, &out->val);
    if (st == XF_OK) st = xf_frontier_validate(us, ds, n, 0, o->quantile, &out->val_all);
    free(buf);
    if (st != XF_OK && set->us_task[0])
        return xf_fail_context(st, "US %s, DS %s, %d shots: ", set->us_task, set->ds_task,
                               set->shots);
    if (st != XF_OK) return xf_fail_context(st, "%s, %d shots: ", set->ds_task, set->shots);
    return XF_OK;
}

/* The sets' fits shared out among threads: each takes the next set not
 * yet taken, as their costs differ (intervals on many points take long). */
typedef struct {
    const xf_point_set *sets;
    int n_sets;
    const xf_fit_options *opts;
    xf_set_fit *out;
    xf_status *status; /* per set */
    char (*error)[XF_ERROR_CAPACITY]; /* the message of a set that failed */
    pthread_mutex_t lock;
    int next;
    bool failed;
    bool show;
    xf_progress progress;
} fit_work;

static void fit_worker(void *ctx, int worker, int workers) {
    fit_work *w = ctx;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        int s = w->failed ? w->n_sets : w->next++;
        pthread_mutex_unlock(&w->lock);
        if (s >= w->n_sets) return;
        xf_status st = fit_one(&w->sets[s], w->opts, w->opts->seed + 1000003ull * (uint64_t)s,
                               &w->out[s]);
        w->status[s] = st;
        if (st != XF_OK) snprintf(w->error[s], sizeof w->error[s], "%s", xf_error_message());
        pthread_mutex_lock(&w->lock);
        w->failed |= st != XF_OK;
        if (w->show) xf_progress_add(&w->progress, 1, NULL);
        pthread_mutex_unlock(&w->lock);
    }
}

xf_status xf_set_fits_compute_opts(const xf_point_set *sets, int n_sets,
                                   const xf_fit_options *opts, xf_set_fit **fits) {
    *fits = NULL;
    size_t m = n_sets > 0 ? (size_t)n_sets : 1;
    fit_work w = {.sets = sets,
                  .n_sets = n_sets,
                  .opts = opts,
                  .out = xf_calloc(m, sizeof *w.out),
                  .status = xf_calloc(m, sizeof *w.status),
                  .error = xf_calloc(m, sizeof *w.error)};
    if (!w.out || !w.status || !w.error) {
        free(w.out);
        free(w.status);
        free(w.error);
        return XF_ENOMEM;
    }
    int threads = opts->threads > 0 ? opts->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (threads > n_sets) threads = n_sets > 0 ? n_sets : 1;
    pthread_mutex_init(&w.lock, NULL);
    xf_pool pool;
    xf_status st = threads > 1 ? xf_pool_init(&pool, threads) : XF_OK;
    if (st == XF_OK) {
        /* a profile-likelihood frontier takes a fraction of a second per
         * set: a study of many sets takes long enough to show how far it is */
        w.show = n_sets >= PROGRESS_MIN_SETS;
        if (w.show) xf_progress_init(&w.progress, "fitting", "sets", (size_t)n_sets);
        if (threads > 1) {
            xf_pool_run(&pool, fit_worker, &w);
            xf_pool_free(&pool);
        } else {
            fit_worker(&w, 0, 1);
        }
        /* the first set that failed, as a serial run would report it */
        for (int s = 0; s < n_sets && st == XF_OK; s++)
            if (w.status[s] != XF_OK) st = xf_fail(w.status[s], "%s", w.error[s]);
        if (w.show) xf_progress_finish(&w.progress, st == XF_OK ? NULL : "failed");
    }
    pthread_mutex_destroy(&w.lock);
    free(w.status);
    free(w.error);
    if (st != XF_OK) {
        xf_set_fits_free(w.out, n_sets);
        return st;
    }
    *fits = w.out;
    return XF_OK;
}

xf_status xf_set_fits_compute(const xf_point_set *sets, int n_sets, xf_set_fit **fits) {
    xf_fit_options o = xf_fit_options_default();
    return xf_set_fits_compute_opts(sets, n_sets, &o, fits);
}

void xf_set_fits_free(xf_set_fit *fits, int n_sets) {
    if (!fits) return;
    for (int s = 0; s < n_sets; s++) free(fits[s].hull);
    free(fits);
}

int xf_set_fits_us_tasks(const xf_set_fit *fits, int n_sets) {
    int n = 0;
    for (int i = 0; i < n_sets; i++) {
        int j = 0;
        while (j < i && strcmp(fits[j].us_task, fits[i].us_task) != 0) j++;
        n += j == i;
    }
    return n;
}
