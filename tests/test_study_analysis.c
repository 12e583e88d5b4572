/* The study analyses against a built store: a small study.db with planted
 * numbers (two US tasks on known saturation laws, head_wd and head_lr
 * sweeps, per-layer accuracies with known best layers), read back through
 * xf_study_analyse and written as the full report. Every fit is per (US
 * task, DS task, shots): the US accuracies of two US tasks are measured on
 * different test sets and never share a set. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/study.h"
#include "core/mem.h"
#include "report/plot.h"
#include "report/report.h"
#include "study/store.h"
#include "support.h"

enum { N_LAYERS = 4, N_SETS = 4, N_US = 2 };

/* The (DS task, shots) pairs in store order (task, then shots); the store
 * holds them for usA (12 finished trials, so first), then for usB (4).
 * e_IR of the usA law; usB's is 0.1 higher. Layer offsets from the last
 * layer: dsUp peaks at layer 1 (relative depth 0.5), dsDown at the last
 * layer. */
static const char *const us_name[N_US] = {"usA", "usB"};
static const int us_points[N_US] = {12, 4};
static const char *const set_task[N_SETS] = {"dsDown", "dsDown", "dsUp", "dsUp"};
static const int set_shots[N_SETS] = {5, 10, 5, 10};
static const double set_eir[N_SETS] = {0.30, 0.25, 0.10, 0.05};
static const double layer_offset[2][N_LAYERS] = {{-0.3, -0.2, -0.1, 0}, {-0.10, 0.05, 0.02, 0}};

typedef struct {
    const char *id, *us_task;
    int width;
    double head_wd, head_lr, lr, us_acc;
    double ds_down, ds_up; /* 5-shot last layer; NaN: on the law of its US task */
    int last_only;         /* probed at the last layer only */
    int failed;
} trial_spec;

/* Curve trials lie on e_DS = 0.5 e_US^1.5 + e_IR (a* on usA, b* on usB);
 * s1-s3 sweep head_wd, s2/s4/s5 sweep head_lr; d1, d2 differ from s1/s3 in
 * the body lr too, so they sweep nothing; f1 failed. All of s*, d* lie well
 * below the usA law, so the hulls hold only curve trials. */
static const trial_spec trials[] = {
    {"a1", "usA", 32, 1e-3, 0.1, 0.1, 0.60, NAN, NAN, 0, 0},
    {"a2", "usA", 64, 1e-3, 0.1, 0.1, 0.70, NAN, NAN, 0, 0},
    {"a3", "usA", 128, 1e-3, 0.1, 0.1, 0.80, NAN, NAN, 0, 0},
    {"a4", "usA", 256, 1e-3, 0.1, 0.1, 0.90, NAN, NAN, 0, 0},
    {"a5", "usA", 512, 1e-3, 0.1, 0.1, 0.95, NAN, NAN, 1, 0},
    {"b1", "usB", 32, 1e-3, 0.1, 0.1, 0.65, NAN, NAN, 0, 0},
    {"b2", "usB", 64, 1e-3, 0.1, 0.1, 0.72, NAN, NAN, 0, 0},
    {"b3", "usB", 128, 1e-3, 0.1, 0.1, 0.78, NAN, NAN, 0, 0},
    {"b4", "usB", 256, 1e-3, 0.1, 0.1, 0.85, NAN, NAN, 0, 0},
    {"d1", "usA", 100, 1e-4, 0.05, 0.05, 0.71, 0.40, 0.40, 0, 0},
    {"d2", "usA", 100, 1e-2, 0.02, 0.02, 0.69, 0.41, 0.41, 0, 0},
    {"f1", "usA", 100, 1e-1, 0.1, 0.1, 0.00, 0.30, 0.30, 0, 1},
    {"s1", "usA", 100, 1e-4, 0.1, 0.1, 0.81, 0.50, 0.50, 0, 0},
    {"s2", "usA", 100, 1e-3, 0.1, 0.1, 0.83, 0.45, 0.55, 0, 0},
    {"s3", "usA", 100, 1e-2, 0.1, 0.1, 0.79, 0.40, 0.60, 0, 0},
    {"s4", "usA", 100, 1e-3, 0.01, 0.1, 0.76, 0.52, 0.42, 0, 0},
    {"s5", "usA", 100, 1e-3, 1.0, 0.1, 0.74, 0.38, 0.47, 0, 0},
};
enum { N_TRIALS = sizeof trials / sizeof trials[0] };

static double law_acc(double us_acc, double e_ir) {
    return 1 - (0.5 * pow(1 - us_acc, 1.5) + e_ir);
}

/* Last-layer DS accuracy of trial t on set s. */
static double planted_ds(const trial_spec *t, int s) {
    if (isnan(t->ds_up))
        return law_acc(t->us_acc, set_eir[s] + (strcmp(t->us_task, "usB") == 0 ? 0.1 : 0));
    return (s < 2 ? t->ds_down : t->ds_up) + (set_shots[s] == 10 ? 0.01 : 0);
}

