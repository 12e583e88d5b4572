/* The resnet family's BiT settings (block: bottleneck, stem: bit): the
 * zero-padded max pool against a hand case and central differences, whole
 * models' gradients against central differences in double, the float model
 * against the double one, hand counts of parameters and FLOPs, the
 * PyTorch fixtures of tools/torch_reference.py (training) and
 * tools/bit_reference.py (a BiT at 224 x 224: logits and every tap), the
 * config JSON (the new keys only when not the default), and from_timm on
 * timm state_dicts' names and shapes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/safetensors.h"
#include "models/family.h"
#include "models/model.h"
#include "nn/maxpool.h"
#include "study/config.h"
#include "study/plan.h"
#include "support.h"
#include "zoo_fixture.inc"

/* ---- the max pool ---- */

/* One 4x4 channel, pad 1, 3x3 windows, stride 2: 2x2 outputs, windows at
 * rows (and columns) -1..1 and 1..3. With a positive entry the padding
 * loses; with all entries negative it wins every border window. */
Test(bit, maxpool_takes_padding_zeros_into_the_max) {
    float x[16] = {-1, -2, -3, -4, /* */ -5, 6, -7, -8, /* */ -9, -10, -11, -12,
                   -13, -14, 15, -16};
    float y[4], dx[16];
    const float dy[4] = {1, 2, 3, 4};
    cr_assert_eq(xf_maxpool_out(4, 3, 2, 1), 2);
    xf_maxpool_zeropad_forward(x, y, 1, 4, 4, 1, 3, 2, 1);
    const float want[4] = {6, 6, 6, 15};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(y[i], want[i], 0, "y[%d] = %g", i, y[i]);
    xf_maxpool_zeropad_backward(x, dy, dx, 1, 4, 4, 1, 3, 2, 1);
    for (int i = 0; i < 16; i++) {
        float w = i == 5 ? 1 + 2 + 3 : i == 14 ? 4 : 0;
        cr_assert_float_eq(dx[i], w, 0, "dx[%d] = %g", i, dx[i]);
    }
    x[5] = -6;
    x[14] = -15;
    xf_maxpool_zeropad_forward(x, y, 1, 4, 4, 1, 3, 2, 1);
    const float negative[4] = {0, 0, 0, -6};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(y[i], negative[i], 0, "y[%d] = %g", i, y[i]);
    xf_maxpool_zeropad_backward(x, dy, dx, 1, 4, 4, 1, 3, 2, 1);
    for (int i = 0; i < 16; i++)
        cr_assert_float_eq(dx[i], i == 5 ? 4 : 0, 0, "dx[%d] = %g", i, dx[i]);
}

/* Central differences in double on a 7x6x3 input (odd and even sides). */
Test(bit, maxpool_gradient_matches_central_differences) {
    enum { N = 2, H = 7, W = 6, C = 3, OH = 4, OW = 3 };
    double x[N * H * W * C], dy[N * OH * OW * C], y[N * OH * OW * C], dx[N * H * W * C];
    xf_rng rng;
    xf_rng_seed(&rng, 4);
    for (int i = 0; i < N * H * W * C; i++) x[i] = xf_rng_uniform(&rng) * 2 - 1;
    for (int i = 0; i < N * OH * OW * C; i++) dy[i] = xf_rng_uniform(&rng) * 2 - 1;
    cr_assert_eq(xf_maxpool_out(H, 3, 2, 1), OH);
    cr_assert_eq(xf_maxpool_out(W, 3, 2, 1), OW);
    xf_maxpool_zeropad_backward_f64(x, dy, dx, N, H, W, C, 3, 2, 1);
    double worst = 0, scale = 0;
    for (int i = 0; i < N * H * W * C; i++) {
        double keep = x[i], up = 0, down = 0;
        x[i] = keep + 1e-6;
        xf_maxpool_zeropad_forward_f64(x, y, N, H, W, C, 3, 2, 1);
        for (int j = 0; j < N * OH * OW * C; j++) up += y[j] * dy[j];
        x[i] = keep - 1e-6;
        xf_maxpool_zeropad_forward_f64(x, y, N, H, W, C, 3, 2, 1);
        for (int j = 0; j < N * OH * OW * C; j++) down += y[j] * dy[j];
        x[i] = keep;
        double num = (up - down) / 2e-6;
        worst = fmax(worst, fabs(num - dx[i]));
        scale = fmax(scale, fabs(num));
    }
    cr_assert_gt(scale, 0.5);
    cr_assert_lt(worst, 1e-6 * scale, "max pool gradient off by %g", worst);
}

