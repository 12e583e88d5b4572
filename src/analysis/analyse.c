#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/study.h"
#include "analysis/studydir.h"
#include "core/mem.h"
#include "data/registry.h"

/* The images each DS accuracy of the set was scored on, for the binomial
 * part of its standard error: the DS task's test set, cut to the study's
 * downstream.test_limit; 0 (unknown) when the task's files are not here. */
static int ds_test_size(const xf_study_table *t, const xf_point_set *set) {
    const xf_task_info *task = xf_task_find(set->ds_task);
    int n_train, n_test;
    if (!task || !xf_task_prepared(task) || xf_task_sizes(task, &n_train, &n_test) != XF_OK)
        return 0;
    int ti = set->n_points > 0 ? xf_study_table_find(t, set->points[0].trial_id) : -1;
    if (ti < 0) return n_test;
    cJSON *root = cJSON_Parse(t->trials[ti].config_json);
    const cJSON *limit = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "downstream"), "test_limit");
    if (cJSON_IsNumber(limit) && limit->valueint > 0 && limit->valueint < n_test)
        n_test = limit->valueint;
    cJSON_Delete(root);
    return n_test;
}

xf_status xf_study_analyse(const char *dir, const xf_fit_options *opts, xf_study_results *r) {
    memset(r, 0, sizeof *r);
    xf_store *store;
    xf_status st = xf_studydir_open(dir, &store);
    if (st != XF_OK) return st;
    st = xf_store_points(store, &r->sets, &r->n_sets);
    xf_store_close(store);
    size_t n = strlen(dir) + 16;
    char *path = xf_malloc(n);
    if (st == XF_OK && !path) st = XF_ENOMEM;
    if (st == XF_OK) {
        snprintf(path, n, "%s/study.db", dir);
        st = xf_store_read_table(path, &r->table);
    }
    free(path);
    for (int i = 0; st == XF_OK && i < r->n_sets; i++)
        r->sets[i].ds_test_size = ds_test_size(&r->table, &r->sets[i]);
    if (st == XF_OK) st = xf_set_fits_compute_opts(r->sets, r->n_sets, opts, &r->fits);
    if (st == XF_OK)
        st = xf_knobs_analyse(&r->table, r->sets, r->n_sets, &r->knobs, &r->n_knob_rows,
                              &r->n_knob_tests);
    if (st == XF_OK) st = xf_layers_analyse(&r->table, r->fits, r->n_sets, &r->layers, r->layer_rho);
    if (st == XF_OK) st = xf_sweep_analyse(&r->table, "head_wd", &r->wd, &r->n_wd, &r->wd_groups);
    if (st == XF_OK) st = xf_sweep_analyse(&r->table, "head_lr", &r->lr, &r->n_lr, &r->lr_groups);
    if (st == XF_OK) st = xf_diversity_analyse(&r->table, &r->diversity, &r->n_diversity);
    if (st == XF_OK)
        xf_diversity_read_frontiers(r->diversity, r->n_diversity, r->sets, r->fits, r->n_sets);
    for (int i = 0; i < r->table.n_trials; i++) {
        r->cpu_seconds += r->table.trials[i].seconds;
        r->train_flops += r->table.trials[i].train_flops;
        r->n_finished += r->table.trials[i].status == XF_TRIAL_FINISHED;
    }
    r->n_trials = r->table.n_trials;
    r->error_bars = opts->error_bars;
    if (st != XF_OK) xf_study_results_free(r);
    return st;
}

void xf_study_results_free(xf_study_results *r) {
    xf_set_fits_free(r->fits, r->n_sets);
    xf_point_sets_free(r->sets, r->n_sets);
    xf_study_table_free(&r->table);
    free(r->knobs);
    free(r->layers);
    free(r->wd);
    free(r->lr);
    free(r->diversity);
    memset(r, 0, sizeof *r);
}
