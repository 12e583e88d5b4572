/* The resnet family: whole-model gradients against central differences in
 * double (GroupNorm + weight standardisation; BatchNorm in training and in
 * evaluation), the float model against the double one at 28x28x1 and
 * 32x32x3, parameter counts and FLOPs against hand counts, tensor names,
 * taps, BatchNorm's running statistics, config checks, and the PyTorch
 * fixtures made by tools/torch_reference.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "models/model.h"
#include "models/resnet.h"
#include "support.h"
#include "train/checkpoint.h"
#include "zoo_fixture.inc"

static xf_model_config tiny_config(xf_resnet_norm norm) {
    /* 5x3 input: the stride-2 stage rounds up (3x2); width 4 then 8 gives
     * GroupNorm groups of 1 channel; the FLOP/param test covers wider. */
    return (xf_model_config){.family = XF_FAMILY_RESNET, .height = 5, .width = 3,
                             .channels = 2, .n_classes = 3,
                             .resnet = {.stages = 2, .blocks = {1, 1}, .base_width = 4,
                                        .norm = norm}};
}

enum { BATCH = 2, CLASSES = 3 };

/* The harness's case, with every weight random and O(1) (norm gammas
 * included), so no gradient vanishes and every ReLU sees both signs, and
 * random running statistics (variances in [0.5, 1.5)). */
static void grad_case_init(test_grad_case *c, const xf_model_config *cfg, uint64_t seed) {
    test_grad_case_init(c, cfg, BATCH, seed);
    for (int i = 0; i < c->m.n_state_tensors; i++) {
        const xf_tensor_info *t = &c->m.state_tensors[i];
        for (size_t j = 0; j < t->numel; j++)
            c->m.state[t->offset + j] = i % 3 == 1 ? 0.5f + (float)xf_rng_uniform(&c->rng)
                                                   : (float)(xf_rng_uniform(&c->rng) - 0.5);
    }
}

static void check_model_gradients(xf_resnet_norm norm, bool training) {
    test_grad_case c;
    xf_model_config cfg = tiny_config(norm);
    grad_case_init(&c, &cfg, 17);
    c.m.training = training;
    test_check_gradients(&c, 1e-6, 1e-5, NULL);
    test_grad_case_free(&c);
}

Test(resnet, groupnorm_gradients_match_central_differences_in_double) {
    check_model_gradients(XF_NORM_GROUP_WS, true);
}

Test(resnet, batchnorm_training_gradients_match_central_differences_in_double) {
    check_model_gradients(XF_NORM_BATCH, true);
}

Test(resnet, batchnorm_eval_gradients_match_central_differences_in_double) {
    check_model_gradients(XF_NORM_BATCH, false);
}

/* The float model (im2col chunks, float sums) against the double instance
 * on the image shapes the study uses. */
static void check_float_against_double(xf_model_config cfg) {
    test_grad_case c;
    grad_case_init(&c, &cfg, 8);
    xf_model *m = &c.m;
    m->training = true;
    /* The default init (conv2 zero, head 0.01) with gammas perturbed. */
    xf_model_init_weights(m, 3);
    xf_rng rng;
    xf_rng_seed(&rng, 99);
    for (size_t i = 0; i < m->n_params; i++)
        c.params[i] = m->params[i] + (float)(0.2 * (xf_rng_uniform(&rng) - 0.5));
    test_float_gap gap = test_float_against_double(&c, BATCH + 3);
    cr_assert_float_eq(gap.loss, gap.loss_f64, 1e-5 * fabs(gap.loss_f64));
    cr_assert_lt(gap.worst / gap.scale, 1e-4, "float grads off by %g of %g", gap.worst,
                 gap.scale);
    test_grad_case_free(&c);
}

Test(resnet, float_model_matches_double_on_28x28x1_and_32x32x3) {
    for (int norm = 0; norm < 2; norm++) {
        check_float_against_double((xf_model_config){
            .family = XF_FAMILY_RESNET, .height = 28, .width = 28, .channels = 1,
            .n_classes = 10,
            .resnet = {.stages = 3, .blocks = {1, 1, 1}, .base_width = 4,
                       .norm = (xf_resnet_norm)norm}});
        check_float_against_double((xf_model_config){
            .family = XF_FAMILY_RESNET, .height = 32, .width = 32, .channels = 3,
            .n_classes = 10,
            .resnet = {.stages = 2, .blocks = {1, 1}, .base_width = 6,
                       .norm = (xf_resnet_norm)norm}});
    }
}

