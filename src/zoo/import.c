/* Checkpoint import (import.h). */
#include "zoo/import.h"

#include <string.h>

#include "core/safetensors.h"
#include "train/checkpoint.h"

xf_status xf_model_import(const char *path, const xf_import_options *opt, xf_model *m,
                          xf_model_input *input) {
    memset(m, 0, sizeof *m);
    memset(input, 0, sizeof *input);
    xf_safetensors file;
    xf_status st = xf_safetensors_open(path, &file);
    bool own = st == XF_OK && xf_safetensors_meta(&file, "xfer_config") != NULL;
    xf_safetensors_free(&file);
    if (st != XF_OK) return st;
    if (!own)
        return xf_fail(XF_EFORMAT,
                       "%s: no __metadata__.xfer_config, and timm checkpoints are not read yet",
                       path);
    if (opt && (opt->arch || opt->sidecar || opt->n_settings || opt->image_size))
        return xf_fail(XF_EINVAL,
                       "%s: an xfer checkpoint carries its own settings; arch, sidecar, "
                       "settings and image size apply to timm checkpoints",
                       path);
    if ((st = xf_checkpoint_load(path, m)) != XF_OK) return st;
    /* xfer's own models were trained on v / 255 * 2 - 1 at their own shape. */
    xf_pipeline_to_shape(&input->pipeline, m->config.height, m->config.width,
                         m->config.channels);
    return XF_OK;
}
