/* Pre-training: AdamW or SGD with momentum, separate head lr / weight decay,
 * linear warmup then cosine or linear decay, global gradient-norm clipping,
 * softmax cross-entropy with optional label smoothing, random crop + flip
 * augmentation; and evaluation. Each follows its PyTorch namesake. */
#ifndef XF_TRAIN_H
#define XF_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "models/model.h"

typedef enum { XF_OPTIMIZER_ADAMW = 0, XF_OPTIMIZER_SGD = 1 } xf_optimizer_kind;
typedef enum { XF_DECAY_COSINE = 0, XF_DECAY_LINEAR = 1 } xf_decay_kind;

typedef struct {
    int epochs;
    int batch_size;
    double lr, weight_decay;           /* body group */
    double head_lr, head_weight_decay; /* head group */
    double warmup_fraction;            /* of all steps, linear from 0 */
    double beta1, beta2, eps;          /* AdamW */
    xf_optimizer_kind optimizer;
    double momentum;                   /* SGD (PyTorch's, with weight decay added to the grad) */
    xf_decay_kind decay;               /* after warmup */
    double clip_norm;                  /* global gradient-norm clip; 0 = off */
    double label_smoothing;            /* 0 = off */
    int crop_padding;                  /* random crop after zero padding; 0 = off */
    bool flip;                         /* random horizontal flip */
    uint64_t seed;                     /* weight init */
    uint64_t data_seed;                /* data order */
    uint64_t augment_seed;             /* crops and flips */
} xf_train_config;

/* Sensible defaults: 1 epoch, batch 128, AdamW, lr 1e-3, wd 1e-4, head lr =
 * lr, head wd = wd, warmup 5% then cosine, betas (0.9, 0.999), eps 1e-8,
 * momentum 0.9 (used by SGD only), no clipping, no label smoothing, no
 * augmentation, all three seeds 0. The seeds feed separate streams, so
 * equal seeds do not correlate init, order and augmentation. */
void xf_train_config_default(xf_train_config *cfg);

typedef struct {
    double final_loss;  /* mean training loss over the last epoch */
    long steps;
    double seconds;
    double train_flops; /* 3 x forward FLOPs x images seen */
} xf_train_result;

/* Initialises m's weights from cfg->seed and trains it on `train` with
 * m->training set (BatchNorm uses batch statistics); leaves it cleared.
 * Every buffer is allocated before the first step. Returns XF_EDIVERGED
 * (with the step in the message) when the loss becomes NaN or Inf; shows a
 * progress line. */
xf_status xf_train(xf_model *m, const xf_dataset *train, const xf_train_config *cfg,
                   xf_train_result *result);

/* Top-1 accuracy of m on `test`, in [0, 1], with m->training cleared. */
xf_status xf_evaluate(xf_model *m, const xf_dataset *test, double *accuracy);

#endif