/* ---- whole models ---- */

static xf_model_config bit_config(xf_resnet_block block, xf_resnet_stem stem,
                                  xf_resnet_norm norm) {
    /* 11x9: the stem's stride-2 conv gives 6x5, the pool 3x3, stage 1
     * 2x2; base 4 gives bottleneck outputs of 16 and 32 (GroupNorm groups
     * of 1 channel at the inner widths, of 2 at 16 channels... gcd(32, c)). */
    return (xf_model_config){.family = XF_FAMILY_RESNET, .height = 11, .width = 9,
                             .channels = 2, .n_classes = 3,
                             .resnet = {.stages = 2, .blocks = {1, 2}, .base_width = 4,
                                        .norm = norm, .block = block, .stem = stem}};
}

static void check_gradients(xf_model_config cfg, bool training) {
    test_grad_case c;
    test_grad_case_init(&c, &cfg, 2, 23);
    c.m.training = training;
    test_check_gradients(&c, 1e-6, 1e-5, NULL);
    test_grad_case_free(&c);
}

Test(bit, bottleneck_bit_stem_groupnorm_gradients_match_central_differences) {
    check_gradients(bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_BIT, XF_NORM_GROUP_WS), true);
}

Test(bit, bottleneck_bit_stem_batchnorm_gradients_match_central_differences) {
    check_gradients(bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_BIT, XF_NORM_BATCH), true);
    check_gradients(bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_BIT, XF_NORM_BATCH), false);
}

Test(bit, each_setting_alone_gradients_match_central_differences) {
    check_gradients(bit_config(XF_BLOCK_BASIC, XF_STEM_BIT, XF_NORM_GROUP_WS), true);
    check_gradients(bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_SMALL, XF_NORM_GROUP_WS), true);
}

Test(bit, float_model_matches_double_at_64x64x3) {
    for (int norm = 0; norm < 2; norm++) {
        xf_model_config cfg = {.family = XF_FAMILY_RESNET, .height = 64, .width = 64,
                               .channels = 3, .n_classes = 10,
                               .resnet = {.stages = 4, .blocks = {1, 2, 1, 1}, .base_width = 8,
                                          .norm = (xf_resnet_norm)norm,
                                          .block = XF_BLOCK_BOTTLENECK, .stem = XF_STEM_BIT}};
        test_grad_case c;
        test_grad_case_init(&c, &cfg, 2, 8);
        xf_model *m = &c.m;
        m->training = true;
        xf_model_init_weights(m, 3);
        xf_rng rng;
        xf_rng_seed(&rng, 99);
        for (size_t i = 0; i < m->n_params; i++)
            c.params[i] = m->params[i] + (float)(0.2 * (xf_rng_uniform(&rng) - 0.5));
        test_float_gap gap = test_float_against_double(&c, 5);
        cr_assert_float_eq(gap.loss, gap.loss_f64, 1e-5 * fabs(gap.loss_f64));
        cr_assert_lt(gap.worst / gap.scale, 1e-4, "float grads off by %g of %g", gap.worst,
                     gap.scale);
        test_grad_case_free(&c);
    }
}

/* 32x32x3, base 8, blocks {1, 1}, 10 classes, GroupNorm. Stem: 7x7 conv
 * to 16x16x8, pool to 8x8. Stage 0 (8x8): ds 8->32, conv1 8->8 1x1, conv2
 * 8->8 3x3, conv3 8->32. Stage 1 (stride 2, 4x4): ds 32->64 (1x1 stride 2),
 * conv1 32->16 on 8x8, conv2 16->16 3x3 stride 2, conv3 16->64. */
