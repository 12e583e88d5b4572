/* The training loop and evaluation (train.h).
 *
 * Each epoch shuffles the training set with a stream seeded from
 * cfg->data_seed and cuts it into full batches; the last partial batch is dropped, as
 * bench/mlp_torch.py's peer does, so every step sees the same batch size
 * (a set smaller than one batch trains on batches of all its images). All
 * buffers are allocated before the first step. */
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/mem.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/timer.h"
#include "models/replicas.h"
#include "nn/loss.h"
#include "train/augment.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/train_settings.h"

/* Keep the data-order and augmentation streams apart from the weight-init
 * stream when the seeds are equal. */
static const uint64_t ORDER_STREAM = 0x6f72646572ULL;
static const uint64_t AUGMENT_STREAM = 0x6175676d656eULL;
/* Images per evaluation forward, split over the threads. */
enum { EVAL_BATCH = 256 };

void xf_train_config_default(xf_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    /* The user's settings take their defaults from their one table. */
    xf_settings_apply_defaults(xf_train_settings, xf_train_n_settings, cfg);
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
}

static xf_status check_data(const xf_model *m, const xf_dataset *ds) {
    const xf_model_config *c = &m->config;
    xf_status st = xf_dataset_validate(ds, ds->name);
    if (st != XF_OK) return st;
    if (ds->height != c->height || ds->width != c->width || ds->channels != c->channels)
        return xf_fail(XF_EINVAL, "%s: images are %d x %d x %d, the model takes %d x %d x %d",
                       ds->name, ds->height, ds->width, ds->channels, c->height, c->width,
                       c->channels);
    if (ds->n_classes > c->n_classes)
        return xf_fail(XF_EINVAL, "%s: %d classes, the model predicts %d", ds->name,
                       ds->n_classes, c->n_classes);
    return XF_OK;
}

static xf_status check_config(const xf_train_config *c) {
    if (c->epochs < 1)
        return xf_fail(XF_EINVAL, "train config: epochs %d, expected >= 1", c->epochs);
    if (c->batch_size < 1)
        return xf_fail(XF_EINVAL, "train config: batch_size %d, expected >= 1", c->batch_size);
    const struct {
        const char *name;
        double v;
    } nonneg[] = {{"lr", c->lr},
                  {"weight_decay", c->weight_decay},
                  {"head_lr", c->head_lr},
                  {"head_weight_decay", c->head_weight_decay},
                  {"eps", c->eps},
                  {"clip_norm", c->clip_norm}};
    for (size_t i = 0; i < sizeof nonneg / sizeof nonneg[0]; i++)
        if (!(nonneg[i].v >= 0) || !isfinite(nonneg[i].v))
            return xf_fail(XF_EINVAL, "train config: %s %g, expected a finite value >= 0",
                           nonneg[i].name, nonneg[i].v);
    if (!(c->warmup_fraction >= 0 && c->warmup_fraction <= 1))
        return xf_fail(XF_EINVAL, "train config: warmup_fraction %g, expected 0..1",
                       c->warmup_fraction);
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
        return xf_fail(XF_EINVAL, "train config: betas (%g, %g), expected each in [0, 1)",
                       c->beta1, c->beta2);
    if (c->optimizer != XF_OPTIMIZER_ADAMW && c->optimizer != XF_OPTIMIZER_SGD)
        return xf_fail(XF_EINVAL, "train config: optimizer %d, expected adamw (0) or sgd (1)",
                       (int)c->optimizer);
    if (c->decay != XF_DECAY_COSINE && c->decay != XF_DECAY_LINEAR)
        return xf_fail(XF_EINVAL, "train config: decay %d, expected cosine (0) or linear (1)",
                       (int)c->decay);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return xf_fail(XF_EINVAL, "train config: momentum %g, expected in [0, 1)", c->momentum);
    if (!(c->label_smoothing >= 0 && c->label_smoothing <= 1))
        return xf_fail(XF_EINVAL, "train config: label_smoothing %g, expected 0..1",
                       c->label_smoothing);
    if (c->crop_padding < 0 || c->crop_padding > 4096)
        return xf_fail(XF_EINVAL, "train config: crop_padding %d, expected 0..4096",
                       c->crop_padding);
    return XF_OK;
}

