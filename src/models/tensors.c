#include "models/tensors.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "core/status.h"

xf_status xf_tensors_alloc(xf_model *m, int n_tensors, int n_taps) {
    m->n_tensors = n_tensors;
    m->n_taps = n_taps;
    m->tensors = xf_calloc((size_t)n_tensors, sizeof *m->tensors);
    m->tap_dims = xf_calloc((size_t)n_taps, sizeof *m->tap_dims);
    m->tap_names = xf_calloc((size_t)n_taps, sizeof *m->tap_names);
    return m->tensors && m->tap_dims && m->tap_names ? XF_OK : XF_ENOMEM;
}

static int add(xf_tensor_list *l, xf_param_group group, int ndim, const int *shape,
               const char *suffix, const char *fmt, va_list ap) {
    size_t numel = 1;
    for (int j = 0; j < ndim; j++) numel *= (size_t)shape[j];
    if (l->at) {
        xf_tensor_info *t = &l->at[l->n];
        /* Names are built by the family code from short prefixes. */
        char name[XF_NAME_LEN];
        int n = vsnprintf(name, sizeof name, fmt, ap);
        XF_ASSERT(n >= 0 && (size_t)n < sizeof name);
        n = snprintf(t->name, sizeof t->name, "%s%s", name, suffix);
        XF_ASSERT(n >= 0 && (size_t)n < sizeof t->name);
        t->offset = l->offset;
        t->numel = numel;
        t->ndim = ndim;
        for (int j = 0; j < ndim; j++) t->shape[j] = shape[j];
        t->group = group;
    }
    l->offset += numel;
    return l->n++;
}

int xf_tensors_add(xf_tensor_list *l, xf_param_group group, int ndim, const int *shape,
                   const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = add(l, group, ndim, shape, "", fmt, ap);
    va_end(ap);
    return k;
}

int xf_tensors_layer(xf_tensor_list *l, xf_param_group group, int ndim, const int *shape,
                     const char *fmt, ...) {
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int k = add(l, group, ndim, shape, ".weight", fmt, ap);
    add(l, group, 1, shape, ".bias", fmt, again);
    va_end(again);
    va_end(ap);
    return k;
}

void xf_tensors_mlp(xf_tensor_list *l, int in, int hidden, const char *fmt, ...) {
    char name[XF_NAME_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    xf_tensors_layer(l, XF_GROUP_BODY, 2, XF_SHAPE(hidden, in), "%s.fc1", name);
    xf_tensors_layer(l, XF_GROUP_BODY, 2, XF_SHAPE(in, hidden), "%s.fc2", name);
}

void xf_tap_set(xf_model *m, int t, int dim, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->tap_names[t], sizeof m->tap_names[t], fmt, ap);
    va_end(ap);
    m->tap_dims[t] = dim;
}

void xf_taps_blocks(xf_model *m, int blocks, int dim) {
    for (int i = 0; i < blocks; i++) xf_tap_set(m, i, dim, "block%d", i);
    xf_tap_set(m, blocks, dim, "prelogits");
}

/* A normal cut at 2 standard deviations, as Flax's truncated initialisers. */
static double trunc_normal(xf_rng *rng, double std) {
    double z;
    do z = xf_rng_normal(rng);
    while (fabs(z) > 2);
    return z * std;
}

void xf_init_big_vision(xf_model *m, uint64_t seed) {
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    for (int k = 0; k < m->n_tensors; k++) {
        const xf_tensor_info *t = &m->tensors[k];
        float *v = m->params + t->offset;
        const char *name = t->name;
        size_t len = strlen(name);
        bool is_weight = len > 7 && strcmp(name + len - 7, ".weight") == 0;
        if (t->ndim == 4) {
            double std = 1 / sqrt((double)t->shape[1] * t->shape[2] * t->shape[3]);
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)trunc_normal(&rng, std);
        } else if (strcmp(name, "pos_embed") == 0) {
            double std = 1 / sqrt((double)t->shape[2]);
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)(std * xf_rng_normal(&rng));
        } else if (strstr(name, "norm")) {
            for (size_t j = 0; j < t->numel; j++) v[j] = is_weight ? 1.0f : 0.0f;
        } else if (is_weight) {
            double bound = sqrt(6.0 / (t->shape[0] + t->shape[1]));
            for (size_t j = 0; j < t->numel; j++)
                v[j] = (float)((2 * xf_rng_uniform(&rng) - 1) * bound);
        } else if (strstr(name, "mlp")) {
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)(1e-6 * xf_rng_normal(&rng));
        } else {
            memset(v, 0, sizeof(float) * t->numel);
        }
    }
}