Test(bit, parameter_count_and_flops_match_hand_counts) {
    xf_model_config cfg = {.family = XF_FAMILY_RESNET, .height = 32, .width = 32, .channels = 3,
                           .n_classes = 10,
                           .resnet = {.stages = 2, .blocks = {1, 1}, .base_width = 8,
                                      .block = XF_BLOCK_BOTTLENECK, .stem = XF_STEM_BIT}};
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
    size_t convs = 8 * 3 * 49 + (8 * 32 + 8 * 8 + 8 * 8 * 9 + 8 * 32) +
                   (32 * 64 + 32 * 16 + 16 * 16 * 9 + 16 * 64);
    size_t norms = 2 * (8 + 8 + 8) + 2 * (32 + 16 + 16) + 2 * 64;
    cr_assert_eq(m.n_params, convs + norms + 64 * 10 + 10);
    double flops = 2.0 * (16 * 16 * 8 * 3 * 49 +
                          64 * (8 * 32 + 8 * 8 + 8 * 8 * 9 + 8 * 32) +
                          16 * 32 * 64 + 64 * 32 * 16 + 16 * (16 * 16 * 9 + 16 * 64) + 64 * 10);
    cr_assert_float_eq(m.flops_per_image, flops, 1e-9 * flops, "flops %g, want %g",
                       m.flops_per_image, flops);
    const char *names[] = {"stem.conv.weight",
                           "stages.0.blocks.0.downsample.conv.weight",
                           "stages.0.blocks.0.norm1.weight",
                           "stages.0.blocks.0.norm1.bias",
                           "stages.0.blocks.0.conv1.weight",
                           "stages.0.blocks.0.norm2.weight",
                           "stages.0.blocks.0.norm2.bias",
                           "stages.0.blocks.0.conv2.weight",
                           "stages.0.blocks.0.norm3.weight",
                           "stages.0.blocks.0.norm3.bias",
                           "stages.0.blocks.0.conv3.weight"};
    for (int i = 0; i < 11; i++)
        cr_assert_str_eq(m.tensors[i].name, names[i], "tensor %d", i);
    cr_assert_eq(m.n_taps, 3);
    cr_assert_eq(m.tap_dims[0], 32);
    cr_assert_eq(m.tap_dims[1], 64);
    cr_assert_eq(m.tap_dims[2], 64);
    cr_assert_str_eq(m.tap_names[2], "prelogits");
    test_check_groups(&m);
    xf_model_free(&m);
}

/* Default init: each block's last conv (conv3) is zero, as timm's
 * zero_init_last; the others are not. */
Test(bit, init_zeroes_each_bottlenecks_last_conv) {
    xf_model_config cfg = bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_BIT, XF_NORM_GROUP_WS);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
    xf_model_init_weights(&m, 1);
    for (int t = 0; t < m.n_tensors; t++) {
        const xf_tensor_info *ti = &m.tensors[t];
        if (ti->ndim != 4 || strncmp(ti->name, "head", 4) == 0) continue;
        double sum = 0;
        for (size_t i = 0; i < ti->numel; i++) sum += fabs(m.params[ti->offset + i]);
        bool last = strstr(ti->name, "conv3.weight") != NULL;
        cr_assert(last ? sum == 0 : sum > 0, "%s: sum of |w| %g", ti->name, sum);
    }
    xf_model_free(&m);
}

/* Block taps s<stage>b<block> with the block outputs' widths, then
 * prelogits; the head applied to the prelogits gives the logits. */
