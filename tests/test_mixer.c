/* The mixer family: whole-model gradients against central differences in
 * double, the float model against the double one, parameter count and FLOPs
 * against hand formulas, taps (also through the probe's extraction), config
 * checks, and the PyTorch fixture made by tools/torch_reference.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "models/mixer.h"
#include "models/model.h"
#include "nn/loss.h"
#include "probe/features.h"
#include "zoo_fixture.inc"

static xf_model_config small_config(void) {
    return (xf_model_config){.family = XF_FAMILY_MIXER,
                             .height = 4,
                             .width = 6,
                             .channels = 2,
                             .n_classes = 3,
                             .mixer = {.patch = 2, .dim = 5, .depth = 2, .token_mlp_dim = 4,
                                       .channel_mlp_dim = 7}};
}

enum { BATCH = 2, D_IN = 4 * 6 * 2, CLASSES = 3 };

typedef struct {
    xf_model m;
    double x[BATCH * D_IN];
    int32_t labels[BATCH];
    double *params;
} grad_case;

static void grad_case_init(grad_case *c) {
    xf_model_config cfg = small_config();
    cr_assert_eq(xf_model_init(&c->m, &cfg), XF_OK, "%s", xf_error_message());
    xf_rng rng;
    xf_rng_seed(&rng, 31);
    for (int i = 0; i < BATCH * D_IN; i++) c->x[i] = 2 * xf_rng_uniform(&rng) - 1;
    for (int i = 0; i < BATCH; i++) c->labels[i] = (int32_t)xf_rng_below(&rng, CLASSES);
    c->params = malloc(sizeof(double) * c->m.n_params);
    for (size_t i = 0; i < c->m.n_params; i++) c->params[i] = xf_rng_uniform(&rng) - 0.5;
}

static double loss_at(grad_case *c) {
    double loss;
    cr_assert_eq(xf_mixer_loss_f64(&c->m, c->params, c->x, c->labels, BATCH, &loss, NULL),
                 XF_OK);
    return loss;
}

Test(mixer, gradients_match_central_differences_in_double) {
    grad_case c;
    grad_case_init(&c);
    double *grads = calloc(c.m.n_params, sizeof(double)), loss;
    cr_assert_eq(xf_mixer_loss_f64(&c.m, c.params, c.x, c.labels, BATCH, &loss, grads), XF_OK);
    const double h = 1e-6;
    for (int t = 0; t < c.m.n_tensors; t++) {
        const xf_tensor_info *ti = &c.m.tensors[t];
        double worst = 0, scale = 0;
        for (size_t j = 0; j < ti->numel; j++) {
            double *p = &c.params[ti->offset + j], keep = *p;
            *p = keep + h;
            double up = loss_at(&c);
            *p = keep - h;
            double down = loss_at(&c);
            *p = keep;
            double numeric = (up - down) / (2 * h);
            worst = fmax(worst, fabs(numeric - grads[ti->offset + j]));
            scale = fmax(scale, fabs(numeric));
        }
        /* The token MLP's output bias shifts every channel of a token
         * alike, which the next LayerNorm (norm2, the next block's norm1,
         * the final norm) removes: its gradient is exactly 0. */
        if (strstr(ti->name, "mlp_tokens.fc2.bias")) {
            cr_assert_lt(scale, 1e-9, "%s: gradient should vanish", ti->name);
            cr_assert_lt(worst, 1e-9, "%s: analytic gradient %g", ti->name, worst);
            continue;
        }
        cr_assert_gt(scale, 1e-5, "%s: gradient is all ~0", ti->name);
        cr_assert_lt(worst / scale, 1e-6, "%s: max error %g against max gradient %g", ti->name,
                     worst, scale);
    }
    free(grads);
    free(c.params);
    xf_model_free(&c.m);
}

Test(mixer, float_model_matches_double_instance) {
    grad_case c;
    grad_case_init(&c);
    xf_model *m = &c.m;
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = (float)c.params[i];
    for (size_t i = 0; i < m->n_params; i++) c.params[i] = m->params[i];
    double *grads = calloc(m->n_params, sizeof(double)), loss;
    cr_assert_eq(xf_mixer_loss_f64(m, c.params, c.x, c.labels, BATCH, &loss, grads), XF_OK);
    float x[BATCH * D_IN], logits[BATCH * CLASSES], dlogits[BATCH * CLASSES];
    for (int i = 0; i < BATCH * D_IN; i++) x[i] = (float)c.x[i];
    cr_assert_eq(xf_model_reserve(m, 4), XF_OK);
    xf_model_forward(m, x, BATCH, logits);
    cr_assert_float_eq(xf_softmax_xent(logits, c.labels, BATCH, CLASSES, dlogits), loss, 1e-5);
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] = 1;
    xf_model_backward(m, dlogits, BATCH);
    double scale = 0, worst = 0;
    for (size_t i = 0; i < m->n_params; i++) scale = fmax(scale, fabs(grads[i]));
    for (size_t i = 0; i < m->n_params; i++)
        worst = fmax(worst, fabs(m->grads[i] - 1 - grads[i]));
    cr_assert_lt(worst / scale, 1e-5, "float grads off by %g of %g", worst, scale);
    free(grads);
    free(c.params);
    xf_model_free(m);
}