static int spec_index(const char *id) {
    for (int i = 0; i < N_TRIALS; i++)
        if (strcmp(trials[i].id, id) == 0) return i;
    return -1;
}

static void write_study(const char *dir) {
    char path[512], config[1024];
    snprintf(path, sizeof path, "%s/study.db", dir);
    xf_store *store;
    cr_assert_eq(xf_store_open(path, &store), XF_OK, "%s", xf_error_message());
    for (int i = 0; i < N_TRIALS; i++) {
        const trial_spec *t = &trials[i];
        snprintf(config, sizeof config,
                 "{\"downstream\":{\"draws\":2,\"lambda\":1,\"shots\":[5,10],\"tasks\":"
                 "[\"dsDown\",\"dsUp\"],\"test_limit\":0},\"model\":{\"depth\":2,\"family\":"
                 "\"mlp\",\"width\":%d},\"train\":{\"batch\":64,\"data_fraction\":1,\"epochs\":2,"
                 "\"head_lr\":%g,\"head_wd\":%g,\"lr\":%g,\"seed\":0,\"warmup\":0,\"wd\":0.0001},"
                 "\"upstream\":\"%s\"}",
                 t->width, t->head_lr, t->head_wd, t->lr, t->us_task);
        /* images seen = train_flops / (3 flops_per_image): 2 epochs of 1000
         * (usA) or 2000 (usB) images */
        double fpi = 1000.0 * t->width, seen = 2 * (strcmp(t->us_task, "usB") == 0 ? 2000 : 1000);
        xf_trial_record rec = {.id = t->id,
                               .study = "planted",
                               .config_json = config,
                               .family = "mlp",
                               .us_task = t->us_task,
                               .status = t->failed ? XF_TRIAL_FAILED : XF_TRIAL_FINISHED,
                               .us_acc = t->us_acc,
                               .params = 1000LL * t->width,
                               .flops_per_image = fpi,
                               .train_flops = 3 * fpi * seen,
                               .seconds = t->failed ? 5 : 10,
                               .error = t->failed ? "diverged at step 3" : NULL};
        xf_probe_row rows[N_SETS * N_LAYERS * 2];
        int n = 0;
        for (int s = 0; s < N_SETS; s++)
            for (int l = t->last_only ? N_LAYERS - 1 : 0; l < N_LAYERS; l++)
                for (int d = 0; d < 2; d++) {
                    /* two draws that average to the planted accuracy */
                    double acc = planted_ds(t, s) + layer_offset[s >= 2][l] + (d ? -0.01 : 0.01);
                    rows[n++] = (xf_probe_row){set_task[s], l, "tap", N_LAYERS, set_shots[s], d,
                                               acc};
                }
        cr_assert_eq(xf_store_write_trial(store, &rec, rows, n), XF_OK, "%s: %s", t->id,
                     xf_error_message());
    }
    xf_store_close(store);
}

static void check_table(const xf_study_results *r) {
    cr_assert_eq(r->n_trials, N_TRIALS);
    cr_assert_eq(r->n_finished, N_TRIALS - 1);
    cr_assert_float_eq(r->cpu_seconds, 10.0 * (N_TRIALS - 1) + 5, 1e-9);
    const xf_study_table *t = &r->table;
    cr_assert_eq(t->n_trials, N_TRIALS);
    for (int i = 0; i < N_TRIALS; i++) { /* ordered by id, which the specs are */
        cr_assert_str_eq(t->trials[i].id, trials[i].id);
        cr_assert_str_eq(t->trials[i].us_task, trials[i].us_task);
        cr_assert_eq(xf_study_table_find(t, trials[i].id), i);
        cr_assert(strstr(t->trials[i].config_json, "\"head_wd\":"));
    }
    cr_assert_eq(t->trials[spec_index("f1")].status, XF_TRIAL_FAILED);
    cr_assert_eq(xf_study_table_find(t, "zz"), -1);
    /* finished trials only: 15 with every layer, a5 with the last */
    cr_assert_eq(t->n_probes, (N_TRIALS - 2) * N_SETS * N_LAYERS + N_SETS);
    for (int i = 0; i < t->n_probes; i++) {
        const xf_probe_mean *p = &t->probes[i];
        const trial_spec *spec = &trials[p->trial];
        int s = (strcmp(p->ds_task, "dsUp") == 0) * 2 + (p->shots == 10);
        cr_assert_eq(p->draws, 2);
        cr_assert_eq(p->n_layers, N_LAYERS);
        cr_assert(!spec->failed);
        cr_assert_float_eq(p->acc, planted_ds(spec, s) + layer_offset[s >= 2][p->layer], 1e-12,
                           "%s %s %d layer %d", spec->id, p->ds_task, p->shots, p->layer);
        if (i > 0) { /* by trial, task, shots, layer */
            const xf_probe_mean *q = &t->probes[i - 1];
            int order = q->trial - p->trial;
            if (order == 0) order = strcmp(q->ds_task, p->ds_task);
            if (order == 0) order = q->shots - p->shots;
            if (order == 0) order = q->layer - p->layer;
            cr_assert_lt(order, 0, "probe %d out of order", i);
        }
    }
}

