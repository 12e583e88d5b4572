/* The training loop and evaluation (train.h).
 *
 * Each epoch shuffles the training set with a stream seeded from cfg->seed
 * and cuts it into full batches; the last partial batch is dropped, as
 * bench/mlp_torch.py's peer does, so every step sees the same batch size
 * (a set smaller than one batch trains on batches of all its images). All
 * buffers are allocated before the first step. */
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/timer.h"
#include "nn/loss.h"
#include "train/optimizer.h"
#include "train/schedule.h"

/* Keeps the data-order stream apart from the weight-init stream of the
 * same seed. */
static const uint64_t ORDER_STREAM = 0x6f72646572ULL;

void xf_train_config_default(xf_train_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->epochs = 1;
    cfg->batch_size = 128;
    cfg->lr = 1e-3;
    cfg->weight_decay = 1e-4;
    cfg->head_lr = cfg->lr;
    cfg->head_weight_decay = cfg->weight_decay;
    cfg->warmup_fraction = 0.05;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->seed = 0;
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
                  {"eps", c->eps}};
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
    return XF_OK;
}

typedef struct {
    int *order;
    float *x, *logits, *dlogits;
    int32_t *labels;
} buffers;

static void buffers_free(buffers *b) {
    free(b->order);
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
    if (!b->order || !b->x || !b->logits || !b->labels || (train && !b->dlogits)) {
        buffers_free(b);
        return XF_ENOMEM;
    }
    for (int i = 0; i < ds->n; i++) b->order[i] = i;
    return XF_OK;
}

xf_status xf_train(xf_model *m, const xf_dataset *train, const xf_train_config *cfg,
                   xf_train_result *result) {
    memset(result, 0, sizeof *result);
    xf_status st;
    if ((st = check_config(cfg)) || (st = check_data(m, train))) return st;
    int batch = cfg->batch_size < train->n ? cfg->batch_size : train->n;
    long per_epoch = train->n / batch, total = per_epoch * cfg->epochs;
    if ((st = xf_model_reserve(m, batch))) return st;
    buffers b;
    if ((st = buffers_alloc(&b, m, train, batch, true))) return st;
    xf_adamw opt;
    if ((st = xf_adamw_init(&opt, m->n_params, cfg->beta1, cfg->beta2, cfg->eps))) {
        buffers_free(&b);
        return st;
    }
    opt.group[XF_GROUP_BODY] = (xf_adamw_group){cfg->lr, cfg->weight_decay};
    opt.group[XF_GROUP_HEAD] = (xf_adamw_group){cfg->head_lr, cfg->head_weight_decay};
    xf_model_init_weights(m, cfg->seed);
    bool taps_were = m->taps_enabled;
    m->taps_enabled = false;

    xf_rng rng;
    xf_rng_seed(&rng, cfg->seed ^ ORDER_STREAM);
    char label[96], extra[32];
    snprintf(label, sizeof label, "pretrain %s", train->name);
    xf_progress progress;
    xf_progress_init(&progress, label, "img", (size_t)total * batch);
    double start = xf_now(), epoch_loss = 0;
    long step = 0;
    for (int epoch = 0; epoch < cfg->epochs && st == XF_OK; epoch++) {
        xf_rng_shuffle(&rng, b.order, (size_t)train->n);
        epoch_loss = 0;
        for (long i = 0; i < per_epoch; i++, step++) {
            xf_dataset_gather(train, b.order + i * batch, batch, b.x, b.labels);
            xf_model_forward(m, b.x, batch, b.logits);
            double loss = xf_softmax_xent(b.logits, b.labels, batch, m->config.n_classes,
                                          b.dlogits);
            if (!isfinite(loss)) {
                st = xf_fail(XF_EDIVERGED, "training on %s diverged at step %ld of %ld "
                             "(epoch %d): loss %g", train->name, step + 1, total, epoch + 1, loss);
                break;
            }
            xf_model_zero_grad(m);
            xf_model_backward(m, b.dlogits, batch);
            xf_adamw_step(&opt, m, xf_schedule_factor(step, total, cfg->warmup_fraction));
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
    xf_adamw_free(&opt);
    buffers_free(&b);
    return st;
}

xf_status xf_evaluate(xf_model *m, const xf_dataset *test, double *accuracy) {
    *accuracy = 0;
    xf_status st = check_data(m, test);
    if (st != XF_OK) return st;
    /* Reuse the arena the model has; evaluation needs no particular size. */
    int batch = m->reserved_batch > 0 ? m->reserved_batch : 256;
    if (batch > test->n) batch = test->n;
    if ((st = xf_model_reserve(m, batch))) return st;
    buffers b;
    if ((st = buffers_alloc(&b, m, test, batch, false))) return st;
    bool taps_were = m->taps_enabled;
    m->taps_enabled = false;
    int classes = m->config.n_classes;
    long correct = 0;
    for (int start = 0; start < test->n; start += batch) {
        int count = test->n - start < batch ? test->n - start : batch;
        xf_dataset_gather(test, b.order + start, count, b.x, b.labels);
        xf_model_forward(m, b.x, count, b.logits);
        for (int i = 0; i < count; i++) {
            const float *z = b.logits + (size_t)i * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (z[c] > z[best]) best = c;
            correct += best == b.labels[i];
        }
    }
    m->taps_enabled = taps_were;
    buffers_free(&b);
    *accuracy = (double)correct / test->n;
    return XF_OK;
}
