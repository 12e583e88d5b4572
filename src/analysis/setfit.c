#include "analysis/setfit.h"

#include <stdio.h>
#include <stdlib.h>

#include "analysis/hull.h"
#include "core/mem.h"

static xf_status fit_one(const xf_point_set *set, xf_set_fit *out) {
    int n = set->n_points;
    snprintf(out->ds_task, sizeof out->ds_task, "%s", set->ds_task);
    out->shots = set->shots;
    out->n_points = n;
    size_t count = n > 0 ? (size_t)n : 1;
    double *buf = xf_malloc(4 * count * sizeof *buf);
    out->hull = xf_malloc(count * sizeof *out->hull);
    if (!buf || !out->hull) {
        free(buf);
        return XF_ENOMEM;
    }
    double *us = buf, *ds = buf + count, *hus = buf + 2 * count, *hds = buf + 3 * count;
    for (int i = 0; i < n; i++) {
        us[i] = set->points[i].us_acc;
        ds[i] = set->points[i].ds_acc;
    }
    xf_status st = xf_hull_upper(us, ds, n, out->hull, &out->n_hull);
    if (st == XF_OK) {
        for (int i = 0; i < out->n_hull; i++) {
            hus[i] = us[out->hull[i]];
            hds[i] = ds[out->hull[i]];
        }
        st = xf_satfit_accuracies(hus, hds, out->n_hull, &out->fit);
    }
    free(buf);
    if (st != XF_OK)
        return xf_fail_context(st, "%s, %d shots: ", set->ds_task, set->shots);
    return XF_OK;
}

xf_status xf_set_fits_compute(const xf_point_set *sets, int n_sets, xf_set_fit **fits) {
    *fits = NULL;
    xf_set_fit *out = xf_calloc(n_sets > 0 ? (size_t)n_sets : 1, sizeof *out);
    if (!out) return XF_ENOMEM;
    for (int s = 0; s < n_sets; s++) {
        xf_status st = fit_one(&sets[s], &out[s]);
        if (st != XF_OK) {
            xf_set_fits_free(out, n_sets);
            return st;
        }
    }
    *fits = out;
    return XF_OK;
}

void xf_set_fits_free(xf_set_fit *fits, int n_sets) {
    if (!fits) return;
    for (int s = 0; s < n_sets; s++) free(fits[s].hull);
    free(fits);
}
