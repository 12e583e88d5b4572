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

#include "core/rng.h"
#include "models/family.h"
#include "models/tensors.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/real.h"

#define XF_PASSES "models/mlp_pass.inc"
#include "models/passes.inc"

static int input_dim(const xf_model_config *c) { return c->height * c->width * c->channels; }

/* The arena of mlp_pass.inc: 2 depth + 2 slabs of batch x width. */
static size_t mlp_arena_size(const xf_model *m, int batch) {
    return (size_t)batch * m->config.mlp.width * (2 * (size_t)m->config.mlp.depth + 2);
}

static xf_status mlp_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    int depth = c->mlp.depth, width = c->mlp.width, in = input_dim(c);
    xf_status st = xf_tensors_alloc(m, 2 * depth + 2, depth);
    if (st != XF_OK) return st;
    xf_tensor_list l = {.at = m->tensors};
    double flops = 0;
    for (int i = 0; i < depth; i++) {
        int d_in = i ? width : in;
        xf_tensors_layer(&l, XF_GROUP_BODY, 2, XF_SHAPE(width, d_in), "blocks.%d.fc", i);
        flops += 2.0 * d_in * width;
    }
    xf_tensors_layer(&l, XF_GROUP_HEAD, 2, XF_SHAPE(c->n_classes, width), "head");
    flops += 2.0 * width * c->n_classes;
    /* The last block's output is the head's input. */
    xf_taps_blocks(m, depth - 1, width);
    m->n_params = l.offset;
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

const xf_model_ops xf_mlp_ops = {
    .build = mlp_build, .init_weights = mlp_init_weights, .arena_size = mlp_arena_size,
    .forward = mlp_forward, .backward = mlp_backward, .forward_f64 = mlp_forward_f64,
    .backward_f64 = mlp_backward_f64};

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