Test(bit, taps_feed_the_head) {
    xf_model_config cfg = bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_BIT, XF_NORM_GROUP_WS);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 5);
    float x[3 * 11 * 9 * 2], logits[3 * 3];
    for (int i = 0; i < 3 * 11 * 9 * 2; i++) x[i] = (float)((i * 37 % 17) / 8.0 - 1);
    cr_assert_eq(xf_model_reserve(&m, 3), XF_OK);
    m.taps_enabled = true;
    xf_model_forward(&m, x, 3, logits);
    cr_assert_eq(m.n_taps, 4);
    const char *names[] = {"s0b0", "s1b0", "s1b1", "prelogits"};
    const int dims[] = {16, 32, 32, 32};
    for (int t = 0; t < 4; t++) {
        cr_assert_str_eq(m.tap_names[t], names[t]);
        cr_assert_eq(m.tap_dims[t], dims[t], "tap %d", t);
    }
    test_check_head(&m, "head.fc", logits, 3, 1e-6);
    xf_model_free(&m);
}

/* ---- PyTorch ---- */

Test(bit, bottleneck_bit_stem_training_matches_pytorch) {
    zoo_check_fixture("resnet_bit.safetensors", 1e-4);
}

/* Largest |a - b| over the largest |b|. */
static double rel_error(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / (scale > 0 ? scale : 1);
}

/* A BiT (bottleneck, 7x7 stem with pad and pool, GroupNorm + WS, 4 stages)
 * at 224 x 224 with timm's tensor names: the logits and every tap within
 * 1e-4 of the largest entry. */
Test(bit, bit_at_224_logits_and_taps_match_pytorch) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/models/bit_224.safetensors", test_root());
    xf_safetensors st;
    cr_assert_eq(xf_safetensors_open(path, &st), XF_OK, "%s", xf_error_message());
    xf_model_config cfg;
    cr_assert_eq(xf_model_config_from_json(xf_safetensors_meta(&st, "xfer_config"), &cfg), XF_OK,
                 "%s", xf_error_message());
    cr_assert_eq(cfg.height, 224);
    cr_assert_eq(cfg.resnet.stem, XF_STEM_BIT);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
    char name[XF_NAME_LEN + 8];
    const float *data;
    for (int t = 0; t < m.n_tensors; t++) {
        snprintf(name, sizeof name, "param.%s", m.tensors[t].name);
        cr_assert_eq(xf_safetensors_f32(&st, name, m.tensors[t].numel, &data), XF_OK, "%s",
                     xf_error_message());
        memcpy(m.params + m.tensors[t].offset, data, sizeof(float) * m.tensors[t].numel);
    }
    const xf_st_tensor *images = xf_safetensors_find(&st, "images");
    cr_assert(images && images->dtype == XF_ST_U8);
    int batch = (int)images->shape[0];
    size_t n = images->numel;
    float *x = malloc(sizeof(float) * n), *logits = malloc(sizeof(float) * batch * 10);
    const unsigned char *u = images->data;
    for (size_t i = 0; i < n; i++) x[i] = (float)u[i] / 255 * 2 - 1;
    cr_assert_eq(xf_model_reserve(&m, batch), XF_OK, "%s", xf_error_message());
    m.taps_enabled = true;
    xf_model_forward(&m, x, batch, logits);
    cr_assert_eq(xf_safetensors_f32(&st, "logits", (size_t)batch * 10, &data), XF_OK);
    double err = rel_error(logits, data, (size_t)batch * 10);
    cr_assert_leq(err, 1e-4, "logits off by %g of their max", err);
    cr_assert_eq(m.n_taps, 5);
    for (int t = 0; t < m.n_taps; t++) {
        snprintf(name, sizeof name, "tap.%d", t);
        cr_assert_eq(xf_safetensors_f32(&st, name, (size_t)batch * m.tap_dims[t], &data), XF_OK,
                     "%s", xf_error_message());
        err = rel_error(xf_model_tap(&m, t), data, (size_t)batch * m.tap_dims[t]);
        cr_assert_leq(err, 1e-4, "tap %s off by %g of its max", m.tap_names[t], err);
    }
    free(x);
    free(logits);
    xf_model_free(&m);
    xf_safetensors_free(&st);
}

/* ---- config ---- */

/* The new keys stay out of a basic net's JSON (its checkpoints keep their
 * bytes), come back as the defaults when absent, and round-trip. */
