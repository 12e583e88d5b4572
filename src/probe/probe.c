/* xf_probe_model: one feature pass over the images the probes need, then
 * every (tap, shots, draw) ridge probe on those features. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/timer.h"
#include "probe/features.h"
#include "probe/probe.h"

/* The test subsample (test_limit) is the same for every model, so the
 * accuracies of different checkpoints are measured on the same images. */
static const uint64_t TEST_SUBSAMPLE_SEED = 0x7e57;
static const double PROGRESS_AFTER_S = 2.0;

static xf_status check_config(const xf_probe_config *cfg) {
    if (cfg->n_shots < 1 || cfg->n_shots > XF_PROBE_MAX_SHOTS)
        return xf_fail(XF_EINVAL, "probe config: %d shot counts, expected 1 to %d", cfg->n_shots,
                       XF_PROBE_MAX_SHOTS);
    for (int i = 0; i < cfg->n_shots; i++)
        if (cfg->shots[i] < 1)
            return xf_fail(XF_EINVAL, "probe config: shots[%d] is %d, expected >= 1", i,
                           cfg->shots[i]);
    if (cfg->draws < 1)
        return xf_fail(XF_EINVAL, "probe config: draws is %d, expected >= 1", cfg->draws);
    if (!(cfg->lambda > 0))
        return xf_fail(XF_EINVAL, "probe config: lambda is %g, expected > 0", cfg->lambda);
    if (cfg->test_limit < 0)
        return xf_fail(XF_EINVAL, "probe config: test_limit is %d, expected >= 0", cfg->test_limit);
    return XF_OK;
}

static int compare_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The test images probed: all, or a seeded subsample of test_limit of
 * them in ascending order. */
static xf_status pick_test(const xf_dataset *test, int limit, int **idx, int *count) {
    int n = test->n;
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

typedef struct {
    int n_used; /* training images whose features are extracted */
    int *used;  /* n_used, ascending indices into train */
    int32_t *used_labels;
    int **support; /* [shot index * draws + draw]: rows into the used features */
    int *n_support;
} plan;

static void plan_free(plan *p, int n_sets) {
    free(p->used);
    free(p->used_labels);
    for (int i = 0; p->support && i < n_sets; i++) free(p->support[i]);
    free(p->support);
    free(p->n_support);
}

/* Every support set of every (shots, draw), and the union of their images. */
static xf_status make_plan(const xf_dataset *train, const xf_probe_config *cfg, plan *p) {
    memset(p, 0, sizeof *p);
    const int n = train->n, c = train->n_classes, n_sets = cfg->n_shots * cfg->draws;
    int kmax = 0;
    for (int i = 0; i < cfg->n_shots; i++) kmax = cfg->shots[i] > kmax ? cfg->shots[i] : kmax;
    int *row_of = xf_malloc(sizeof(int) * (n > 0 ? n : 1));
    p->support = xf_calloc((size_t)n_sets, sizeof(int *));
    p->n_support = xf_calloc((size_t)n_sets, sizeof(int));
    if (!row_of || !p->support || !p->n_support) {
        free(row_of);
        return XF_ENOMEM;
    }
    for (int i = 0; i < n; i++) row_of[i] = -1;
    xf_status st = XF_OK;
    for (int s = 0; s < cfg->n_shots && st == XF_OK; s++) {
        for (int d = 0; d < cfg->draws && st == XF_OK; d++) {
            int *set = xf_malloc(sizeof(int) * (size_t)c * cfg->shots[s]);
            p->support[s * cfg->draws + d] = set;
            if (!set) {
                st = XF_ENOMEM;
                break;
            }
            st = xf_fewshot_support(train->labels, n, c, cfg->shots[s], d, set,
                                    &p->n_support[s * cfg->draws + d]);
            for (int i = 0; st == XF_OK && i < p->n_support[s * cfg->draws + d]; i++)
                row_of[set[i]] = 0;
        }
    }
    if (st == XF_OK) {
        for (int i = 0; i < n; i++) p->n_used += row_of[i] == 0;
        p->used = xf_malloc(sizeof(int) * (p->n_used > 0 ? p->n_used : 1));
        p->used_labels = xf_malloc(sizeof(int32_t) * (p->n_used > 0 ? p->n_used : 1));
        if (!p->used || !p->used_labels) st = XF_ENOMEM;
    }
    if (st == XF_OK) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (row_of[i] < 0) continue;
            row_of[i] = k;
            p->used[k] = i;
            p->used_labels[k++] = train->labels[i];
        }
        for (int i = 0; i < n_sets; i++)
            for (int j = 0; j < p->n_support[i]; j++) p->support[i][j] = row_of[p->support[i][j]];
    }
    free(row_of);
    if (st != XF_OK) plan_free(p, n_sets);
    return st;
}

