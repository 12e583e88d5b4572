/* Training: schedules, AdamW and SGD against hand-computed steps, gradient
 * clipping, label smoothing, learning a separable task, seeds, the training
 * flag, divergence, and checkpoint round trips and corruption. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "models/mlp.h"
#include "models/model.h"
#include "nn/loss.h"
#include "support.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/train.h"

static void quiet(void) { xf_log_set_level(XF_LOG_WARN); }

Test(train, schedule_warmup_then_cosine) {
    /* 100 steps, 10 of warmup. */
    cr_assert_float_eq(xf_schedule_factor(0, 100, 0.1), 0.1, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(4, 100, 0.1), 0.5, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(9, 100, 0.1), 1.0, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(10, 100, 0.1), 1.0, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(55, 100, 0.1), 0.5, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(99, 100, 0.1), 0.5 * (1 + cos(M_PI * 89 / 90)), 1e-12);
    cr_assert_float_eq(xf_schedule_factor(100, 100, 0.1), 0, 1e-12);
    /* No warmup: the first step runs at the full rate. */
    cr_assert_float_eq(xf_schedule_factor(0, 10, 0), 1.0, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(5, 10, 0), 0.5, 1e-12);
    /* 5% of 30 steps rounds to 2 warmup steps. */
    cr_assert_float_eq(xf_schedule_factor(0, 30, 0.05), 0.5, 1e-12);
    cr_assert_float_eq(xf_schedule_factor(2, 30, 0.05), 1.0, 1e-12);
}

Test(train, adamw_two_steps_match_hand_computed_values_per_group) {
    /* A hand-made model: a body tensor of 2 and a head tensor of 1. */
    float params[3] = {1.0f, -0.5f, 2.0f}, grads[3] = {0.5f, -0.25f, -1.0f};
    xf_tensor_info tensors[2] = {
        {.name = "body", .offset = 0, .numel = 2, .ndim = 1, .shape = {2}, .group = XF_GROUP_BODY},
        {.name = "head", .offset = 2, .numel = 1, .ndim = 1, .shape = {1}, .group = XF_GROUP_HEAD},
    };
    xf_model m = {.params = params, .grads = grads, .n_params = 3, .tensors = tensors,
                  .n_tensors = 2};
    xf_adamw opt;
    cr_assert_eq(xf_adamw_init(&opt, 3, 0.9, 0.999, 1e-8), XF_OK);
    opt.group[XF_GROUP_BODY] = (xf_adamw_group){.lr = 0.1, .weight_decay = 0.01};
    opt.group[XF_GROUP_HEAD] = (xf_adamw_group){.lr = 0.02, .weight_decay = 0.5};
    /* Step 1: p (1 - lr wd) - lr m^ / (sqrt(v^) + eps), with m^ = g and
     * sqrt(v^) = |g|: 1 * 0.999 - 0.1 = 0.899; 2 * 0.99 + 0.02 = 2.0. */
    xf_adamw_step(&opt, &m, 1.0, NULL);
    cr_assert_float_eq(params[0], 0.899000002, 1e-7);
    cr_assert_float_eq(params[1], -0.39950000399999985, 1e-7);
    cr_assert_float_eq(params[2], 1.9999999998, 1e-7);
    /* Step 2 at half the rate: bias corrections 1 - 0.9^2 and 1 - 0.999^2. */
    grads[0] = 0.1f, grads[1] = 0.3f, grads[2] = 2.0f;
    xf_adamw_step(&opt, &m, 0.5, NULL);
    cr_assert_float_eq(params[0], 0.8583984541913259, 1e-6);
    cr_assert_float_eq(params[1], -0.4064474902718735, 1e-6);
    cr_assert_float_eq(params[2], 1.9863389645537926, 1e-6);
    cr_assert_eq(opt.t, 2);
    xf_adamw_free(&opt);
}