/* Hand counts for 28x28x1, base 8, blocks {2, 1, 1}, 10 classes; spatial
 * 28 -> 14 -> 7. */
Test(resnet, parameter_count_and_flops_match_hand_counts) {
    for (int norm = 0; norm < 2; norm++) {
        xf_model_config cfg = {.family = XF_FAMILY_RESNET, .height = 28, .width = 28,
                               .channels = 1, .n_classes = 10,
                               .resnet = {.stages = 3, .blocks = {2, 1, 1}, .base_width = 8,
                                          .norm = (xf_resnet_norm)norm}};
        xf_model m;
        cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
        double stem = 8 * 1 * 9;
        double s0 = 2 * (2 * 8 + 8 * 8 * 9 + 2 * 8 + 8 * 8 * 9);
        double s1 = 16 * 8 + 2 * 8 + 16 * 8 * 9 + 2 * 16 + 16 * 16 * 9;
        double s2 = 32 * 16 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 32 * 32 * 9;
        double params = stem + s0 + s1 + s2 + 2 * 32 + 32 * 10 + 10;
        cr_assert_eq((double)m.n_params, params);
        double flops = 2.0 * 784 * 8 * 1 * 9 + 2 * 2 * (2.0 * 784 * 8 * 8 * 9) +
                       2.0 * 196 * 16 * 8 * 9 + 2.0 * 196 * 16 * 16 * 9 + 2.0 * 196 * 16 * 8 +
                       2.0 * 49 * 32 * 16 * 9 + 2.0 * 49 * 32 * 32 * 9 + 2.0 * 49 * 32 * 16 +
                       2.0 * 32 * 10;
        cr_assert_float_eq(m.flops_per_image, flops, 1e-9 * flops);
        static const char *const names[] = {
            "stem.conv.weight", "stages.0.blocks.1.conv2.weight",
            "stages.1.blocks.0.downsample.conv.weight", "stages.2.blocks.0.norm1.bias",
            "norm.weight", "head.fc.bias"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            cr_assert(xf_model_find_tensor(&m, names[i]), "%s missing", names[i]);
        cr_assert_null(xf_model_find_tensor(&m, "stages.0.blocks.0.downsample.conv.weight"));
        const xf_tensor_info *ds =
            xf_model_find_tensor(&m, "stages.2.blocks.0.downsample.conv.weight");
        cr_assert(ds->ndim == 4 && ds->shape[0] == 32 && ds->shape[1] == 16 && ds->shape[2] == 1);
        const xf_tensor_info *fc = xf_model_find_tensor(&m, "head.fc.weight");
        cr_assert(fc->ndim == 4 && fc->shape[0] == 10 && fc->shape[1] == 32 && fc->shape[3] == 1);
        test_check_groups(&m);
        /* BatchNorm: 3 state tensors per norm (2 per block + final = 9 norms). */
        cr_assert_eq(m.n_state_tensors, norm == XF_NORM_BATCH ? 27 : 0);
        if (norm == XF_NORM_BATCH) {
            cr_assert_str_eq(m.state_tensors[0].name, "stages.0.blocks.0.norm1.running_mean");
            cr_assert_str_eq(m.state_tensors[26].name, "norm.num_batches_tracked");
            cr_assert_eq(m.state_tensors[26].ndim, 0);
            cr_assert_eq(m.n_state, (size_t)2 * (8 * 5 + 16 * 2 + 32 * 2) + 9);
        }
        cr_assert_eq(m.n_taps, 5);
        cr_assert_str_eq(m.tap_names[1], "s0b1");
        cr_assert_str_eq(m.tap_names[3], "s2b0");
        cr_assert_eq(m.tap_dims[2], 16);
        cr_assert_str_eq(m.tap_names[4], "prelogits");
        cr_assert_eq(m.tap_dims[4], 32);
        xf_model_free(&m);
    }
}

Test(resnet, groupnorm_groups_rule) {
    cr_assert_eq(xf_resnet_groups(64), 32);
    cr_assert_eq(xf_resnet_groups(32), 32);
    cr_assert_eq(xf_resnet_groups(16), 16);
    cr_assert_eq(xf_resnet_groups(12), 4);
    cr_assert_eq(xf_resnet_groups(48), 16);
    cr_assert_eq(xf_resnet_groups(3), 1);
}

/* Taps: block outputs and prelogits; the head applied to the prelogits
 * gives the logits. */
Test(resnet, taps_feed_the_head) {
    xf_model_config cfg = tiny_config(XF_NORM_GROUP_WS);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 5);
    float x[3 * 5 * 3 * 2], logits[3 * CLASSES];
    for (int i = 0; i < 90; i++) x[i] = (float)((i * 37 % 17) / 8.0 - 1);
    cr_assert_eq(xf_model_reserve(&m, 3), XF_OK);
    m.taps_enabled = true;
    xf_model_forward(&m, x, 3, logits);
    cr_assert_eq(m.n_taps, 3);
    test_check_head(&m, "head.fc", logits, 3, 1e-6);
    const float *pre = xf_model_tap(&m, 2);
    /* After ReLU every prelogit is >= 0, and some are > 0. */
    double total = 0;
    for (int j = 0; j < 24; j++) {
        cr_assert_geq(pre[j], 0);
        total += pre[j];
    }
    cr_assert_gt(total, 0);
    cr_assert_eq(m.tap_dims[0], 4);
    cr_assert_eq(m.tap_dims[1], 8);
    xf_model_free(&m);
}