static void check_fits(const xf_study_results *r) {
    cr_assert_eq(r->n_sets, N_US * N_SETS);
    for (int i = 0; i < N_US * N_SETS; i++) {
        int u = i / N_SETS, s = i % N_SETS;
        const xf_point_set *set = &r->sets[i];
        const xf_set_fit *fit = &r->fits[i];
        cr_assert_str_eq(set->us_task, us_name[u]);
        cr_assert_str_eq(set->ds_task, set_task[s]);
        cr_assert_eq(set->shots, set_shots[s]);
        cr_assert_eq(set->n_points, us_points[u]);
        for (int p = 0; p < set->n_points; p++) { /* only the set's US task's trials */
            const trial_spec *spec = &trials[spec_index(set->points[p].trial_id)];
            cr_assert_str_eq(spec->us_task, us_name[u], "%s in set %d", spec->id, i);
            cr_assert_float_eq(set->points[p].ds_acc, planted_ds(spec, s), 1e-12);
            /* two draws 0.02 apart: sample sd 0.02 / sqrt 2 */
            cr_assert_eq(set->points[p].draws, 2);
            cr_assert_float_eq(set->points[p].ds_draw_sd, 0.02 / sqrt(2), 1e-9);
        }
        cr_assert_str_eq(fit->us_task, us_name[u]);
        cr_assert_str_eq(fit->ds_task, set_task[s]);
        cr_assert_eq(fit->shots, set_shots[s]);
        /* each law's models make its hull (usA: a1-a5, usB: b1-b4, all on the
         * law) and each fit recovers its own law, 0.1 apart in e_IR */
        cr_assert_eq(fit->n_hull, u ? 4 : 5);
        for (int h = 0; h < fit->n_hull; h++)
            cr_assert_eq(set->points[fit->hull[h]].trial_id[0], u ? 'b' : 'a');
        cr_assert_float_eq(fit->fit.e_ir, set_eir[s] + 0.1 * u, 1e-5);
        cr_assert_float_eq(fit->fit.alpha, 1.5, 1e-3);
    }
    /* knobs: one row per (US task, DS task), the two shot counts pooled;
     * within a US task the study holds data, epochs, examples seen and
     * family constant, so only params is tested, and only on usA (usB's 4
     * models leave no residual df after the curve and the knob): 2 tests */
    cr_assert_eq(r->n_knob_rows, N_US * 2);
    cr_assert_eq(r->n_knob_tests, 2);
    for (int i = 0; i < r->n_knob_rows; i++) {
        const xf_knob_row *k = &r->knobs[i];
        int u = i / 2;
        cr_assert_str_eq(k->us_task, us_name[u]);
        cr_assert_str_eq(k->ds_task, i % 2 ? "dsUp" : "dsDown");
        cr_assert_eq(k->n_shots, 2);
        cr_assert_eq(k->n, us_points[u]);
        const xf_ftest *t = &k->knob[XF_KNOB_PARAMS];
        if (u == 0) {
            cr_assert(t->testable && t->p_holm >= t->p && t->p_holm <= 1);
            cr_assert_eq(t->df_num, 1);
            cr_assert_eq(t->df_den, us_points[0] - 4);
        } else {
            cr_assert(!t->testable && t->df_den == 0);
        }
        for (int j = 0; j < XF_N_KNOBS; j++)
            if (j != XF_KNOB_PARAMS) cr_assert(!k->knob[j].testable, "%s", xf_knob_name(j));
    }
    cr_assert_eq(xf_set_fits_us_tasks(r->fits, r->n_sets), 2);
}

