/* Forward-only passes (model.h's forward_only, used by feature extraction):
 * the same logits and taps, bit for bit, as the full pass that keeps every
 * block's activations, in a smaller arena, for every family and variant;
 * a model goes back to full passes (and a backward) when reserved again;
 * feature extraction gives the same features whatever its batch, and
 * sizes its default batch by the activations one image needs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "models/model.h"
#include "probe/features.h"
#include "support.h"

enum { N_CONFIGS = 9, BATCH = 3 };

static xf_model_config config(int i) {
    xf_model_config vit = {.family = XF_FAMILY_VIT, .height = 8, .width = 8, .channels = 2,
                           .n_classes = 4,
                           .vit = {.patch = 2, .dim = 16, .depth = 3, .heads = 2,
                                   .mlp_ratio = 2, .pool = XF_POOL_CLS}};
    xf_model_config rn = {.family = XF_FAMILY_RESNET, .height = 11, .width = 9, .channels = 2,
                          .n_classes = 3,
                          .resnet = {.stages = 2, .blocks = {1, 2}, .base_width = 4,
                                     .norm = XF_NORM_GROUP_WS}};
    switch (i) {
    case 0:
        return vit;
    case 1:
        vit.vit.pool = XF_POOL_GAP; /* an even depth: h ends in the slab it started in */
        vit.vit.depth = 2;
        return vit;
    case 2: /* the imported checkpoints' variants */
        vit.vit.pool = XF_POOL_GAP;
        vit.vit.gap_class_token = vit.vit.layer_scale = vit.vit.fc_norm = true;
        vit.vit.class_token_taps = true;
        return vit;
    case 3:
        return (xf_model_config){.family = XF_FAMILY_MIXER, .height = 8, .width = 8,
                                 .channels = 2, .n_classes = 4,
                                 .mixer = {.patch = 2, .dim = 16, .depth = 3,
                                           .token_mlp_dim = 8, .channel_mlp_dim = 32}};
    case 4:
        return rn;
    case 5:
        rn.resnet.block = XF_BLOCK_BOTTLENECK;
        rn.resnet.stem = XF_STEM_BIT;
        return rn;
    case 6: /* BatchNorm in eval mode: the running statistics */
        rn.resnet.norm = XF_NORM_BATCH;
        rn.resnet.block = XF_BLOCK_BOTTLENECK;
        return rn;
    case 7: /* one block: the output lands in the second buffer */
        rn.resnet.stages = 1;
        rn.resnet.blocks[0] = 1;
        rn.resnet.stem = XF_STEM_BIT;
        return rn;
    default:
        return (xf_model_config){.family = XF_FAMILY_MLP, .height = 6, .width = 5,
                                 .channels = 2, .n_classes = 4, .mlp = {.width = 24, .depth = 2}};
    }
}

static void random_input(float *x, size_t n, uint64_t seed) {
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(2 * xf_rng_uniform(&rng) - 1);
}

/* logits then every tap of one forward of `batch` images. */
static float *forward_outputs(xf_model *m, const float *x, int batch, size_t *n) {
    *n = (size_t)batch * m->config.n_classes;
    for (int t = 0; t < m->n_taps; t++) *n += (size_t)batch * m->tap_dims[t];
    float *out = malloc(sizeof(float) * *n), *at = out + (size_t)batch * m->config.n_classes;
    cr_assert_not_null(out);
    m->taps_enabled = true;
    xf_model_forward(m, x, batch, out);
    for (int t = 0; t < m->n_taps; t++) {
        memcpy(at, xf_model_tap(m, t), sizeof(float) * batch * m->tap_dims[t]);
        at += (size_t)batch * m->tap_dims[t];
    }
    return out;
}

Test(forward_only, same_logits_and_taps_as_the_full_pass_in_a_smaller_arena) {
    for (int i = 0; i < N_CONFIGS; i++) {
        xf_model_config cfg = config(i);
        xf_model full, fwd;
        cr_assert_eq(xf_model_init(&full, &cfg), XF_OK, "config %d: %s", i, xf_error_message());
        cr_assert_eq(xf_model_init(&fwd, &cfg), XF_OK);
        xf_model_init_weights(&full, 7);
        memcpy(fwd.params, full.params, sizeof(float) * full.n_params);
        fwd.forward_only = true;
        cr_assert_eq(xf_model_reserve(&full, BATCH), XF_OK);
        cr_assert_eq(xf_model_reserve(&fwd, BATCH), XF_OK);
        cr_assert(fwd.arena_forward_only && !full.arena_forward_only);
        size_t whole = full.ops->arena_size(&full, BATCH), part = fwd.ops->arena_size(&fwd, BATCH);
        if (cfg.family == XF_FAMILY_MLP)
            cr_assert_eq(part, whole, "the mlp keeps one plan");
        else
            cr_assert_lt(part, whole, "config %d: forward-only arena %zu, full %zu", i, part,
                         whole);
        size_t image = (size_t)cfg.height * cfg.width * cfg.channels, n_full, n_fwd;
        float *x = malloc(sizeof(float) * BATCH * image);
        random_input(x, BATCH * image, 11 + i);
        float *a = forward_outputs(&full, x, BATCH, &n_full);
        /* Twice: the second pass runs over the first one's leftovers. */
        free(forward_outputs(&fwd, x, BATCH, &n_fwd));
        float *b = forward_outputs(&fwd, x, BATCH, &n_fwd);
        cr_assert_eq(n_fwd, n_full);
        for (size_t j = 0; j < n_full; j++)
            cr_assert_eq(a[j], b[j], "config %d, output %zu: full %.9g, forward only %.9g", i, j,
                         a[j], b[j]);
        free(a);
        free(b);
        free(x);
        xf_model_free(&full);
        xf_model_free(&fwd);
    }
}

