/* Optimizers over a model's flat parameter buffer, with per-group (body /
 * head) learning rate and weight decay, and global gradient-norm clipping.
 *
 * AdamW matches torch.optim.AdamW: decoupled decay p -= lr * wd * p, then
 * the Adam step with bias correction. SGD matches torch.optim.SGD with
 * momentum (dampening 0, not Nesterov): the decay is added to the gradient,
 * d = g + wd p, buf = momentum buf + d, p -= lr buf. State (moments,
 * momentum buffer) lives in contiguous buffers the size of the parameters. */
#ifndef XF_OPTIMIZER_H
#define XF_OPTIMIZER_H

#include <stddef.h>

#include "core/pool.h"
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
 * lr_scale (the schedule's factor), as a torch LR scheduler would. The
 * update is elementwise: with a pool each worker updates a range of the
 * parameters, and the result is the same bits as without (pool NULL). */
void xf_adamw_step(xf_adamw *opt, xf_model *m, double lr_scale, xf_pool *pool);

typedef struct {
    xf_adamw_group group[2]; /* indexed by xf_param_group */
    double momentum;
    float *buf;              /* momentum buffer, n floats (NULL when momentum is 0) */
    size_t n;
    long t;
} xf_sgd;

/* A zeroed momentum buffer (torch's first step, buf = d, is the same as
 * 0 * momentum + d); groups are set by the caller. */
xf_status xf_sgd_init(xf_sgd *opt, size_t n_params, double momentum);
void xf_sgd_free(xf_sgd *opt);
/* As xf_adamw_step. */
void xf_sgd_step(xf_sgd *opt, xf_model *m, double lr_scale, xf_pool *pool);

/* torch.nn.utils.clip_grad_norm_ over every gradient of m: when
 * c = max_norm / (norm + 1e-6) is below 1, with norm the global L2 norm,
 * scales all gradients by c. Returns the norm before clipping (summed in
 * double). max_norm <= 0 only measures. */
double xf_clip_grad_norm(xf_model *m, double max_norm);

#endif
