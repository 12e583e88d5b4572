/* The vit family: whole-model gradients against central differences in
 * double (gap and cls pooling), the float model against the double one,
 * parameter counts and FLOPs against hand formulas, taps (also through the
 * probe's feature extraction), config checks, and the PyTorch fixtures made
 * by tools/torch_reference.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "models/model.h"
#include "models/vit.h"
#include "nn/loss.h"
#include "probe/features.h"
#include "support.h"

static xf_model_config small_config(xf_vit_pool pool) {
    return (xf_model_config){.family = XF_FAMILY_VIT,
                             .height = 4,
                             .width = 6,
                             .channels = 2,
                             .n_classes = 3,
                             .vit = {.patch = 2, .dim = 8, .depth = 2, .heads = 2,
                                     .mlp_ratio = 1.5, .pool = pool}};
}

enum { BATCH = 2, D_IN = 4 * 6 * 2, CLASSES = 3 };

typedef struct {
    xf_model m;
    double x[BATCH * D_IN];
    int32_t labels[BATCH];
    double *params;
} grad_case;

static void grad_case_init(grad_case *c, xf_vit_pool pool) {
    xf_model_config cfg = small_config(pool);
    cr_assert_eq(xf_model_init(&c->m, &cfg), XF_OK, "%s", xf_error_message());
    xf_rng rng;
    xf_rng_seed(&rng, 21);
    for (int i = 0; i < BATCH * D_IN; i++) c->x[i] = 2 * xf_rng_uniform(&rng) - 1;
    for (int i = 0; i < BATCH; i++) c->labels[i] = (int32_t)xf_rng_below(&rng, CLASSES);
    c->params = malloc(sizeof(double) * c->m.n_params);
    /* Weights far larger than the default init, so every softmax, norm and
     * GELU works off its linear regime and every gradient is sizeable. */
    for (size_t i = 0; i < c->m.n_params; i++) c->params[i] = xf_rng_uniform(&rng) - 0.5;
}

static double loss_at(grad_case *c) {
    double loss;
    cr_assert_eq(xf_vit_loss_f64(&c->m, c->params, c->x, c->labels, BATCH, &loss, NULL), XF_OK);
    return loss;
}

static void check_model_gradients(xf_vit_pool pool) {
    grad_case c;
    grad_case_init(&c, pool);
    double *grads = calloc(c.m.n_params, sizeof(double)), loss;
    cr_assert_eq(xf_vit_loss_f64(&c.m, c.params, c.x, c.labels, BATCH, &loss, grads), XF_OK);
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
        cr_assert_gt(scale, 1e-5, "%s: gradient is all ~0", ti->name);
        cr_assert_lt(worst / scale, 1e-6, "%s: max error %g against max gradient %g", ti->name,
                     worst, scale);
    }
    free(grads);
    free(c.params);
    xf_model_free(&c.m);
}

Test(vit, gap_gradients_match_central_differences_in_double) {
    check_model_gradients(XF_POOL_GAP);
}

Test(vit, cls_gradients_match_central_differences_in_double) {
    check_model_gradients(XF_POOL_CLS);
}