Test(train, linear_decay_after_warmup) {
    /* 100 steps, 20 of warmup, then 1 - (step - 20) / 80. */
    cr_assert_float_eq(xf_schedule_factor_decay(0, 100, 0.2, XF_DECAY_LINEAR), 0.05, 1e-12);
    cr_assert_float_eq(xf_schedule_factor_decay(19, 100, 0.2, XF_DECAY_LINEAR), 1.0, 1e-12);
    cr_assert_float_eq(xf_schedule_factor_decay(20, 100, 0.2, XF_DECAY_LINEAR), 1.0, 1e-12);
    cr_assert_float_eq(xf_schedule_factor_decay(60, 100, 0.2, XF_DECAY_LINEAR), 0.5, 1e-12);
    cr_assert_float_eq(xf_schedule_factor_decay(99, 100, 0.2, XF_DECAY_LINEAR), 1.0 / 80, 1e-12);
    cr_assert_float_eq(xf_schedule_factor_decay(100, 100, 0.2, XF_DECAY_LINEAR), 0, 1e-12);
    /* Cosine through the same entry point is xf_schedule_factor. */
    cr_assert_float_eq(xf_schedule_factor_decay(55, 100, 0.1, XF_DECAY_COSINE), 0.5, 1e-12);
    cr_assert_float_eq(xf_schedule_factor_decay(3, 4, 0, XF_DECAY_LINEAR), 0.25, 1e-12);
}

/* A body tensor of 2 and a head tensor of 1 over caller-owned buffers. */
static xf_model tiny_model(float *params, float *grads, xf_tensor_info tensors[2]) {
    tensors[0] = (xf_tensor_info){.name = "body", .offset = 0, .numel = 2, .ndim = 1,
                                  .shape = {2}, .group = XF_GROUP_BODY};
    tensors[1] = (xf_tensor_info){.name = "head", .offset = 2, .numel = 1, .ndim = 1,
                                  .shape = {1}, .group = XF_GROUP_HEAD};
    return (xf_model){.params = params, .grads = grads, .n_params = 3, .tensors = tensors,
                      .n_tensors = 2};
}

Test(train, sgd_momentum_two_steps_match_torch_per_group) {
    float params[3] = {1.0f, -0.5f, 2.0f}, grads[3] = {0.5f, -0.25f, -1.0f};
    xf_tensor_info tensors[2];
    xf_model m = tiny_model(params, grads, tensors);
    xf_sgd opt;
    cr_assert_eq(xf_sgd_init(&opt, 3, 0.9), XF_OK);
    opt.group[XF_GROUP_BODY] = (xf_adamw_group){.lr = 0.1, .weight_decay = 0.01};
    opt.group[XF_GROUP_HEAD] = (xf_adamw_group){.lr = 0.02, .weight_decay = 0.5};
    /* d = g + wd p; buf = d; p -= lr buf: 1 - 0.1 (0.5 + 0.01) = 0.949; the
     * head's d = -1 + 0.5 * 2 = 0 leaves it at 2. */
    xf_sgd_step(&opt, &m, 1.0, NULL);
    cr_assert_float_eq(params[0], 0.949f, 1e-7);
    cr_assert_float_eq(params[1], -0.4745f, 1e-7);
    cr_assert_float_eq(params[2], 2.0f, 0);
    /* At half the rate: buf = 0.9 * 0.51 + (0.1 + 0.01 * 0.949) = 0.56849,
     * p = 0.949 - 0.05 * 0.56849. Head: buf = 3, p = 2 - 0.01 * 3. The
     * expected floats are torch.optim.SGD's on the same steps. */
    grads[0] = 0.1f, grads[1] = 0.3f, grads[2] = 2.0f;
    xf_sgd_step(&opt, &m, 0.5, NULL);
    cr_assert_eq(params[0], 0.9205754995346069f);
    cr_assert_eq(params[1], -0.4777877628803253f);
    cr_assert_eq(params[2], 1.9700000286102295f);
    cr_assert_eq(opt.t, 2);
    xf_sgd_free(&opt);

    /* Without momentum no buffer is kept and each step is plain. */
    params[0] = 1, params[1] = -0.5f, params[2] = 2;
    cr_assert_eq(xf_sgd_init(&opt, 3, 0), XF_OK);
    cr_assert_null(opt.buf);
    opt.group[XF_GROUP_BODY] = (xf_adamw_group){.lr = 0.1, .weight_decay = 0};
    opt.group[XF_GROUP_HEAD] = (xf_adamw_group){.lr = 0.1, .weight_decay = 0};
    xf_sgd_step(&opt, &m, 1.0, NULL);
    xf_sgd_step(&opt, &m, 1.0, NULL);
    cr_assert_float_eq(params[0], 1 - 0.2 * 0.1, 1e-7);
    cr_assert_float_eq(params[2], 2 - 0.2 * 2, 1e-7);
    xf_sgd_free(&opt);
}

