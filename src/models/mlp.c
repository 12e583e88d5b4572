/* The mlp family (see mlp.h for names and taps).
 *
 * FLOPs per image count the matrix products only (2 per multiply-add):
 * 2 * sum over linears of in * out. Bias adds and GELU are left out: they
 * cost O(width) per image against the products' O(in * width). */
#include "models/mlp.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "models/family.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/real.h"

#define REAL float
#define XF_NN_NAME(base) base
#include "models/mlp_pass.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "models/mlp_pass.inc"
#undef REAL
#undef XF_NN_NAME

typedef struct {
    float *arena;          /* pre, act, da, db below point into it */
    float *pre, *act;      /* depth slabs of `stride` floats */
    float *da, *db;        /* backward scratch: [reserved batch, width] each */
    size_t stride;         /* reserved batch x width */
    const float *last_x;   /* the last forward's input, kept by the caller */
    int last_batch;
} mlp_state;

static int input_dim(const xf_model_config *c) { return c->height * c->width * c->channels; }

static void set_tensor(xf_tensor_info *t, const char *name, int rows, int cols, size_t *offset,
                       xf_param_group group) {
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = *offset;
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->numel = (size_t)rows * (cols ? cols : 1);
    t->group = group;
    *offset += t->numel;
}

static xf_status mlp_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    int depth = c->mlp.depth, width = c->mlp.width, in = input_dim(c);
    m->n_tensors = 2 * depth + 2;
    m->n_taps = depth;
    m->tensors = xf_calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->tap_dims = xf_calloc((size_t)depth, sizeof *m->tap_dims);
    m->tap_names = xf_calloc((size_t)depth, sizeof *m->tap_names);
    m->impl = xf_calloc(1, sizeof(mlp_state));
    if (!m->tensors || !m->tap_dims || !m->tap_names || !m->impl) return XF_ENOMEM;

    size_t offset = 0;
    double flops = 0;
    char name[XF_NAME_LEN];
    for (int i = 0; i < depth; i++) {
        int d_in = i ? width : in;
        snprintf(name, sizeof name, "blocks.%d.fc.weight", i);
        set_tensor(&m->tensors[2 * i], name, width, d_in, &offset, XF_GROUP_BODY);
        snprintf(name, sizeof name, "blocks.%d.fc.bias", i);
        set_tensor(&m->tensors[2 * i + 1], name, width, 0, &offset, XF_GROUP_BODY);
        flops += 2.0 * d_in * width;
        m->tap_dims[i] = width;
        if (i == depth - 1)
            snprintf(m->tap_names[i], sizeof m->tap_names[i], "prelogits");
        else
            snprintf(m->tap_names[i], sizeof m->tap_names[i], "block%d", i);
    }
    set_tensor(&m->tensors[2 * depth], "head.weight", c->n_classes, width, &offset,
               XF_GROUP_HEAD);
    set_tensor(&m->tensors[2 * depth + 1], "head.bias", c->n_classes, 0, &offset, XF_GROUP_HEAD);
    flops += 2.0 * width * c->n_classes;
    m->n_params = offset;
    m->flops_per_image = flops;
    return XF_OK;
}

/* PyTorch's nn.Linear default: weight and bias U(-1/sqrt(in), 1/sqrt(in)). */
static void mlp_init_weights(xf_model *m, uint64_t seed) {
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    for (int l = 0; l < m->n_tensors; l += 2) {
        const xf_tensor_info *w = &m->tensors[l], *b = &m->tensors[l + 1];
        double bound = 1.0 / sqrt((double)w->shape[1]);
        for (size_t j = 0; j < w->numel; j++)
            m->params[w->offset + j] = (float)((2 * xf_rng_uniform(&rng) - 1) * bound);
        for (size_t j = 0; j < b->numel; j++)
            m->params[b->offset + j] = (float)((2 * xf_rng_uniform(&rng) - 1) * bound);
    }
}

