/* The vit family (see vit.h for names, the timm config and taps).
 *
 * FLOPs per image count the matrix products only (2 per multiply-add), as
 * the mlp family does: patch embedding 2 N C p^2 D, and per block qkv
 * 2 T D 3D, scores and weighted values 2 * 2 T^2 D, proj 2 T D^2, MLP
 * 2 * 2 T D M; then the head 2 D classes. Norms, softmax, GELU and adds are
 * O(T D) per block and left out. */
#include "models/vit.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "models/family.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/embed.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/norm.h"
#include "nn/pool.h"
#include "nn/real.h"

/* timm's ViT norm_layer: partial(nn.LayerNorm, eps=1e-6). */
#define VIT_LN_EPS 1e-6

typedef struct {
    int patch, N, T, D, M, heads, depth, cls;
} vit_dims;

int xf_vit_mlp_hidden(const xf_model_config *c) {
    return (int)lround(c->vit.dim * c->vit.mlp_ratio);
}

static vit_dims vit_dims_of(const xf_model_config *c) {
    vit_dims d;
    d.patch = c->vit.patch;
    d.N = (c->height / d.patch) * (c->width / d.patch);
    d.cls = c->vit.pool == XF_POOL_CLS;
    d.T = d.N + d.cls;
    d.D = c->vit.dim;
    d.M = xf_vit_mlp_hidden(c);
    d.heads = c->vit.heads;
    d.depth = c->vit.depth;
    return d;
}

/* Tensor indices: the stem, then 12 per block, then norm and head. */
enum { T_PATCH_W = 0, T_PATCH_B, T_POS, T_CLS };
enum {
    B_NORM1_W = 0, B_NORM1_B, B_QKV_W, B_QKV_B, B_PROJ_W, B_PROJ_B,
    B_NORM2_W, B_NORM2_B, B_FC1_W, B_FC1_B, B_FC2_W, B_FC2_B, B_COUNT
};
static int block_tensor(const vit_dims *d, int i) { return 3 + d->cls + B_COUNT * i; }
#define T_FINAL(d) block_tensor((d), (d)->depth)

/* Offsets (in REALs) of the activations in one arena for a batch size;
 * per-block buffers are `depth` slabs of their s_* stride. */
typedef struct {
    size_t cols, patches, h, ln1, mu1, rs1, qkv, probs, ao, mid, ln2, mu2, rs2, fc1, act;
    size_t lnf, muf, rsf, pooled, taps;
    size_t dh, dtmp, dqkv, dact, dao, dscr, dpooled, dpatches, total;
    size_t s_btd, s_bt, s_qkv, s_probs, s_btm, s_bd;
} vit_layout;

static vit_layout vit_layout_of(const xf_model_config *c, int batch) {
    vit_dims d = vit_dims_of(c);
    vit_layout L;
    size_t B = (size_t)batch, depth = (size_t)d.depth, at = 0;
    L.s_btd = B * d.T * d.D;
    L.s_bt = B * d.T;
    L.s_qkv = 3 * L.s_btd;
    L.s_probs = B * d.heads * d.T * d.T;
    L.s_btm = B * d.T * d.M;
    L.s_bd = B * d.D;
    size_t patch_rows = B * d.N;
#define TAKE(field, n) (L.field = at, at += (n))
    TAKE(cols, patch_rows * c->channels * d.patch * d.patch);
    TAKE(patches, patch_rows * d.D);
    TAKE(h, (depth + 1) * L.s_btd);
    TAKE(ln1, depth * L.s_btd);
    TAKE(mu1, depth * L.s_bt);
    TAKE(rs1, depth * L.s_bt);
    TAKE(qkv, depth * L.s_qkv);
    TAKE(probs, depth * L.s_probs);
    TAKE(ao, depth * L.s_btd);
    TAKE(mid, depth * L.s_btd);
    TAKE(ln2, depth * L.s_btd);
    TAKE(mu2, depth * L.s_bt);
    TAKE(rs2, depth * L.s_bt);
    TAKE(fc1, depth * L.s_btm);
    TAKE(act, depth * L.s_btm);
    TAKE(lnf, L.s_btd);
    TAKE(muf, L.s_bt);
    TAKE(rsf, L.s_bt);
    TAKE(pooled, L.s_bd);
    TAKE(taps, depth * L.s_bd);
    TAKE(dh, L.s_btd);
    TAKE(dtmp, L.s_btd);
    TAKE(dqkv, L.s_qkv);
    TAKE(dact, L.s_btm);
    TAKE(dao, L.s_btd);
    TAKE(dscr, (size_t)d.T * d.T);
    TAKE(dpooled, L.s_bd);
    TAKE(dpatches, patch_rows * d.D);
#undef TAKE
    L.total = at;
    return L;
}

