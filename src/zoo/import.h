/* Pre-trained checkpoints from elsewhere as xfer models: a file written by
 * xfer (its config in the metadata) or a timm state_dict in safetensors
 * (ViT, MLP-Mixer, BiT's ResNetV2), with the input preprocessing the
 * checkpoint was trained with. docs/zoo.md describes the flow. */
#ifndef XF_IMPORT_H
#define XF_IMPORT_H

#include "core/safetensors.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/preprocess.h"
#include "models/model.h"

typedef struct {
    const char *arch;    /* a timm architecture name (e.g. "vit_base_patch16_224.augreg_in21k"),
                            or NULL: inferred from the tensors */
    const char *sidecar; /* a JSON file of settings the shapes cannot tell, or NULL */
    const char *const *settings; /* n_settings "key=value" overrides, applied last (keys:
                                    docs/zoo.md: heads, pool, mean, std, crop_pct, ...) */
    int n_settings;
    int image_size;      /* the resolution to probe at; 0: the checkpoint's own */
} xf_import_options;

/* What a task's pictures go through before the model sees them. */
typedef struct {
    xf_norm norm;          /* per-channel mean/std on [0, 1]; std[0] == 0: v / 255 * 2 - 1 */
    xf_pipeline pipeline;  /* a picture to the model's input shape */
} xf_model_input;

/* Builds *m from the checkpoint at `path` (opt may be NULL) and fills
 * *input. Errors name the file and the first tensor that is missing, extra
 * or of the wrong shape. On failure *m is empty (xf_model_free is safe). */
xf_status xf_model_import(const char *path, const xf_import_options *opt, xf_model *m,
                          xf_model_input *input);

/* The timm half of xf_model_import, on a file already parsed
 * (core/safetensors.h; file->path names it in messages): for callers that
 * hold the bytes, and the fuzzer. */
xf_status xf_model_import_timm(const xf_safetensors *file, const xf_import_options *opt,
                               xf_model *m, xf_model_input *input);

#endif