/* P = C p^2 D + D + depth (2D + TM N + TM + N TM + N + 2D + CM D + CM + D CM + D) + 2D + K D + K;
 * FLOPs = 2 N C p^2 D + depth (4 D N TM + 4 N D CM) + 2 D K. */
Test(mixer, parameter_count_and_flops_match_hand_formulas) {
    xf_model_config cfg = {.family = XF_FAMILY_MIXER, .height = 28, .width = 28, .channels = 1,
                           .n_classes = 10,
                           .mixer = {.patch = 4, .dim = 64, .depth = 3, .token_mlp_dim = 32,
                                     .channel_mlp_dim = 256}};
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
    double C = 1, p = 4, D = 64, N = 49, TM = 32, CM = 256, K = 10, depth = 3;
    double params = C * p * p * D + D +
                    depth * (2 * D + TM * N + TM + N * TM + N + 2 * D + CM * D + CM + D * CM + D) +
                    2 * D + K * D + K;
    cr_assert_eq((double)m.n_params, params);
    double flops = 2 * N * C * p * p * D + depth * (4 * D * N * TM + 4 * N * D * CM) + 2 * D * K;
    cr_assert_float_eq(m.flops_per_image, flops, 1e-9 * flops);
    cr_assert_eq(xf_model_find_tensor(&m, "blocks.1.mlp_tokens.fc1.weight")->shape[1], 49);
    cr_assert_eq(xf_model_find_tensor(&m, "head.bias")->group, XF_GROUP_HEAD);
    cr_assert_eq(xf_model_find_tensor(&m, "stem.proj.weight")->group, XF_GROUP_BODY);
    xf_model_free(&m);
}

Test(mixer, config_errors_and_json_round_trip) {
    xf_model m;
    xf_model_config cfg = small_config(), back;
    cfg.width = 7;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "mixer.patch 2 does not divide the 4 x 7"), "%s",
              xf_error_message());
    cfg = small_config();
    char *json = xf_model_config_to_json(&cfg);
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.family, XF_FAMILY_MIXER);
    cr_assert_eq(back.mixer.token_mlp_dim, 4);
    cr_assert_eq(back.mixer.channel_mlp_dim, 7);
    free(json);
    cr_assert_eq(xf_model_config_from_json(
                     "{\"family\":\"mixer\",\"height\":4,\"width\":6,\"channels\":2,"
                     "\"n_classes\":3,\"mixer\":{\"patch\":2,\"dim\":5,\"depth\":2,"
                     "\"token_mlp_dim\":4}}",
                     &back),
                 XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "mixer.channel_mlp_dim"), "%s", xf_error_message());
}

Test(mixer, taps_feed_the_head_and_the_probe) {
    xf_model_config cfg = small_config();
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 9);
    cr_assert_eq(m.n_taps, 3);
    cr_assert_str_eq(m.tap_names[1], "block1");
    cr_assert_str_eq(m.tap_names[2], "prelogits");
    enum { NIMG = 3 };
    xf_dataset ds;
    cr_assert_eq(xf_dataset_alloc(&ds, "mixer-taps", NIMG, 4, 6, 2, CLASSES), XF_OK);
    float x[NIMG * D_IN], logits[NIMG * CLASSES];
    for (int i = 0; i < NIMG * D_IN; i++) {
        ds.images[i] = (uint8_t)(i * 53 % 256);
        ds.labels[i / D_IN] = 1;
        x[i] = xf_pixel_to_float(ds.images[i]);
    }
    cr_assert_eq(xf_model_reserve(&m, NIMG), XF_OK);
    m.taps_enabled = true;
    xf_model_forward(&m, x, NIMG, logits);
    const float *pre = xf_model_tap(&m, 2);
    const xf_tensor_info *w = xf_model_find_tensor(&m, "head.weight");
    const xf_tensor_info *b = xf_model_find_tensor(&m, "head.bias");
    for (int i = 0; i < NIMG; i++)
        for (int k = 0; k < CLASSES; k++) {
            double s = m.params[b->offset + k];
            for (int j = 0; j < 5; j++)
                s += (double)m.params[w->offset + k * 5 + j] * pre[i * 5 + j];
            cr_assert_float_eq(logits[i * CLASSES + k], s, 1e-5);
        }
    float taps[2][NIMG * 5];
    memcpy(taps[0], xf_model_tap(&m, 1), sizeof taps[0]);
    memcpy(taps[1], pre, sizeof taps[1]);
    xf_features f;
    cr_assert_eq(xf_features_extract(&m, &ds, NULL, NIMG, &f), XF_OK, "%s", xf_error_message());
    for (int i = 0; i < NIMG * 5; i++) {
        cr_assert_float_eq(f.data[1][i], taps[0][i], 1e-6);
        cr_assert_float_eq(f.data[2][i], taps[1][i], 1e-6);
    }
    xf_features_free(&f);
    xf_dataset_free(&ds);
    xf_model_free(&m);
}

Test(mixer, matches_pytorch) { zoo_check_fixture("mixer.safetensors", 1e-4); }
