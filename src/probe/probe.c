/* xf_probe_model and xf_probe_tap: the support sets of every (shots, draw),
 * one feature pass over the images they need, then every probe of a tap
 * at once (xf_probe_sets). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/timer.h"
#include "probe/features.h"
#include "probe/probe.h"
#include "probe/probe_settings.h"

/* The test subsample (test_limit) is the same for every model, so the
 * accuracies of different checkpoints are measured on the same images. */
static const uint64_t TEST_SUBSAMPLE_SEED = 0x7e57;
static const double PROGRESS_AFTER_S = 2.0;

/* A value out of its setting's range: "probe config: shots[0] is 20000,
 * expected an integer in [1, 10000]". */
static xf_status out_of_range(const char *key, int index, double v) {
    const xf_setting *s = xf_setting_find(xf_probe_settings, xf_probe_n_settings, key);
    char expect[128], at[16] = "";
    xf_setting_expect(s, expect, sizeof expect);
    if (index >= 0) snprintf(at, sizeof at, "[%d]", index);
    return xf_fail(XF_EINVAL, "probe config: %s%s is %g, expected %s", key, at, v, expect);
}

static bool valid(const char *key, double v) {
    return xf_setting_valid(xf_setting_find(xf_probe_settings, xf_probe_n_settings, key), v);
}

xf_status xf_probe_config_check(const xf_probe_config *cfg) {
    if (cfg->n_shots < 1 || cfg->n_shots > XF_PROBE_MAX_SHOTS)
        return xf_fail(XF_EINVAL, "probe config: %d shot counts, expected 1 to %d", cfg->n_shots,
                       XF_PROBE_MAX_SHOTS);
    for (int i = 0; i < cfg->n_shots; i++)
        if (cfg->shots[i] != XF_PROBE_SHOTS_ALL && !valid("shots", cfg->shots[i]))
            return out_of_range("shots", i, cfg->shots[i]);
    if (!valid("draws", cfg->draws)) return out_of_range("draws", -1, cfg->draws);
    if (cfg->n_lambdas < 0 || cfg->n_lambdas > XF_PROBE_MAX_LAMBDAS)
        return xf_fail(XF_EINVAL, "probe config: %d lambdas, expected 0 to %d", cfg->n_lambdas,
                       XF_PROBE_MAX_LAMBDAS);
    for (int i = 0; i < (cfg->n_lambdas ? cfg->n_lambdas : 1); i++) {
        double l = cfg->n_lambdas ? cfg->lambdas[i] : cfg->lambda;
        if (!valid("lambda", l)) return out_of_range("lambda", cfg->n_lambdas ? i : -1, l);
    }
    if (!valid("test_limit", cfg->test_limit))
        return out_of_range("test_limit", -1, cfg->test_limit);
    if (cfg->n_layers < 0 || cfg->n_layers > XF_PROBE_MAX_LAYERS)
        return xf_fail(XF_EINVAL, "probe config: %d layers, expected 0 to %d", cfg->n_layers,
                       XF_PROBE_MAX_LAYERS);
    for (int i = 0; i < cfg->n_layers; i++)
        if (!valid("layers", cfg->layers[i])) return out_of_range("layers", i, cfg->layers[i]);
    return XF_OK;
}

bool xf_probe_layer_selected(const xf_probe_config *cfg, int t, int n_taps) {
    if (cfg->n_layers == 0) return true;
    for (int i = 0; i < cfg->n_layers; i++) {
        int l = cfg->layers[i] < 0 ? n_taps + cfg->layers[i] : cfg->layers[i];
        if (l == t) return true;
    }
    return false;
}

static xf_status check_layers(const xf_probe_config *cfg, int n_taps) {
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i] >= n_taps || cfg->layers[i] < -n_taps)
            return xf_fail(XF_EINVAL, "probe config: layer %d does not exist (%d taps: 0 to %d, "
                           "or -1 for the last)", cfg->layers[i], n_taps, n_taps - 1);
    return XF_OK;
}

