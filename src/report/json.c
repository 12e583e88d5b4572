#include "report/json.h"

#include <math.h>
#include <string.h>

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *pair(const double v[2]) {
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, num(v[0]));
    cJSON_AddItemToArray(a, num(v[1]));
    return a;
}

/* The fields every fit object starts with. */
static cJSON *law_json(xf_satfit_status status, int n, double k, double alpha, double e_ir) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", xf_satfit_status_name(status));
    cJSON_AddNumberToObject(o, "n", n);
    cJSON_AddItemToObject(o, "k", num(k));
    cJSON_AddItemToObject(o, "alpha", num(alpha));
    cJSON_AddItemToObject(o, "e_ir", num(e_ir));
    cJSON_AddItemToObject(o, "saturation", num(1 - e_ir));
    return o;
}

static cJSON *fit_json(const xf_satfit *f, const xf_satfit_ci *ci, const xf_validation *v) {
    cJSON *o = law_json(f->status, f->n, f->k, f->alpha, f->e_ir);
    cJSON_AddItemToObject(o, "rms", num(f->rms));
    cJSON_AddItemToObject(o, "sse", num(f->sse));
    cJSON *c = cJSON_AddObjectToObject(o, "ci95");
    cJSON_AddItemToObject(c, "k", pair(ci->k));
    cJSON_AddItemToObject(c, "alpha", pair(ci->alpha));
    cJSON_AddItemToObject(c, "e_ir", pair(ci->e_ir));
    cJSON_AddNumberToObject(c, "resamples", ci->b);
    cJSON_AddNumberToObject(c, "resamples_fitted", ci->b_used);
    cJSON *val = cJSON_AddObjectToObject(o, "validation");
    cJSON_AddItemToObject(val, "us_threshold", num(v->threshold));
    cJSON_AddNumberToObject(val, "n_fit", v->n_fit);
    cJSON_AddNumberToObject(val, "n_test", v->n_test);
    cJSON_AddItemToObject(val, "fit_rms", num(v->fit_rms));
    cJSON_AddItemToObject(val, "predict_rms", num(v->predict_rms));
    return o;
}

static cJSON *frontier_json(const xf_set_fit *s) {
    const xf_sfrontier *f = &s->frontier;
    cJSON *o = law_json(f->status, f->n, f->k, f->alpha, f->e_ir);
    cJSON_AddItemToObject(o, "sigma_u", num(f->sigma_u));
    cJSON_AddItemToObject(o, "sigma_v", num(f->sigma_v));
    cJSON_AddBoolToObject(o, "probe_se_known", s->frontier_se_known);
    cJSON_AddItemToObject(o, "loglik", num(f->loglik));
    cJSON *c = cJSON_AddObjectToObject(o, "ci95");
    cJSON_AddItemToObject(c, "k", pair(f->ci[XF_SF_K]));
    cJSON_AddItemToObject(c, "alpha", pair(f->ci[XF_SF_ALPHA]));
    cJSON_AddItemToObject(c, "e_ir", pair(f->ci[XF_SF_EIR]));
    cJSON_AddStringToObject(c, "method", "profile likelihood");
    return o;
}

static cJSON *points_json(const xf_point_set *set) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < set->n_points; i++) {
        const xf_point *p = &set->points[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(a, e);
        cJSON_AddStringToObject(e, "trial", p->trial_id);
        cJSON_AddItemToObject(e, "us_acc", num(p->us_acc));
        cJSON_AddItemToObject(e, "ds_acc", num(p->ds_acc));
        cJSON_AddNumberToObject(e, "draws", p->draws);
        cJSON_AddItemToObject(e, "ds_draw_sd", num(p->ds_draw_sd));
        cJSON_AddItemToObject(
            e, "ds_se", num(xf_ds_se(p->ds_acc, set->ds_test_size, p->draws, p->ds_draw_sd)));
    }
    return a;
}