/* One training forward moves each running mean 10% of the way to the
 * batch mean of its input; evaluation reads them and changes nothing. */
Test(resnet, batchnorm_updates_running_statistics_only_in_training) {
    xf_model_config cfg = tiny_config(XF_NORM_BATCH);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 2);
    float x[2 * 30], logits[2 * CLASSES], logits2[2 * CLASSES];
    for (int i = 0; i < 60; i++) x[i] = (float)(i % 7) / 3 - 1;
    cr_assert_eq(xf_model_reserve(&m, 2), XF_OK);
    const xf_tensor_info *rm = &m.state_tensors[0], *rv = &m.state_tensors[1];
    cr_assert_str_eq(rm->name, "stages.0.blocks.0.norm1.running_mean");
    m.training = false;
    xf_model_forward(&m, x, 2, logits);
    cr_assert_float_eq(m.state[rm->offset], 0, 0);
    cr_assert_float_eq(m.state[rv->offset], 1, 0);
    m.training = true;
    xf_model_forward(&m, x, 2, logits2);
    /* norm1's input is the stem's output: recompute its channel-0 mean. */
    const xf_tensor_info *stem = xf_model_find_tensor(&m, "stem.conv.weight");
    double s = 0;
    for (int b = 0; b < 2; b++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 3; ox++)
                for (int ci = 0; ci < 2; ci++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 3) continue;
                            s += (double)x[((b * 5 + iy) * 3 + ix) * 2 + ci] *
                                 m.params[stem->offset + (ci * 3 + ky) * 3 + kx];
                        }
    cr_assert_float_eq(m.state[rm->offset], 0.1 * s / 30, 1e-6);
    cr_assert_float_eq(m.state[m.state_tensors[2].offset], 1, 0);
    cr_assert_float_eq(m.state[m.state_tensors[m.n_state_tensors - 1].offset], 1, 0);
    xf_model_free(&m);
}

/* Field by field: the config, then its JSON form. */
Test(resnet, config_errors_name_the_field) {
    xf_model_config cfg = tiny_config(XF_NORM_BATCH);
    cfg.resnet.blocks[1] = 0;
    test_expect_bad_config(&cfg, "resnet.blocks[1]");
    test_expect_bad_json("{\"family\":\"resnet\",\"height\":4,\"width\":6,\"channels\":2,"
                         "\"n_classes\":3,\"resnet\":{\"stages\":2,\"blocks\":[1],"
                         "\"base_width\":4,\"norm\":\"group\"}}",
                         "resnet.blocks");
    cfg = tiny_config(XF_NORM_BATCH);
    cfg.resnet.stages = 5;
    test_expect_bad_config(&cfg, "resnet.stages");
    test_expect_bad_json("{\"family\":\"resnet\",\"height\":4,\"width\":6,\"channels\":2,"
                         "\"n_classes\":3,\"resnet\":{\"stages\":2,\"blocks\":[1,1],"
                         "\"base_width\":4,\"norm\":\"layer\"}}",
                         "resnet.norm");
}

Test(resnet, config_json_round_trip) {
    xf_model_config cfg = {.family = XF_FAMILY_RESNET, .height = 32, .width = 32,
                           .channels = 3, .n_classes = 10,
                           .resnet = {.stages = 3, .blocks = {2, 3, 1}, .base_width = 16,
                                      .norm = XF_NORM_BATCH}},
                    back;
    char *json = xf_model_config_to_json(&cfg);
    cr_assert(json);
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.family, XF_FAMILY_RESNET);
    cr_assert_eq(back.resnet.stages, 3);
    cr_assert_eq(back.resnet.blocks[1], 3);
    cr_assert_eq(back.resnet.base_width, 16);
    cr_assert_eq(back.resnet.norm, XF_NORM_BATCH);
    free(json);
}

