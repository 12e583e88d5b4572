/* The vit family (see vit.h for names, the timm config and taps).
 *
 * FLOPs per image count the matrix products only (2 per multiply-add), as
 * the mlp family does: patch embedding 2 N C p^2 D, and per block qkv
 * 2 T D 3D, scores and weighted values 2 * 2 T^2 D, proj 2 T D^2, MLP
 * 2 * 2 T D M; then the head 2 D classes. Norms, softmax, GELU and adds are
 * O(T D) per block and left out. */
#include "models/vit.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
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

static size_t vit_arena_size(const xf_model *m, int batch) {
    return vit_layout_of(&m->config, batch).total;
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

static xf_status vit_validate(const xf_model_config *c) {
    xf_status st;
    if ((st = xf_config_check_range("vit.patch", c->vit.patch, 1, 256)) ||
        (st = xf_config_check_range("vit.dim", c->vit.dim, 1, 8192)) ||
        (st = xf_config_check_range("vit.depth", c->vit.depth, 1, 256)) ||
        (st = xf_config_check_range("vit.heads", c->vit.heads, 1, c->vit.dim)))
        return st;
    if (c->vit.pool != XF_POOL_GAP && c->vit.pool != XF_POOL_CLS)
        return xf_fail(XF_EINVAL, "model config: field 'vit.pool' is %d, expected gap or cls",
                       (int)c->vit.pool);
    if (c->vit.dim % c->vit.heads)
        return xf_fail(XF_EINVAL, "model config: vit.dim %d is not divisible by vit.heads %d",
                       c->vit.dim, c->vit.heads);
    if (!(c->vit.mlp_ratio > 0 && c->vit.mlp_ratio <= 64) || xf_vit_mlp_hidden(c) < 1)
        return xf_fail(XF_EINVAL,
                       "model config: field 'vit.mlp_ratio' is %g, expected > 0 and <= 64 with "
                       "round(dim * mlp_ratio) >= 1",
                       c->vit.mlp_ratio);
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

static bool vit_to_json(const xf_model_config *c, cJSON *obj) {
    return cJSON_AddNumberToObject(obj, "patch", c->vit.patch) &&
           cJSON_AddNumberToObject(obj, "dim", c->vit.dim) &&
           cJSON_AddNumberToObject(obj, "depth", c->vit.depth) &&
           cJSON_AddNumberToObject(obj, "heads", c->vit.heads) &&
           cJSON_AddNumberToObject(obj, "mlp_ratio", c->vit.mlp_ratio) &&
           cJSON_AddStringToObject(obj, "pool", c->vit.pool == XF_POOL_CLS ? "cls" : "gap");
}

static xf_status vit_from_json(const cJSON *obj, xf_model_config *c) {
    xf_status st;
    const char *pool;
    if ((st = xf_json_get_int(obj, "patch", "vit.patch", &c->vit.patch)) ||
        (st = xf_json_get_int(obj, "dim", "vit.dim", &c->vit.dim)) ||
        (st = xf_json_get_int(obj, "depth", "vit.depth", &c->vit.depth)) ||
        (st = xf_json_get_int(obj, "heads", "vit.heads", &c->vit.heads)) ||
        (st = xf_json_get_double(obj, "mlp_ratio", "vit.mlp_ratio", &c->vit.mlp_ratio)) ||
        (st = xf_json_get_string(obj, "pool", "vit.pool", &pool)))
        return st;
    if (strcmp(pool, "gap") == 0)
        c->vit.pool = XF_POOL_GAP;
    else if (strcmp(pool, "cls") == 0)
        c->vit.pool = XF_POOL_CLS;
    else
        return xf_fail(XF_EFORMAT, "model config: field 'vit.pool' is '%s', expected gap or cls",
                       pool);
    return XF_OK;
}

const xf_family_info xf_vit_family = {
    .name = "vit",
    .ops = &xf_vit_ops,
    .validate = vit_validate,
    .to_json = vit_to_json,
    .from_json = vit_from_json,
};
