/* Checkpoints in the safetensors format: an 8-byte little-endian header
 * length, a JSON header mapping each tensor name to dtype F32, shape and
 * data_offsets, and "__metadata__" holding {"xfer_config": <model config
 * JSON>} plus any extra string entries; then the raw little-endian data.
 * Written to a temp file and renamed, so a crash never leaves half a file. */
#ifndef XF_CHECKPOINT_H
#define XF_CHECKPOINT_H

#include "models/model.h"

/* extra_key/extra_value: parallel arrays of n_extra metadata strings. */
xf_status xf_checkpoint_save(const xf_model *m, const char *path, const char *const *extra_key,
                             const char *const *extra_value, int n_extra);

/* Builds *m from the checkpoint's config and loads every tensor; each
 * tensor of the model must be present with the right shape. */
xf_status xf_checkpoint_load(const char *path, xf_model *m);

#endif