cJSON *xf_fits_json(const xf_set_fit *fits, const xf_point_set *sets, int n, int csv_mode) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n && arr; i++) {
        const xf_set_fit *s = &fits[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        if (!csv_mode) cJSON_AddStringToObject(o, "us_task", s->us_task);
        cJSON_AddStringToObject(o, csv_mode ? "group" : "ds_task", s->ds_task);
        if (!csv_mode) cJSON_AddNumberToObject(o, "shots", s->shots);
        cJSON_AddNumberToObject(o, "n_points", s->n_points);
        cJSON_AddNumberToObject(o, "n_hull", s->n_hull);
        /* the hull fit's numbers also at the top level, as before */
        cJSON_AddStringToObject(o, "status", xf_satfit_status_name(s->fit.status));
        cJSON_AddItemToObject(o, "k", num(s->fit.k));
        cJSON_AddItemToObject(o, "alpha", num(s->fit.alpha));
        cJSON_AddItemToObject(o, "e_ir", num(s->fit.e_ir));
        cJSON_AddItemToObject(o, "saturation", num(xf_satfit_saturation(&s->fit)));
        cJSON_AddItemToObject(o, "rms", num(s->fit.rms));
        cJSON_AddItemToObject(o, "sse", num(s->fit.sse));
        cJSON_AddItemToObject(o, "hull", fit_json(&s->fit, &s->ci, &s->val));
        cJSON_AddItemToObject(o, "all", fit_json(&s->fit_all, &s->ci_all, &s->val_all));
        cJSON_AddItemToObject(o, "frontier", frontier_json(s));
        cJSON *d = cJSON_AddObjectToObject(o, "decline");
        cJSON_AddItemToObject(d, "peak_us_acc", num(s->decline.peak_x));
        cJSON_AddItemToObject(d, "peak_ds_acc", num(s->decline.peak_y));
        cJSON_AddItemToObject(d, "ds_drop_after_peak", num(s->decline.drop));
        cJSON_AddNumberToObject(d, "hull_points_after_peak", s->decline.n_after);
        if (sets) {
            cJSON_AddNumberToObject(o, "ds_test_size", sets[i].ds_test_size);
            cJSON_AddItemToObject(o, "points", points_json(&sets[i]));
        }
    }
    return arr;
}

/* The DS test-set size of (us_task, ds_task), 0 when unknown. */
static int test_size_of(const xf_study_results *r, const char *us_task, const char *ds_task) {
    for (int i = 0; i < r->n_sets; i++)
        if (strcmp(r->sets[i].us_task, us_task) == 0 && strcmp(r->sets[i].ds_task, ds_task) == 0)
            return r->sets[i].ds_test_size;
    return 0;
}

static cJSON *sweep_json(const xf_study_results *r, const xf_sweep_point *p, int n, int groups) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "groups", groups);
    cJSON *a = cJSON_AddArrayToObject(o, "points");
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(a, e);
        cJSON_AddStringToObject(e, "us_task", p[i].us_task);
        cJSON_AddStringToObject(e, "ds_task", p[i].ds_task);
        cJSON_AddNumberToObject(e, "shots", p[i].shots);
        cJSON_AddNumberToObject(e, "group", p[i].group);
        cJSON_AddItemToObject(e, "value", num(p[i].value));
        cJSON_AddItemToObject(e, "us_acc", num(p[i].us_acc));
        cJSON_AddItemToObject(e, "ds_acc", num(p[i].ds_acc));
        /* the binomial error of the test set (shared by the draws, so
         * averaging draws does not shrink it): differences between sweep
         * values smaller than about twice this are noise */
        int m = test_size_of(r, p[i].us_task, p[i].ds_task);
        cJSON_AddItemToObject(e, "ds_se_test_set",
                              num(m > 0 ? xf_ds_se(p[i].ds_acc, m, 0, 0) : NAN));
    }
    return o;
}

