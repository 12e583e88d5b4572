/* libFuzzer target for the timm importer (zoo/import.h): the input is a
 * whole safetensors file read as a timm state_dict (heads=2 for a ViT). Tensor
 * names and shapes decide the architecture, so they may ask for any model:
 * the importer must refuse by name whatever the file cannot fill before it
 * allocates the model. An accepted model of at most 64x64 pixels runs one
 * forward with its taps. Built by `make fuzz`. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/safetensors.h"
#include "zoo/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xf_safetensors file;
    if (xf_safetensors_parse(data, size, "fuzz", &file) != XF_OK) return 0;
    /* heads is a ViT's setting; other families refuse it. */
    static const char *const heads[] = {"heads=2"};
    bool vit = xf_safetensors_find(&file, "patch_embed.proj.weight") != NULL;
    xf_import_options opt = {.settings = heads, .n_settings = vit};
    xf_model m;
    xf_model_input in;
    if (xf_model_import_timm(&file, &opt, &m, &in) == XF_OK) {
        const xf_model_config *c = &m.config;
        if ((size_t)c->height * c->width <= 64 * 64 && xf_model_reserve(&m, 1) == XF_OK) {
            size_t n = (size_t)c->height * c->width * c->channels;
            float *x = calloc(n, sizeof(float)), *logits = malloc(sizeof(float) * c->n_classes);
            if (x && logits) {
                m.taps_enabled = true;
                xf_model_forward(&m, x, 1, logits);
            }
            free(x);
            free(logits);
        }
        xf_model_free(&m);
    }
    xf_safetensors_free(&file);
    return 0;
}