/* The lambdas every support set is solved for (the LOO grid with loo). */
static int lambda_list(const xf_probe_config *cfg, double *out) {
    if (cfg->loo) {
        int n = 0;
        for (int e = XF_PROBE_LOO_MIN_LOG2; e <= XF_PROBE_LOO_MAX_LOG2; e++) out[n++] = ldexp(1, e);
        return n;
    }
    if (cfg->n_lambdas == 0) {
        out[0] = cfg->lambda;
        return 1;
    }
    memcpy(out, cfg->lambdas, sizeof(double) * cfg->n_lambdas);
    return cfg->n_lambdas;
}

static int compare_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The test rows probed: all n, or a seeded subsample of `limit` of them in
 * ascending order. */
static xf_status pick_test(int n, int limit, int **idx, int *count) {
    *idx = xf_malloc(sizeof(int) * (n > 0 ? n : 1));
    if (!*idx) return XF_ENOMEM;
    for (int i = 0; i < n; i++) (*idx)[i] = i;
    *count = n;
    if (limit > 0 && limit < n) {
        xf_rng rng;
        xf_rng_seed(&rng, TEST_SUBSAMPLE_SEED);
        xf_rng_shuffle(&rng, *idx, (size_t)n);
        qsort(*idx, (size_t)limit, sizeof(int), compare_int);
        *count = limit;
    }
    return XF_OK;
}

/* Every support set, in (shots, draw) order; --shots all has one. */
typedef struct {
    int n_sets;
    int **sets; /* rows into the used images (remapped) or the training set */
    int *sizes, *shots, *draw;
    int n_used; /* training images some set holds */
    int *used;  /* n_used, ascending indices into the training set */
} plan;

static void plan_free(plan *p) {
    for (int i = 0; p->sets && i < p->n_sets; i++) free(p->sets[i]);
    free(p->sets);
    free(p->sizes);
    free(p->shots);
    free(p->draw);
    free(p->used);
    memset(p, 0, sizeof *p);
}

/* With `remap`, the sets index the used images (whose features alone are
 * extracted) instead of the training set. */
static xf_status make_plan(const int32_t *labels, int n, int c, const xf_probe_config *cfg,
                           bool remap, plan *p) {
    memset(p, 0, sizeof *p);
    int cap = 0;
    for (int s = 0; s < cfg->n_shots; s++)
        cap += cfg->shots[s] == XF_PROBE_SHOTS_ALL ? 1 : cfg->draws;
    int *row_of = xf_malloc(sizeof(int) * (n > 0 ? n : 1));
    p->sets = xf_calloc((size_t)cap, sizeof(int *));
    p->sizes = xf_calloc((size_t)cap, sizeof(int));
    p->shots = xf_calloc((size_t)cap, sizeof(int));
    p->draw = xf_calloc((size_t)cap, sizeof(int));
    xf_status st = XF_ENOMEM;
    if (!row_of || !p->sets || !p->sizes || !p->shots || !p->draw) goto done;
    st = XF_OK;
    for (int i = 0; i < n; i++) row_of[i] = -1;
    for (int s = 0; s < cfg->n_shots && st == XF_OK; s++) {
        bool all = cfg->shots[s] == XF_PROBE_SHOTS_ALL;
        for (int d = 0; d < (all ? 1 : cfg->draws) && st == XF_OK; d++) {
            int k = p->n_sets++;
            p->shots[k] = cfg->shots[s], p->draw[k] = d;
            int *set = p->sets[k] = xf_malloc(sizeof(int) * (all ? (n > 0 ? n : 1) : (size_t)c * cfg->shots[s]));
            if (!set) {
                st = XF_ENOMEM;
                break;
            }
            if (all) {
                for (int i = 0; i < n; i++) set[i] = i;
                p->sizes[k] = n;
                if (n < 1) st = xf_fail(XF_EINVAL, "--shots all: the training set is empty");
            } else {
                st = xf_fewshot_support(labels, n, c, cfg->shots[s], d, set, &p->sizes[k]);
            }
            for (int i = 0; st == XF_OK && i < p->sizes[k]; i++) row_of[set[i]] = 0;
        }
    }
    if (st != XF_OK) goto done;
    for (int i = 0; i < n; i++) p->n_used += row_of[i] == 0;
    if (!(p->used = xf_malloc(sizeof(int) * (p->n_used > 0 ? p->n_used : 1)))) {
        st = XF_ENOMEM;
        goto done;
    }
    for (int i = 0, k = 0; i < n; i++) {
        if (row_of[i] < 0) continue;
        row_of[i] = k;
        p->used[k++] = i;
    }
    for (int i = 0; remap && i < p->n_sets; i++)
        for (int j = 0; j < p->sizes[i]; j++) p->sets[i][j] = row_of[p->sets[i][j]];
done:
    free(row_of);
    if (st != XF_OK) plan_free(p);
    return st;
}