Test(train, clip_grad_norm_scales_only_above_the_limit) {
    float params[3] = {0}, grads[3] = {3, 0, 4};
    xf_tensor_info tensors[2];
    xf_model m = tiny_model(params, grads, tensors);
    /* Norm 5 (over both groups); below the limit nothing changes. (The
     * calls stay out of the assertion macros, which evaluate twice.) */
    double norm = xf_clip_grad_norm(&m, 10);
    cr_assert_float_eq(norm, 5.0, 1e-12);
    cr_assert_eq(grads[0], 3.0f);
    cr_assert_eq(grads[2], 4.0f);
    norm = xf_clip_grad_norm(&m, 0);
    cr_assert_float_eq(norm, 5.0, 1e-12);
    cr_assert_eq(grads[2], 4.0f);
    /* Limit 2.5: scale 2.5 / (5 + 1e-6), torch's values to the bit. */
    norm = xf_clip_grad_norm(&m, 2.5);
    cr_assert_float_eq(norm, 5.0, 1e-12);
    cr_assert_eq(grads[0], 1.4999996423721313f, "%.17g", grads[0]);
    cr_assert_eq(grads[1], 0.0f);
    cr_assert_eq(grads[2], 1.9999995231628418f);
    norm = xf_clip_grad_norm(&m, 0);
    cr_assert_float_eq(norm, 2.5, 1e-6);
}

Test(train, label_smoothing_matches_torch_and_finite_differences) {
    double z[6] = {1, 2, 3, 0.5, -1, 2}, d[6];
    int32_t y[2] = {0, 2};
    /* torch.nn.CrossEntropyLoss(label_smoothing=0.1) in float64. */
    const double want[6] = {-0.42165138008147646, 0.10569756886073216, 0.31595381122074423,
                            0.07097852940335168, 0.0028896199686770582, -0.07386814937202874};
    double loss = xf_softmax_xent_smoothed_f64(z, y, 2, 3, 0.1, d);
    cr_assert_float_eq(loss, 1.3494586305507688, 1e-14);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(d[i], want[i], 1e-14, "dlogits[%d]", i);
    /* Central differences of the loss itself. */
    for (int i = 0; i < 6; i++) {
        double h = 1e-6, keep = z[i];
        z[i] = keep + h;
        double up = xf_softmax_xent_smoothed_f64(z, y, 2, 3, 0.1, NULL);
        z[i] = keep - h;
        double down = xf_softmax_xent_smoothed_f64(z, y, 2, 3, 0.1, NULL);
        z[i] = keep;
        cr_assert_float_eq((up - down) / (2 * h), d[i], 1e-8, "dlogits[%d]", i);
    }
    /* Full smoothing targets the uniform distribution; none is plain
     * cross-entropy, bit for bit, in float too. */
    double uniform[3] = {0.3, 0.3, 0.3}, du[3];
    int32_t y0 = 1;
    cr_assert_float_eq(xf_softmax_xent_smoothed_f64(uniform, &y0, 1, 3, 1.0, du), log(3.0),
                       1e-14);
    for (int c = 0; c < 3; c++) cr_assert_float_eq(du[c], 0, 1e-15);
    float zf[6] = {1, 2, 3, 0.5f, -1, 2}, d0[6], d1[6];
    cr_assert_eq(xf_softmax_xent_smoothed(zf, y, 2, 3, 0, d0), xf_softmax_xent(zf, y, 2, 3, d1));
    cr_assert_arr_eq(d0, d1, sizeof d0);
    float ds[6];
    cr_assert_float_eq(xf_softmax_xent_smoothed(zf, y, 2, 3, 0.1, ds), 1.3494586305507688,
                       1e-6);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(ds[i], want[i], 1e-7, "dlogits[%d]", i);
}

/* Class c of 3 has its row c bright, the rest dark, with noise. */
static void make_stripes(xf_dataset *ds, const char *name, int n, uint64_t seed) {
    cr_assert_eq(xf_dataset_alloc(ds, name, n, 4, 4, 1, 3), XF_OK, "%s", xf_error_message());
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        int c = (int)xf_rng_below(&rng, 3);
        ds->labels[i] = c;
        for (int p = 0; p < 16; p++) {
            int bright = p / 4 == c;
            ds->images[i * 16 + p] = (uint8_t)(bright ? 160 + xf_rng_below(&rng, 96)
                                                      : xf_rng_below(&rng, 100));
        }
    }
}