cJSON *xf_results_json(const xf_study_results *r) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "fits", xf_fits_json(r->fits, r->sets, r->n_sets, 0));
    cJSON_AddNumberToObject(root, "knob_tests", r->n_knob_tests);
    cJSON *knobs = cJSON_AddArrayToObject(root, "knobs");
    for (int i = 0; i < r->n_knob_rows; i++) {
        const xf_knob_row *k = &r->knobs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(knobs, o);
        cJSON_AddStringToObject(o, "us_task", k->us_task);
        cJSON_AddStringToObject(o, "ds_task", k->ds_task);
        cJSON_AddNumberToObject(o, "shot_counts_pooled", k->n_shots);
        cJSON_AddNumberToObject(o, "n", k->n);
        for (int j = 0; j < XF_N_KNOBS; j++) {
            cJSON *t = cJSON_AddObjectToObject(o, xf_knob_name(j));
            cJSON_AddBoolToObject(t, "testable", k->knob[j].testable);
            cJSON_AddItemToObject(t, "partial_r2", num(k->knob[j].partial_r2));
            cJSON_AddItemToObject(t, "f", num(k->knob[j].f));
            cJSON_AddItemToObject(t, "p", num(k->knob[j].p));
            cJSON_AddItemToObject(t, "p_holm", num(k->knob[j].p_holm));
            cJSON_AddNumberToObject(t, "df_num", k->knob[j].df_num);
            cJSON_AddNumberToObject(t, "df_den", k->knob[j].df_den);
            cJSON_AddBoolToObject(t, "adds_information", k->informative[j]);
            cJSON_AddItemToObject(t, "ds_acc_per_doubling", num(k->per_doubling[j]));
        }
    }
    cJSON *layers = cJSON_AddObjectToObject(root, "layers");
    cJSON_AddItemToObject(layers, "spearman_e_ir_vs_best_depth", num(r->layer_rho[0]));
    cJSON_AddItemToObject(layers, "spearman_frontier_e_ir_vs_best_depth", num(r->layer_rho[1]));
    cJSON *rows = cJSON_AddArrayToObject(layers, "sets");
    for (int i = 0; i < r->n_sets; i++) {
        const xf_layer_row *l = &r->layers[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(rows, o);
        cJSON_AddStringToObject(o, "us_task", l->us_task);
        cJSON_AddStringToObject(o, "ds_task", l->ds_task);
        cJSON_AddNumberToObject(o, "shots", l->shots);
        cJSON_AddItemToObject(o, "best_depth", num(l->best_depth));
        cJSON_AddItemToObject(o, "e_ir", num(l->e_ir));
        cJSON_AddItemToObject(o, "frontier_e_ir", num(l->frontier_e_ir));
        cJSON *models = cJSON_AddArrayToObject(o, "models");
        for (int c = 0; c < l->n_curves; c++) {
            const xf_layer_curve *cv = &l->curve[c];
            cJSON *m = cJSON_CreateObject();
            cJSON_AddItemToArray(models, m);
            cJSON_AddStringToObject(m, "trial", r->table.trials[cv->trial].id);
            cJSON_AddItemToObject(m, "us_acc", num(cv->us_acc));
            cJSON_AddItemToObject(m, "depth", cJSON_CreateDoubleArray(cv->depth, cv->n_layers));
            cJSON_AddItemToObject(m, "ds_acc", cJSON_CreateDoubleArray(cv->acc, cv->n_layers));
            cJSON_AddNumberToObject(m, "best_layer", cv->best);
        }
    }
    cJSON_AddItemToObject(root, "head_wd", sweep_json(r, r->wd, r->n_wd, r->wd_groups));
    cJSON_AddItemToObject(root, "head_lr", sweep_json(r, r->lr, r->n_lr, r->lr_groups));
    cJSON *div = cJSON_AddArrayToObject(root, "diversity");
    for (int i = 0; i < r->n_diversity; i++) {
        const xf_diversity_row *d = &r->diversity[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(div, o);
        cJSON_AddStringToObject(o, "ds_task", d->ds_task);
        cJSON_AddNumberToObject(o, "shots", d->shots);
        cJSON_AddStringToObject(o, "us_task", d->us_task);
        cJSON_AddNumberToObject(o, "n_points", d->n_points);
        cJSON_AddItemToObject(o, "us_best", num(d->us_best));
        cJSON_AddItemToObject(o, "us_frac_of_best_at", cJSON_CreateDoubleArray(d->us_at, 3));
        cJSON_AddItemToObject(o, "ds_acc_at", cJSON_CreateDoubleArray(d->ds_at, 3));
        cJSON *fr = cJSON_AddArrayToObject(o, "frontier_ds_acc_at");
        for (int q = 0; q < 3; q++) cJSON_AddItemToArray(fr, num(d->frontier_ds_at[q]));
    }
    cJSON *cost = cJSON_AddObjectToObject(root, "cost");
    cJSON_AddNumberToObject(cost, "trials", r->n_trials);
    cJSON_AddNumberToObject(cost, "finished", r->n_finished);
    cJSON_AddNumberToObject(cost, "trial_hours", r->cpu_seconds / 3600);
    cJSON_AddNumberToObject(cost, "train_flops", r->train_flops);
    return root;
}