/* Runs every set of the plan on one tap and appends the results in the
 * order tap, shots, lambda, draw (the draws of a row of output adjacent). */
static xf_status run_tap(const xf_probe_data *data, const plan *p, const xf_probe_config *cfg,
                         int layer, xf_probe_results *out) {
    double lambdas[64];
    int n_lambdas = lambda_list(cfg, lambdas), heads = cfg->loo ? 1 : n_lambdas;
    size_t n = (size_t)p->n_sets * heads;
    double *acc = xf_malloc(sizeof(double) * n), *used = xf_malloc(sizeof(double) * n);
    xf_probe_result *grown = xf_realloc(out->items, sizeof(xf_probe_result) * (out->count + n));
    if (grown) out->items = grown;
    xf_status st = XF_ENOMEM;
    if (acc && used && grown)
        st = xf_probe_sets(data, (const int *const *)p->sets, p->sizes, p->n_sets, lambdas,
                           n_lambdas, cfg->loo, acc, used, NULL);
    for (int first = 0; st == XF_OK && first < p->n_sets;) {
        int last = first;
        while (last < p->n_sets && p->shots[last] == p->shots[first]) last++;
        for (int h = 0; h < heads; h++)
            for (int k = first; k < last; k++)
                out->items[out->count++] = (xf_probe_result){
                    .layer = layer,
                    .shots = p->shots[k],
                    .draw = p->draw[k],
                    .accuracy = acc[(size_t)k * heads + h],
                    .lambda = used[(size_t)k * heads + h],
                    .lambda_index = cfg->loo ? -1 : h,
                };
        first = last;
    }
    free(acc);
    free(used);
    return st;
}

static int32_t *gather_labels(const int32_t *labels, const int *idx, int n) {
    int32_t *out = xf_malloc(sizeof(int32_t) * (n > 0 ? n : 1));
    for (int i = 0; out && i < n; i++) out[i] = labels[idx[i]];
    return out;
}

xf_status xf_probe_tap(const xf_probe_data *data, const xf_probe_config *cfg, int layer,
                       xf_probe_results *out) {
    xf_status st = xf_probe_config_check(cfg);
    if (st != XF_OK) return st;
    plan p;
    if ((st = make_plan(data->train_labels, data->n_train, data->n_classes, cfg, false, &p)) !=
        XF_OK)
        return st;
    int *test_idx = NULL, n_test = 0;
    xf_probe_data sub = *data;
    float *test = NULL;
    int32_t *test_labels = NULL;
    st = pick_test(data->n_test, cfg->test_limit, &test_idx, &n_test);
    if (st == XF_OK && n_test < data->n_test) {
        test = xf_malloc(sizeof(float) * (size_t)n_test * data->dim);
        test_labels = gather_labels(data->test_labels, test_idx, n_test);
        if (!test || !test_labels) st = XF_ENOMEM;
        for (int i = 0; st == XF_OK && i < n_test; i++)
            memcpy(test + (size_t)i * data->dim, data->test + (size_t)test_idx[i] * data->dim,
                   sizeof(float) * data->dim);
        sub.test = test, sub.test_labels = test_labels, sub.n_test = n_test;
    }
    if (st == XF_OK) st = run_tap(&sub, &p, cfg, layer, out);
    free(test_idx);
    free(test);
    free(test_labels);
    plan_free(&p);
    return st;
}

