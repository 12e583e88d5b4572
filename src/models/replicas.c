#include "models/replicas.h"

#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/mem.h"

xf_status xf_replicas_init(xf_replicas *r, xf_model *m, int threads, int batch) {
    memset(r, 0, sizeof *r);
    int slices = threads < batch ? threads : batch;
    if (slices < 1 || m->n_state > 0) slices = 1;
    int per_slice = (batch + slices - 1) / slices;
    xf_status st = xf_model_reserve(m, per_slice);
    if (st != XF_OK) return st;
    r->model = m;
    r->slices = slices;
    r->blas_threads = xf_blas_threads();
    if (slices > 1) {
        r->copies = xf_calloc((size_t)slices - 1, sizeof(xf_model));
        if (!r->copies) st = XF_ENOMEM;
        for (int i = 0; st == XF_OK && i < slices - 1; i++)
            if ((st = xf_model_init_sharing(&r->copies[i], m)) == XF_OK)
                st = xf_model_reserve(&r->copies[i], per_slice);
    }
    if (st == XF_OK) st = xf_pool_init(&r->pool, slices);
    if (st != XF_OK) {
        xf_replicas_free(r);
        return st;
    }
    if (slices > 1) xf_blas_set_threads(1);
    return XF_OK;
}

/* Safe on a zeroed or half-built team. */
void xf_replicas_free(xf_replicas *r) {
    if (r->copies) {
        for (int i = 0; i < r->slices - 1; i++) xf_model_free(&r->copies[i]);
        free(r->copies);
        xf_blas_set_threads(r->blas_threads);
    }
    if (r->pool.workers > 0) xf_pool_free(&r->pool);
    memset(r, 0, sizeof *r);
}

static xf_model *slice_model(xf_replicas *r, int s) {
    return s == 0 ? r->model : &r->copies[s - 1];
}

typedef struct {
    xf_replicas *r;
    const float *in; /* x or dlogits */
    float *logits;
    int batch;
} slice_job;

static void forward_slice(void *ctx, int s, int slices) {
    const slice_job *j = ctx;
    long b0, b1;
    xf_pool_share(j->batch, s, slices, &b0, &b1);
    if (b1 == b0) return;
    xf_model *m = slice_model(j->r, s);
    const xf_model_config *c = &m->config;
    size_t image = (size_t)c->height * c->width * c->channels;
    if (s > 0) {
        m->training = j->r->model->training;
        m->taps_enabled = j->r->model->taps_enabled;
    }
    xf_model_forward(m, j->in + b0 * image, (int)(b1 - b0),
                     j->logits + b0 * (size_t)c->n_classes);
}

static void backward_slice(void *ctx, int s, int slices) {
    const slice_job *j = ctx;
    long b0, b1;
    xf_pool_share(j->batch, s, slices, &b0, &b1);
    xf_model *m = slice_model(j->r, s);
    xf_model_zero_grad(m);
    if (b1 > b0)
        xf_model_backward(m, j->in + b0 * (size_t)m->config.n_classes, (int)(b1 - b0));
}

/* restrict: vectorised without a runtime overlap check. */
static void add_into(float *restrict g, const float *restrict add, long n) {
    for (long i = 0; i < n; i++) g[i] += add[i];
}

/* model->grads += each copy's, in copy order, over this worker's range. */
static void sum_slice_grads(void *ctx, int w, int workers) {
    xf_replicas *r = ctx;
    long p0, p1;
    xf_pool_share((long)r->model->n_params, w, workers, &p0, &p1);
    for (int i = 0; i < r->slices - 1; i++)
        add_into(r->model->grads + p0, r->copies[i].grads + p0, p1 - p0);
}

void xf_replicas_forward(xf_replicas *r, const float *x, int batch, float *logits) {
    if (r->slices == 1) {
        xf_model_forward(r->model, x, batch, logits);
        return;
    }
    slice_job j = {r, x, logits, batch};
    xf_pool_run(&r->pool, forward_slice, &j);
}

void xf_replicas_tap(xf_replicas *r, int t, int batch, float *out) {
    size_t dim = (size_t)r->model->tap_dims[t];
    for (int s = 0; s < r->slices; s++) {
        long b0, b1;
        xf_pool_share(batch, s, r->slices, &b0, &b1);
        if (b1 > b0)
            memcpy(out + b0 * dim, xf_model_tap(slice_model(r, s), t),
                   sizeof(float) * dim * (size_t)(b1 - b0));
    }
}

void xf_replicas_backward(xf_replicas *r, const float *dlogits, int batch) {
    if (r->slices == 1) {
        xf_model_zero_grad(r->model);
        xf_model_backward(r->model, dlogits, batch);
        return;
    }
    slice_job j = {r, dlogits, NULL, batch};
    xf_pool_run(&r->pool, backward_slice, &j);
    xf_pool_run(&r->pool, sum_slice_grads, r);
}
