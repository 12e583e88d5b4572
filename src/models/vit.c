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

#include "models/family.h"
#include "models/tensors.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/embed.h"
#include "nn/linear.h"
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
 * per-block buffers are `depth` slabs of their s_* stride, or, forward
 * only, one slab that every block reuses (the residual stream h then
 * alternates between two). The taps keep a slab per block either way. */
typedef struct {
    size_t cols, patches, h, ln1, mu1, rs1, qkv, probs, ao, mid, ln2, mu2, rs2, fc1, act;
    size_t lnf, muf, rsf, pooled, taps;
    size_t dh, dtmp, dqkv, dact, dao, dscr, dpooled, dpatches, total;
    size_t s_btd, s_bt, s_qkv, s_probs, s_btm, s_bd;
    bool kept; /* every block's activations kept for the backward */
} vit_layout;

/* The slab of block i's buffers, and of the residual stream entering
 * block i (i = depth: the last block's output). */
static size_t vit_slab(const vit_layout *L, int i) { return L->kept ? (size_t)i : 0; }
static size_t vit_h_slab(const vit_layout *L, int i) { return L->kept ? (size_t)i : (size_t)i % 2; }

static vit_layout vit_layout_of(const xf_model_config *c, int batch, bool forward_only) {
    vit_dims d = vit_dims_of(c);
    vit_layout L;
    L.kept = !forward_only;
    size_t B = (size_t)batch, at = 0, taps = (size_t)d.depth;
    size_t depth = L.kept ? (size_t)d.depth : 1, back = L.kept;
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
    TAKE(h, (L.kept ? depth + 1 : 2) * L.s_btd);
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
    TAKE(taps, taps * L.s_bd);
    TAKE(dh, back * L.s_btd);
    TAKE(dtmp, back * L.s_btd);
    TAKE(dqkv, back * L.s_qkv);
    TAKE(dact, back * L.s_btm);
    TAKE(dao, back * L.s_btd);
    TAKE(dscr, back * d.T * d.T);
    TAKE(dpooled, back * L.s_bd);
    TAKE(dpatches, back * patch_rows * d.D);
#undef TAKE
    L.total = at;
    return L;
}

static size_t vit_arena_size(const xf_model *m, int batch) {
    return vit_layout_of(&m->config, batch, m->forward_only).total;
}

#define XF_PASSES "models/vit_pass.inc"
#include "models/passes.inc"

static xf_status vit_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    vit_dims d = vit_dims_of(c);
    int D = d.D, M = d.M, p = d.patch;
    xf_status st = xf_tensors_alloc(m, T_FINAL(&d) + 4, d.depth + 1);
    if (st != XF_OK) return st;
    const xf_param_group body = XF_GROUP_BODY;
    xf_tensor_list l = {.at = m->tensors};
    xf_tensors_layer(&l, body, 4, XF_SHAPE(D, c->channels, p, p), "patch_embed.proj");
    xf_tensors_add(&l, body, 3, XF_SHAPE(1, d.T, D), "pos_embed");
    if (d.cls) xf_tensors_add(&l, body, 3, XF_SHAPE(1, 1, D), "cls_token");
    for (int i = 0; i < d.depth; i++) {
        xf_tensors_layer(&l, body, 1, XF_SHAPE(D), "blocks.%d.norm1", i);
        xf_tensors_layer(&l, body, 2, XF_SHAPE(3 * D, D), "blocks.%d.attn.qkv", i);
        xf_tensors_layer(&l, body, 2, XF_SHAPE(D, D), "blocks.%d.attn.proj", i);
        xf_tensors_layer(&l, body, 1, XF_SHAPE(D), "blocks.%d.norm2", i);
        xf_tensors_mlp(&l, D, M, "blocks.%d.mlp", i);
    }
    xf_tensors_layer(&l, body, 1, XF_SHAPE(D), "norm");
    xf_tensors_layer(&l, XF_GROUP_HEAD, 2, XF_SHAPE(c->n_classes, D), "head");
    XF_ASSERT(l.n == m->n_tensors);
    m->n_params = l.offset;
    xf_taps_blocks(m, d.depth, D);

    double T = d.T, per_block = 2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D +
                                2 * 2 * T * D * M;
    m->flops_per_image = 2.0 * d.N * c->channels * p * p * D + d.depth * per_block +
                         2.0 * D * c->n_classes;
    return XF_OK;
}

/* big_vision's init (models/tensors.h). timm's trunc_normal(0.02) trains
 * these small ViTs much more slowly (docs/models.md). */
const xf_model_ops xf_vit_ops = {
    .build = vit_build, .init_weights = xf_init_big_vision, .arena_size = vit_arena_size,
    .forward = vit_forward, .backward = vit_backward, .forward_f64 = vit_forward_f64,
    .backward_f64 = vit_backward_f64};

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
