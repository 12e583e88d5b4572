/* Importing timm checkpoints (zoo/import.h): the fixtures of
 * tools/timm_reference.py (timm state_dicts of reduced ViTs and a Mixer
 * with random weights, in F32, F16 and BF16) give the reference's logits
 * and every tap within 1e-4 of the largest entry at 224x224; the timm names
 * table; errors that name the tensor; the input pipeline each checkpoint
 * asks for. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/safetensors.h"
#include "data/preprocess.h"
#include "probe/features.h"
#include "models/model.h"
#include "support.h"
#include "train/checkpoint.h"
#include "zoo/import.h"
#include "zoo/resample.h"
#include "zoo/timm_names.h"

static const char *fixture(const char *name) {
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/tests/fixtures/models/timm/%s", test_root(), name);
    return p;
}

/* The fixture images as the model's input: (v / 255 - mean) / std. */
static float *fixture_input(const xf_model_input *in, int *batch) {
    xf_safetensors st;
    cr_assert_eq(xf_safetensors_open(fixture("images.safetensors"), &st), XF_OK, "%s",
                 xf_error_message());
    const xf_st_tensor *t = xf_safetensors_find(&st, "images");
    cr_assert(t && t->dtype == XF_ST_U8 && t->ndim == 4 && t->shape[3] == 3);
    *batch = (int)t->shape[0];
    float *x = malloc(sizeof(float) * t->numel);
    const uint8_t *v = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        int k = (int)(i % 3);
        x[i] = ((float)v[i] / 255.0f - in->norm.mean[k]) / in->norm.std[k];
    }
    xf_safetensors_free(&st);
    return x;
}

/* max |a - b| <= tol * max |b| over n entries. */
static void assert_close(const float *a, const float *b, size_t n, double tol, const char *what) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(a[i]), "%s: entry %zu is %g", what, i, a[i]);
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    cr_assert(scale > 0, "%s: the reference is all zero", what);
    cr_assert_leq(worst, tol * scale, "%s: off by %g of %g", what, worst, scale);
}

/* Imports fixture `name` (with `settings`), runs the images at the model's
 * size and checks logits and taps, by name and order, against the
 * reference. */
static void check_case(const char *name, const char *const *settings, int n_settings,
                       int image_size, int want_taps) {
    char ckpt[64], ref[64];
    snprintf(ckpt, sizeof ckpt, "%s.safetensors", name);
    snprintf(ref, sizeof ref, "%s.ref.safetensors", name);
    xf_import_options opt = {.settings = settings, .n_settings = n_settings,
                             .image_size = image_size};
    xf_model m;
    xf_model_input in;
    cr_assert_eq(xf_model_import(fixture(ckpt), &opt, &m, &in), XF_OK, "%s: %s", name,
                 xf_error_message());
    cr_assert_eq(m.config.height, 224);
    cr_assert_eq(m.n_taps, want_taps, "%s: %d taps", name, m.n_taps);
    int batch;
    float *x = fixture_input(&in, &batch);
    float *logits = malloc(sizeof(float) * batch * m.config.n_classes);
    cr_assert_eq(xf_model_reserve(&m, batch), XF_OK);
    m.taps_enabled = true;
    xf_model_forward(&m, x, batch, logits);

    xf_safetensors st;
    cr_assert_eq(xf_safetensors_open(fixture(ref), &st), XF_OK, "%s", xf_error_message());
    const char *order = xf_safetensors_meta(&st, "tap_order");
    cr_assert(order);
    char names[512];
    snprintf(names, sizeof names, "%s", order);
    int t = 0;
    for (char *save = NULL, *tap = strtok_r(names, ",", &save); tap;
         tap = strtok_r(NULL, ",", &save), t++) {
        cr_assert_lt(t, m.n_taps);
        cr_assert_str_eq(m.tap_names[t], tap, "%s: tap %d", name, t);
        char key[64];
        snprintf(key, sizeof key, "taps.%s", tap);
        const float *want;
        cr_assert_eq(xf_safetensors_f32(&st, key, (size_t)batch * m.tap_dims[t], &want), XF_OK,
                     "%s", xf_error_message());
        char what[96];
        snprintf(what, sizeof what, "%s tap %s", name, tap);
        assert_close(xf_model_tap(&m, t), want, (size_t)batch * m.tap_dims[t], 1e-4, what);
    }
    cr_assert_eq(t, m.n_taps);
    const xf_st_tensor *want_logits = xf_safetensors_find(&st, "logits");
    if (want_logits) {
        cr_assert_eq(want_logits->numel, (size_t)batch * m.config.n_classes);
        assert_close(logits, want_logits->data, want_logits->numel, 1e-4, name);
    } else { /* headless: a zero head of 2 classes */
        cr_assert_eq(m.config.n_classes, 2);
        for (int i = 0; i < batch * 2; i++) cr_assert_eq(logits[i], 0, "logit %d: %g", i, logits[i]);
    }
    xf_safetensors_free(&st);
    free(x);
    free(logits);
    xf_model_free(&m);
}