#define REAL float
#define XF_NN_NAME(base) base
#include "models/vit_pass.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "models/vit_pass.inc"
#undef REAL
#undef XF_NN_NAME

typedef struct {
    float *arena;
    vit_layout layout;
    int last_batch; /* of the last forward; 0 before any */
} vit_state;

static void add_tensor(xf_model *m, int *k, size_t *offset, xf_param_group group, int ndim,
                       const int *shape, const char *fmt, int i) {
    xf_tensor_info *t = &m->tensors[(*k)++];
    snprintf(t->name, sizeof t->name, fmt, i);
    t->ndim = ndim;
    t->numel = 1;
    for (int j = 0; j < ndim; j++) {
        t->shape[j] = shape[j];
        t->numel *= (size_t)shape[j];
    }
    t->offset = *offset;
    t->group = group;
    *offset += t->numel;
}

#define SHAPE(...) ((const int[]){__VA_ARGS__})

static xf_status vit_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    vit_dims d = vit_dims_of(c);
    int D = d.D, M = d.M, p = d.patch;
    m->n_tensors = T_FINAL(&d) + 4;
    m->n_taps = d.depth + 1;
    m->tensors = xf_calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->tap_dims = xf_calloc((size_t)m->n_taps, sizeof *m->tap_dims);
    m->tap_names = xf_calloc((size_t)m->n_taps, sizeof *m->tap_names);
    m->impl = xf_calloc(1, sizeof(vit_state));
    if (!m->tensors || !m->tap_dims || !m->tap_names || !m->impl) return XF_ENOMEM;

    int k = 0;
    size_t off = 0;
    const xf_param_group body = XF_GROUP_BODY;
    add_tensor(m, &k, &off, body, 4, SHAPE(D, c->channels, p, p), "patch_embed.proj.weight", 0);
    add_tensor(m, &k, &off, body, 1, SHAPE(D), "patch_embed.proj.bias", 0);
    add_tensor(m, &k, &off, body, 3, SHAPE(1, d.T, D), "pos_embed", 0);
    if (d.cls) add_tensor(m, &k, &off, body, 3, SHAPE(1, 1, D), "cls_token", 0);
    for (int i = 0; i < d.depth; i++) {
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm1.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm1.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(3 * D, D), "blocks.%d.attn.qkv.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(3 * D), "blocks.%d.attn.qkv.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(D, D), "blocks.%d.attn.proj.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.attn.proj.bias", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm2.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm2.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(M, D), "blocks.%d.mlp.fc1.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(M), "blocks.%d.mlp.fc1.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(D, M), "blocks.%d.mlp.fc2.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.mlp.fc2.bias", i);
        m->tap_dims[i] = D;
        snprintf(m->tap_names[i], sizeof m->tap_names[i], "block%d", i);
    }
    add_tensor(m, &k, &off, body, 1, SHAPE(D), "norm.weight", 0);
    add_tensor(m, &k, &off, body, 1, SHAPE(D), "norm.bias", 0);
    add_tensor(m, &k, &off, XF_GROUP_HEAD, 2, SHAPE(c->n_classes, D), "head.weight", 0);
    add_tensor(m, &k, &off, XF_GROUP_HEAD, 1, SHAPE(c->n_classes), "head.bias", 0);
    XF_ASSERT(k == m->n_tensors);
    m->tap_dims[d.depth] = D;
    snprintf(m->tap_names[d.depth], sizeof m->tap_names[d.depth], "prelogits");
    m->n_params = off;

    double T = d.T, per_block = 2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D +
                                2 * 2 * T * D * M;
    m->flops_per_image = 2.0 * d.N * c->channels * p * p * D + d.depth * per_block +
                         2.0 * D * c->n_classes;
    return XF_OK;
}

