/* Views that regroup trials: knob sweeps among otherwise equal configs
 * (head weight decay, head learning rate) and DS accuracy at matched US
 * accuracy across US tasks. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/frontier.h"
#include "analysis/study.h"
#include "core/mem.h"

static int cmp_us(const void *a, const void *b) {
    double x = ((const xf_point *)a)->us_acc, y = ((const xf_point *)b)->us_acc;
    return (x > y) - (x < y);
}

static int is_last(const xf_probe_mean *p) { return p->layer == p->n_layers - 1; }

xf_status xf_table_points(const xf_study_table *t, const char *ds_task, int shots,
                          const char *us_task, xf_point **points, int *n) {
    *n = 0;
    *points = xf_malloc((size_t)(t->n_trials > 0 ? t->n_trials : 1) * sizeof **points);
    if (!*points) return XF_ENOMEM;
    for (int i = 0; i < t->n_probes; i++) {
        const xf_probe_mean *p = &t->probes[i];
        const xf_trial_full *tr = &t->trials[p->trial];
        if (!is_last(p) || p->shots != shots || strcmp(p->ds_task, ds_task) != 0) continue;
        if (us_task && strcmp(tr->us_task, us_task) != 0) continue;
        xf_point *pt = &(*points)[(*n)++];
        memset(pt, 0, sizeof *pt);
        snprintf(pt->trial_id, sizeof pt->trial_id, "%s", tr->id);
        snprintf(pt->family, sizeof pt->family, "%s", tr->family);
        pt->us_acc = tr->us_acc;
        pt->ds_acc = p->acc;
        pt->params = tr->params;
    }
    qsort(*points, (size_t)*n, sizeof **points, cmp_us);
    return XF_OK;
}

/* The config without train.<knob>, as canonical text, and the knob's value. */
static char *group_key(const char *json, const char *knob, double *value) {
    *value = NAN;
    cJSON *root = cJSON_Parse(json);
    cJSON *train = cJSON_GetObjectItemCaseSensitive(root, "train");
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(train, knob);
    if (cJSON_IsNumber(v)) *value = v->valuedouble;
    cJSON_Delete(v);
    char *key = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return key;
}

xf_status xf_sweep_analyse(const xf_study_table *t, const char *knob, xf_sweep_point **out,
                           int *n_out, int *n_groups) {
    *out = NULL;
    *n_out = *n_groups = 0;
    int nt = t->n_trials > 0 ? t->n_trials : 1;
    char **keys = xf_calloc((size_t)nt, sizeof *keys);
    double *value = xf_malloc((size_t)nt * sizeof *value);
    int *group = xf_malloc((size_t)nt * sizeof *group);
    xf_status st = keys && value && group ? XF_OK : XF_ENOMEM;
    for (int i = 0; st == XF_OK && i < t->n_trials; i++) {
        group[i] = -1;
        if (t->trials[i].status != XF_TRIAL_FINISHED) continue;
        keys[i] = group_key(t->trials[i].config_json, knob, &value[i]);
        if (!keys[i] || isnan(value[i])) continue;
        /* the group of the first trial with the same key and US task (the
         * config names it, but US accuracies of two US tasks never share a
         * chart); kept only if some member has a different value */
        int first = i;
        for (int j = 0; j < i; j++)
            if (keys[j] && !isnan(value[j]) && strcmp(keys[j], keys[i]) == 0 &&
                strcmp(t->trials[j].us_task, t->trials[i].us_task) == 0) {
                first = j;
                break;
            }
        group[i] = first;
    }
    /* number the groups whose values differ */
    int *label = xf_malloc((size_t)nt * sizeof *label);
    if (st == XF_OK && !label) st = XF_ENOMEM;
    for (int i = 0; st == XF_OK && i < t->n_trials; i++) label[i] = -1;
    for (int i = 0; st == XF_OK && i < t->n_trials; i++) {
        if (group[i] != i) continue;
        int varies = 0;
        for (int j = i + 1; j < t->n_trials && !varies; j++)
            varies = group[j] == i && value[j] != value[i];
        if (varies) label[i] = (*n_groups)++;
    }
    if (st == XF_OK && *n_groups > 0) {
        *out = xf_malloc((size_t)(t->n_probes > 0 ? t->n_probes : 1) * sizeof **out);
        if (!*out) st = XF_ENOMEM;
        for (int i = 0; st == XF_OK && i < t->n_probes; i++) {
            const xf_probe_mean *p = &t->probes[i];
            int g = group[p->trial] >= 0 ? label[group[p->trial]] : -1;
            if (!is_last(p) || g < 0) continue;
            xf_sweep_point *s = &(*out)[(*n_out)++];
            snprintf(s->us_task, sizeof s->us_task, "%s", t->trials[p->trial].us_task);
            snprintf(s->ds_task, sizeof s->ds_task, "%s", p->ds_task);
            s->shots = p->shots;
            s->group = g;
            s->value = value[p->trial];
            s->us_acc = t->trials[p->trial].us_acc;
            s->ds_acc = p->acc;
        }
    }
    for (int i = 0; keys && i < t->n_trials; i++) free(keys[i]);
    free(keys);
    free(value);
    free(group);
    free(label);
    return st;
}