Test(vit, float_model_matches_double_instance) {
    for (int pool = 0; pool < 2; pool++) {
        grad_case c;
        grad_case_init(&c, (xf_vit_pool)pool);
        xf_model *m = &c.m;
        for (size_t i = 0; i < m->n_params; i++) m->params[i] = (float)c.params[i];
        for (size_t i = 0; i < m->n_params; i++) c.params[i] = m->params[i];
        double *grads = calloc(m->n_params, sizeof(double)), loss;
        cr_assert_eq(xf_vit_loss_f64(m, c.params, c.x, c.labels, BATCH, &loss, grads), XF_OK);
        float x[BATCH * D_IN], logits[BATCH * CLASSES], dlogits[BATCH * CLASSES];
        for (int i = 0; i < BATCH * D_IN; i++) x[i] = (float)c.x[i];
        /* Reserve more than is used: the passes use the batch's rows only. */
        cr_assert_eq(xf_model_reserve(m, 5), XF_OK);
        xf_model_forward(m, x, BATCH, logits);
        double floss = xf_softmax_xent(logits, c.labels, BATCH, CLASSES, dlogits);
        cr_assert_float_eq(floss, loss, 1e-5);
        for (size_t i = 0; i < m->n_params; i++) m->grads[i] = 1;
        xf_model_backward(m, dlogits, BATCH);
        double scale = 0, worst = 0;
        for (size_t i = 0; i < m->n_params; i++) scale = fmax(scale, fabs(grads[i]));
        for (size_t i = 0; i < m->n_params; i++)
            worst = fmax(worst, fabs(m->grads[i] - 1 - grads[i]));
        cr_assert_lt(worst / scale, 1e-5, "pool %d: float grads off by %g of %g", pool, worst,
                     scale);
        free(grads);
        free(c.params);
        xf_model_free(m);
    }
}

/* Hand formulas: P = C p^2 D + D + T D (+ D) + depth (4D + 3D^2 + 3D + D^2 + D + 2 D M + M + D)
 * + 2D + K D + K; FLOPs = 2 N C p^2 D + depth (6 T D^2 + 4 T^2 D + 2 T D^2 + 4 T D M) + 2 D K. */
Test(vit, parameter_count_and_flops_match_hand_formulas) {
    for (int pool = 0; pool < 2; pool++) {
        xf_model_config cfg = {.family = XF_FAMILY_VIT, .height = 28, .width = 20,
                               .channels = 1, .n_classes = 10,
                               .vit = {.patch = 4, .dim = 48, .depth = 3, .heads = 4,
                                       .mlp_ratio = 2.5, .pool = (xf_vit_pool)pool}};
        xf_model m;
        cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
        double C = 1, p = 4, D = 48, N = 7 * 5, T = N + pool, M = 120, K = 10, depth = 3;
        double params = C * p * p * D + D + T * D + pool * D +
                        depth * (4 * D + 3 * D * D + 3 * D + D * D + D + 2 * D * M + M + D) +
                        2 * D + K * D + K;
        cr_assert_eq((double)m.n_params, params);
        double flops = 2 * N * C * p * p * D +
                       depth * (6 * T * D * D + 4 * T * T * D + 2 * T * D * D + 4 * T * D * M) +
                       2 * D * K;
        cr_assert_float_eq(m.flops_per_image, flops, 1e-9 * flops);
        const xf_tensor_info *w = xf_model_find_tensor(&m, "patch_embed.proj.weight");
        cr_assert(w && w->ndim == 4 && w->shape[0] == 48 && w->shape[1] == 1 &&
                  w->shape[2] == 4 && w->shape[3] == 4);
        const xf_tensor_info *pe = xf_model_find_tensor(&m, "pos_embed");
        cr_assert(pe && pe->ndim == 3 && pe->shape[1] == (int)T);
        cr_assert_eq(xf_model_find_tensor(&m, "cls_token") != NULL, pool == XF_POOL_CLS);
        cr_assert_eq(xf_model_find_tensor(&m, "blocks.2.mlp.fc1.weight")->shape[0], 120);
        for (int t = 0; t < m.n_tensors; t++)
            cr_assert_eq(m.tensors[t].group,
                         strncmp(m.tensors[t].name, "head.", 5) ? XF_GROUP_BODY : XF_GROUP_HEAD,
                         "%s", m.tensors[t].name);
        xf_model_free(&m);
    }
}