Test(bit, config_json_holds_block_and_stem_only_when_not_the_default) {
    xf_model_config cfg = bit_config(XF_BLOCK_BASIC, XF_STEM_SMALL, XF_NORM_GROUP_WS), back;
    char *json = xf_model_config_to_json(&cfg);
    cr_assert_str_eq(json, "{\"family\":\"resnet\",\"height\":11,\"width\":9,\"channels\":2,"
                           "\"n_classes\":3,\"resnet\":{\"blocks\":[1,2],\"stages\":2,"
                           "\"base_width\":4,\"norm\":\"group_ws\"}}");
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.resnet.block, XF_BLOCK_BASIC);
    cr_assert_eq(back.resnet.stem, XF_STEM_SMALL);
    free(json);
    cfg = bit_config(XF_BLOCK_BOTTLENECK, XF_STEM_BIT, XF_NORM_BATCH);
    json = xf_model_config_to_json(&cfg);
    cr_assert(strstr(json, "\"norm\":\"batch\",\"block\":\"bottleneck\",\"stem\":\"bit\"}"),
              "%s", json);
    cr_assert_eq(xf_model_config_from_json(json, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.resnet.block, XF_BLOCK_BOTTLENECK);
    cr_assert_eq(back.resnet.stem, XF_STEM_BIT);
    free(json);
    test_expect_bad_json("{\"family\":\"resnet\",\"height\":8,\"width\":8,\"channels\":3,"
                         "\"n_classes\":3,\"resnet\":{\"blocks\":[1],\"base_width\":4,"
                         "\"norm\":\"group_ws\",\"block\":\"wide\"}}",
                         "resnet.block");
}

/* BiT-R152x4's last stage is 8192 wide: allowed for bottlenecks; more is
 * refused, naming the field and the limit. */
Test(bit, widest_stage_limit) {
    xf_model_config cfg = {.family = XF_FAMILY_RESNET, .height = 32, .width = 32, .channels = 3,
                           .n_classes = 10,
                           .resnet = {.stages = 4, .blocks = {1, 1, 1, 1}, .base_width = 256,
                                      .block = XF_BLOCK_BOTTLENECK, .stem = XF_STEM_BIT}};
    cr_assert_eq(xf_model_config_check_settings(&cfg), XF_OK, "%s", xf_error_message());
    cfg.resnet.base_width = 257;
    test_expect_bad_config(&cfg, "expected at most 256 with 4 stages");
}

/* A study file's resnet entry takes block and stem as axes; the trial's
 * JSON (its id) names them only when they are not the default, so a study
 * written before they existed keeps its trial ids. */
Test(bit, study_axes_block_and_stem) {
    const char *yaml = "name: x\nupstream: a\n"
                       "model: {family: resnet, blocks: [1, 1], base_width: 8,"
                       " block: [basic, bottleneck], stem: bit}\n"
                       "downstream: {tasks: [b]}\n";
    xf_study_config cfg;
    cr_assert_eq(xf_study_config_parse(yaml, strlen(yaml), "x.yaml", &cfg), XF_OK, "%s",
                 xf_error_message());
    xf_plan plan;
    cr_assert_eq(xf_plan_build(&cfg, &plan), XF_OK, "%s", xf_error_message());
    cr_assert_eq(plan.n, 2);
    cr_assert_eq(plan.trials[0].model.resnet.block, XF_BLOCK_BASIC);
    cr_assert_eq(plan.trials[1].model.resnet.block, XF_BLOCK_BOTTLENECK);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(plan.trials[i].model.resnet.stem, XF_STEM_BIT);
        cr_assert(strstr(plan.trials[i].config_json, "\"norm\":\"group_ws\",\"stem\":\"bit\"}"),
                  "%s", plan.trials[i].config_json);
    }
    cr_assert(!strstr(plan.trials[0].config_json, "\"block\""), "%s",
              plan.trials[0].config_json);
    cr_assert(strstr(plan.trials[1].config_json, "\"block\":\"bottleneck\",\"blocks\""), "%s",
              plan.trials[1].config_json);
    xf_plan_free(&plan);
    yaml = "name: x\nupstream: a\nmodel: {family: resnet, blocks: [1], base_width: 8}\n"
           "downstream: {tasks: [b]}\n";
    cr_assert_eq(xf_study_config_parse(yaml, strlen(yaml), "x.yaml", &cfg), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(xf_plan_build(&cfg, &plan), XF_OK, "%s", xf_error_message());
    cr_assert(strstr(plan.trials[0].config_json,
                     "\"model\":{\"base_width\":8,\"blocks\":[1],\"family\":\"resnet\","
                     "\"norm\":\"group_ws\"}"),
              "%s", plan.trials[0].config_json);
    xf_plan_free(&plan);
}