typedef struct {
    int *order;
    float *x, *logits, *dlogits, *scratch;
    int32_t *labels;
} buffers;

static void buffers_free(buffers *b) {
    free(b->order);
    free(b->scratch);
    free(b->x);
    free(b->logits);
    free(b->dlogits);
    free(b->labels);
}

static xf_status buffers_alloc(buffers *b, const xf_model *m, const xf_dataset *ds, int batch,
                               bool train) {
    memset(b, 0, sizeof *b);
    size_t out = (size_t)batch * m->config.n_classes;
    b->order = xf_malloc(sizeof(int) * (size_t)ds->n);
    b->x = xf_malloc(sizeof(float) * xf_dataset_image_size(ds) * (size_t)batch);
    b->logits = xf_malloc(sizeof(float) * out);
    b->labels = xf_malloc(sizeof(int32_t) * (size_t)batch);
    b->dlogits = train ? xf_malloc(sizeof(float) * out) : NULL;
    b->scratch = train ? xf_malloc(sizeof(float) * xf_dataset_image_size(ds)) : NULL;
    if (!b->order || !b->x || !b->logits || !b->labels ||
        (train && (!b->dlogits || !b->scratch))) {
        buffers_free(b);
        return XF_ENOMEM;
    }
    for (int i = 0; i < ds->n; i++) b->order[i] = i;
    return XF_OK;
}

/* The optimizer the config asks for, behind one step call. */
typedef struct {
    xf_optimizer_kind kind;
    xf_adamw adamw;
    xf_sgd sgd;
} optimizer;

static xf_status optimizer_init(optimizer *o, const xf_model *m, const xf_train_config *cfg) {
    memset(o, 0, sizeof *o);
    o->kind = cfg->optimizer;
    xf_adamw_group body = {cfg->lr, cfg->weight_decay};
    xf_adamw_group head = {cfg->head_lr, cfg->head_weight_decay};
    xf_status st;
    if (o->kind == XF_OPTIMIZER_SGD) {
        st = xf_sgd_init(&o->sgd, m->n_params, cfg->momentum);
        o->sgd.group[XF_GROUP_BODY] = body;
        o->sgd.group[XF_GROUP_HEAD] = head;
    } else {
        st = xf_adamw_init(&o->adamw, m->n_params, cfg->beta1, cfg->beta2, cfg->eps);
        o->adamw.group[XF_GROUP_BODY] = body;
        o->adamw.group[XF_GROUP_HEAD] = head;
    }
    return st;
}

static void optimizer_step(optimizer *o, xf_model *m, double lr_scale, xf_pool *pool) {
    if (o->kind == XF_OPTIMIZER_SGD)
        xf_sgd_step(&o->sgd, m, lr_scale, pool);
    else
        xf_adamw_step(&o->adamw, m, lr_scale, pool);
}

static void optimizer_free(optimizer *o) {
    if (o->kind == XF_OPTIMIZER_SGD)
        xf_sgd_free(&o->sgd);
    else
        xf_adamw_free(&o->adamw);
}