xf_status xf_diversity_analyse(const xf_study_table *t, xf_diversity_row **rows, int *n) {
    *rows = NULL;
    *n = 0;
    /* distinct US tasks and (ds_task, shots) pairs, in table order */
    const char *us[16];
    int n_us = 0;
    for (int i = 0; i < t->n_trials; i++) {
        if (t->trials[i].status != XF_TRIAL_FINISHED) continue;
        int j = 0;
        while (j < n_us && strcmp(us[j], t->trials[i].us_task) != 0) j++;
        if (j == n_us && n_us < 16) us[n_us++] = t->trials[i].us_task;
    }
    if (n_us < 2) return XF_OK;
    xf_diversity_row *out = NULL;
    int n_rows = 0, cap = 0;
    xf_status st = XF_OK;
    for (int i = 0; st == XF_OK && i < t->n_probes; i++) {
        const xf_probe_mean *p = &t->probes[i];
        if (!is_last(p)) continue;
        int seen = 0;
        for (int r = 0; r < n_rows && !seen; r += n_us)
            seen = out[r].shots == p->shots && strcmp(out[r].ds_task, p->ds_task) == 0;
        if (seen) continue;
        if (n_rows + n_us > cap) {
            cap = 2 * (cap + n_us);
            xf_diversity_row *bigger = xf_realloc(out, (size_t)cap * sizeof *bigger);
            if (!bigger) {
                st = XF_ENOMEM;
                break;
            }
            out = bigger;
        }
        double lo = -INFINITY, hi = INFINITY;
        for (int u = 0; st == XF_OK && u < n_us; u++) {
            xf_diversity_row *r = &out[n_rows + u];
            memset(r, 0, sizeof *r);
            snprintf(r->ds_task, sizeof r->ds_task, "%s", p->ds_task);
            snprintf(r->us_task, sizeof r->us_task, "%s", us[u]);
            r->shots = p->shots;
            xf_point *pts;
            int np;
            st = xf_table_points(t, p->ds_task, p->shots, us[u], &pts, &np);
            if (st != XF_OK) break;
            double *a = xf_malloc(2 * (size_t)(np > 0 ? np : 1) * sizeof *a);
            if (!a) st = XF_ENOMEM;
            for (int k = 0; st == XF_OK && k < np; k++) {
                a[k] = pts[k].us_acc;
                a[np + k] = pts[k].ds_acc;
            }
            if (st == XF_OK) st = xf_frontier_fit(a, a + np, np, 1, &r->fit);
            r->n_points = np;
            /* difficulty matched: US accuracy as a fraction of the best
             * model's on the same US task (and so the same test set) */
            r->us_best = np > 0 ? pts[np - 1].us_acc : NAN;
            if (np > 0 && r->us_best > 0) {
                lo = fmax(lo, pts[0].us_acc / r->us_best);
                hi = fmin(hi, 1.0);
            } else {
                hi = -INFINITY;
            }
            free(a);
            free(pts);
        }
        for (int u = 0; st == XF_OK && u < n_us; u++) {
            xf_diversity_row *r = &out[n_rows + u];
            for (int q = 0; q < 3; q++) {
                r->frontier_ds_at[q] = NAN;
                r->us_at[q] = hi >= lo ? lo + (hi - lo) * (q + 1) / 4.0 : NAN;
                r->ds_at[q] = hi >= lo && r->fit.status != XF_SATFIT_UNDERDETERMINED
                                  ? 1 - xf_satfit_predict(&r->fit, 1 - r->us_at[q] * r->us_best)
                                  : NAN;
            }
        }
        n_rows += n_us;
    }
    if (st != XF_OK) {
        free(out);
        return st;
    }
    *rows = out;
    *n = n_rows;
    return XF_OK;
}

void xf_diversity_read_frontiers(xf_diversity_row *rows, int n, const xf_point_set *sets,
                                 const xf_set_fit *fits, int n_sets) {
    for (int i = 0; i < n; i++) {
        xf_diversity_row *r = &rows[i];
        const xf_sfrontier *fr = NULL;
        for (int j = 0; j < n_sets && !fr; j++)
            if (sets[j].shots == r->shots && strcmp(sets[j].ds_task, r->ds_task) == 0 &&
                strcmp(sets[j].us_task, r->us_task) == 0)
                fr = &fits[j].frontier;
        for (int q = 0; q < 3; q++)
            r->frontier_ds_at[q] =
                fr && fr->status != XF_SATFIT_UNDERDETERMINED && !isnan(r->us_at[q])
                    ? 1 - (fr->k * pow(1 - r->us_at[q] * r->us_best, fr->alpha) + fr->e_ir)
                    : NAN;
    }
}
