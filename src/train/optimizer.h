/* AdamW over a model's flat parameter buffer, with per-group (body / head)
 * learning rate and weight decay. It matches torch.optim.AdamW: decoupled
 * decay p -= lr * wd * p, then the Adam step with bias correction. The two
 * moments each live in one contiguous buffer the size of the parameters. */
#ifndef XF_OPTIMIZER_H
#define XF_OPTIMIZER_H

#include <stddef.h>

#include "models/model.h"

typedef struct {
    double lr, weight_decay;
} xf_adamw_group;

typedef struct {
    xf_adamw_group group[2]; /* indexed by xf_param_group */
    double beta1, beta2, eps;
    float *m, *v;            /* first and second moments, n floats each */
    size_t n;
    long t;                  /* steps taken */
} xf_adamw;

/* Zeroed moments for a model of n_params; groups are set by the caller. */
xf_status xf_adamw_init(xf_adamw *opt, size_t n_params, double beta1, double beta2, double eps);
void xf_adamw_free(xf_adamw *opt);

/* One step on m->params from m->grads; every group's lr is multiplied by
 * lr_scale (the schedule's factor), as a torch LR scheduler would. */
void xf_adamw_step(xf_adamw *opt, xf_model *m, double lr_scale);

#endif