Test(vit, config_errors_name_the_field) {
    xf_model m;
    xf_model_config cfg = small_config(XF_POOL_GAP);
    cfg.height = 5;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "vit.patch 2 does not divide the 5 x 6"), "%s",
              xf_error_message());
    cfg = small_config(XF_POOL_GAP);
    cfg.vit.heads = 3;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "vit.heads"), "%s", xf_error_message());
    xf_model_config back;
    cr_assert_eq(xf_model_config_from_json(
                     "{\"family\":\"vit\",\"height\":4,\"width\":6,\"channels\":2,\"n_classes\":3,"
                     "\"vit\":{\"patch\":2,\"dim\":8,\"depth\":2,\"heads\":2,\"mlp_ratio\":1.5,"
                     "\"pool\":\"avg\"}}",
                     &back),
                 XF_EFORMAT);
    cr_assert(strstr(xf_error_message(), "vit.pool"), "%s", xf_error_message());
}

Test(vit, config_json_round_trip) {
    xf_model_config cfg = small_config(XF_POOL_CLS), back;
    char *json = xf_model_config_to_json(&cfg);
    cr_assert(json);
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.family, XF_FAMILY_VIT);
    cr_assert_eq(back.vit.pool, XF_POOL_CLS);
    cr_assert_eq(back.vit.heads, 2);
    cr_assert_float_eq(back.vit.mlp_ratio, 1.5, 1e-12);
    free(json);
}

/* Taps: block i is its output's mean over patch tokens; the last block's
 * tap, the final norm and the pooling give the prelogits that feed the
 * head; the probe's extraction returns the same rows. */
Test(vit, taps_feed_the_head_and_the_probe) {
    for (int pool = 0; pool < 2; pool++) {
        xf_model_config cfg = small_config((xf_vit_pool)pool);
        xf_model m;
        cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
        xf_model_init_weights(&m, 5);
        cr_assert_eq(m.n_taps, 3);
        cr_assert_str_eq(m.tap_names[0], "block0");
        cr_assert_str_eq(m.tap_names[2], "prelogits");
        enum { NIMG = 3 };
        xf_dataset ds = {0};
        cr_assert_eq(xf_dataset_alloc(&ds, "vit-taps", NIMG, 4, 6, 2, CLASSES), XF_OK,
                     "%s", xf_error_message());
        float x[NIMG * D_IN], logits[NIMG * CLASSES];
        for (int i = 0; i < NIMG * D_IN; i++) {
            ds.images[i] = (uint8_t)(i * 37 % 256);
            ds.labels[i / D_IN] = 0;
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
                for (int j = 0; j < 8; j++)
                    s += (double)m.params[w->offset + k * 8 + j] * pre[i * 8 + j];
                cr_assert_float_eq(logits[i * CLASSES + k], s, 1e-5);
            }
        /* With gap and an identity final norm (gamma 1, beta 0 by init), the
         * prelogits are the mean of the normalised tokens: zero-mean rows. */
        if (pool == XF_POOL_GAP) {
            double s = 0;
            for (int j = 0; j < 8; j++) s += pre[j];
            cr_assert_float_eq(s, 0, 1e-5);
        }
        float tap0[NIMG * 8];
        memcpy(tap0, xf_model_tap(&m, 0), sizeof tap0);
        xf_features f;
        m.taps_enabled = false;
        cr_assert_eq(xf_features_extract(&m, &ds, NULL, NIMG, &f), XF_OK, "%s",
                     xf_error_message());
        cr_assert_eq(f.n_taps, 3);
        cr_assert_eq(f.dims[1], 8);
        for (int i = 0; i < NIMG * 8; i++) cr_assert_float_eq(f.data[0][i], tap0[i], 1e-6);
        for (int i = 0; i < NIMG * 8; i++) cr_assert_float_eq(f.data[2][i], pre[i], 1e-6);
        xf_features_free(&f);
        xf_dataset_free(&ds);
        xf_model_free(&m);
    }
}

#include "zoo_fixture.inc"

/* After 5 AdamW steps float and double part by a few 1e-6: Adam's first
 * steps move each weight by ~lr whatever its gradient's size. */
Test(vit, matches_pytorch_gap) { zoo_check_fixture("vit_gap.safetensors", 1e-4); }
Test(vit, matches_pytorch_cls) { zoo_check_fixture("vit_cls.safetensors", 1e-4); }
