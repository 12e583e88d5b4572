/* Layer-wise view: how DS accuracy changes with the depth of the probed tap
 * for the best models, and whether DS tasks that saturate early (high
 * e_IR) also stop improving with depth (best layer below the top). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/study.h"
#include "core/mem.h"
#include "probe/probe.h"

_Static_assert(XF_LAYERS_MAX_TAPS >= XF_PROBE_MAX_LAYERS, "a curve holds every probed tap");

typedef struct {
    double us_acc;
    int trial;
} candidate;

/* Best US accuracy first; equal ones in table (id) order, so the curves
 * shown do not depend on the sort. */
static int by_us_desc(const void *a, const void *b) {
    const candidate *x = a, *y = b;
    if (x->us_acc != y->us_acc) return (x->us_acc < y->us_acc) - (x->us_acc > y->us_acc);
    return (x->trial > y->trial) - (x->trial < y->trial);
}

/* Whether probe p belongs to the set of fit: its DS task and shots, on a
 * trial of the set's US task. */
static int in_set(const xf_study_table *t, const xf_probe_mean *p, const xf_set_fit *fit) {
    return p->shots == fit->shots && strcmp(p->ds_task, fit->ds_task) == 0 &&
           strcmp(t->trials[p->trial].us_task, fit->us_task) == 0;
}

static xf_status one_set(const xf_study_table *t, const xf_set_fit *fit, xf_layer_row *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->us_task, sizeof row->us_task, "%s", fit->us_task);
    snprintf(row->ds_task, sizeof row->ds_task, "%s", fit->ds_task);
    row->shots = fit->shots;
    row->e_ir = fit->fit.status == XF_SATFIT_UNDERDETERMINED ? NAN : fit->fit.e_ir;
    row->frontier_e_ir =
        fit->frontier.status == XF_SATFIT_UNDERDETERMINED ? NAN : fit->frontier.e_ir;
    row->best_depth = NAN;
    /* trials of the US task with >= 2 taps probed on this (DS task, shots):
     * probes are ordered by trial, so each trial's run is contiguous */
    candidate *cand = xf_malloc((size_t)(t->n_trials > 0 ? t->n_trials : 1) * sizeof *cand);
    int *start = xf_malloc((size_t)(t->n_trials > 0 ? t->n_trials : 1) * sizeof *start);
    if (!cand || !start) {
        free(cand);
        free(start);
        return XF_ENOMEM;
    }
    for (int i = 0; i < t->n_trials; i++) start[i] = -1;
    int n_cand = 0;
    for (int i = 0; i < t->n_probes; i++) {
        const xf_probe_mean *p = &t->probes[i];
        if (!in_set(t, p, fit)) continue;
        if (start[p->trial] < 0) {
            start[p->trial] = i;
            if (p->n_layers >= 2)
                cand[n_cand++] = (candidate){t->trials[p->trial].us_acc, p->trial};
        }
    }
    qsort(cand, (size_t)n_cand, sizeof *cand, by_us_desc);
    double depth_sum = 0;
    for (int c = 0; c < n_cand && row->n_curves < XF_LAYERS_TOP; c++) {
        xf_layer_curve *cv = &row->curve[row->n_curves];
        memset(cv, 0, sizeof *cv);
        cv->trial = cand[c].trial;
        cv->us_acc = cand[c].us_acc;
        for (int i = start[cv->trial]; i < t->n_probes && t->probes[i].trial == cv->trial; i++) {
            const xf_probe_mean *p = &t->probes[i];
            if (!in_set(t, p, fit)) break;
            if (cv->n_layers == XF_LAYERS_MAX_TAPS) break;
            cv->depth[cv->n_layers] = (p->layer + 1.0) / p->n_layers;
            cv->acc[cv->n_layers++] = p->acc;
        }
        if (cv->n_layers < 2) continue;
        for (int l = 1; l < cv->n_layers; l++)
            if (cv->acc[l] > cv->acc[cv->best]) cv->best = l;
        depth_sum += cv->depth[cv->best];
        row->n_curves++;
    }
    if (row->n_curves) row->best_depth = depth_sum / row->n_curves;
    free(cand);
    free(start);
    return XF_OK;
}

/* Spearman correlation between each row's e_IR (the hull fit's, or the
 * frontier's) and its best depth, over the rows that have both. */
static double depth_correlation(const xf_layer_row *rows, int n, int frontier, double *x) {
    int m = 0;
    for (int s = 0; s < n; s++) {
        double e_ir = frontier ? rows[s].frontier_e_ir : rows[s].e_ir;
        if (!isnan(e_ir) && !isnan(rows[s].best_depth)) {
            x[m] = e_ir;
            x[n + m++] = rows[s].best_depth;
        }
    }
    return xf_spearman(x, x + n, m);
}

xf_status xf_layers_analyse(const xf_study_table *t, const xf_set_fit *fits, int n_sets,
                            xf_layer_row **rows, double rho[2]) {
    rho[0] = rho[1] = NAN;
    *rows = xf_calloc(n_sets > 0 ? (size_t)n_sets : 1, sizeof **rows);
    double *x = xf_malloc(2 * (size_t)(n_sets > 0 ? n_sets : 1) * sizeof *x);
    if (!*rows || !x) {
        free(*rows);
        free(x);
        *rows = NULL;
        return XF_ENOMEM;
    }
    for (int s = 0; s < n_sets; s++) {
        xf_status st = one_set(t, &fits[s], &(*rows)[s]);
        if (st != XF_OK) {
            free(*rows);
            free(x);
            *rows = NULL;
            return st;
        }
    }
    for (int f = 0; f < 2; f++) rho[f] = depth_correlation(*rows, n_sets, f, x);
    free(x);
    return XF_OK;
}
