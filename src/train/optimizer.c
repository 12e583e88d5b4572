#include "train/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

xf_status xf_adamw_init(xf_adamw *opt, size_t n_params, double beta1, double beta2, double eps) {
    memset(opt, 0, sizeof *opt);
    opt->m = xf_calloc(n_params ? n_params : 1, sizeof(float));
    opt->v = xf_calloc(n_params ? n_params : 1, sizeof(float));
    if (!opt->m || !opt->v) {
        xf_adamw_free(opt);
        return XF_ENOMEM;
    }
    opt->n = n_params;
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    return XF_OK;
}

void xf_adamw_free(xf_adamw *opt) {
    free(opt->m);
    free(opt->v);
    memset(opt, 0, sizeof *opt);
}

/* The coefficients come in as floats computed in double (1 - b1, not
 * 1 - (float)b1, which is off by 1e-5 relative for b2 = 0.999), as torch
 * computes them. */
typedef struct {
    float decay, b1, one_minus_b1, b2, one_minus_b2, step, inv_sqrt_bc2, eps;
} coefficients;

static void update(float *restrict p, const float *restrict g, float *restrict m,
                   float *restrict v, size_t n, const coefficients *k) {
    const coefficients c = *k;
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * c.decay;
        m[i] = c.b1 * m[i] + c.one_minus_b1 * g[i];
        v[i] = c.b2 * v[i] + c.one_minus_b2 * g[i] * g[i];
        p[i] = pi - c.step * m[i] / (sqrtf(v[i]) * c.inv_sqrt_bc2 + c.eps);
    }
}

void xf_adamw_step(xf_adamw *opt, xf_model *m, double lr_scale) {
    XF_ASSERT(opt->n == m->n_params);
    opt->t++;
    double bc1 = 1 - pow(opt->beta1, (double)opt->t);
    double bc2 = 1 - pow(opt->beta2, (double)opt->t);
    for (int i = 0; i < m->n_tensors; i++) {
        const xf_tensor_info *t = &m->tensors[i];
        const xf_adamw_group *g = &opt->group[t->group];
        double lr = g->lr * lr_scale;
        coefficients k = {
            .decay = (float)(1 - lr * g->weight_decay),
            .b1 = (float)opt->beta1,
            .one_minus_b1 = (float)(1 - opt->beta1),
            .b2 = (float)opt->beta2,
            .one_minus_b2 = (float)(1 - opt->beta2),
            .step = (float)(lr / bc1),
            .inv_sqrt_bc2 = (float)(1 / sqrt(bc2)),
            .eps = (float)opt->eps,
        };
        size_t o = t->offset;
        update(m->params + o, m->grads + o, opt->m + o, opt->v + o, t->numel, &k);
    }
}