static const char *const heads4[] = {"heads=4"};

Test(import, vit_class_token_matches_reference) {
    check_case("vit_cls", heads4, 1, 0, 5); /* block0, block0_cls, block1, block1_cls, pre */
}
Test(import, vit_avg_fc_norm_matches_reference) { check_case("vit_avg_fcnorm", heads4, 1, 0, 3); }
Test(import, vit_avg_without_class_token_matches_reference) {
    check_case("vit_avg", heads4, 1, 0, 2);
}
Test(import, vit_without_qkv_bias_matches_reference) {
    check_case("vit_noqkvbias", heads4, 1, 0, 3);
}
Test(import, vit_layer_scale_matches_reference) { check_case("vit_layerscale", heads4, 1, 0, 3); }
Test(import, vit_headless_gives_taps) { check_case("vit_headless", heads4, 1, 0, 3); }
Test(import, vit_pos_embed_resampled_matches_reference) {
    check_case("vit_resampled", heads4, 1, 224, 3);
}
Test(import, mixer_matches_reference) { check_case("mixer", NULL, 0, 0, 3); }

Test(import, vit_config_from_tensors) {
    xf_import_options opt = {.settings = heads4, .n_settings = 1};
    xf_model m;
    xf_model_input in;
    cr_assert_eq(xf_model_import(fixture("vit_avg_fcnorm.safetensors"), &opt, &m, &in), XF_OK,
                 "%s", xf_error_message());
    const xf_model_config *c = &m.config;
    cr_assert_eq(c->family, XF_FAMILY_VIT);
    cr_assert(c->vit.patch == 16 && c->vit.dim == 64 && c->vit.depth == 1 && c->vit.heads == 4);
    cr_assert_float_eq(c->vit.mlp_ratio, 2.0, 1e-12);
    cr_assert(c->vit.pool == XF_POOL_GAP && c->vit.gap_class_token && c->vit.fc_norm);
    cr_assert(!c->vit.no_qkv_bias && !c->vit.layer_scale && c->n_classes == 10);
    /* Nothing named a pipeline: timm's ViT _cfg (crop 0.9, bicubic, mean/std 0.5). */
    cr_assert(in.pipeline.fit == XF_FIT_SHORTER && in.pipeline.shorter == 248 &&
              in.pipeline.height == 224 && in.pipeline.filter == XF_FILTER_BICUBIC);
    xf_model_free(&m);
}

Test(import, mixer_config_from_tensors) {
    xf_model m;
    xf_model_input in;
    cr_assert_eq(xf_model_import(fixture("mixer.safetensors"), NULL, &m, &in), XF_OK, "%s",
                 xf_error_message());
    cr_assert(m.config.mixer.patch == 16 && m.config.mixer.dim == 64 &&
              m.config.mixer.depth == 2 && m.config.mixer.token_mlp_dim == 32 &&
              m.config.mixer.channel_mlp_dim == 128 && m.config.height == 224);
    cr_assert_eq(in.pipeline.shorter, 256); /* floor(224 / 0.875) */
    xf_model_free(&m);
}