/* ---- from_timm ---- */

/* An in-memory safetensors file holding the tensors of cfg's model by
 * name and shape (data zero), edited: those whose name starts with `drop`
 * left out, `reshape` given one more row, `extra` added as a [1] tensor
 * (each NULL: none). */
static void timm_file(const xf_model_config *cfg, const char *drop, const char *reshape,
                      const char *extra, xf_safetensors *st) {
    xf_model m;
    cr_assert_eq(xf_model_init(&m, cfg), XF_OK, "%s", xf_error_message());
    size_t cap = 1 << 16, len = 0, offset = 0;
    char *header = malloc(cap);
    len += (size_t)snprintf(header + len, cap - len, "{");
    for (int i = 0; i < m.n_tensors + m.n_state_tensors + 1; i++) {
        const xf_tensor_info *t = i < m.n_tensors                       ? &m.tensors[i]
                                  : i < m.n_tensors + m.n_state_tensors ? &m.state_tensors[i - m.n_tensors]
                                                                        : NULL;
        const char *name = t ? t->name : extra;
        if (!name || (drop && strncmp(name, drop, strlen(drop)) == 0)) continue;
        int ndim = t ? t->ndim : 1, shape[XF_MAX_DIMS] = {1};
        size_t numel = 1;
        for (int d = 0; d < ndim && t; d++) shape[d] = t->shape[d];
        if (reshape && strcmp(name, reshape) == 0) shape[0]++;
        for (int d = 0; d < ndim; d++) numel *= (size_t)shape[d];
        len += (size_t)snprintf(header + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                                len > 1 ? "," : "", name);
        for (int d = 0; d < ndim; d++)
            len += (size_t)snprintf(header + len, cap - len, "%s%d", d ? "," : "", shape[d]);
        len += (size_t)snprintf(header + len, cap - len, "],\"data_offsets\":[%zu,%zu]}",
                                offset, offset + 4 * numel);
        offset += 4 * numel;
    }
    len += (size_t)snprintf(header + len, cap - len, "}");
    cr_assert_lt(len, cap);
    size_t size = 8 + len + offset;
    unsigned char *bytes = calloc(1, size);
    for (int b = 0; b < 8; b++) bytes[b] = (unsigned char)((uint64_t)len >> (8 * b));
    memcpy(bytes + 8, header, len);
    cr_assert_eq(xf_safetensors_parse(bytes, size, "timm.safetensors", st), XF_OK, "%s",
                 xf_error_message());
    free(bytes);
    free(header);
    xf_model_free(&m);
}

static xf_model_config r50_like(void) {
    /* BiT-R50x1's structure at a fifth of the depth and a sixteenth of the
     * width: [1, 2, 1, 1] blocks, base 4, 21 classes. */
    return (xf_model_config){.family = XF_FAMILY_RESNET, .height = 224, .width = 224,
                             .channels = 3, .n_classes = 21,
                             .resnet = {.stages = 4, .blocks = {1, 2, 1, 1}, .base_width = 4,
                                        .norm = XF_NORM_GROUP_WS,
                                        .block = XF_BLOCK_BOTTLENECK, .stem = XF_STEM_BIT}};
}

