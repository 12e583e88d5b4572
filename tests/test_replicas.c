/* The thread pool and data parallelism inside a step: a batch split over
 * model copies gives the logits and the gradient of the whole batch, for
 * every family, and training over several threads is reproducible and
 * agrees with one thread to float rounding. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "models/model.h"
#include "models/replicas.h"
#include "probe/features.h"
#include "support.h"
#include "train/optimizer.h"
#include "train/train.h"

typedef struct {
    int calls[4];
    int workers_seen[4];
} pool_tally;

static void count_call(void *ctx, int w, int workers) {
    pool_tally *t = ctx;
    t->calls[w]++; /* each worker writes only its own slot */
    t->workers_seen[w] = workers;
}

Test(pool, every_worker_runs_once_per_call) {
    for (int workers = 1; workers <= 4; workers++) {
        xf_pool p;
        cr_assert_eq(xf_pool_init(&p, workers), XF_OK);
        pool_tally t;
        memset(&t, 0, sizeof t);
        for (int i = 0; i < 300; i++) xf_pool_run(&p, count_call, &t);
        for (int w = 0; w < 4; w++) {
            cr_assert_eq(t.calls[w], w < workers ? 300 : 0, "workers %d, worker %d", workers, w);
            if (w < workers) cr_assert_eq(t.workers_seen[w], workers);
        }
        xf_pool_free(&p);
    }
    xf_pool p;
    test_expect_error(xf_pool_init(&p, 0), XF_EINVAL, "0 workers");
}

Test(pool, shares_cover_the_range_in_order_within_one_of_each_other) {
    const long sizes[] = {0, 1, 2, 7, 128, 1001};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int workers = 1; workers <= 5; workers++) {
            long next = 0, shortest = sizes[i], longest = 0;
            for (int w = 0; w < workers; w++) {
                long b, e;
                xf_pool_share(sizes[i], w, workers, &b, &e);
                cr_assert_eq(b, next);
                cr_assert_geq(e, b);
                next = e;
                if (e - b < shortest) shortest = e - b;
                if (e - b > longest) longest = e - b;
            }
            cr_assert_eq(next, sizes[i]);
            cr_assert_leq(longest - shortest, 1);
        }
}

static xf_model_config family_config(int i) {
    switch (i) {
    case 0:
        return (xf_model_config){.family = XF_FAMILY_MLP, .height = 6, .width = 5, .channels = 2,
                                 .n_classes = 4, .mlp = {.width = 24, .depth = 2}};
    case 1:
        return (xf_model_config){.family = XF_FAMILY_VIT, .height = 8, .width = 8, .channels = 1,
                                 .n_classes = 4,
                                 .vit = {.patch = 2, .dim = 16, .depth = 2, .heads = 2,
                                         .mlp_ratio = 2, .pool = XF_POOL_CLS}};
    case 2:
        return (xf_model_config){.family = XF_FAMILY_MIXER, .height = 8, .width = 8,
                                 .channels = 1, .n_classes = 4,
                                 .mixer = {.patch = 2, .dim = 16, .depth = 2,
                                           .token_mlp_dim = 8, .channel_mlp_dim = 32}};
    default: /* width 16: the direct conv kernel */
        return (xf_model_config){.family = XF_FAMILY_RESNET, .height = 8, .width = 8,
                                 .channels = 1, .n_classes = 4,
                                 .resnet = {.stages = 2, .blocks = {1, 1}, .base_width = 16,
                                            .norm = XF_NORM_GROUP_WS}};
    }
}

enum { BATCH = 11, N_FAMILIES_TESTED = 4 };

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* Largest |a - b| relative to the largest |a|. */
static double max_rel_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m / fmax(max_abs(a, n), 1e-30);
}