/* After feature extraction left a forward-only arena, reserving without
 * forward_only gives a full one again: the backward is that of a model
 * that never extracted features. */
Test(forward_only, a_full_reserve_after_extraction_gives_the_backward_back) {
    xf_model_config cfg = config(5);
    xf_model used, fresh;
    cr_assert_eq(xf_model_init(&used, &cfg), XF_OK);
    cr_assert_eq(xf_model_init(&fresh, &cfg), XF_OK);
    xf_model_init_weights(&used, 3);
    memcpy(fresh.params, used.params, sizeof(float) * used.n_params);
    xf_dataset ds;
    cr_assert_eq(xf_dataset_alloc(&ds, "random", 5, cfg.height, cfg.width, cfg.channels, 2),
                 XF_OK);
    xf_rng rng;
    xf_rng_seed(&rng, 5);
    for (size_t i = 0; i < 5 * xf_dataset_image_size(&ds); i++)
        ds.images[i] = (uint8_t)xf_rng_below(&rng, 256);
    xf_features f;
    cr_assert_eq(xf_features_extract(&used, &ds, NULL, 5, &f), XF_OK, "%s", xf_error_message());
    xf_features_free(&f);
    cr_assert(used.arena_forward_only && !used.forward_only, "forward_only restored");
    cr_assert_eq(xf_model_reserve(&used, BATCH), XF_OK);
    cr_assert(!used.arena_forward_only);
    cr_assert_eq(xf_model_reserve(&fresh, BATCH), XF_OK);
    size_t image = (size_t)cfg.height * cfg.width * cfg.channels;
    float x[BATCH * 11 * 9 * 2], logits[BATCH * 3], dlogits[BATCH * 3];
    cr_assert_eq(sizeof x / sizeof x[0], BATCH * image);
    random_input(x, BATCH * image, 9);
    random_input(dlogits, BATCH * 3, 10);
    xf_model *models[2] = {&used, &fresh};
    for (int k = 0; k < 2; k++) {
        xf_model_forward(models[k], x, BATCH, logits);
        xf_model_zero_grad(models[k]);
        xf_model_backward(models[k], dlogits, BATCH);
    }
    for (size_t j = 0; j < used.n_params; j++)
        cr_assert_eq(used.grads[j], fresh.grads[j], "gradient %zu", j);
    xf_dataset_free(&ds);
    xf_model_free(&used);
    xf_model_free(&fresh);
}

Test(forward_only, features_are_the_same_whatever_the_batch) {
    xf_model_config cfg = config(0);
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_init_weights(&m, 4);
    xf_dataset ds;
    cr_assert_eq(xf_dataset_alloc(&ds, "random", 7, cfg.height, cfg.width, cfg.channels, 2),
                 XF_OK);
    for (size_t i = 0; i < 7 * xf_dataset_image_size(&ds); i++)
        ds.images[i] = (uint8_t)(i * 37 % 251);
    xf_features whole;
    cr_assert_eq(xf_features_extract(&m, &ds, NULL, 7, &whole), XF_OK);
    const int batches[] = {1, 2, 5, 7, 300};
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        xf_features f;
        cr_assert_eq(xf_features_extract_batched(&m, &ds, NULL, 7, batches[k], &f), XF_OK);
        for (int t = 0; t < m.n_taps; t++)
            for (size_t j = 0; j < (size_t)7 * f.dims[t]; j++)
                cr_assert_float_eq(f.data[t][j], whole.data[t][j],
                                   1e-5f * (1 + fabsf(whole.data[t][j])),
                                   "batch %d, tap %d, value %zu", batches[k], t, j);
        xf_features_free(&f);
    }
    xf_features none;
    test_expect_error(xf_features_extract_batched(&m, &ds, NULL, 7, 0, &none), XF_EINVAL,
                      "batch 0, expected >= 1");
    xf_features_free(&whole);
    xf_dataset_free(&ds);
    xf_model_free(&m);
}

/* The default batch: XF_FEATURES_BATCH for a small model, fewer for a
 * ViT-B/16 at 224 px, so that its forward-only activations stay within
 * XF_FEATURES_ARENA_BYTES. */
Test(forward_only, the_default_batch_bounds_the_activations) {
    xf_model_config small = config(0);
    xf_model_config vit_b = {.family = XF_FAMILY_VIT, .height = 224, .width = 224,
                             .channels = 3, .n_classes = 1000,
                             .vit = {.patch = 16, .dim = 768, .depth = 12, .heads = 12,
                                     .mlp_ratio = 4, .pool = XF_POOL_CLS}};
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &small), XF_OK);
    cr_assert_eq(xf_features_batch(&m), XF_FEATURES_BATCH);
    xf_model_free(&m);
    cr_assert_eq(xf_model_init(&m, &vit_b), XF_OK, "%s", xf_error_message());
    int batch = xf_features_batch(&m);
    m.forward_only = true;
    size_t bytes = sizeof(float) * m.ops->arena_size(&m, batch);
    size_t more = sizeof(float) * m.ops->arena_size(&m, batch + 1);
    cr_assert(batch > 1 && batch < XF_FEATURES_BATCH, "batch %d", batch);
    cr_assert(bytes <= XF_FEATURES_ARENA_BYTES && more > XF_FEATURES_ARENA_BYTES,
              "batch %d: %zu bytes, one more image %zu", batch, bytes, more);
    xf_model_free(&m);
}