Test(bit, from_timm_infers_the_config) {
    const xf_model_config want[] = {
        r50_like(),
        {.family = XF_FAMILY_RESNET, .height = 32, .width = 32, .channels = 1, .n_classes = 10,
         .resnet = {.stages = 3, .blocks = {2, 1, 3}, .base_width = 8, .norm = XF_NORM_BATCH}},
    };
    for (int k = 0; k < 2; k++) {
        xf_safetensors st;
        timm_file(&want[k], NULL, NULL, NULL, &st);
        /* The image size comes from c; 0 means 224. */
        xf_model_config got = {.height = k ? 32 : 0, .width = k ? 32 : 0};
        cr_assert_eq(xf_resnet_family.from_timm(&st, &got), XF_OK, "%s", xf_error_message());
        cr_assert_eq(got.family, XF_FAMILY_RESNET);
        cr_assert_eq(got.height, want[k].height);
        cr_assert_eq(got.width, want[k].width);
        cr_assert_eq(got.channels, want[k].channels);
        cr_assert_eq(got.n_classes, want[k].n_classes);
        cr_assert_eq(got.resnet.stages, want[k].resnet.stages);
        for (int s = 0; s < got.resnet.stages; s++)
            cr_assert_eq(got.resnet.blocks[s], want[k].resnet.blocks[s], "stage %d", s);
        cr_assert_eq(got.resnet.base_width, want[k].resnet.base_width);
        cr_assert_eq(got.resnet.norm, want[k].resnet.norm);
        cr_assert_eq(got.resnet.block, want[k].resnet.block);
        cr_assert_eq(got.resnet.stem, want[k].resnet.stem);
        xf_safetensors_free(&st);
    }
}

/* A headless export (no head.fc) keeps c's classes; half a head is an
 * error naming the missing half. */
Test(bit, from_timm_headless_keeps_the_classes_given) {
    xf_model_config cfg = r50_like(), got = {.n_classes = 7};
    xf_safetensors st;
    timm_file(&cfg, "head.fc.", NULL, NULL, &st);
    cr_assert_eq(xf_resnet_family.from_timm(&st, &got), XF_OK, "%s", xf_error_message());
    cr_assert_eq(got.n_classes, 7);
    cr_assert_eq(got.resnet.base_width, 4);
    xf_safetensors_free(&st);
    timm_file(&cfg, "head.fc.weight", NULL, NULL, &st);
    got = (xf_model_config){.n_classes = 7};
    test_expect_error(xf_resnet_family.from_timm(&st, &got), XF_EFORMAT,
                      "tensor 'head.fc.weight' is missing");
    xf_safetensors_free(&st);
}

Test(bit, from_timm_names_the_first_tensor_that_does_not_fit) {
    xf_model_config cfg = r50_like(), got;
    xf_safetensors st;
    timm_file(&cfg, "stages.1.blocks.0.norm3.bias", NULL, NULL, &st);
    got = (xf_model_config){0};
    test_expect_error(xf_resnet_family.from_timm(&st, &got), XF_EFORMAT,
                      "timm.safetensors: tensor 'stages.1.blocks.0.norm3.bias' is missing");
    xf_safetensors_free(&st);
    timm_file(&cfg, NULL, "stages.2.blocks.0.conv2.weight", NULL, &st);
    got = (xf_model_config){0};
    test_expect_error(xf_resnet_family.from_timm(&st, &got), XF_EFORMAT,
                      "tensor 'stages.2.blocks.0.conv2.weight' is of another shape, expected "
                      "shape [16, 16, 3, 3]");
    xf_safetensors_free(&st);
    timm_file(&cfg, NULL, NULL, "stages.0.blocks.0.se.fc.weight", &st);
    got = (xf_model_config){0};
    test_expect_error(xf_resnet_family.from_timm(&st, &got), XF_EFORMAT,
                      "tensor 'stages.0.blocks.0.se.fc.weight' is not one of a timm ResNetV2's");
    xf_safetensors_free(&st);
    timm_file(&cfg, "stem.conv.weight", NULL, NULL, &st);
    got = (xf_model_config){0};
    test_expect_error(xf_resnet_family.from_timm(&st, &got), XF_EFORMAT,
                      "'stem.conv.weight' is missing");
    xf_safetensors_free(&st);
}