Test(replicas, split_batch_gives_the_whole_batch_logits_and_gradient) {
    for (int f = 0; f < N_FAMILIES_TESTED; f++) {
        xf_model_config cfg = family_config(f);
        xf_model m;
        cr_assert_eq(xf_model_init(&m, &cfg), XF_OK, "%s", xf_error_message());
        xf_model_init_weights(&m, 5);
        m.training = true;
        size_t image = (size_t)cfg.height * cfg.width * cfg.channels;
        size_t out = (size_t)BATCH * cfg.n_classes;
        float *x = malloc(sizeof(float) * image * BATCH), *dlogits = malloc(sizeof(float) * out);
        float *want_logits = malloc(sizeof(float) * out), *logits = malloc(sizeof(float) * out);
        float *want_grads = malloc(sizeof(float) * m.n_params);
        xf_rng rng;
        xf_rng_seed(&rng, 9);
        for (size_t i = 0; i < image * BATCH; i++) x[i] = (float)xf_rng_normal(&rng);
        for (size_t i = 0; i < out; i++) dlogits[i] = (float)xf_rng_normal(&rng) / BATCH;

        cr_assert_eq(xf_model_reserve(&m, BATCH), XF_OK);
        xf_model_forward(&m, x, BATCH, want_logits);
        xf_model_zero_grad(&m);
        xf_model_backward(&m, dlogits, BATCH);
        memcpy(want_grads, m.grads, sizeof(float) * m.n_params);

        for (int threads = 1; threads <= 4; threads += 1) {
            xf_blas_set_threads(2);
            xf_replicas r;
            cr_assert_eq(xf_replicas_init(&r, &m, threads, BATCH), XF_OK, "%s",
                         xf_error_message());
            cr_assert_eq(r.slices, threads);
            cr_assert_eq(xf_blas_threads(), threads > 1 ? 1 : 2);
            /* Stale gradients must not leak into the result. */
            for (size_t i = 0; i < m.n_params; i++) m.grads[i] = 1e6f;
            xf_replicas_forward(&r, x, BATCH, logits);
            xf_replicas_backward(&r, dlogits, BATCH);
            /* Rows of one image do not depend on the others: equal up to
             * the gemm kernel's blocking, which may differ with M. */
            cr_assert_leq(max_rel_diff(want_logits, logits, out), 1e-6, "family %d, %d threads",
                          f, threads);
            cr_assert_leq(max_rel_diff(want_grads, m.grads, m.n_params), 1e-5,
                          "family %d, %d threads: %g", f, threads,
                          max_rel_diff(want_grads, m.grads, m.n_params));
            /* A smaller batch than reserved, with slices left empty. */
            xf_replicas_forward(&r, x, 2, logits);
            xf_replicas_backward(&r, dlogits, 2);
            cr_assert(isfinite(max_abs(m.grads, m.n_params)));
            xf_replicas_free(&r);
            cr_assert_eq(xf_blas_threads(), 2, "OpenBLAS's thread count is restored");
        }
        free(x);
        free(dlogits);
        free(want_logits);
        free(logits);
        free(want_grads);
        xf_model_free(&m);
    }
}

Test(replicas, batch_statistics_keep_the_batch_whole) {
    xf_model_config cfg = family_config(3);
    cfg.resnet.norm = XF_NORM_BATCH;
    xf_model m;
    cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
    xf_blas_set_threads(2);
    xf_replicas r;
    cr_assert_eq(xf_replicas_init(&r, &m, 4, BATCH), XF_OK);
    cr_assert_eq(r.slices, 1);
    cr_assert_eq(xf_blas_threads(), 2);
    xf_replicas_free(&r);
    xf_model_free(&m);
}

static void quiet(void) { xf_log_set_level(XF_LOG_WARN); }

/* n 8x8 images of 3 classes: class c has rows 2c and 2c + 1 bright. */
static void make_bands(xf_dataset *ds, int n) {
    cr_assert_eq(xf_dataset_alloc(ds, "bands", n, 8, 8, 1, 3), XF_OK, "%s", xf_error_message());
    xf_rng rng;
    xf_rng_seed(&rng, 4);
    for (int i = 0; i < n; i++) {
        int c = (int)xf_rng_below(&rng, 3);
        ds->labels[i] = c;
        for (int p = 0; p < 64; p++)
            ds->images[i * 64 + p] =
                (uint8_t)(p / 16 == c ? 150 + xf_rng_below(&rng, 100) : xf_rng_below(&rng, 110));
    }
}

/* Trains the small ViT for a few steps on `threads` threads. */
static void train_vit(int threads, xf_model *m, xf_train_result *res) {
    xf_dataset ds;
    make_bands(&ds, 96);
    xf_model_config cfg = family_config(1);
    cfg.n_classes = 3;
    cr_assert_eq(xf_model_init(m, &cfg), XF_OK);
    xf_train_config tc;
    xf_train_config_default(&tc);
    tc.batch_size = 32;
    tc.epochs = 2;
    xf_blas_set_threads(threads);
    cr_assert_eq(xf_train(m, &ds, &tc, res), XF_OK, "%s", xf_error_message());
    cr_assert_eq(xf_blas_threads(), threads);
    xf_dataset_free(&ds);
}

Test(replicas, training_is_reproducible_per_thread_count_and_agrees_across_counts,
     .init = quiet) {
    xf_model one, two, two_again;
    xf_train_result r1, r2, r2b;
    train_vit(1, &one, &r1);
    train_vit(2, &two, &r2);
    train_vit(2, &two_again, &r2b);
    cr_assert_eq(r2.final_loss, r2b.final_loss);
    cr_assert_arr_eq(two.params, two_again.params, sizeof(float) * two.n_params);
    cr_assert_float_eq(r1.final_loss, r2.final_loss, 1e-5 * fabs(r1.final_loss));
    /* AdamW moves a weight whose gradient is rounding noise by about lr
     * either way, so compare what the models compute, not their weights. */
    float x[4 * 64], logits_one[4 * 3], logits_two[4 * 3];
    for (int i = 0; i < 4 * 64; i++) x[i] = (float)(i % 7) / 7;
    xf_model_forward(&one, x, 4, logits_one);
    xf_model_forward(&two, x, 4, logits_two);
    cr_assert_leq(max_rel_diff(logits_one, logits_two, 12), 1e-3, "%g",
                  max_rel_diff(logits_one, logits_two, 12));
    xf_model_free(&one);
    xf_model_free(&two);
    xf_model_free(&two_again);
}