/* A normal cut at 2 standard deviations, as Flax's truncated initialisers. */
static double trunc_normal(xf_rng *rng, double std) {
    double z;
    do z = xf_rng_normal(rng);
    while (fabs(z) > 2);
    return z * std;
}

/* The Flax / big_vision ViT initialisation, the one the paper's models were
 * trained from (and the one the mixer family uses): Linear weights
 * xavier_uniform, MLP biases normal(1e-6), other biases 0, LayerNorm 1 / 0,
 * the patch embedding lecun_normal (std 1/sqrt(fan_in), cut at 2 std),
 * pos_embed normal(1/sqrt(dim)), cls_token 0. The head gets xavier_uniform
 * rather than big_vision's zeros, so the blocks receive gradient on the
 * first step. timm's trunc_normal(0.02) init trains these small ViTs much
 * more slowly (docs/models.md). */
static void vit_init_weights(xf_model *m, uint64_t seed) {
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    vit_dims d = vit_dims_of(&m->config);
    for (int k = 0; k < m->n_tensors; k++) {
        const xf_tensor_info *t = &m->tensors[k];
        float *v = m->params + t->offset;
        const char *name = t->name;
        size_t len = strlen(name);
        bool is_weight = len > 7 && strcmp(name + len - 7, ".weight") == 0;
        if (k == T_PATCH_W) {
            double std = 1 / sqrt((double)m->config.channels * d.patch * d.patch);
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)trunc_normal(&rng, std);
        } else if (k == T_POS) {
            double std = 1 / sqrt((double)m->config.vit.dim);
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)(std * xf_rng_normal(&rng));
        } else if (strstr(name, "norm")) {
            for (size_t j = 0; j < t->numel; j++) v[j] = is_weight ? 1.0f : 0.0f;
        } else if (is_weight) {
            double bound = sqrt(6.0 / (t->shape[0] + t->shape[1]));
            for (size_t j = 0; j < t->numel; j++)
                v[j] = (float)((2 * xf_rng_uniform(&rng) - 1) * bound);
        } else if (strstr(name, ".mlp.")) {
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)(1e-6 * xf_rng_normal(&rng));
        } else {
            memset(v, 0, sizeof(float) * t->numel);
        }
    }
}

static xf_status vit_reserve(xf_model *m, int batch) {
    vit_state *s = m->impl;
    vit_layout L = vit_layout_of(&m->config, batch);
    float *arena = xf_malloc(sizeof(float) * L.total);
    if (!arena) return XF_ENOMEM;
    free(s->arena);
    s->arena = arena;
    s->layout = L;
    s->last_batch = 0;
    return XF_OK;
}

static void vit_forward(xf_model *m, const float *x, int batch, float *logits) {
    vit_state *s = m->impl;
    pass_forward(m, &s->layout, m->params, x, batch, s->arena, logits, m->taps_enabled);
    s->last_batch = batch;
}

static void vit_backward(xf_model *m, const float *dlogits, int batch) {
    vit_state *s = m->impl;
    XF_ASSERT(s->last_batch == batch);
    pass_backward(m, &s->layout, m->params, m->grads, batch, s->arena, dlogits);
}

static const float *vit_tap(const xf_model *m, int t) {
    const vit_state *s = m->impl;
    if (t == m->n_taps - 1) return s->arena + s->layout.pooled;
    return s->arena + s->layout.taps + (size_t)t * s->layout.s_bd;
}

static void vit_free_impl(xf_model *m) {
    vit_state *s = m->impl;
    if (s) free(s->arena);
    free(s);
    m->impl = NULL;
}

const xf_model_ops xf_vit_ops = {
    .build = vit_build,
    .init_weights = vit_init_weights,
    .reserve = vit_reserve,
    .forward = vit_forward,
    .backward = vit_backward,
    .tap = vit_tap,
    .free_impl = vit_free_impl,
};