static xf_model_config stripes_model(void) {
    return (xf_model_config){.family = XF_FAMILY_MLP,
                             .height = 4,
                             .width = 4,
                             .channels = 1,
                             .n_classes = 3,
                             .mlp = {.width = 16, .depth = 2}};
}

Test(train, learns_a_separable_task_deterministically, .init = quiet) {
    xf_dataset train, test;
    make_stripes(&train, "stripes-train", 600, 1);
    make_stripes(&test, "stripes-test", 300, 2);
    xf_model_config cfg = stripes_model();
    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.epochs = 3;
    tc.batch_size = 32;
    tc.lr = tc.head_lr = 1e-2;
    xf_model a, b;
    cr_assert_eq(xf_model_init(&a, &cfg), XF_OK);
    cr_assert_eq(xf_model_init(&b, &cfg), XF_OK);
    xf_train_result ra, rb;
    double acc_before;
    xf_model_init_weights(&a, 0);
    cr_assert_eq(xf_evaluate(&a, &test, &acc_before), XF_OK);
    cr_assert_eq(xf_train(&a, &train, &tc, &ra), XF_OK, "%s", xf_error_message());
    cr_assert_eq(ra.steps, 3 * (600 / 32)); /* the partial batch is dropped */
    cr_assert_float_eq(ra.train_flops, 3 * a.flops_per_image * ra.steps * 32, 1);
    cr_assert_lt(ra.final_loss, 0.3);
    double acc;
    cr_assert_eq(xf_evaluate(&a, &test, &acc), XF_OK);
    cr_assert_gt(acc, 0.9, "accuracy %g (before training %g)", acc, acc_before);
    cr_assert_lt(acc_before, 0.7);
    cr_assert_eq(xf_train(&b, &train, &tc, &rb), XF_OK);
    cr_assert_arr_eq(a.params, b.params, sizeof(float) * a.n_params);
    cr_assert_eq(ra.final_loss, rb.final_loss);
    xf_model_free(&a);
    xf_model_free(&b);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
}

Test(train, sgd_linear_clipped_smoothed_flipped_training_learns, .init = quiet) {
    xf_dataset train, test;
    make_stripes(&train, "stripes-train", 600, 1);
    make_stripes(&test, "stripes-test", 300, 2);
    xf_model_config cfg = stripes_model();
    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.epochs = 3;
    tc.batch_size = 32;
    tc.optimizer = XF_OPTIMIZER_SGD;
    tc.momentum = 0.9;
    tc.lr = tc.head_lr = 0.05;
    tc.decay = XF_DECAY_LINEAR;
    tc.clip_norm = 1.0;
    tc.label_smoothing = 0.1;
    tc.flip = true; /* rows are the signal: mirroring columns keeps the class */
    tc.augment_seed = 3;
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_train_result r;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_OK, "%s", xf_error_message());
    cr_assert_eq(m.training, false);
    /* Smoothing 0.1 over 3 classes keeps the loss above its floor of
     * 0.9 * 0 + 0.1 * mean_c(-log p_c) > 0. */
    cr_assert_lt(r.final_loss, 0.6);
    cr_assert_gt(r.final_loss, 0.1);
    double acc;
    cr_assert_eq(xf_evaluate(&m, &test, &acc), XF_OK);
    cr_assert_gt(acc, 0.9, "accuracy %g", acc);
    xf_model_free(&m);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
}

/* Trains a stripes mlp for one epoch with `tc` and returns its weights. */
static float *train_weights(const xf_train_config *tc) {
    xf_dataset train;
    make_stripes(&train, "stripes-train", 200, 1);
    xf_model_config cfg = stripes_model();
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_train_result r;
    cr_assert_eq(xf_train(&m, &train, tc, &r), XF_OK, "%s", xf_error_message());
    float *w = malloc(sizeof(float) * m.n_params);
    memcpy(w, m.params, sizeof(float) * m.n_params);
    xf_model_free(&m);
    xf_dataset_free(&train);
    return w;
}