Test(replicas, features_and_evaluation_split_over_threads_match_one_thread, .init = quiet) {
    xf_dataset ds;
    make_bands(&ds, 300); /* more than one extraction batch, not a multiple */
    for (int f = 1; f < N_FAMILIES_TESTED; f++) {
        xf_model_config cfg = family_config(f);
        cfg.n_classes = 3;
        xf_model m;
        cr_assert_eq(xf_model_init(&m, &cfg), XF_OK);
        xf_model_init_weights(&m, 2);
        xf_features one, three;
        double acc_one, acc_three;
        xf_blas_set_threads(1);
        cr_assert_eq(xf_features_extract(&m, &ds, NULL, ds.n, &one), XF_OK, "%s",
                     xf_error_message());
        cr_assert_eq(xf_evaluate(&m, &ds, &acc_one), XF_OK);
        xf_blas_set_threads(3);
        cr_assert_eq(xf_features_extract(&m, &ds, NULL, ds.n, &three), XF_OK);
        cr_assert_eq(xf_evaluate(&m, &ds, &acc_three), XF_OK);
        cr_assert_eq(xf_blas_threads(), 3);
        cr_assert_eq(acc_one, acc_three);
        for (int t = 0; t < m.n_taps; t++) {
            size_t n = (size_t)ds.n * one.dims[t];
            cr_assert_leq(max_rel_diff(one.data[t], three.data[t], n), 1e-6, "family %d tap %d",
                          f, t);
        }
        xf_features_free(&one);
        xf_features_free(&three);
        xf_model_free(&m);
    }
    xf_dataset_free(&ds);
}

/* Each optimizer's update is elementwise, so a step split over a pool (at
 * offsets inside tensors and inside the 8-wide vector loop) gives the same
 * bits as one thread. */
Test(replicas, optimizer_steps_over_a_pool_are_bit_identical) {
    xf_model_config cfg = family_config(1);
    xf_model a, b;
    cr_assert_eq(xf_model_init(&a, &cfg), XF_OK);
    cr_assert_eq(xf_model_init(&b, &cfg), XF_OK);
    xf_model_init_weights(&a, 3);
    xf_rng rng;
    xf_rng_seed(&rng, 8);
    for (size_t i = 0; i < a.n_params; i++) a.grads[i] = (float)xf_rng_normal(&rng);
    memcpy(b.params, a.params, sizeof(float) * a.n_params);
    memcpy(b.grads, a.grads, sizeof(float) * a.n_params);
    xf_pool pool;
    cr_assert_eq(xf_pool_init(&pool, 3), XF_OK);
    xf_adamw oa, ob;
    cr_assert_eq(xf_adamw_init(&oa, a.n_params, 0.9, 0.999, 1e-8), XF_OK);
    cr_assert_eq(xf_adamw_init(&ob, b.n_params, 0.9, 0.999, 1e-8), XF_OK);
    xf_sgd sa, sb;
    cr_assert_eq(xf_sgd_init(&sa, a.n_params, 0.9), XF_OK);
    cr_assert_eq(xf_sgd_init(&sb, b.n_params, 0.9), XF_OK);
    const xf_adamw_group body = {1e-3, 1e-4}, head = {3e-2, 0.5};
    oa.group[XF_GROUP_BODY] = ob.group[XF_GROUP_BODY] = sa.group[XF_GROUP_BODY] =
        sb.group[XF_GROUP_BODY] = body;
    oa.group[XF_GROUP_HEAD] = ob.group[XF_GROUP_HEAD] = sa.group[XF_GROUP_HEAD] =
        sb.group[XF_GROUP_HEAD] = head;
    for (int step = 0; step < 3; step++) {
        xf_adamw_step(&oa, &a, 0.7, NULL);
        xf_adamw_step(&ob, &b, 0.7, &pool);
        xf_sgd_step(&sa, &a, 0.5, NULL);
        xf_sgd_step(&sb, &b, 0.5, &pool);
    }
    cr_assert_arr_eq(a.params, b.params, sizeof(float) * a.n_params);
    cr_assert_arr_eq(oa.m, ob.m, sizeof(float) * a.n_params);
    cr_assert_arr_eq(oa.v, ob.v, sizeof(float) * a.n_params);
    cr_assert_arr_eq(sa.buf, sb.buf, sizeof(float) * a.n_params);
    /* and the step moved every parameter of both groups */
    xf_model fresh;
    cr_assert_eq(xf_model_init(&fresh, &cfg), XF_OK);
    xf_model_init_weights(&fresh, 3);
    for (size_t i = 0; i < a.n_params; i++) cr_assert_neq(a.params[i], fresh.params[i], "%zu", i);
    xf_model_free(&fresh);
    xf_adamw_free(&oa);
    xf_adamw_free(&ob);
    xf_sgd_free(&sa);
    xf_sgd_free(&sb);
    xf_pool_free(&pool);
    xf_model_free(&a);
    xf_model_free(&b);
}
