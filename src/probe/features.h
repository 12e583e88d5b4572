/* Pooled features of every tap of a frozen model, for chosen images of a
 * dataset: one forward pass per batch, taps copied out after each. */
#ifndef XF_FEATURES_H
#define XF_FEATURES_H

#include "data/dataset.h"
#include "models/model.h"
#include "zoo/import.h"

/* Images per forward pass: bounds the activation arena. */
enum { XF_FEATURES_BATCH = 256 };

typedef struct {
    int n; /* images (rows) */
    int n_taps;
    int *dims;    /* n_taps: features per row of each tap */
    float **data; /* n_taps matrices, n x dims[t], row i = image idx[i] */
} xf_features;

/* Features of images idx[0..count) of ds (idx NULL: images 0..count-1) at
 * every tap of m (images of another shape are brought to the model's
 * input batch by batch through xf_pipeline_to_shape, said once), in batches of XF_FEATURES_BATCH images split over the
 * BLAS threads (models/replicas.h; m's arena stays reserved for its
 * slice); m->taps_enabled is restored on return. Shows a progress line
 * when the pass takes long. */
xf_status xf_features_extract(xf_model *m, const xf_dataset *ds, const int *idx, int count,
                              xf_features *out);

/* xf_features_extract with the input an imported checkpoint asks for
 * (zoo/import.h): images of another shape than the model's go through
 * in->pipeline (a timm checkpoint's: shorter side to size / crop_pct,
 * centre crop, its interpolation) instead of xf_pipeline_to_shape, and all
 * are normalised with in->norm instead of the set's own when in->norm.std[0]
 * is not 0. Images already at the model's shape are used as they are.
 * in NULL: xf_features_extract. */
xf_status xf_features_extract_input(xf_model *m, const xf_model_input *in, const xf_dataset *ds,
                                    const int *idx, int count, xf_features *out);

void xf_features_free(xf_features *f);

#endif