static void check_layers(const xf_study_results *r) {
    /* the five best of the set's US task by US accuracy with >= 2 taps: a5
     * (0.95) has one; usB has four models */
    static const char *const top[N_US][5] = {{"a4", "s2", "s1", "a3", "s3"},
                                              {"b4", "b3", "b2", "b1"}};
    for (int i = 0; i < N_US * N_SETS; i++) {
        int u = i / N_SETS, s = i % N_SETS;
        const xf_layer_row *l = &r->layers[i];
        int up = s >= 2;
        cr_assert_str_eq(l->us_task, us_name[u]);
        cr_assert_str_eq(l->ds_task, set_task[s]);
        cr_assert_eq(l->shots, set_shots[s]);
        cr_assert_eq(l->n_curves, u ? 4 : 5);
        cr_assert_float_eq(l->best_depth, up ? 0.5 : 1.0, 1e-12);
        cr_assert_float_eq(l->e_ir, set_eir[s] + 0.1 * u, 1e-5);
        for (int c = 0; c < l->n_curves; c++) {
            const xf_layer_curve *cv = &l->curve[c];
            const trial_spec *spec = &trials[spec_index(top[u][c])];
            cr_assert_str_eq(r->table.trials[cv->trial].id, top[u][c], "set %d curve %d", i, c);
            cr_assert_str_eq(r->table.trials[cv->trial].us_task, us_name[u]);
            cr_assert_float_eq(cv->us_acc, spec->us_acc, 1e-12);
            cr_assert_eq(cv->n_layers, N_LAYERS);
            cr_assert_eq(cv->best, up ? 1 : 3);
            for (int k = 0; k < N_LAYERS; k++) {
                cr_assert_float_eq(cv->depth[k], (k + 1) / 4.0, 1e-12);
                cr_assert_float_eq(cv->acc[k], planted_ds(spec, s) + layer_offset[up][k], 1e-12);
            }
        }
    }
    /* e_IR (0.30, 0.25, 0.10, 0.05, 0.40, 0.35, 0.20, 0.15) against best
     * depth (1, 1, 0.5, 0.5) twice: mid-ranks (6, 5, 2, 1, 8, 7, 4, 3) and
     * (6.5, 6.5, 2.5, 2.5) twice give 32 / sqrt(42 * 32) = 4 / sqrt(21) */
    cr_assert_float_eq(r->layer_rho[0], 4 / sqrt(21), 1e-12);
    /* usB's four models leave its frontiers undetermined; usA's rank the
     * sets' e_IR as the hull fits do, (4, 3, 2, 1) against best depth (3.5,
     * 3.5, 1.5, 1.5): 4 / sqrt(5 * 4) */
    for (int i = 0; i < N_US * N_SETS; i++)
        cr_assert_eq(isnan(r->layers[i].frontier_e_ir), i >= N_SETS, "set %d", i);
    cr_assert_float_eq(r->layer_rho[1], 4 / sqrt(20), 1e-12);
}

/* The sweep points in probe order: by trial id, task, shots. */
static void check_sweep(const xf_sweep_point *p, int n, int groups, const char *const *ids,
                        const double *values) {
    cr_assert_eq(groups, 1);
    cr_assert_eq(n, 3 * N_SETS);
    for (int i = 0; i < n; i++) {
        const trial_spec *spec = &trials[spec_index(ids[i / N_SETS])];
        int s = i % N_SETS;
        cr_assert_str_eq(p[i].us_task, "usA");
        cr_assert_str_eq(p[i].ds_task, set_task[s]);
        cr_assert_eq(p[i].shots, set_shots[s]);
        cr_assert_eq(p[i].group, 0);
        cr_assert_float_eq(p[i].value, values[i / N_SETS], 1e-15);
        cr_assert_float_eq(p[i].us_acc, spec->us_acc, 1e-12);
        cr_assert_float_eq(p[i].ds_acc, planted_ds(spec, s), 1e-12);
    }
}

static void check_sweeps(const xf_study_results *r) {
    static const char *const wd_ids[] = {"s1", "s2", "s3"}, *const lr_ids[] = {"s2", "s4", "s5"};
    static const double wd[] = {1e-4, 1e-3, 1e-2}, lr[] = {0.1, 0.01, 1.0};
    check_sweep(r->wd, r->n_wd, r->wd_groups, wd_ids, wd);
    check_sweep(r->lr, r->n_lr, r->lr_groups, lr_ids, lr);
    /* as planted: 5-shot dsUp rises with head_wd, dsDown falls */
    cr_assert(r->wd[8].ds_acc < r->wd[4].ds_acc && r->wd[4].ds_acc < r->wd[0].ds_acc);
    cr_assert(r->wd[2].ds_acc < r->wd[6].ds_acc && r->wd[6].ds_acc < r->wd[10].ds_acc);
}

static void check_diversity(const xf_study_results *r) {
    cr_assert_eq(r->n_diversity, 2 * N_SETS);
    for (int s = 0; s < N_SETS; s++)
        for (int u = 0; u < 2; u++) {
            const xf_diversity_row *d = &r->diversity[2 * s + u];
            cr_assert_str_eq(d->ds_task, set_task[s]);
            cr_assert_eq(d->shots, set_shots[s]);
            cr_assert_str_eq(d->us_task, u ? "usB" : "usA");
            cr_assert_eq(d->n_points, u ? 4 : 12);
            cr_assert_float_eq(d->fit.e_ir, set_eir[s] + 0.1 * u, 1e-5);
            /* matched difficulty: the same fractions of each US task's best
             * US accuracy for both tasks, the law read at that accuracy */
            const xf_diversity_row *other = &r->diversity[2 * s + !u];
            cr_assert_gt(d->us_best, 0.8);
            for (int q = 0; q < 3; q++) {
                cr_assert_eq(d->us_at[q], other->us_at[q]);
                cr_assert(d->us_at[q] > 0.5 && d->us_at[q] < 1, "%g", d->us_at[q]);
                cr_assert_float_eq(d->ds_at[q],
                                   law_acc(d->us_at[q] * d->us_best, set_eir[s] + 0.1 * u), 1e-5);
            }
            /* the frontier's reading comes from the set's own frontier fit;
             * usB's 4 models leave it undetermined */
            const xf_sfrontier *fr = NULL;
            for (int j = 0; j < r->n_sets; j++)
                if (r->sets[j].shots == d->shots && !strcmp(r->sets[j].ds_task, d->ds_task) &&
                    !strcmp(r->sets[j].us_task, d->us_task))
                    fr = &r->fits[j].frontier;
            cr_assert_not_null(fr);
            for (int q = 0; q < 3; q++) {
                if (u) {
                    cr_assert(isnan(d->frontier_ds_at[q]));
                    continue;
                }
                cr_assert_eq(fr->status == XF_SATFIT_UNDERDETERMINED, 0);
                double e_us = 1 - d->us_at[q] * d->us_best;
                cr_assert_float_eq(d->frontier_ds_at[q],
                                   1 - (fr->k * pow(e_us, fr->alpha) + fr->e_ir), 1e-12);
            }
            cr_assert_lt(d->us_at[0], d->us_at[2]);
        }
}