xf_status xf_probe_model(xf_model *m, const xf_dataset *train, const xf_dataset *test,
                         const xf_probe_config *cfg, xf_probe_results *out) {
    memset(out, 0, sizeof *out);
    xf_status st = check_config(cfg);
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
    const int n_sets = cfg->n_shots * cfg->draws;
    plan p;
    if ((st = make_plan(train, cfg, &p)) != XF_OK)
        return xf_fail_context(st, "probe of %s: ", train->name);

    int *test_idx = NULL, n_test = 0;
    int32_t *test_labels = NULL;
    xf_features ftrain = {0}, ftest = {0};
    if ((st = pick_test(test, cfg->test_limit, &test_idx, &n_test)) != XF_OK) goto done;
    test_labels = xf_malloc(sizeof(int32_t) * n_test);
    if (!test_labels) {
        st = XF_ENOMEM;
        goto done;
    }
    for (int i = 0; i < n_test; i++) test_labels[i] = test->labels[test_idx[i]];
    if ((st = xf_features_extract(m, train, p.used, p.n_used, &ftrain)) != XF_OK ||
        (st = xf_features_extract(m, test, test_idx, n_test, &ftest)) != XF_OK)
        goto done;

    out->items = xf_malloc(sizeof(xf_probe_result) * (size_t)m->n_taps * n_sets);
    if (!out->items) {
        st = XF_ENOMEM;
        goto done;
    }
    char label[64];
    snprintf(label, sizeof label, "probes %s", train->name);
    xf_progress progress;
    xf_progress_init(&progress, label, "probes", (size_t)m->n_taps * n_sets);
    for (int t = 0; t < m->n_taps && st == XF_OK; t++) {
        for (int s = 0; s < cfg->n_shots && st == XF_OK; s++) {
            for (int d = 0; d < cfg->draws && st == XF_OK; d++) {
                double acc = 0;
                st = xf_ridge_probe(ftrain.data[t], p.used_labels, p.support[s * cfg->draws + d],
                                    p.n_support[s * cfg->draws + d], ftest.data[t], test_labels,
                                    n_test, ftrain.dims[t], train->n_classes, cfg->lambda, NULL,
                                    &acc);
                if (st != XF_OK) {
                    xf_fail_context(st, "probe of %s at tap %s, %d shots, draw %d: ", train->name,
                                    m->tap_names[t], cfg->shots[s], d);
                    break;
                }
                out->items[out->count++] = (xf_probe_result){
                    .layer = t, .shots = cfg->shots[s], .draw = d, .accuracy = acc};
                xf_progress_add(&progress, 1, NULL);
            }
        }
    }
    if (progress.drawn || xf_now() - progress.start >= PROGRESS_AFTER_S)
        xf_progress_finish(&progress, NULL);
done:
    if (st != XF_OK) xf_probe_results_free(out);
    xf_features_free(&ftrain);
    xf_features_free(&ftest);
    free(test_idx);
    free(test_labels);
    plan_free(&p, n_sets);
    return st;
}