/* A timm name sets heads and the pretrained_cfg's pipeline; a sidecar and
 * settings override it in that order. */
Test(import, timm_name_sidecar_and_settings) {
    test_tmp_make();
    const xf_timm_arch *a = xf_timm_arch_find("vit_base_patch16_384.augreg_in21k_ft_in1k");
    cr_assert(a && a->input_size == 384 && a->crop_pct == 1.0 && strcmp(a->settings, "heads=12") == 0);
    cr_assert_eq(xf_timm_arch_find("vit_base_patch16_224"),
                 xf_timm_arch_find("vit_base_patch16_224.augreg_in21k"));
    cr_assert_null(xf_timm_arch_find("vit_base_patch16"));
    a = xf_timm_arch_find("mixer_l16_224.goog_in21k_ft_in1k");
    cr_assert(a && strcmp(a->family, "mixer") == 0 && a->crop_pct == 0.875);

    const char *side = "{\"heads\": 2, \"mean\": [0.485, 0.456, 0.406], \"crop_pct\": 0.875,"
                       " \"interpolation\": \"bilinear\"}";
    const char *path = test_tmp_write("side.json", side, strlen(side));
    const char *const later[] = {"heads=4", "std=0.25"};
    xf_import_options opt = {.sidecar = path, .settings = later, .n_settings = 2};
    xf_model m;
    xf_model_input in;
    cr_assert_eq(xf_model_import(fixture("vit_noqkvbias.safetensors"), &opt, &m, &in), XF_OK,
                 "%s", xf_error_message());
    cr_assert_eq(m.config.vit.heads, 4);
    cr_assert_float_eq(in.norm.mean[1], 0.456f, 1e-7);
    cr_assert_float_eq(in.norm.std[2], 0.25f, 1e-7);
    cr_assert(in.pipeline.shorter == 256 && in.pipeline.filter == XF_FILTER_BILINEAR);
    xf_model_free(&m);
    test_tmp_remove();
}

Test(import, errors_name_the_tensor_or_setting) {
    xf_model m;
    xf_model_input in;
    /* heads are not in the tensors */
    test_expect_error(xf_model_import(fixture("vit_cls.safetensors"), NULL, &m, &in), XF_EINVAL,
                      "number of heads");
    /* a name of another family */
    xf_import_options opt = {.arch = "mixer_b16_224.goog_in21k"};
    test_expect_error(xf_model_import(fixture("vit_cls.safetensors"), &opt, &m, &in), XF_EINVAL,
                      "is a mixer, the tensors are a vit");
    opt = (xf_import_options){.arch = "vit_huge_patch99_224"};
    test_expect_error(xf_model_import(fixture("vit_cls.safetensors"), &opt, &m, &in), XF_EINVAL,
                      "unknown timm name 'vit_huge_patch99_224'");
    const char *const bad[] = {"heads=4", "colour=red"};
    opt = (xf_import_options){.settings = bad, .n_settings = 2};
    test_expect_error(xf_model_import(fixture("vit_cls.safetensors"), &opt, &m, &in), XF_EINVAL,
                      "'colour' is not a setting");
    /* a Mixer's token MLP fixes its size */
    opt = (xf_import_options){.image_size = 256};
    test_expect_error(xf_model_import(fixture("mixer.safetensors"), &opt, &m, &in), XF_EINVAL,
                      "image size 256 refused");
    /* heads that do not divide the width */
    const char *const three[] = {"heads=3"};
    opt = (xf_import_options){.settings = three, .n_settings = 1};
    test_expect_error(xf_model_import(fixture("vit_cls.safetensors"), &opt, &m, &in), XF_EINVAL,
                      "vit.heads");
}