static xf_status mlp_reserve(xf_model *m, int batch) {
    mlp_state *s = m->impl;
    int depth = m->config.mlp.depth;
    size_t stride = (size_t)batch * m->config.mlp.width;
    float *arena = xf_malloc(sizeof(float) * stride * (2 * (size_t)depth + 2));
    if (!arena) return XF_ENOMEM;
    free(s->arena);
    s->arena = arena;
    s->stride = stride;
    s->pre = arena;
    s->act = arena + stride * depth;
    s->da = arena + stride * 2 * depth;
    s->db = s->da + stride;
    s->last_x = NULL;
    return XF_OK;
}

static void mlp_forward(xf_model *m, const float *x, int batch, float *logits) {
    mlp_state *s = m->impl;
    pass_forward(m, m->params, x, batch, s->pre, s->act, s->stride, logits);
    s->last_x = x;
    s->last_batch = batch;
}

static void mlp_backward(xf_model *m, const float *dlogits, int batch) {
    mlp_state *s = m->impl;
    XF_ASSERT(s->last_x && batch == s->last_batch);
    pass_backward(m, m->params, m->grads, s->last_x, batch, s->pre, s->act, s->stride, dlogits,
                  s->da, s->db);
}

static const float *mlp_tap(const xf_model *m, int t) {
    const mlp_state *s = m->impl;
    return s->act + (size_t)t * s->stride;
}

static void mlp_free_impl(xf_model *m) {
    mlp_state *s = m->impl;
    if (s) free(s->arena);
    free(s);
    m->impl = NULL;
}

const xf_model_ops xf_mlp_ops = {
    .build = mlp_build,
    .init_weights = mlp_init_weights,
    .reserve = mlp_reserve,
    .forward = mlp_forward,
    .backward = mlp_backward,
    .tap = mlp_tap,
    .free_impl = mlp_free_impl,
};

xf_status xf_mlp_loss_f64(const xf_model *m, const double *params, const double *x,
                          const int32_t *labels, int batch, double *loss, double *grads) {
    if (m->ops != &xf_mlp_ops)
        return xf_fail(XF_EINVAL, "xf_mlp_loss_f64: the model is a %s, not an mlp",
                       xf_family_name(m->config.family));
    if (batch < 1) return xf_fail(XF_EINVAL, "xf_mlp_loss_f64: batch %d, expected >= 1", batch);
    int depth = m->config.mlp.depth, classes = m->config.n_classes;
    size_t stride = (size_t)batch * m->config.mlp.width;
    size_t out = (size_t)batch * classes;
    double *arena = xf_malloc(sizeof(double) * (stride * (2 * (size_t)depth + 2) + 2 * out));
    if (!arena) return XF_ENOMEM;
    double *pre = arena, *act = pre + stride * depth, *da = act + stride * depth;
    double *db = da + stride, *logits = db + stride, *dlogits = logits + out;
    pass_forward_f64(m, params, x, batch, pre, act, stride, logits);
    *loss = xf_softmax_xent_f64(logits, labels, batch, classes, grads ? dlogits : NULL);
    if (grads) pass_backward_f64(m, params, grads, x, batch, pre, act, stride, dlogits, da, db);
    free(arena);
    return XF_OK;
}

#define MLP(field) XF_FIELD_INT, offsetof(xf_model_config, mlp.field)

static const xf_setting mlp_settings[] = {
    {.key = "width", .kind = XF_SETTING_INT, .lo = 1, .hi = 1 << 16, .def = "256",
     .required = true, .help = "hidden units per block", MLP(width)},
    {.key = "depth", .kind = XF_SETTING_INT, .lo = 1, .hi = 256, .def = "2", .required = true,
     .help = "hidden blocks (Linear + GELU)", MLP(depth)},
};

static xf_status mlp_validate(const xf_model_config *c) {
    if ((double)input_dim(c) * c->mlp.width > (double)(1u << 31) - 1)
        return xf_fail(XF_EINVAL,
                       "model config: input %d x %d x %d times mlp.width %d is too many "
                       "weights for one layer",
                       c->height, c->width, c->channels, c->mlp.width);
    return XF_OK;
}

const xf_family_info xf_mlp_family = {
    .name = "mlp",
    .summary = "flatten, depth x [Linear(width) + GELU], Linear head",
    .ops = &xf_mlp_ops,
    .settings = mlp_settings,
    .n_settings = sizeof mlp_settings / sizeof mlp_settings[0],
    .validate = mlp_validate,
};