Test(resnet, groupnorm_matches_pytorch) { zoo_check_fixture("resnet_group.safetensors", 1e-4); }

Test(resnet, batchnorm_matches_pytorch) { zoo_check_fixture("resnet_batch.safetensors", 1e-4); }

/* After one training-mode forward, the running statistics equal
 * PyTorch's (state.<name> in the fixture). */
Test(resnet, batchnorm_running_statistics_match_pytorch) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/models/resnet_batch.safetensors", test_root());
    xf_safetensors st;
    cr_assert_eq(xf_safetensors_open(path, &st), XF_OK, "%s", xf_error_message());
    xf_model_config cfg;
    cr_assert_eq(xf_model_config_from_json(xf_safetensors_meta(&st, "xfer_config"), &cfg), XF_OK);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    char name[XF_NAME_LEN + 8];
    const float *data;
    for (int t = 0; t < m.n_tensors; t++) {
        snprintf(name, sizeof name, "param.%s", m.tensors[t].name);
        cr_assert_eq(xf_safetensors_f32(&st, name, m.tensors[t].numel, &data), XF_OK);
        memcpy(m.params + m.tensors[t].offset, data, sizeof(float) * m.tensors[t].numel);
    }
    const xf_st_tensor *lab = xf_safetensors_find(&st, "labels");
    int batch = (int)lab->numel;
    const float *x;
    cr_assert_eq(xf_safetensors_f32(&st, "input",
                                   (size_t)batch * cfg.height * cfg.width * cfg.channels, &x),
                 XF_OK);
    float *logits = malloc(sizeof(float) * batch * cfg.n_classes);
    cr_assert_eq(xf_model_reserve(&m, batch), XF_OK);
    m.training = true;
    xf_model_forward(&m, x, batch, logits);
    cr_assert_eq(m.n_state_tensors, 3 * 9);
    for (int t = 0; t < m.n_state_tensors; t++) {
        const xf_tensor_info *ti = &m.state_tensors[t];
        snprintf(name, sizeof name, "state.%s", ti->name);
        cr_assert_eq(xf_safetensors_f32(&st, name, ti->numel, &data), XF_OK, "%s",
                     xf_error_message());
        double worst = 0, scale = 0;
        for (size_t i = 0; i < ti->numel; i++) {
            worst = fmax(worst, fabs((double)m.state[ti->offset + i] - data[i]));
            scale = fmax(scale, fabs((double)data[i]));
        }
        cr_assert_leq(worst, 1e-5 * scale, "%s off by %g of %g", ti->name, worst, scale);
    }
    free(logits);
    xf_model_free(&m);
    xf_safetensors_free(&st);
}

Test(resnet, checkpoint_keeps_batchnorm_running_statistics) {
    xf_model_config cfg = tiny_config(XF_NORM_BATCH);
    xf_model m, back;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 3);
    cr_assert_eq(xf_model_reserve(&m, 2), XF_OK);
    float x[2 * 30], logits[2 * CLASSES], logits_back[2 * CLASSES];
    for (int i = 0; i < 60; i++) x[i] = (float)(i % 5) / 2 - 1;
    m.training = true;
    xf_model_forward(&m, x, 2, logits);
    m.training = false;
    xf_model_forward(&m, x, 2, logits);
    char path[] = "/tmp/xfer-resnet-ckpt-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(xf_checkpoint_save(&m, path, NULL, NULL, 0), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_checkpoint_load(path, &back), XF_OK, "%s", xf_error_message());
    unlink(path);
    cr_assert_eq(back.n_state, m.n_state);
    cr_assert_eq(memcmp(back.state, m.state, m.n_state * sizeof(float)), 0,
                 "running statistics must survive a checkpoint");
    cr_assert_neq(back.state[back.state_tensors[0].offset], 0, "stats were updated");
    cr_assert_eq(xf_model_reserve(&back, 2), XF_OK);
    back.training = false;
    xf_model_forward(&back, x, 2, logits_back);
    cr_assert_eq(memcmp(logits, logits_back, sizeof logits), 0,
                 "a loaded BatchNorm model must give the same eval logits");
    xf_model_free(&m);
    xf_model_free(&back);
}