static bool same_weights(const float *a, const float *b) {
    xf_model_config cfg = stripes_model();
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    bool same = memcmp(a, b, sizeof(float) * m.n_params) == 0;
    xf_model_free(&m);
    return same;
}

Test(train, each_seed_drives_its_own_stream, .init = quiet) {
    xf_train_config base;
    xf_train_config_default(&base);
    base.batch_size = 20;
    base.crop_padding = 1;
    base.flip = true;
    base.seed = base.data_seed = base.augment_seed = 5;
    float *ref = train_weights(&base);
    float *again = train_weights(&base);
    cr_assert(same_weights(ref, again));
    xf_train_config c = base;
    c.data_seed = 6;
    float *data = train_weights(&c);
    c = base;
    c.augment_seed = 6;
    float *aug = train_weights(&c);
    c = base;
    c.seed = 6;
    float *init = train_weights(&c);
    cr_assert_not(same_weights(ref, data));
    cr_assert_not(same_weights(ref, aug));
    cr_assert_not(same_weights(ref, init));
    cr_assert_not(same_weights(data, aug));
    /* Without augmentation its seed changes nothing. */
    c = base;
    c.crop_padding = 0;
    c.flip = false;
    float *plain = train_weights(&c);
    c.augment_seed = 99;
    float *plain2 = train_weights(&c);
    cr_assert(same_weights(plain, plain2));
    cr_assert_not(same_weights(plain, ref));
    free(ref), free(again), free(data), free(aug), free(init), free(plain), free(plain2);
}

/* A model that runs the mlp but records what the trainer hands its
 * forward pass: the training flag and the first batch of images. */
static struct {
    int forwards, training_forwards;
    float first[8 * 16];
    bool have_first;
} spy;

static void spy_forward(const xf_model *m, const float *p, float *state, const float *x,
                        int batch, float *arena, float *logits, float **taps) {
    spy.forwards++;
    spy.training_forwards += m->training;
    if (!spy.have_first && m->training) {
        memcpy(spy.first, x, sizeof(float) * 16 * (size_t)(batch < 8 ? batch : 8));
        spy.have_first = true;
    }
    xf_mlp_ops.forward(m, p, state, x, batch, arena, logits, taps);
}

Test(train, training_flag_and_flips_reach_the_model, .init = quiet) {
    xf_dataset train;
    make_stripes(&train, "stripes-train", 64, 1);
    xf_model_config cfg = stripes_model();
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_model_ops ops = xf_mlp_ops;
    ops.forward = spy_forward;
    m.ops = &ops;
    memset(&spy, 0, sizeof spy);
    xf_blas_set_threads(1); /* one slice: the spy counts calls and keeps the first */
    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.batch_size = 8;
    tc.flip = true;
    xf_train_result r;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_OK, "%s", xf_error_message());
    cr_assert_eq(spy.forwards, 8);
    cr_assert_eq(spy.training_forwards, 8);
    cr_assert_eq(m.training, false);
    double acc;
    m.training = true;
    cr_assert_eq(xf_evaluate(&m, &train, &acc), XF_OK);
    cr_assert_eq(spy.training_forwards, 8, "evaluation ran in training mode");
    cr_assert_eq(spy.forwards, 9); /* the 64 images in one evaluation batch */

    /* The first batch is the data order's first 8 images, each as it is or
     * mirrored left to right, and with 8 images at least one of each. */
    xf_rng order;
    xf_rng_seed(&order, 0x6f72646572ULL); /* the trainer's order stream for data_seed 0 */
    int idx[64];
    for (int i = 0; i < 64; i++) idx[i] = i;
    xf_rng_shuffle(&order, idx, 64);
    float orig[8 * 16];
    xf_dataset_gather(&train, idx, 8, orig, NULL);
    int flipped = 0, kept = 0;
    for (int k = 0; k < 8; k++) {
        bool same = true, mirror = true;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                float got = spy.first[k * 16 + i * 4 + j];
                same &= got == orig[k * 16 + i * 4 + j];
                mirror &= got == orig[k * 16 + i * 4 + 3 - j];
            }
        cr_assert(same || mirror, "image %d is neither itself nor its mirror", k);
        flipped += mirror && !same;
        kept += same && !mirror;
    }
    cr_assert_gt(flipped, 0);
    cr_assert_gt(kept, 0);
    m.ops = &xf_mlp_ops;
    xf_model_free(&m);
    xf_dataset_free(&train);
}

