/* Pooled features of every tap of a frozen model, for chosen images of a
 * dataset: one forward pass per batch, taps copied out after each. */
#ifndef XF_FEATURES_H
#define XF_FEATURES_H

#include "data/dataset.h"
#include "models/model.h"
#include "zoo/import.h"

/* Images per forward pass, at most; bounds the activation arena. */
enum { XF_FEATURES_BATCH = 256 };
/* The forward-only activations of one pass, at most (unless one image
 * needs more): 512 MiB. */
#define XF_FEATURES_ARENA_BYTES ((size_t)512 << 20)

typedef struct {
    int n; /* images (rows) */
    int n_taps;
    int *dims;    /* n_taps: features per row of each tap */
    float **data; /* n_taps matrices, n x dims[t], row i = image idx[i] */
} xf_features;

/* Features of images idx[0..count) of ds (idx NULL: images 0..count-1) at
 * every tap of m (images of another shape are brought to the model's
 * input batch by batch through xf_pipeline_to_shape, said once), in
 * batches of xf_features_batch(m) images split over the BLAS threads
 * (models/replicas.h). The passes run forward only (model.h), so the
 * activations of one batch's blocks share one slab, and every batch
 * reuses the same arenas; m's arena stays reserved for its slice;
 * m->taps_enabled and m->forward_only are restored on return. Shows a
 * progress line when the pass takes long. */
xf_status xf_features_extract(xf_model *m, const xf_dataset *ds, const int *idx, int count,
                              xf_features *out);

/* As xf_features_extract with `batch` images per forward pass (>= 1). */
xf_status xf_features_extract_batched(xf_model *m, const xf_dataset *ds, const int *idx,
                                      int count, int batch, xf_features *out);

/* Images per pass for m: XF_FEATURES_BATCH, or fewer (at least 1) when
 * that many would need more than XF_FEATURES_ARENA_BYTES of activations
 * (a ViT-B/16 at 224 px needs about 12 MB an image). */
int xf_features_batch(const xf_model *m);

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
