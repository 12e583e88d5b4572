/* Few-shot linear probes on a frozen model, at every tap, exactly as
 * docs/protocol.md: per draw s, each class's training indices are permuted
 * with seed s and the first k per class form the support set (nested across
 * shot counts); features standardised with the support set's mean and
 * std (+1e-5); a bias feature of 100; targets 2*onehot-1; closed-form ridge
 * (primal when N >= D, dual otherwise); accuracy of argmax on the test set. */
#ifndef XF_PROBE_H
#define XF_PROBE_H

#include <stdbool.h>

#include "data/dataset.h"
#include "models/model.h"
#include "zoo/import.h"

enum { XF_PROBE_MAX_SHOTS = 16, XF_PROBE_MAX_LAMBDAS = 32, XF_PROBE_MAX_LAYERS = 64 };

/* A shot count meaning "every training image" (--shots all): the full-data
 * linear probe, deterministic, so it has one draw (draw 0) whatever `draws`. */
enum { XF_PROBE_SHOTS_ALL = 0 };

/* The grid --lambda loo chooses from: 2^-4, 2^-3, ..., 2^16. */
enum { XF_PROBE_LOO_MIN_LOG2 = -4, XF_PROBE_LOO_MAX_LOG2 = 16 };

typedef struct {
    int shots[XF_PROBE_MAX_SHOTS]; /* >= 1, or XF_PROBE_SHOTS_ALL */
    int n_shots;
    int draws;      /* seeds 0 .. draws-1 */
    double lambda;  /* ridge strength, default 1024 */
    int test_limit; /* 0: the whole test set; else a seeded subsample */
    /* Several ridge strengths solved from one eigendecomposition per support
     * set; n_lambdas 0 means just `lambda`. */
    double lambdas[XF_PROBE_MAX_LAMBDAS];
    int n_lambdas;
    bool loo; /* per probe, lambda chosen from the LOO grid (lambdas ignored) */
    /* Taps probed: n_layers 0 means all; an entry < 0 counts from the end
     * (-1 is the last tap). */
    int layers[XF_PROBE_MAX_LAYERS];
    int n_layers;
} xf_probe_config;

/* shots 1,5,10,25; 3 draws; lambda 1024; no test limit. */
void xf_probe_config_default(xf_probe_config *cfg);

typedef struct {
    int layer; /* tap index */
    int shots;
    int draw;
    double accuracy;
    double lambda;    /* the ridge strength used (the chosen one with loo) */
    int lambda_index; /* into the config's lambdas (0 for a single lambda, -1 for loo) */
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
/* xf_probe_model with the input an imported checkpoint asks for
 * (xf_features_extract_input; in NULL: as xf_probe_model). */
xf_status xf_probe_model_input(xf_model *m, const xf_model_input *in, const xf_dataset *train,
                               const xf_dataset *test, const xf_probe_config *cfg,
                               xf_probe_results *out);

/* The features of one tap that the probes use. */
typedef struct {
    const float *train; /* n_train x dim */
    const int32_t *train_labels;
    int n_train;
    const float *test; /* n_test x dim */
    const int32_t *test_labels;
    int n_test;
    int dim, n_classes;
} xf_probe_data;

/* Every probe of one tap: a head per (support set, lambda) (one per set,
 * lambda chosen by LOO from `lambdas`, with loo), fitted in double, then
 * folded (standardisation in the weights) into the columns of one float
 * matrix so that all heads score the test rows in one sgemm. Outputs, each
 * n_sets x heads (heads = loo ? 1 : n_lambdas), set-major: accuracy;
 * lambda_used and predictions (x n_test) may be NULL. */
xf_status xf_probe_sets(const xf_probe_data *data, const int *const *sets, const int *set_sizes,
                        int n_sets, const double *lambdas, int n_lambdas, bool loo,
                        double *accuracy, double *lambda_used, int32_t *predictions);

/* Probes of every (shots, draw) of cfg on one tap's features, appended to
 * `out` as layer `layer`, in xf_probe_model's order. train must hold every
 * training image (support sets index it). */
xf_status xf_probe_tap(const xf_probe_data *data, const xf_probe_config *cfg, int layer,
                       xf_probe_results *out);

/* Checks a config (shots, draws, lambdas, layers). */
xf_status xf_probe_config_check(const xf_probe_config *cfg);

/* Whether tap t of n_taps is probed under cfg->layers. */
bool xf_probe_layer_selected(const xf_probe_config *cfg, int t, int n_taps);

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