static char *read_text(const char *dir, const char *name) {
    char path[600];
    snprintf(path, sizeof path, "%s/report/%s", dir, name);
    unsigned char *text = NULL;
    size_t size;
    cr_assert_eq(xf_read_file(path, &text, &size), XF_OK, "%s", xf_error_message());
    char *s = xf_malloc(size + 1);
    cr_assert_not_null(s);
    memcpy(s, text, size);
    s[size] = 0;
    free(text);
    return s;
}

static void check_report(const char *dir, const xf_study_results *r) {
    char html_path[600], want[700];
    cr_assert_eq(xf_report_study_write(dir, "planted", r, html_path, sizeof html_path), XF_OK,
                 "%s", xf_error_message());
    snprintf(want, sizeof want, "%s/report/index.html", dir);
    cr_assert_str_eq(html_path, want);
    char *html = read_text(dir, "index.html");
    static const char *const parts[] = {
        "<h2>Layers</h2>", "figures/layers.svg", "Spearman correlation", "0.873",
        "<h2>Head weight decay and learning rate</h2>",
        "1 groups of configs equal but for head_wd", "figures/sweep_head_wd.svg",
        "1 groups of configs equal but for head_lr", "figures/sweep_head_lr.svg",
        "<h2>US diversity</h2>", "<td>usB</td><td>4</td>", "<td>usA</td><td>12</td>",
        "17 trials recorded, 16 finished", "US tasks (finished trials): usA (12), usB (4).",
        /* the fit and knob tables name the US task */
        "<th>US task</th><th>DS task</th><th>shots</th><th>points</th>",
        "<tr><td>usA</td><td>dsDown</td><td>5</td><td>12</td><td>5</td>",
        "<tr><td>usB</td><td>dsUp</td><td>10</td><td>4</td><td>4</td>",
        "<p>2 tests ran (one per knob and (US task, DS task) where the knob varies); p-values "
        "are adjusted by Holm's method across all of them.</p>",
        "<tr><td>usB</td><td>dsUp</td><td>2</td><td>4</td><td>not testable</td>",
        /* one DS-vs-US figure per US task and shots: usA, the most common,
         * keeps the names of a single-US study */
        "figures/ds_vs_us_5shot.svg", "figures/ds_vs_us_5shot_us-usB.svg",
        "figures/ds_vs_us_10shot_log.svg", "figures/ds_vs_us_10shot_us-usB_log.svg",
        "DS against US accuracy, 10-shot, US task usB, one panel per DS task"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        cr_assert(strstr(html, parts[i]), "index.html lacks '%s'", parts[i]);
    free(html);
    for (int f = 0; f < 8; f++) { /* the figure files of both US tasks */
        char path[700];
        snprintf(path, sizeof path, "%s/report/figures/ds_vs_us_%dshot%s%s.png", dir,
                 f % 2 ? 10 : 5, f / 2 % 2 ? "_us-usB" : "", f / 4 ? "_log" : "");
        cr_assert_eq(access(path, F_OK), 0, "no %s", path);
    }
    /* the CSVs have a us_task column, first: one row per set, two fits per
     * set in intervals.csv, one row per knob in knobs.csv */
    char *csv = read_text(dir, "fits.csv");
    cr_assert(strncmp(csv, "us_task,ds_task,shots,n_points,n_hull,status,k,alpha,e_ir,", 58) == 0,
              "%s", csv);
    cr_assert(strstr(csv, "\nusA,dsDown,5,12,5,ok,"), "%s", csv);
    cr_assert(strstr(csv, "\nusB,dsUp,10,4,4,ok,"), "%s", csv);
    int lines = 0;
    for (const char *c = csv; (c = strchr(c, '\n')); c++) lines++;
    cr_assert_eq(lines, 1 + N_US * N_SETS);
    free(csv);
    csv = read_text(dir, "intervals.csv");
    cr_assert(strncmp(csv, "us_task,ds_task,shots,fit_to,", 29) == 0, "%.200s", csv);
    cr_assert(strstr(csv, "\n\"usB\",\"dsDown\",10,all,ok,"), "%s", csv);
    free(csv);
    csv = read_text(dir, "knobs.csv");
    cr_assert(strncmp(csv, "us_task,ds_task,shot_counts_pooled,n,", 37) == 0, "%.200s", csv);
    cr_assert(strstr(csv, "\n\"usB\",\"dsUp\",2,4,log params,0,"), "%s", csv);
    free(csv);
    char *json = read_text(dir, "results.json");
    cJSON *root = cJSON_Parse(json);
    free(json);
    cr_assert_not_null(root);
    const cJSON *wd = cJSON_GetObjectItem(root, "head_wd");
    cr_assert_eq(cJSON_GetObjectItem(wd, "groups")->valueint, 1);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(wd, "points")), 3 * N_SETS);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "diversity")), 2 * N_SETS);
    const cJSON *fits = cJSON_GetObjectItem(root, "fits");
    const cJSON *sets = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "layers"), "sets");
    const cJSON *knobs = cJSON_GetObjectItem(root, "knobs");
    cr_assert_eq(cJSON_GetArraySize(fits), N_US * N_SETS);
    for (int i = 0; i < N_US * N_SETS; i++) {
        const cJSON *rows[2] = {cJSON_GetArrayItem(fits, i), cJSON_GetArrayItem(sets, i)};
        for (int k = 0; k < 2; k++)
            cr_assert_str_eq(cJSON_GetObjectItem(rows[k], "us_task")->valuestring,
                             us_name[i / N_SETS]);
    }
    /* every point's standard error: dsUp/dsDown are no task of this
     * machine, so only the draw spread (sd 0.02 / sqrt 2 over 2 draws) */
    const cJSON *fit0 = cJSON_GetArrayItem(fits, 0);
    cr_assert_eq(cJSON_GetObjectItem(fit0, "ds_test_size")->valueint, 0);
    const cJSON *pt0 = cJSON_GetArrayItem(cJSON_GetObjectItem(fit0, "points"), 0);
    cr_assert_float_eq(cJSON_GetObjectItem(pt0, "ds_se")->valuedouble, 0.01, 1e-9);
    cr_assert_eq(cJSON_GetObjectItem(pt0, "draws")->valueint, 2);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(wd, "points"),
                                                                  0),
                                               "ds_se_test_set")));
    cr_assert_eq(cJSON_GetArraySize(knobs), N_US * 2);
    cr_assert_eq(cJSON_GetObjectItem(root, "knob_tests")->valueint, 2);
    for (int i = 0; i < N_US * 2; i++)
        cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(knobs, i), "us_task")->valuestring,
                         us_name[i / 2]);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(wd, "points"), 0),
                                         "us_task")
                         ->valuestring,
                     "usA");
    cJSON_Delete(root);
    /* XFER_TEST_FIGURES=DIR keeps the figures for a look */
    const char *keep = getenv("XFER_TEST_FIGURES");
    if (keep) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "cp '%s'/report/figures/*.png '%s'/", dir, keep);
        cr_assert_eq(test_system(cmd), 0);
    }
}