Test(train, huge_learning_rate_diverges_with_the_step, .init = quiet) {
    xf_dataset train;
    make_stripes(&train, "stripes-train", 200, 1);
    xf_model_config cfg = stripes_model();
    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.lr = tc.head_lr = 1e30;
    tc.warmup_fraction = 0;
    tc.batch_size = 20;
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_train_result r;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EDIVERGED);
    cr_assert(strstr(xf_error_message(), "diverged at step"), "%s", xf_error_message());
    cr_assert(strstr(xf_error_message(), "stripes-train"), "%s", xf_error_message());
    cr_assert_lt(r.steps, 10);
    xf_model_free(&m);
    xf_dataset_free(&train);
}

Test(train, rejects_mismatched_data_and_bad_config) {
    xf_dataset train;
    make_stripes(&train, "stripes-train", 50, 1);
    xf_model_config cfg = stripes_model();
    cfg.width = 5;
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_train_config tc;
    xf_train_config_default(&tc);
    xf_train_result r;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "4 x 4 x 1"), "%s", xf_error_message());
    xf_model_free(&m);
    cfg = stripes_model();
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    tc.head_lr = NAN;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "head_lr"), "%s", xf_error_message());
    xf_train_config_default(&tc);
    tc.momentum = 1;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "momentum"), "%s", xf_error_message());
    xf_train_config_default(&tc);
    tc.label_smoothing = 1.5;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "label_smoothing"), "%s", xf_error_message());
    xf_train_config_default(&tc);
    tc.clip_norm = -1;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "clip_norm"), "%s", xf_error_message());
    xf_train_config_default(&tc);
    tc.crop_padding = -2;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_EINVAL);
    cr_assert(strstr(xf_error_message(), "crop_padding"), "%s", xf_error_message());
    xf_model_free(&m);
    xf_dataset_free(&train);
}

Test(train, head_lr_zero_freezes_only_the_head, .init = quiet) {
    xf_dataset train;
    make_stripes(&train, "stripes-train", 100, 1);
    xf_model_config cfg = stripes_model();
    xf_model m, init;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    cr_assert_eq(xf_model_init(&init, &cfg), XF_OK);
    xf_model_init_weights(&init, 0);
    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.batch_size = 10;
    tc.head_lr = 0;
    tc.head_weight_decay = 0.5; /* decay scales with lr, as in torch: no effect at lr 0 */
    xf_train_result r;
    cr_assert_eq(xf_train(&m, &train, &tc, &r), XF_OK, "%s", xf_error_message());
    for (int t = 0; t < m.n_tensors; t++) {
        const xf_tensor_info *ti = &m.tensors[t];
        bool same = memcmp(m.params + ti->offset, init.params + ti->offset,
                           sizeof(float) * ti->numel) == 0;
        cr_assert_eq(same, ti->group == XF_GROUP_HEAD, "%s", ti->name);
    }
    xf_model_free(&m);
    xf_model_free(&init);
    xf_dataset_free(&train);
}

/* A saved small model, its path and bytes, for the checkpoint tests. */
typedef struct {
    char *dir;
    char path[256];
    xf_model m;
    unsigned char *bytes;
    size_t size;
} saved;

static void save_small(saved *s) {
    s->dir = test_tmpdir();
    cr_assert_not_null(s->dir);
    snprintf(s->path, sizeof s->path, "%s/m.safetensors", s->dir);
    xf_model_config cfg = stripes_model();
    cr_assert_eq(xf_model_init(&s->m, &cfg), XF_OK);
    xf_model_init_weights(&s->m, 9);
    const char *keys[] = {"us_task", "us_test_acc"}, *values[] = {"stripes", "0.987"};
    cr_assert_eq(xf_checkpoint_save(&s->m, s->path, keys, values, 2), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(xf_read_file(s->path, &s->bytes, &s->size), XF_OK);
}

static void saved_free(saved *s) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    test_system(cmd);
    free(s->dir);
    free(s->bytes);
    xf_model_free(&s->m);
}

