/* The full-size check of tools/check_timm_full.sh: imports one timm
 * checkpoint written by tools/timm_reference.py --full with a timm name, runs
 * the images of its folder and prints, for the logits and every tap, the
 * largest error relative to the reference's largest entry; exits 1 when one
 * is above 1e-4. Usage: check_timm_full DIR NAME TIMM_NAME */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "core/timer.h"
#include "zoo/import.h"

static double rel_error(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / scale;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DIR NAME TIMM_NAME\n", argv[0]);
        return 2;
    }
    char path[1024];
    xf_import_options opt = {.arch = argv[3]};
    xf_model m;
    xf_model_input in;
    xf_safetensors images, ref;
    snprintf(path, sizeof path, "%s/%s.safetensors", argv[1], argv[2]);
    double t0 = xf_now();
    if (xf_model_import(path, &opt, &m, &in) != XF_OK) {
        fprintf(stderr, "%s\n", xf_error_message());
        return 1;
    }
    printf("%s as %s: %zu parameters, %d taps, %d classes, input %dx%d, imported in %.1f s\n",
           argv[2], argv[3], m.n_params, m.n_taps, m.config.n_classes, m.config.height,
           m.config.width, xf_now() - t0);
    snprintf(path, sizeof path, "%s/images.safetensors", argv[1]);
    if (xf_safetensors_open(path, &images) != XF_OK) return fprintf(stderr, "%s\n", xf_error_message()), 1;
    snprintf(path, sizeof path, "%s/%s.ref.safetensors", argv[1], argv[2]);
    if (xf_safetensors_open(path, &ref) != XF_OK) return fprintf(stderr, "%s\n", xf_error_message()), 1;
    const xf_st_tensor *img = xf_safetensors_find(&images, "images");
    int batch = (int)img->shape[0];
    float *x = malloc(sizeof(float) * img->numel);
    float *logits = malloc(sizeof(float) * batch * m.config.n_classes);
    const uint8_t *v = img->data;
    for (size_t i = 0; i < img->numel; i++)
        x[i] = ((float)v[i] / 255.0f - in.norm.mean[i % 3]) / in.norm.std[i % 3];
    if (xf_model_reserve(&m, batch) != XF_OK) return fprintf(stderr, "%s\n", xf_error_message()), 1;
    m.taps_enabled = true;
    t0 = xf_now();
    xf_model_forward(&m, x, batch, logits);
    printf("forward of %d image(s): %.2f s\n", batch, xf_now() - t0);
    int bad = 0;
    const float *want;
    if (xf_safetensors_f32(&ref, "logits", (size_t)batch * m.config.n_classes, &want) != XF_OK)
        return fprintf(stderr, "%s\n", xf_error_message()), 1;
    double e = rel_error(logits, want, (size_t)batch * m.config.n_classes);
    printf("  %-12s max |xfer - torch| / max |torch| = %.2e\n", "logits", e);
    bad |= !(e <= 1e-4);
    for (int t = 0; t < m.n_taps; t++) {
        char key[64];
        snprintf(key, sizeof key, "taps.%s", m.tap_names[t]);
        if (xf_safetensors_f32(&ref, key, (size_t)batch * m.tap_dims[t], &want) != XF_OK)
            return fprintf(stderr, "%s\n", xf_error_message()), 1;
        e = rel_error(xf_model_tap(&m, t), want, (size_t)batch * m.tap_dims[t]);
        printf("  %-12s %.2e\n", m.tap_names[t], e);
        bad |= !(e <= 1e-4);
    }
    printf("%s\n", bad ? "FAIL: above 1e-4" : "ok: every entry within 1e-4");
    free(x);
    free(logits);
    xf_safetensors_free(&images);
    xf_safetensors_free(&ref);
    xf_model_free(&m);
    return bad;
}