static void release_cairo_caches(void) { xf_plot_release_caches(); }

/* A new store, study.db in a new temporary directory (*dir, for
 * remove_temp_dir). */
static xf_store *open_temp_store(char **dir) {
    *dir = test_tmpdir();
    cr_assert_not_null(*dir);
    char path[512];
    snprintf(path, sizeof path, "%s/study.db", *dir);
    xf_store *store;
    cr_assert_eq(xf_store_open(path, &store), XF_OK, "%s", xf_error_message());
    return store;
}

static void remove_temp_dir(char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    test_system(cmd);
    free(dir);
}

Test(study_analysis, planted_study_gives_exact_answers, .fini = release_cairo_caches) {
    char *dir = test_tmpdir();
    cr_assert_not_null(dir);
    write_study(dir);
    xf_fit_options opts = xf_fit_options_default();
    opts.bootstrap = 20;
    xf_study_results r;
    cr_assert_eq(xf_study_analyse(dir, &opts, &r), XF_OK, "%s", xf_error_message());
    check_table(&r);
    check_fits(&r);
    check_layers(&r);
    check_sweeps(&r);
    check_diversity(&r);
    check_report(dir, &r);
    xf_study_results_free(&r);
    remove_temp_dir(dir);
}

Test(study_analysis, one_us_task_and_no_sweeps) {
    /* only the usA curve trials: no group varies a knob, no diversity */
    char *dir;
    xf_store *store = open_temp_store(&dir);
    for (int i = 0; i < 5; i++) {
        char config[256];
        snprintf(config, sizeof config, "{\"train\":{\"epochs\":1,\"head_wd\":0.001,"
                                        "\"head_lr\":0.1},\"model\":{\"width\":%d}}",
                 trials[i].width);
        xf_trial_record rec = {.id = trials[i].id, .study = "one", .config_json = config,
                               .family = "mlp", .us_task = "usA", .status = XF_TRIAL_FINISHED,
                               .us_acc = trials[i].us_acc, .params = 10, .seconds = 1};
        xf_probe_row row = {"dsUp", 0, "out", 1, 5, 0, planted_ds(&trials[i], 2)};
        cr_assert_eq(xf_store_write_trial(store, &rec, &row, 1), XF_OK);
    }
    xf_store_close(store);
    xf_fit_options opts = xf_fit_options_default();
    opts.bootstrap = 0;
    xf_study_results r;
    cr_assert_eq(xf_study_analyse(dir, &opts, &r), XF_OK, "%s", xf_error_message());
    cr_assert_eq(r.n_sets, 1);
    cr_assert_float_eq(r.fits[0].fit.e_ir, 0.10, 1e-5);
    cr_assert_eq(r.n_wd + r.wd_groups + r.n_lr + r.lr_groups + r.n_diversity, 0);
    /* one tap per model: no layer curves, and no depth to correlate */
    cr_assert_eq(r.layers[0].n_curves, 0);
    cr_assert(isnan(r.layers[0].best_depth) && isnan(r.layer_rho[0]) && isnan(r.layer_rho[1]));
    /* no flops recorded: no data size or epochs to test (as for the
     * checkpoints of a zoo study); params and family enter, but they do
     * not vary, and no resolution is recorded: nothing is testable */
    cr_assert_eq(r.knobs[0].n, 5);
    for (int k = 0; k < XF_N_KNOBS; k++)
        cr_assert(!r.knobs[0].knob[k].testable, "%s", xf_knob_name(k));
    xf_study_results_free(&r);
    remove_temp_dir(dir);
}