Test(train, checkpoint_round_trip_is_bit_exact) {
    saved s;
    save_small(&s);
    uint64_t header = 0;
    for (int i = 0; i < 8; i++) header |= (uint64_t)s.bytes[i] << (8 * i);
    cr_assert_eq(header % 8, 0);
    cr_assert_eq(s.size, 8 + header + sizeof(float) * s.m.n_params);
    char *json = strndup((const char *)s.bytes + 8, header);
    cr_assert(strstr(json, "\"__metadata__\":{\"xfer_config\":\"{\\\"family\\\":\\\"mlp\\\""),
              "%s", json);
    cr_assert(strstr(json, "\"us_task\":\"stripes\""), "%s", json);
    /* 2 x (16 x 16 + 16) + 3 x 16 floats come before the head's bias. */
    cr_assert(strstr(json, "\"head.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
                           "\"data_offsets\":[2368,2380]}"),
              "%s", json);
    free(json);

    xf_model back;
    cr_assert_eq(xf_checkpoint_load(s.path, &back), XF_OK, "%s", xf_error_message());
    cr_assert_eq(back.n_params, s.m.n_params);
    cr_assert_eq(memcmp(&back.config, &s.m.config, sizeof back.config), 0);
    cr_assert_arr_eq(back.params, s.m.params, sizeof(float) * back.n_params);
    xf_model_free(&back);
    saved_free(&s);
}

/* Writes `bytes` over the checkpoint and expects loading to fail with
 * `code` and a message naming the file and `needle`. */
static void expect_load_error(saved *s, const unsigned char *bytes, size_t size, xf_status code,
                              const char *needle) {
    cr_assert_eq(test_write_file(s->path, bytes, size), 0);
    xf_model m;
    cr_assert_eq(xf_checkpoint_load(s->path, &m), code, "%s", xf_error_message());
    cr_assert(strstr(xf_error_message(), s->path), "%s", xf_error_message());
    cr_assert(strstr(xf_error_message(), needle), "'%s' lacks '%s'", xf_error_message(), needle);
    cr_assert_null(m.params);
}

static void replace_once(unsigned char *bytes, size_t size, const char *from, const char *to) {
    size_t n = strlen(from);
    cr_assert_eq(n, strlen(to));
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(bytes + i, from, n) == 0) {
            memcpy(bytes + i, to, n);
            return;
        }
    cr_assert_fail("'%s' not in the file", from);
}

Test(train, corrupt_checkpoints_name_the_file_and_tensor) {
    saved s;
    save_small(&s);
    unsigned char *bad = malloc(s.size);

    expect_load_error(&s, s.bytes, s.size - 4, XF_EFORMAT, "'head.bias'");
    expect_load_error(&s, s.bytes, 5, XF_EFORMAT, "too short");
    memcpy(bad, s.bytes, s.size);
    bad[6] = 1;
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "header length");
    memcpy(bad, s.bytes, s.size);
    bad[8] = '[';
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "not a JSON object");
    memcpy(bad, s.bytes, s.size);
    replace_once(bad, s.size, "\"shape\":[16,16]", "\"shape\":[16,15]");
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "'blocks.0.fc.weight': data_offsets");
    memcpy(bad, s.bytes, s.size); /* as many elements, another shape */
    replace_once(bad, s.size, "\"shape\":[16,16]", "\"shape\":[256,1]");
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "'blocks.0.fc.weight': shape differs");
    memcpy(bad, s.bytes, s.size);
    replace_once(bad, s.size, "\"F32\"", "\"F16\"");
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "F16");
    memcpy(bad, s.bytes, s.size);
    replace_once(bad, s.size, "\"head.bias\"", "\"head.bia_\"");
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "'head.bias' is missing");
    memcpy(bad, s.bytes, s.size);
    replace_once(bad, s.size, "\\\"depth\\\":2", "\\\"depth\\\":0");
    expect_load_error(&s, bad, s.size, XF_EINVAL, "mlp.depth");
    memcpy(bad, s.bytes, s.size);
    replace_once(bad, s.size, "[2368,2380]", "[2368,2384]");
    expect_load_error(&s, bad, s.size, XF_EFORMAT, "data_offsets");

    xf_model m;
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.safetensors", s.dir);
    cr_assert_neq(xf_checkpoint_load(missing, &m), XF_OK);
    cr_assert(strstr(xf_error_message(), "none.safetensors"), "%s", xf_error_message());
    free(bad);
    saved_free(&s);
}