xf_status xf_vit_loss_f64(const xf_model *m, const double *params, const double *x,
                          const int32_t *labels, int batch, double *loss, double *grads) {
    if (m->ops != &xf_vit_ops)
        return xf_fail(XF_EINVAL, "xf_vit_loss_f64: the model is a %s, not a vit",
                       xf_family_name(m->config.family));
    if (batch < 1) return xf_fail(XF_EINVAL, "xf_vit_loss_f64: batch %d, expected >= 1", batch);
    vit_layout L = vit_layout_of(&m->config, batch);
    size_t out = (size_t)batch * m->config.n_classes;
    double *arena = xf_malloc(sizeof(double) * (L.total + 2 * out));
    if (!arena) return XF_ENOMEM;
    double *logits = arena + L.total, *dlogits = logits + out;
    pass_forward_f64(m, &L, params, x, batch, arena, logits, false);
    *loss = xf_softmax_xent_f64(logits, labels, batch, m->config.n_classes,
                                grads ? dlogits : NULL);
    if (grads) pass_backward_f64(m, &L, params, grads, batch, arena, dlogits);
    free(arena);
    return XF_OK;
}

#define VIT(type, field) type, offsetof(xf_model_config, vit.field)

static const char *const pool_words[] = {[XF_POOL_GAP] = "gap", [XF_POOL_CLS] = "cls", NULL};
_Static_assert(sizeof(xf_vit_pool) == sizeof(int), "pool is stored as an int");

static const xf_setting vit_settings[] = {
    {.key = "patch", .kind = XF_SETTING_INT, .lo = 1, .hi = 256, .def = "4", .required = true,
     .help = "patch side in pixels; divides the image", VIT(XF_FIELD_INT, patch)},
    {.key = "dim", .kind = XF_SETTING_INT, .lo = 1, .hi = 8192, .def = "64", .required = true,
     .help = "token width", VIT(XF_FIELD_INT, dim)},
    {.key = "depth", .kind = XF_SETTING_INT, .lo = 1, .hi = 256, .def = "4", .required = true,
     .help = "pre-norm transformer blocks", VIT(XF_FIELD_INT, depth)},
    {.key = "heads", .kind = XF_SETTING_INT, .lo = 1, .hi = 1024, .def = "4", .required = true,
     .help = "attention heads; divides dim", VIT(XF_FIELD_INT, heads)},
    {.key = "mlp_ratio", .kind = XF_SETTING_REAL, .lo = 0, .lo_open = true, .hi = 64,
     .def = "4", .help = "MLP hidden units = round(dim x mlp_ratio)",
     VIT(XF_FIELD_DOUBLE, mlp_ratio)},
    {.key = "pool", .kind = XF_SETTING_WORD, .words = pool_words, .def = "gap",
     .help = "pooling before the head: mean of the patch tokens, or a class token",
     VIT(XF_FIELD_INT, pool)},
};

static xf_status vit_check(const xf_model_config *c) {
    if (c->vit.dim % c->vit.heads)
        return xf_fail(XF_EINVAL, "model config: vit.dim %d is not divisible by vit.heads %d",
                       c->vit.dim, c->vit.heads);
    if (xf_vit_mlp_hidden(c) < 1)
        return xf_fail(XF_EINVAL,
                       "model config: vit.mlp_ratio %g gives round(dim * mlp_ratio) < 1 "
                       "hidden units (dim %d)",
                       c->vit.mlp_ratio, c->vit.dim);
    return XF_OK;
}

static xf_status vit_validate(const xf_model_config *c) {
    if (c->height % c->vit.patch || c->width % c->vit.patch)
        return xf_fail(XF_EINVAL,
                       "model config: vit.patch %d does not divide the %d x %d image "
                       "(height x width)",
                       c->vit.patch, c->height, c->width);
    double tokens = (double)(c->height / c->vit.patch) * (c->width / c->vit.patch) + 1;
    if (tokens * tokens * c->vit.heads > (double)(1u << 31) - 1 ||
        tokens * xf_vit_mlp_hidden(c) > (double)(1u << 31) - 1)
        return xf_fail(XF_EINVAL, "model config: vit with %.0f tokens is too large for one image",
                       tokens);
    return XF_OK;
}

const xf_family_info xf_vit_family = {
    .name = "vit",
    .summary = "patch embedding, depth pre-norm transformer blocks, head",
    .ops = &xf_vit_ops,
    .settings = vit_settings,
    .n_settings = sizeof vit_settings / sizeof vit_settings[0],
    .check = vit_check,
    .validate = vit_validate,
};