Test(study_analysis, missing_store_is_named) {
    char *dir = test_tmpdir();
    cr_assert_not_null(dir);
    xf_fit_options opts = xf_fit_options_default();
    xf_study_results r;
    cr_assert_eq(xf_study_analyse(dir, &opts, &r), XF_ENOTFOUND);
    cr_assert(strstr(xf_error_message(), "no study.db in"), "%s", xf_error_message());
    cr_assert_eq(r.n_sets, 0);
    cr_assert_null(r.layers);
    remove(dir);
    free(dir);
}

Test(study_analysis, layer_curves_keep_every_tap_of_deep_models) {
    /* 20 taps, DS accuracy rising to the last: the best layer is the top
     * one; equal US accuracies are listed in id order */
    char *dir;
    xf_store *store = open_temp_store(&dir);
    static const char *const ids[] = {"t1", "t2", "t3"};
    static const double us[] = {0.7, 0.8, 0.7};
    for (int i = 0; i < 3; i++) {
        xf_trial_record rec = {.id = ids[i], .study = "deep", .config_json = "{}",
                               .family = "vit", .us_task = "usA", .status = XF_TRIAL_FINISHED,
                               .us_acc = us[i], .params = 10, .seconds = 1};
        xf_probe_row rows[20];
        for (int l = 0; l < 20; l++)
            rows[l] = (xf_probe_row){"dsX", l, "block", 20, 5, 0, 0.3 + 0.02 * l + 0.01 * i};
        cr_assert_eq(xf_store_write_trial(store, &rec, rows, 20), XF_OK);
    }
    xf_store_close(store);
    char path[512];
    snprintf(path, sizeof path, "%s/study.db", dir);
    xf_study_table t;
    cr_assert_eq(xf_store_read_table(path, &t), XF_OK, "%s", xf_error_message());
    cr_assert_eq(t.n_probes, 60);
    /* the trials' US task, and another one that has no trials */
    xf_set_fit fit[2];
    memset(fit, 0, sizeof fit);
    for (int i = 0; i < 2; i++) {
        snprintf(fit[i].us_task, sizeof fit[i].us_task, "%s", i ? "usB" : "usA");
        snprintf(fit[i].ds_task, sizeof fit[i].ds_task, "dsX");
        fit[i].shots = 5;
        fit[i].fit.status = XF_SATFIT_UNDERDETERMINED;
        fit[i].frontier.status = XF_SATFIT_UNDERDETERMINED;
    }
    xf_layer_row *rows;
    double rho[2];
    cr_assert_eq(xf_layers_analyse(&t, fit, 2, &rows, rho), XF_OK);
    cr_assert_eq(rows[0].n_curves, 3);
    cr_assert_str_eq(rows[1].us_task, "usB");
    cr_assert_eq(rows[1].n_curves, 0);
    cr_assert(isnan(rows[1].best_depth));
    static const int order[] = {1, 0, 2};
    for (int c = 0; c < 3; c++) {
        const xf_layer_curve *cv = &rows[0].curve[c];
        cr_assert_eq(cv->trial, order[c]);
        cr_assert_eq(cv->n_layers, 20);
        cr_assert_eq(cv->best, 19);
        cr_assert_float_eq(cv->depth[19], 1.0, 1e-12);
        cr_assert_float_eq(cv->acc[19], 0.3 + 0.02 * 19 + 0.01 * order[c], 1e-12);
    }
    cr_assert_float_eq(rows[0].best_depth, 1.0, 1e-12);
    cr_assert(isnan(rows[0].e_ir) && isnan(rows[0].frontier_e_ir));
    cr_assert(isnan(rho[0]) && isnan(rho[1]));
    free(rows);
    xf_study_table_free(&t);
    remove_temp_dir(dir);
}

