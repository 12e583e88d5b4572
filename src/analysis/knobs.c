/* Does anything beyond US accuracy predict DS accuracy? The residuals of the
 * all-points saturation fit (DS accuracy minus the law's prediction from US
 * accuracy) are regressed on the training knobs; a knob adds information
 * when dropping it from the regression costs significant fit (F-test). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/study.h"
#include "core/mem.h"

enum { MAX_FAMILIES = 16 };

const char *xf_knob_name(int knob) {
    static const char *const names[] = {"log params", "log US examples seen", "log epochs",
                                        "family"};
    return knob >= 0 && knob < XF_N_KNOBS ? names[knob] : "?";
}

xf_status xf_knobs_regress(const double *resid, const double *params, const double *examples,
                           const double *epochs, const int *family, int n, xf_knob_row *row) {
    int levels = 0;
    for (int i = 0; i < n; i++)
        if (family[i] + 1 > levels) levels = family[i] + 1;
    int p = 4 + (levels > 1 ? levels - 1 : 0);
    int group[4 + MAX_FAMILIES];
    group[0] = -1;
    group[1] = XF_KNOB_PARAMS;
    group[2] = XF_KNOB_EXAMPLES;
    group[3] = XF_KNOB_EPOCHS;
    for (int j = 4; j < p; j++) group[j] = XF_KNOB_FAMILY;
    double *x = xf_malloc((size_t)(n > 0 ? n : 1) * (size_t)p * sizeof *x);
    if (!x) return XF_ENOMEM;
    for (int i = 0; i < n; i++) {
        double *r = x + (size_t)i * p;
        r[0] = 1;
        r[1] = log(params[i]);
        r[2] = log(examples[i]);
        r[3] = log(epochs[i]);
        for (int j = 4; j < p; j++) r[j] = family[i] == j - 3; /* level 0 is the base */
    }
    row->n = n;
    xf_status st = xf_nested_ftests(x, n, p, group, XF_N_KNOBS, resid, row->knob, &row->r2);
    for (int k = 0; k < XF_N_KNOBS; k++)
        row->informative[k] = st == XF_OK && row->knob[k].testable &&
                              row->knob[k].p < XF_KNOB_P && row->knob[k].partial_r2 >= XF_KNOB_R2;
    free(x);
    return st;
}

/* train.epochs of a trial's config, or NaN. */
static double config_epochs(const char *json) {
    cJSON *root = cJSON_Parse(json);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "train"), "epochs");
    double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    cJSON_Delete(root);
    return v;
}

static xf_status one_set(const xf_study_table *t, const xf_point_set *set, const xf_set_fit *fit,
                         xf_knob_row *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->us_task, sizeof row->us_task, "%s", set->us_task);
    snprintf(row->ds_task, sizeof row->ds_task, "%s", set->ds_task);
    row->shots = set->shots;
    row->r2 = NAN;
    for (int k = 0; k < XF_N_KNOBS; k++) row->knob[k] = (xf_ftest){0, 0, NAN, NAN, NAN, 0};
    if (fit->fit_all.status == XF_SATFIT_UNDERDETERMINED || set->n_points == 0) return XF_OK;
    int n = set->n_points;
    double *buf = xf_malloc(4 * (size_t)n * sizeof *buf);
    int *fam = xf_malloc((size_t)n * sizeof *fam);
    if (!buf || !fam) {
        free(buf);
        free(fam);
        return XF_ENOMEM;
    }
    double *res = buf, *par = buf + n, *ex = buf + 2 * n, *ep = buf + 3 * n;
    const char *names[MAX_FAMILIES];
    int n_names = 0, m = 0;
    for (int i = 0; i < n; i++) {
        const xf_point *pt = &set->points[i];
        int ti = xf_study_table_find(t, pt->trial_id);
        if (ti < 0) continue;
        const xf_trial_full *tr = &t->trials[ti];
        /* images seen: the trainer counts 3 * flops_per_image per image
         * (forward and backward), so this is data size x epochs exactly */
        double seen = tr->flops_per_image > 0 ? tr->train_flops / (3 * tr->flops_per_image) : NAN;
        double epochs = config_epochs(tr->config_json);
        if (!(tr->params > 0 && seen > 0 && epochs > 0)) continue;
        int f = 0;
        while (f < n_names && strcmp(names[f], tr->family) != 0) f++;
        if (f == n_names) {
            if (n_names == MAX_FAMILIES) continue;
            names[n_names++] = tr->family;
        }
        res[m] = pt->ds_acc - (1 - xf_satfit_predict(&fit->fit_all, 1 - pt->us_acc));
        par[m] = tr->params;
        ex[m] = seen;
        ep[m] = epochs;
        fam[m++] = f;
    }
    xf_status st = xf_knobs_regress(res, par, ex, ep, fam, m, row);
    free(buf);
    free(fam);
    return st;
}

xf_status xf_knobs_analyse(const xf_study_table *t, const xf_point_set *sets,
                           const xf_set_fit *fits, int n_sets, xf_knob_row **rows) {
    *rows = xf_calloc(n_sets > 0 ? (size_t)n_sets : 1, sizeof **rows);
    if (!*rows) return XF_ENOMEM;
    for (int s = 0; s < n_sets; s++) {
        xf_status st = one_set(t, &sets[s], &fits[s], &(*rows)[s]);
        if (st != XF_OK) {
            free(*rows);
            *rows = NULL;
            return xf_fail_context(st, "US %s, DS %s, %d shots: ", sets[s].us_task,
                                   sets[s].ds_task, sets[s].shots);
        }
    }
    return XF_OK;
}
