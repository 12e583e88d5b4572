#include "train/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "nn/kernels.h"

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

/* The coefficients (nn/kernels.h's xf_adamw_coefficients) come in as
 * floats computed in double (1 - b1, not 1 - (float)b1, which is off by
 * 1e-5 relative for b2 = 0.999), as torch computes them. The update is the
 * kernels' (an AVX loop where the CPU has it, the same bits as the scalar
 * one). */
typedef xf_adamw_coefficients coefficients;

/* fn(job, offset, count, group) for the part of every tensor inside
 * [p0, p1): the offset serves params, grads and the optimizer's state. */
typedef void (*range_update)(void *job, size_t offset, size_t count, xf_param_group group);

static void for_tensors_in_range(const xf_model *m, long p0, long p1, range_update fn,
                                 void *job) {
    for (int i = 0; i < m->n_tensors; i++) {
        const xf_tensor_info *t = &m->tensors[i];
        size_t lo = t->offset > (size_t)p0 ? t->offset : (size_t)p0;
        size_t hi = t->offset + t->numel < (size_t)p1 ? t->offset + t->numel : (size_t)p1;
        if (lo < hi) fn(job, lo, hi - lo, t->group);
    }
}

/* The elementwise update of one optimizer, handed a range at a time. */
typedef struct {
    xf_model *m;
    range_update fn;
    void *job;
} range_walk;

static void walk_share(void *ctx, int w, int workers) {
    range_walk *walk = ctx;
    long p0, p1;
    xf_pool_share((long)walk->m->n_params, w, workers, &p0, &p1);
    for_tensors_in_range(walk->m, p0, p1, walk->fn, walk->job);
}

static void walk_all(xf_model *m, range_update fn, void *job, xf_pool *pool) {
    range_walk walk = {m, fn, job};
    if (pool)
        xf_pool_run(pool, walk_share, &walk);
    else
        walk_share(&walk, 0, 1);
}

typedef struct {
    xf_adamw *opt;
    xf_model *m;
    coefficients k[2]; /* per group */
} adamw_job;

static void adamw_range(void *job, size_t o, size_t count, xf_param_group group) {
    adamw_job *j = job;
    xf_kernels()->adamw_update(j->m->params + o, j->m->grads + o, j->opt->m + o, j->opt->v + o,
                               count, &j->k[group]);
}

void xf_adamw_step(xf_adamw *opt, xf_model *m, double lr_scale, xf_pool *pool) {
    XF_ASSERT(opt->n == m->n_params);
    opt->t++;
    double bc1 = 1 - pow(opt->beta1, (double)opt->t);
    double bc2 = 1 - pow(opt->beta2, (double)opt->t);
    adamw_job j = {.opt = opt, .m = m};
    for (int grp = 0; grp < 2; grp++) {
        const xf_adamw_group *g = &opt->group[grp];
        double lr = g->lr * lr_scale;
        j.k[grp] = (coefficients){
            .decay = (float)(1 - lr * g->weight_decay),
            .b1 = (float)opt->beta1,
            .one_minus_b1 = (float)(1 - opt->beta1),
            .b2 = (float)opt->beta2,
            .one_minus_b2 = (float)(1 - opt->beta2),
            .step = (float)(lr / bc1),
            .inv_sqrt_bc2 = (float)(1 / sqrt(bc2)),
            .eps = (float)opt->eps,
        };
    }
    walk_all(m, adamw_range, &j, pool);
}

xf_status xf_sgd_init(xf_sgd *opt, size_t n_params, double momentum) {
    memset(opt, 0, sizeof *opt);
    if (momentum != 0) {
        opt->buf = xf_calloc(n_params ? n_params : 1, sizeof(float));
        if (!opt->buf) return XF_ENOMEM;
    }
    opt->n = n_params;
    opt->momentum = momentum;
    return XF_OK;
}

void xf_sgd_free(xf_sgd *opt) {
    free(opt->buf);
    memset(opt, 0, sizeof *opt);
}

/* Rounded to float as torch rounds a Python scalar for a float tensor, and
 * in torch's order of operations, so the steps agree to the last bit. */
static void sgd_update(float *restrict p, const float *restrict g, float *restrict buf,
                       size_t n, float wd, float momentum, float lr) {
    if (!buf) {
        for (size_t i = 0; i < n; i++) p[i] = p[i] + (-lr) * (g[i] + wd * p[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * p[i];
        buf[i] = buf[i] * momentum + d;
        p[i] = p[i] + (-lr) * buf[i];
    }
}

typedef struct {
    xf_sgd *opt;
    xf_model *m;
    float wd[2], lr[2]; /* per group */
} sgd_job;

static void sgd_range(void *job, size_t o, size_t count, xf_param_group group) {
    sgd_job *j = job;
    xf_model *m = j->m;
    sgd_update(m->params + o, m->grads + o, j->opt->buf ? j->opt->buf + o : NULL, count,
               j->wd[group], (float)j->opt->momentum, j->lr[group]);
}

void xf_sgd_step(xf_sgd *opt, xf_model *m, double lr_scale, xf_pool *pool) {
    XF_ASSERT(opt->n == m->n_params);
    opt->t++;
    sgd_job j = {.opt = opt, .m = m};
    for (int grp = 0; grp < 2; grp++) {
        j.wd[grp] = (float)opt->group[grp].weight_decay;
        j.lr[grp] = (float)(opt->group[grp].lr * lr_scale);
    }
    walk_all(m, sgd_range, &j, pool);
}

double xf_clip_grad_norm(xf_model *m, double max_norm) {
    double ss = 0;
    const float *g = m->grads;
    for (size_t i = 0; i < m->n_params; i++) ss += (double)g[i] * g[i];
    double norm = sqrt(ss);
    /* In float and as a reciprocal times max_norm: torch evaluates
     * max_norm / (norm + 1e-6) on its float norm tensor that way. */
    float coef = (float)max_norm * (1.0f / ((float)norm + 1e-6f));
    if (max_norm > 0 && coef < 1)
        for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= coef;
    return norm;
}
