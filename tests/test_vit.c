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

#include "models/model.h"
#include "support.h"

static xf_model_config small_config(xf_vit_pool pool) {
    return (xf_model_config){.family = XF_FAMILY_VIT, .height = 4, .width = 6, .channels = 2,
                             .n_classes = 3,
                             .vit = {.patch = 2, .dim = 8, .depth = 2, .heads = 2,
                                     .mlp_ratio = 1.5, .pool = pool}};
}

enum { BATCH = 2 };

static void grad_case_init(test_grad_case *c, xf_vit_pool pool) {
    xf_model_config cfg = small_config(pool);
    test_grad_case_init(c, &cfg, BATCH, 21);
}

Test(vit, gap_gradients_match_central_differences_in_double) {
    test_grad_case c;
    grad_case_init(&c, XF_POOL_GAP);
    test_check_gradients(&c, 1e-5, 1e-6, NULL);
    test_grad_case_free(&c);
}

Test(vit, cls_gradients_match_central_differences_in_double) {
    test_grad_case c;
    grad_case_init(&c, XF_POOL_CLS);
    test_check_gradients(&c, 1e-5, 1e-6, NULL);
    test_grad_case_free(&c);
}

/* The variants only imported timm checkpoints have (model.h): each alone
 * and all together, gradients against central differences. */
static void check_variant(void (*set)(xf_model_config *c), xf_vit_pool pool) {
    xf_model_config cfg = small_config(pool);
    set(&cfg);
    test_grad_case c;
    test_grad_case_init(&c, &cfg, BATCH, 23);
    test_check_gradients(&c, 1e-5, 1e-6, NULL);
    test_float_gap gap = test_float_against_double(&c, BATCH);
    cr_assert_lt(gap.worst / gap.scale, 1e-5);
    test_grad_case_free(&c);
}
static void no_qkv_bias(xf_model_config *c) { c->vit.no_qkv_bias = true; }
static void layer_scale(xf_model_config *c) { c->vit.layer_scale = true; }
static void fc_norm(xf_model_config *c) { c->vit.fc_norm = true; }
static void class_token_avg(xf_model_config *c) {
    c->vit.gap_class_token = true;
    c->vit.class_token_taps = true;
}
static void all_variants(xf_model_config *c) {
    no_qkv_bias(c);
    layer_scale(c);
    fc_norm(c);
    class_token_avg(c);
}

Test(vit, variant_gradients_match_central_differences) {
    check_variant(no_qkv_bias, XF_POOL_CLS);
    check_variant(layer_scale, XF_POOL_GAP);
    check_variant(fc_norm, XF_POOL_GAP);
    check_variant(fc_norm, XF_POOL_CLS);
    check_variant(class_token_avg, XF_POOL_GAP);
    check_variant(all_variants, XF_POOL_GAP);
}

/* The variants' tensors carry timm's names and shapes; the class-token taps
 * interleave with the blocks' and hold token 0 of each block's output. */
