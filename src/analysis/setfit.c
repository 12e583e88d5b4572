#include "analysis/setfit.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/hull.h"
#include "core/mem.h"
#include "core/progress.h"

enum { PROGRESS_MIN_SETS = 16 };

xf_fit_options xf_fit_options_default(void) {
    return (xf_fit_options){0, 1, XF_HOLDOUT_QUANTILE_DEFAULT, 1, 0, 0};
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

xf_status xf_set_fits_compute_opts(const xf_point_set *sets, int n_sets,
                                   const xf_fit_options *opts, xf_set_fit **fits) {
    *fits = NULL;
    xf_set_fit *out = xf_calloc(n_sets > 0 ? (size_t)n_sets : 1, sizeof *out);
    if (!out) return XF_ENOMEM;
    /* a profile-likelihood frontier takes a fraction of a second per set:
     * a study of many sets takes long enough to show how far it is */
    xf_progress progress;
    bool show = n_sets >= PROGRESS_MIN_SETS;
    if (show) xf_progress_init(&progress, "fitting", "sets", (size_t)n_sets);
    for (int s = 0; s < n_sets; s++) {
        xf_status st = fit_one(&sets[s], opts, opts->seed + 1000003ull * (uint64_t)s, &out[s]);
        if (st != XF_OK) {
            if (show) xf_progress_finish(&progress, "failed");
            xf_set_fits_free(out, n_sets);
            return st;
        }
        if (show) xf_progress_add(&progress, 1, NULL);
    }
    if (show) xf_progress_finish(&progress, NULL);
    *fits = out;
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