xf_status xf_probe_model(xf_model *m, const xf_dataset *train, const xf_dataset *test,
                         const xf_probe_config *cfg, xf_probe_results *out) {
    return xf_probe_model_input(m, NULL, train, test, cfg, out);
}

xf_status xf_probe_model_input(xf_model *m, const xf_model_input *in, const xf_dataset *train,
                               const xf_dataset *test, const xf_probe_config *cfg,
                               xf_probe_results *out) {
    memset(out, 0, sizeof *out);
    xf_status st = xf_probe_config_check(cfg);
    if (st == XF_OK) st = check_layers(cfg, m->n_taps);
    if (st != XF_OK) return st;
    char origin[2][96];
    snprintf(origin[0], sizeof origin[0], "%s (probe training set)", train->name);
    snprintf(origin[1], sizeof origin[1], "%s (probe test set)", test->name);
    if ((st = xf_dataset_validate(train, origin[0])) != XF_OK ||
        (st = xf_dataset_validate(test, origin[1])) != XF_OK)
        return st;
    if (test->n_classes != train->n_classes)
        return xf_fail(XF_EINVAL, "probe of %s: the training set has %d classes, the test set %d",
                       train->name, train->n_classes, test->n_classes);
    plan p;
    if ((st = make_plan(train->labels, train->n, train->n_classes, cfg, true, &p)) != XF_OK)
        return xf_fail_context(st, "probe of %s: ", train->name);

    int *test_idx = NULL, n_test = 0;
    int32_t *test_labels = NULL, *used_labels = NULL;
    xf_features ftrain = {0}, ftest = {0};
    if ((st = pick_test(test->n, cfg->test_limit, &test_idx, &n_test)) != XF_OK) goto done;
    test_labels = gather_labels(test->labels, test_idx, n_test);
    used_labels = gather_labels(train->labels, p.used, p.n_used);
    if (!test_labels || !used_labels) {
        st = XF_ENOMEM;
        goto done;
    }
    if ((st = xf_features_extract_input(m, in, train, p.used, p.n_used, &ftrain)) != XF_OK ||
        (st = xf_features_extract_input(m, in, test, test_idx, n_test, &ftest)) != XF_OK)
        goto done;

    char label[sizeof "probes " + sizeof train->name];
    snprintf(label, sizeof label, "probes %s", train->name);
    xf_progress progress;
    xf_progress_init(&progress, label, "taps", (size_t)m->n_taps);
    for (int t = 0; t < m->n_taps && st == XF_OK; t++) {
        if (xf_probe_layer_selected(cfg, t, m->n_taps)) {
            xf_probe_data data = {ftrain.data[t], used_labels, p.n_used,          ftest.data[t],
                                  test_labels,    n_test,      ftrain.dims[t], train->n_classes};
            st = run_tap(&data, &p, cfg, t, out);
            if (st != XF_OK)
                xf_fail_context(st, "probe of %s at tap %s: ", train->name, m->tap_names[t]);
        }
        xf_progress_add(&progress, 1, NULL);
    }
    if (progress.drawn || xf_now() - progress.start >= PROGRESS_AFTER_S)
        xf_progress_finish(&progress, NULL);
done:
    if (st != XF_OK) xf_probe_results_free(out);
    xf_features_free(&ftrain);
    xf_features_free(&ftest);
    free(test_idx);
    free(test_labels);
    free(used_labels);
    plan_free(&p);
    return st;
}
