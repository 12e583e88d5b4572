/* Few-shot linear probes on a frozen model, at every tap, exactly as
 * shared/STUDY.md: per draw s, each class's training indices are permuted
 * with seed s and the first k per class form the support set (nested across
 * shot counts); features standardised with the support set's mean and
 * std (+1e-5); a bias feature of 100; targets 2*onehot-1; closed-form ridge
 * (primal when N >= D, dual otherwise); accuracy of argmax on the test set. */
#ifndef XF_PROBE_H
#define XF_PROBE_H

#include "data/dataset.h"
#include "models/model.h"

enum { XF_PROBE_MAX_SHOTS = 16 };

typedef struct {
    int shots[XF_PROBE_MAX_SHOTS];
    int n_shots;
    int draws;      /* seeds 0 .. draws-1 */
    double lambda;  /* ridge strength, default 1024 */
    int test_limit; /* 0: the whole test set; else a seeded subsample */
} xf_probe_config;

/* shots 1,5,10,25; 3 draws; lambda 1024; no test limit. */
void xf_probe_config_default(xf_probe_config *cfg);

typedef struct {
    int layer; /* tap index */
    int shots;
    int draw;
    double accuracy;
} xf_probe_result;

typedef struct {
    xf_probe_result *items;
    int count;
} xf_probe_results;

void xf_probe_results_free(xf_probe_results *r);

/* Extracts the features of every tap of m for `train` and `test` (one
 * forward pass each) and runs every (tap, shots, draw) probe. */
xf_status xf_probe_model(xf_model *m, const xf_dataset *train, const xf_dataset *test,
                         const xf_probe_config *cfg, xf_probe_results *out);

/* One probe on given features. train: n_train x dim, test: n_test x dim.
 * support: indices into train of the support set. Writes the predicted
 * class of every test row to `predictions` (may be NULL) and the accuracy. */
xf_status xf_ridge_probe(const float *train, const int32_t *train_labels, const int *support,
                         int n_support, const float *test, const int32_t *test_labels,
                         int n_test, int dim, int n_classes, double lambda,
                         int32_t *predictions, double *accuracy);

/* The support set of draw `draw` with `shots` per class (nested in shots):
 * fills `support` (n_classes * shots entries) and returns its size; fails
 * if a class has fewer than `shots` training images. */
xf_status xf_fewshot_support(const int32_t *labels, int n, int n_classes, int shots, int draw,
                             int *support, int *n_support);

#endif