Test(study_analysis, diversity_with_a_ds_task_one_us_task_lacks) {
    /* dsA is probed on usA models only, dsB on usB only: every row exists,
     * with NaN where a US task has no models or the ranges do not overlap */
    char *dir;
    xf_store *store = open_temp_store(&dir);
    static const char *const ids[] = {"a1", "a2", "a3", "b1"};
    for (int i = 0; i < 4; i++) {
        int b = i == 3;
        xf_trial_record rec = {.id = ids[i], .study = "div", .config_json = "{}",
                               .family = "mlp", .us_task = b ? "usB" : "usA",
                               .status = XF_TRIAL_FINISHED, .us_acc = 0.6 + 0.1 * i,
                               .params = 10, .seconds = 1};
        xf_probe_row row = {b ? "dsB" : "dsA", 0, "out", 1, 5, 0, law_acc(0.6 + 0.1 * i, 0.1)};
        cr_assert_eq(xf_store_write_trial(store, &rec, &row, 1), XF_OK);
    }
    xf_store_close(store);
    char path[512];
    snprintf(path, sizeof path, "%s/study.db", dir);
    xf_study_table t;
    cr_assert_eq(xf_store_read_table(path, &t), XF_OK, "%s", xf_error_message());
    xf_diversity_row *rows;
    int n;
    cr_assert_eq(xf_diversity_analyse(&t, &rows, &n), XF_OK, "%s", xf_error_message());
    cr_assert_eq(n, 4);
    static const char *const task[] = {"dsA", "dsA", "dsB", "dsB"}, *const us[] = {"usA", "usB"};
    static const int points[] = {3, 0, 0, 1};
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(rows[i].ds_task, task[i]);
        cr_assert_str_eq(rows[i].us_task, us[i % 2]);
        cr_assert_eq(rows[i].n_points, points[i]);
        for (int q = 0; q < 3; q++) cr_assert(isnan(rows[i].us_at[q]) && isnan(rows[i].ds_at[q]));
    }
    cr_assert_float_eq(rows[0].fit.e_ir, 0.1, 1e-5);
    cr_assert_eq(rows[1].fit.status, XF_SATFIT_UNDERDETERMINED);
    free(rows);
    xf_study_table_free(&t);
    remove_temp_dir(dir);
}

/* Sets come per US task, the one with the most finished trials first (ties
 * by name), however the names sort; trials without a US task form their
 * own ("") sets. */
Test(study_analysis, store_points_are_per_us_task_most_common_first) {
    char *dir;
    xf_store *store = open_temp_store(&dir);
    static const struct {
        const char *id, *us_task;
        double us_acc;
        int finished;
    } spec[] = {{"t1", "zeta", 0.5, 1}, {"t2", "zeta", 0.6, 1}, {"t3", "zeta", 0.7, 1},
                {"t4", "alpha", 0.9, 1}, {"t5", "alpha", 0.8, 0}, {"t6", "beta", 0.4, 1},
                {"t7", NULL, 0.3, 1}, {"t8", "alpha", 0.2, 0}, {"t9", "beta", 0.1, 0}};
    for (int i = 0; i < 9; i++) {
        xf_trial_record rec = {.id = spec[i].id, .study = "order", .config_json = "{}",
                               .family = "mlp", .us_task = spec[i].us_task,
                               .status = spec[i].finished ? XF_TRIAL_FINISHED : XF_TRIAL_FAILED,
                               .us_acc = spec[i].us_acc, .params = 10, .seconds = 1};
        xf_probe_row rows[2] = {{"dsA", 0, "out", 1, 5, 0, 0.5}, {"dsB", 0, "out", 1, 5, 0, 0.4}};
        cr_assert_eq(xf_store_write_trial(store, &rec, rows, 2), XF_OK);
    }
    xf_point_set *sets;
    int n_sets;
    cr_assert_eq(xf_store_points(store, &sets, &n_sets), XF_OK, "%s", xf_error_message());
    xf_store_close(store);
    /* zeta (3 finished), then alpha and beta (1 each, by name), then "" (1,
     * and "" sorts first among the ties: by name) */
    static const char *const us[] = {"zeta", "", "alpha", "beta"};
    static const int points[] = {3, 1, 1, 1};
    static const char *const first[] = {"t1", "t7", "t4", "t6"};
    cr_assert_eq(n_sets, 8);
    for (int i = 0; i < n_sets; i++) {
        cr_assert_str_eq(sets[i].us_task, us[i / 2], "set %d", i);
        cr_assert_str_eq(sets[i].ds_task, i % 2 ? "dsB" : "dsA");
        cr_assert_eq(sets[i].shots, 5);
        cr_assert_eq(sets[i].n_points, points[i / 2]);
        cr_assert_str_eq(sets[i].points[0].trial_id, first[i / 2]);
    }
    xf_point_sets_free(sets, n_sets);
    remove_temp_dir(dir);
}