Test(vit, variant_tensors_and_class_token_taps) {
    xf_model_config cfg = small_config(XF_POOL_GAP);
    all_variants(&cfg);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
    cr_assert_null(xf_model_find_tensor(&m, "blocks.0.attn.qkv.bias"));
    cr_assert_null(xf_model_find_tensor(&m, "norm.weight"));
    cr_assert_eq(xf_model_find_tensor(&m, "blocks.1.ls2.gamma")->shape[0], 8);
    cr_assert_eq(xf_model_find_tensor(&m, "fc_norm.bias")->shape[0], 8);
    cr_assert_eq(xf_model_find_tensor(&m, "pos_embed")->shape[1], 7); /* 6 patches + class */
    cr_assert_eq(m.n_taps, 5);
    static const char *const names[] = {"block0", "block0_cls", "block1", "block1_cls",
                                        "prelogits"};
    for (int t = 0; t < 5; t++) cr_assert_str_eq(m.tap_names[t], names[t]);
    xf_model_init_weights(&m, 4);
    cr_assert_eq(m.params[xf_model_find_tensor(&m, "blocks.0.ls1.gamma")->offset], 1.0f);
    /* With every block's LayerScale 0 the blocks are the identity: each
     * class-token tap is cls_token + pos_embed[0]. */
    for (int i = 0; i < 2; i++) {
        char name[64];
        for (int k = 1; k <= 2; k++) {
            snprintf(name, sizeof name, "blocks.%d.ls%d.gamma", i, k);
            const xf_tensor_info *g = xf_model_find_tensor(&m, name);
            memset(m.params + g->offset, 0, sizeof(float) * g->numel);
        }
    }
    float x[4 * 6 * 2], logits[3];
    for (int i = 0; i < 48; i++) x[i] = (float)(i % 7) / 7.0f - 0.5f;
    cr_assert_eq(xf_model_reserve(&m, 1), XF_OK);
    m.taps_enabled = true;
    xf_model_forward(&m, x, 1, logits);
    const float *cls = m.params + xf_model_find_tensor(&m, "cls_token")->offset;
    const float *pos = m.params + xf_model_find_tensor(&m, "pos_embed")->offset;
    for (int j = 0; j < 8; j++) {
        cr_assert_float_eq(xf_model_tap(&m, 1)[j], cls[j] + pos[j], 1e-6);
        cr_assert_float_eq(xf_model_tap(&m, 3)[j], cls[j] + pos[j], 1e-6);
    }
    xf_model_free(&m);
}

Test(vit, float_model_matches_double_instance) {
    for (int pool = 0; pool < 2; pool++) {
        test_grad_case c;
        grad_case_init(&c, (xf_vit_pool)pool);
        /* Reserve more than is used: the passes use the batch's rows only. */
        test_float_gap gap = test_float_against_double(&c, 5);
        cr_assert_float_eq(gap.loss, gap.loss_f64, 1e-5);
        cr_assert_lt(gap.worst / gap.scale, 1e-5, "pool %d: float grads off by %g of %g", pool,
                     gap.worst, gap.scale);
        test_grad_case_free(&c);
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
        test_check_groups(&m);
        xf_model_free(&m);
    }
}

Test(vit, config_errors_name_the_field) {
    test_expect_bad_json("{\"family\":\"vit\",\"height\":4,\"width\":6,\"channels\":2,"
                         "\"n_classes\":3,\"vit\":{\"patch\":2,\"dim\":8,\"depth\":2,"
                         "\"heads\":2,\"mlp_ratio\":1.5,\"pool\":\"avg\"}}",
                         "vit.pool");
    xf_model_config cfg = small_config(XF_POOL_GAP);
    cfg.height = 5;
    test_expect_bad_config(&cfg, "vit.patch 2 does not divide the 5 x 6");
    cfg = small_config(XF_POOL_GAP);
    cfg.vit.heads = 3;
    test_expect_bad_config(&cfg, "vit.heads");
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
        test_check_block_taps(&m, &cfg, 5, 3, 37);
        /* With gap and an identity final norm (gamma 1, beta 0 by init), the
         * prelogits are the mean of the normalised tokens: zero-mean rows. */
        if (pool == XF_POOL_GAP) {
            const float *pre = xf_model_tap(&m, 2);
            double s = 0;
            for (int j = 0; j < 8; j++) s += pre[j];
            cr_assert_float_eq(s, 0, 1e-5);
        }
        xf_model_free(&m);
    }
}

#include "zoo_fixture.inc"

/* After 5 AdamW steps float and double part by a few 1e-6: Adam's first
 * steps move each weight by ~lr whatever its gradient's size. */
Test(vit, matches_pytorch_gap) { zoo_check_fixture("vit_gap.safetensors", 1e-4); }
Test(vit, matches_pytorch_cls) { zoo_check_fixture("vit_cls.safetensors", 1e-4); }
