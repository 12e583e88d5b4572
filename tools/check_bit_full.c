/* The full-size BiT check (tools/check_bit_full.sh runs it; not part of
 * make test): WEIGHTS is a timm-named ResNetV2 state_dict, REFERENCE the
 * images, logits and taps tools/bit_reference.py computed for it. The
 * config comes from the weights alone (the resnet family's from_timm at
 * 224 x 224); the tensors load by name; the logits and every tap must be
 * within 1e-4 of the reference's largest entry. Prints the config, the
 * parameter count and each error; exits 1 on a mismatch.
 *
 * Usage: check_bit_full WEIGHTS REFERENCE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "models/family.h"
#include "models/model.h"

static double rel_error(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / (scale > 0 ? scale : 1);
}

static int fail(const char *what) {
    fprintf(stderr, "check_bit_full: %s: %s\n", what, xf_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: check_bit_full WEIGHTS REFERENCE\n");
        return 2;
    }
    xf_safetensors weights, ref;
    if (xf_safetensors_open(argv[1], &weights)) return fail("weights");
    if (xf_safetensors_open(argv[2], &ref)) return fail("reference");
    xf_model_config cfg = {0};
    if (xf_resnet_family.from_timm(&weights, &cfg)) return fail("from_timm");
    char *json = xf_model_config_to_json(&cfg);
    printf("from_timm: %s\n", json);
    free(json);
    xf_model m;
    if (xf_model_init(&m, &cfg)) return fail("model");
    printf("parameters: %zu in %d tensors (the file: %d tensors)\n", m.n_params, m.n_tensors,
           weights.n_tensors);
    for (int t = 0; t < m.n_tensors; t++) {
        const float *data;
        if (xf_safetensors_f32(&weights, m.tensors[t].name, m.tensors[t].numel, &data))
            return fail("load");
        memcpy(m.params + m.tensors[t].offset, data, sizeof(float) * m.tensors[t].numel);
    }
    const xf_st_tensor *images = xf_safetensors_find(&ref, "images");
    if (!images || images->dtype != XF_ST_U8) {
        fprintf(stderr, "check_bit_full: %s: no U8 tensor 'images'\n", argv[2]);
        return 1;
    }
    int batch = (int)images->shape[0], classes = cfg.n_classes;
    float *x = malloc(sizeof(float) * images->numel);
    float *logits = malloc(sizeof(float) * (size_t)batch * classes);
    if (!x || !logits) return 1;
    const unsigned char *u = images->data;
    for (size_t i = 0; i < images->numel; i++) x[i] = (float)u[i] / 255 * 2 - 1;
    if (xf_model_reserve(&m, batch)) return fail("arena");
    m.taps_enabled = true;
    xf_model_forward(&m, x, batch, logits);
    const float *want;
    if (xf_safetensors_f32(&ref, "logits", (size_t)batch * classes, &want)) return fail("logits");
    double err = rel_error(logits, want, (size_t)batch * classes), worst = err;
    printf("logits [%d, %d]: max error %.3g of the largest\n", batch, classes, err);
    for (int t = 0; t < m.n_taps; t++) {
        char name[32];
        snprintf(name, sizeof name, "tap.%d", t);
        if (xf_safetensors_f32(&ref, name, (size_t)batch * m.tap_dims[t], &want))
            return fail("taps");
        err = rel_error(xf_model_tap(&m, t), want, (size_t)batch * m.tap_dims[t]);
        worst = fmax(worst, err);
        printf("tap %-9s [%d, %4d]: max error %.3g\n", m.tap_names[t], batch, m.tap_dims[t],
               err);
    }
    printf("%s: worst %.3g (limit 1e-4)\n", worst <= 1e-4 ? "PASS" : "FAIL", worst);
    free(x);
    free(logits);
    xf_model_free(&m);
    xf_safetensors_free(&weights);
    xf_safetensors_free(&ref);
    return worst <= 1e-4 ? 0 : 1;
}