/* A checkpoint with a tensor dropped, one added and one reshaped: the
 * message names the first. */
Test(import, mismatched_tensors_are_named) {
    test_tmp_make();
    /* Rename a tensor in the header: one missing, one extra. */
    size_t size;
    unsigned char *bytes;
    cr_assert_eq(xf_read_file(fixture("vit_cls.safetensors"), &bytes, &size), XF_OK);
    uint64_t hlen;
    memcpy(&hlen, bytes, 8);
    char *header = (char *)bytes + 8;
    char *at = strstr(header, "\"blocks.1.norm2.bias\"");
    cr_assert(at && hlen < size);
    memcpy(at + 1, "blocks.1.norm9", 14);
    const char *path = test_tmp_write("renamed.safetensors", bytes, size);
    const char *const h[] = {"heads=4"};
    xf_import_options opt = {.settings = h, .n_settings = 1};
    xf_model m;
    xf_model_input in;
    test_expect_error(xf_model_import(path, &opt, &m, &in), XF_EFORMAT,
                      "tensor 'blocks.1.norm2.bias' is missing");
    free(bytes);
    test_tmp_remove();
}

/* The resampling against hand values: a 2x2 grid to 4x4 with a prefix
 * token kept; a constant grid stays constant; the same grid is copied. */
Test(import, pos_embed_resample) {
    float src[1 + 4] = {7, 0, 1, 2, 3}, dst[1 + 16];
    xf_pos_embed_resample(src, 1, 2, 2, dst, 4, 4, 1);
    cr_assert_eq(dst[0], 7);
    /* x positions (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25; with the
     * border clamped a two-point ramp 0, 1 becomes cubic-weighted values,
     * symmetric around 0.5. */
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            cr_assert_float_eq(dst[1 + y * 4 + x] + dst[1 + (3 - y) * 4 + (3 - x)], 3.0f, 1e-6);
    float flat[1 + 9], out[1 + 25];
    for (int i = 0; i < 10; i++) flat[i] = 0.5f;
    xf_pos_embed_resample(flat, 1, 3, 3, out, 5, 5, 1);
    for (int i = 0; i < 26; i++) cr_assert_float_eq(out[i], 0.5f, 1e-6);
    xf_pos_embed_resample(src, 1, 2, 2, dst, 2, 2, 1);
    for (int i = 0; i < 5; i++) cr_assert_float_eq(dst[i], src[i], 1e-7);
}

/* xfer's own checkpoints still import as before, and refuse timm options. */
Test(import, own_checkpoint_unchanged) {
    test_tmp_make();
    xf_model_config cfg = {.family = XF_FAMILY_VIT, .height = 8, .width = 8, .channels = 1,
                           .n_classes = 3,
                           .vit = {.patch = 4, .dim = 8, .depth = 2, .heads = 2,
                                   .mlp_ratio = 2, .pool = XF_POOL_CLS}};
    xf_model own, m;
    cr_assert_eq(xf_model_init(&own, &cfg), XF_OK);
    xf_model_init_weights(&own, 3);
    const char *path = test_tmp_path("own.safetensors");
    cr_assert_eq(xf_checkpoint_save(&own, path, NULL, NULL, 0), XF_OK, "%s", xf_error_message());
    xf_model_input in;
    cr_assert_eq(xf_model_import(path, NULL, &m, &in), XF_OK, "%s", xf_error_message());
    cr_assert_eq(in.norm.std[0], 0);
    cr_assert(in.pipeline.height == 8 && in.pipeline.channels == 1);
    cr_assert_eq(m.n_taps, 3); /* block0, block1, prelogits: no class-token taps */
    cr_assert_str_eq(m.tap_names[1], "block1");
    cr_assert_eq(memcmp(m.params, own.params, sizeof(float) * own.n_params), 0);
    xf_model_free(&m);
    xf_model_free(&own);
    xf_import_options opt = {.image_size = 32};
    test_expect_error(xf_model_import(path, &opt, &m, &in), XF_EINVAL,
                      "carries its own settings");
    test_tmp_remove();
}