xf_status xf_train(xf_model *m, const xf_dataset *train, const xf_train_config *cfg,
                   xf_train_result *result) {
    memset(result, 0, sizeof *result);
    xf_status st;
    if ((st = check_config(cfg)) || (st = check_data(m, train))) return st;
    int batch = cfg->batch_size < train->n ? cfg->batch_size : train->n;
    long per_epoch = train->n / batch, total = per_epoch * cfg->epochs;
    buffers b;
    if ((st = buffers_alloc(&b, m, train, batch, true))) return st;
    optimizer opt;
    if ((st = optimizer_init(&opt, m, cfg))) {
        buffers_free(&b);
        return st;
    }
    xf_replicas team;
    if ((st = xf_replicas_init(&team, m, xf_blas_threads(), batch))) {
        optimizer_free(&opt);
        buffers_free(&b);
        return st;
    }
    xf_model_init_weights(m, cfg->seed);
    bool taps_were = m->taps_enabled;
    m->taps_enabled = false;
    m->training = true;

    xf_rng order, augment;
    xf_rng_seed(&order, cfg->data_seed ^ ORDER_STREAM);
    xf_rng_seed(&augment, cfg->augment_seed ^ AUGMENT_STREAM);
    bool augmenting = cfg->crop_padding > 0 || cfg->flip;
    char label[96], extra[32];
    snprintf(label, sizeof label, "pretrain %s", train->name);
    xf_progress progress;
    xf_progress_init(&progress, label, "img", (size_t)total * batch);
    double start = xf_now(), epoch_loss = 0;
    long step = 0;
    for (int epoch = 0; epoch < cfg->epochs && st == XF_OK; epoch++) {
        xf_rng_shuffle(&order, b.order, (size_t)train->n);
        epoch_loss = 0;
        for (long i = 0; i < per_epoch; i++, step++) {
            xf_dataset_gather(train, b.order + i * batch, batch, b.x, b.labels);
            if (augmenting)
                xf_augment_batch(b.x, batch, train->height, train->width, train->channels,
                                 cfg->crop_padding, cfg->flip, &augment, b.scratch);
            xf_replicas_forward(&team, b.x, batch, b.logits);
            double loss = xf_softmax_xent_smoothed(b.logits, b.labels, batch,
                                                   m->config.n_classes, cfg->label_smoothing,
                                                   b.dlogits);
            if (!isfinite(loss)) {
                st = xf_fail(XF_EDIVERGED, "training on %s diverged at step %ld of %ld "
                             "(epoch %d): loss %g", train->name, step + 1, total, epoch + 1, loss);
                break;
            }
            xf_replicas_backward(&team, b.dlogits, batch);
            if (cfg->clip_norm > 0) xf_clip_grad_norm(m, cfg->clip_norm);
            optimizer_step(&opt, m,
                           xf_schedule_factor_decay(step, total, cfg->warmup_fraction, cfg->decay),
                           &team.pool);
            epoch_loss += loss;
            snprintf(extra, sizeof extra, "loss %.4g", loss);
            xf_progress_add(&progress, (size_t)batch, extra);
        }
    }
    if (st == XF_OK) {
        result->final_loss = epoch_loss / per_epoch;
        snprintf(extra, sizeof extra, "loss %.4g", result->final_loss);
        xf_progress_finish(&progress, extra);
    }
    result->steps = step;
    result->seconds = xf_now() - start;
    result->train_flops = 3 * m->flops_per_image * (double)step * batch;
    m->taps_enabled = taps_were;
    m->training = false;
    xf_replicas_free(&team);
    optimizer_free(&opt);
    buffers_free(&b);
    return st;
}

xf_status xf_evaluate(xf_model *m, const xf_dataset *test, double *accuracy) {
    *accuracy = 0;
    xf_status st = check_data(m, test);
    if (st != XF_OK) return st;
    int batch = EVAL_BATCH < test->n ? EVAL_BATCH : test->n;
    buffers b;
    if ((st = buffers_alloc(&b, m, test, batch, false))) return st;
    bool taps_were = m->taps_enabled;
    m->taps_enabled = false;
    m->training = false;
    xf_replicas team;
    if ((st = xf_replicas_init(&team, m, xf_blas_threads(), batch))) {
        m->taps_enabled = taps_were;
        buffers_free(&b);
        return st;
    }
    int classes = m->config.n_classes;
    long correct = 0;
    for (int start = 0; start < test->n; start += batch) {
        int count = test->n - start < batch ? test->n - start : batch;
        xf_dataset_gather(test, b.order + start, count, b.x, b.labels);
        xf_replicas_forward(&team, b.x, count, b.logits);
        for (int i = 0; i < count; i++) {
            const float *z = b.logits + (size_t)i * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (z[c] > z[best]) best = c;
            correct += best == b.labels[i];
        }
    }
    xf_replicas_free(&team);
    m->taps_enabled = taps_were;
    buffers_free(&b);
    *accuracy = (double)correct / test->n;
    return XF_OK;
}
