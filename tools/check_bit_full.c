/* The full-size BiT check (tools/check_bit_full.sh runs it; not part of
 * make test): WEIGHTS is a timm-named ResNetV2 state_dict, REFERENCE the
 * logits and taps tools/bit_reference.py computed for it on the U8
 * 'images' of IMAGES. The
 * weights are imported as a timm checkpoint (zoo/import.h: the family and
 * config from the names and shapes, the resnet family's from_timm, at 224 x
 * 224), and the config must be the one the reference was built with; the
 * logits and every tap must be within 1e-4 of the reference's largest
 * entry. Prints the config, the parameter count and each error; exits 1 on
 * a mismatch.
 *
 * Usage: check_bit_full WEIGHTS REFERENCE IMAGES */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "models/model.h"
#include "zoo/import.h"

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
    if (argc != 4) {
        fprintf(stderr, "usage: check_bit_full WEIGHTS REFERENCE IMAGES\n");
        return 2;
    }
    xf_safetensors weights, ref, pictures;
    if (xf_safetensors_open(argv[1], &weights)) return fail("weights");
    if (xf_safetensors_open(argv[2], &ref)) return fail("reference");
    if (xf_safetensors_open(argv[3], &pictures)) return fail("images");
    xf_model m;
    xf_model_input in;
    if (xf_model_import(argv[1], NULL, &m, &in)) return fail("import");
    const xf_model_config cfg = m.config;
    char *json = xf_model_config_to_json(&cfg);
    const char *want = xf_safetensors_meta(&ref, "xfer_config");
    printf("imported: %s\n", json);
    if (!want || strcmp(json, want) != 0) {
        fprintf(stderr, "check_bit_full: the reference was built as %s\n", want ? want : "?");
        return 1;
    }
    free(json);
    printf("parameters: %zu in %d tensors (the file: %d tensors)\n", m.n_params, m.n_tensors,
           weights.n_tensors);
    const xf_st_tensor *images = xf_safetensors_find(&pictures, "images");
    if (!images || images->dtype != XF_ST_U8) {
        fprintf(stderr, "check_bit_full: %s: no U8 tensor 'images'\n", argv[3]);
        return 1;
    }
    int batch = (int)images->shape[0], classes = cfg.n_classes;
    float *x = malloc(sizeof(float) * images->numel);
    float *logits = malloc(sizeof(float) * (size_t)batch * classes);
    if (!x || !logits) return 1;
    const unsigned char *u = images->data;
    for (size_t i = 0; i < images->numel; i++)
        x[i] = ((float)u[i] / 255.0f - in.norm.mean[i % 3]) / in.norm.std[i % 3];
    if (xf_model_reserve(&m, batch)) return fail("arena");
    m.taps_enabled = true;
    xf_model_forward(&m, x, batch, logits);
    const float *data;
    if (xf_safetensors_f32(&ref, "logits", (size_t)batch * classes, &data)) return fail("logits");
    double err = rel_error(logits, data, (size_t)batch * classes), worst = err;
    printf("logits [%d, %d]: max error %.3g of the largest\n", batch, classes, err);
    for (int t = 0; t < m.n_taps; t++) {
        char name[32];
        snprintf(name, sizeof name, "tap.%d", t);
        if (xf_safetensors_f32(&ref, name, (size_t)batch * m.tap_dims[t], &data))
            return fail("taps");
        err = rel_error(xf_model_tap(&m, t), data, (size_t)batch * m.tap_dims[t]);
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
    xf_safetensors_free(&pictures);
    return worst <= 1e-4 ? 0 : 1;
}