/* The probe's extraction with an imported model's input: pictures of
 * another shape go through the checkpoint's pipeline (shorter side to
 * 256, centre crop, bicubic, grey to RGB) and its mean/std; the features
 * are the taps of a forward on images brought there by hand. */
Test(import, features_use_the_model_input) {
    const char *const set[] = {"heads=4", "crop_pct=0.875", "mean=0.4,0.5,0.6", "std=0.2"};
    xf_import_options opt = {.settings = set, .n_settings = 4};
    xf_model m;
    xf_model_input in;
    cr_assert_eq(xf_model_import(fixture("vit_cls.safetensors"), &opt, &m, &in), XF_OK, "%s",
                 xf_error_message());
    enum { N = 3, H = 30, W = 20 };
    xf_dataset ds;
    cr_assert_eq(xf_dataset_alloc(&ds, "grey", N, H, W, 1, 2), XF_OK);
    for (int i = 0; i < N * H * W; i++) ds.images[i] = (uint8_t)(i * 37 % 251);
    for (int i = 0; i < N; i++) ds.labels[i] = i % 2;
    xf_features f;
    cr_assert_eq(xf_features_extract_input(&m, &in, &ds, NULL, N, &f), XF_OK, "%s",
                 xf_error_message());

    size_t px = 224 * 224 * 3;
    uint8_t *pic = malloc(px);
    float *x = malloc(sizeof(float) * N * px), logits[N * 10];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(xf_pipeline_apply(&in.pipeline, ds.images + (size_t)i * H * W, H, W, 1, pic),
                     XF_OK);
        for (size_t k = 0; k < px; k++)
            x[i * px + k] = ((float)pic[k] / 255.0f - in.norm.mean[k % 3]) / in.norm.std[k % 3];
    }
    cr_assert_eq(in.pipeline.shorter, 256);
    cr_assert_eq(xf_model_reserve(&m, N), XF_OK);
    m.taps_enabled = true;
    xf_model_forward(&m, x, N, logits);
    for (int t = 0; t < m.n_taps; t++)
        for (int k = 0; k < N * m.tap_dims[t]; k++)
            cr_assert_float_eq(f.data[t][k], xf_model_tap(&m, t)[k], 1e-5, "tap %d entry %d", t,
                               k);
    xf_features_free(&f);
    xf_dataset_free(&ds);
    free(pic);
    free(x);
    xf_model_free(&m);
}

/* xfer probe's import flags reach the importer; they are refused with
 * --features. */
Test(import, probe_command_flags) {
    if (access(test_xfer_bin(), X_OK) != 0) cr_skip_test("no xfer binary at %s", test_xfer_bin());
    test_tmp_make();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s probe %s --ds mnist --arch vit_base_patch16_224 > %s 2>&1",
             test_xfer_bin(), fixture("vit_cls.safetensors"), test_tmp_path("out.txt"));
    cr_assert_eq(test_system(cmd), 1);
    size_t size;
    unsigned char *out;
    cr_assert_eq(xf_read_file(test_tmp_path("out.txt"), &out, &size), XF_OK);
    /* The name's 12 heads do not divide the fixture's width of 64: the
     * refusal names vit.heads, so the name reached the importer. */
    cr_assert(strstr((char *)out, "vit.heads"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s probe --features a.npy --labels b.npy --test-features c.npy --test-labels d.npy "
             "--image-size 64 > %s 2>&1",
             test_xfer_bin(), test_tmp_path("out.txt"));
    cr_assert_eq(test_system(cmd), 1);
    cr_assert_eq(xf_read_file(test_tmp_path("out.txt"), &out, &size), XF_OK);
    cr_assert(strstr((char *)out, "apply to a checkpoint, not to --features"), "%s", out);
    free(out);
    test_tmp_remove();
}
