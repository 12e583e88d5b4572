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
    int patch, N, T, D, M, heads, depth;
    int cls;       /* 1 when the sequence starts with a class token */
    int pool_cls;  /* the head reads the class token (else the mean of the patch tokens) */
    int qkv_bias, layer_scale, fc_norm, cls_taps;
    int per_block; /* tensors per block */
} vit_dims;

int xf_vit_mlp_hidden(const xf_model_config *c) {
    return (int)lround(c->vit.dim * c->vit.mlp_ratio);
}

/* Tensor slots of a block, in table (and timm state_dict) order; the
 * variants leave some out. */
enum {
    B_NORM1_W = 0, B_NORM1_B, B_QKV_W, B_QKV_B, B_PROJ_W, B_PROJ_B, B_LS1,
    B_NORM2_W, B_NORM2_B, B_FC1_W, B_FC1_B, B_FC2_W, B_FC2_B, B_LS2, B_COUNT
};

static bool slot_present(const vit_dims *d, int slot) {
    if (slot == B_QKV_B) return d->qkv_bias;
    if (slot == B_LS1 || slot == B_LS2) return d->layer_scale;
    return true;
}

static vit_dims vit_dims_of(const xf_model_config *c) {
    vit_dims d;
    d.patch = c->vit.patch;
    d.N = (c->height / d.patch) * (c->width / d.patch);
    d.pool_cls = c->vit.pool == XF_POOL_CLS;
    d.cls = d.pool_cls || c->vit.gap_class_token;
    d.T = d.N + d.cls;
    d.D = c->vit.dim;
    d.M = xf_vit_mlp_hidden(c);
    d.heads = c->vit.heads;
    d.depth = c->vit.depth;
    d.qkv_bias = !c->vit.no_qkv_bias;
    d.layer_scale = c->vit.layer_scale;
    d.fc_norm = c->vit.fc_norm;
    d.cls_taps = d.cls && c->vit.class_token_taps;
    d.per_block = 0;
    for (int k = 0; k < B_COUNT; k++) d.per_block += slot_present(&d, k);
    return d;
}

/* Tensor indices: the stem (patch_embed.proj.*, pos_embed, cls_token when
 * there is one), per_block per block, then the final norm (`norm` or
 * `fc_norm`) and the head. */
enum { T_PATCH_W = 0, T_PATCH_B, T_POS, T_CLS };
static int block_tensor(const vit_dims *d, int i) { return 3 + d->cls + d->per_block * i; }
#define T_FINAL(d) block_tensor((d), (d)->depth)

/* The index of `slot` of the block starting at tensor bt, or -1 when the
 * variant has none. */
static int block_slot(const vit_dims *d, int bt, int slot) {
    if (!slot_present(d, slot)) return -1;
    int at = bt;
    for (int k = 0; k < slot; k++) at += slot_present(d, k);
    return at;
}

/* Tap of block i's patch-token mean, and of its class token (cls_taps). */
static int tap_of_block(const vit_dims *d, int i) { return i * (1 + d->cls_taps); }

/* Offsets (in REALs) of the activations in one arena for a batch size;
 * per-block buffers are `depth` slabs of their s_* stride, or, forward
 * only, one slab that every block reuses, the residual stream h included
 * (a block reads its input only before it writes its output). The taps
 * keep a slab per block either way. */
typedef struct {
    size_t cols, patches, h, ln1, mu1, rs1, qkv, probs, ao, mid, ln2, mu2, rs2, fc1, act;
    size_t br1, br2; /* the branches before LayerScale (layer_scale only) */
    size_t lnf, muf, rsf, pre, mup, rsp, pooled, taps;
    size_t dh, dtmp, dqkv, dact, dao, dscr, dpooled, dpatches, total;
    size_t s_btd, s_bt, s_qkv, s_probs, s_btm, s_bd;
    bool kept; /* every block's activations kept for the backward */
} vit_layout;

/* The slab of block i's buffers, and of the residual stream h entering
 * block i (i = depth: the last block's output). */
static size_t vit_slab(const vit_layout *L, int i) { return L->kept ? (size_t)i : 0; }

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
    TAKE(h, (L.kept ? depth + 1 : 1) * L.s_btd);
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
    TAKE(br1, d.layer_scale ? depth * L.s_btd : 0);
    TAKE(br2, d.layer_scale ? depth * L.s_btd : 0);
    TAKE(lnf, L.s_btd);
    TAKE(muf, L.s_bt);
    TAKE(rsf, L.s_bt);
    TAKE(pre, L.s_bd);
    TAKE(mup, B);
    TAKE(rsp, B);
    TAKE(pooled, L.s_bd);
    TAKE(taps, taps * (1 + d.cls_taps) * L.s_bd);
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
    return vit_layout_of(&m->config, batch, xf_model_forward_only(m)).total;
}

#define XF_PASSES "models/vit_pass.inc"
#include "models/passes.inc"

static xf_status vit_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    vit_dims d = vit_dims_of(c);
    int D = d.D, M = d.M, p = d.patch;
    int n_block_taps = d.depth * (1 + d.cls_taps);
    xf_status st = xf_tensors_alloc(m, T_FINAL(&d) + 4, n_block_taps + 1);
    if (st != XF_OK) return st;
    const xf_param_group body = XF_GROUP_BODY;
    xf_tensor_list l = {.at = m->tensors};
    xf_tensors_layer(&l, body, 4, XF_SHAPE(D, c->channels, p, p), "patch_embed.proj");
    xf_tensors_add(&l, body, 3, XF_SHAPE(1, d.T, D), "pos_embed");
    if (d.cls) xf_tensors_add(&l, body, 3, XF_SHAPE(1, 1, D), "cls_token");
    for (int i = 0; i < d.depth; i++) {
        xf_tensors_layer(&l, body, 1, XF_SHAPE(D), "blocks.%d.norm1", i);
        if (d.qkv_bias)
            xf_tensors_layer(&l, body, 2, XF_SHAPE(3 * D, D), "blocks.%d.attn.qkv", i);
        else
            xf_tensors_add(&l, body, 2, XF_SHAPE(3 * D, D), "blocks.%d.attn.qkv.weight", i);
        xf_tensors_layer(&l, body, 2, XF_SHAPE(D, D), "blocks.%d.attn.proj", i);
        if (d.layer_scale) xf_tensors_add(&l, body, 1, XF_SHAPE(D), "blocks.%d.ls1.gamma", i);
        xf_tensors_layer(&l, body, 1, XF_SHAPE(D), "blocks.%d.norm2", i);
        xf_tensors_mlp(&l, D, M, "blocks.%d.mlp", i);
        if (d.layer_scale) xf_tensors_add(&l, body, 1, XF_SHAPE(D), "blocks.%d.ls2.gamma", i);
    }
    xf_tensors_layer(&l, body, 1, XF_SHAPE(D), d.fc_norm ? "fc_norm" : "norm");
    xf_tensors_layer(&l, XF_GROUP_HEAD, 2, XF_SHAPE(c->n_classes, D), "head");
    XF_ASSERT(l.n == m->n_tensors);
    m->n_params = l.offset;
    for (int i = 0; i < d.depth; i++) {
        xf_tap_set(m, tap_of_block(&d, i), D, "block%d", i);
        if (d.cls_taps) xf_tap_set(m, tap_of_block(&d, i) + 1, D, "block%d_cls", i);
    }
    xf_tap_set(m, n_block_taps, D, "prelogits");

    double T = d.T, per_block = 2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D +
                                2 * 2 * T * D * M;
    m->flops_per_image = 2.0 * d.N * c->channels * p * p * D + d.depth * per_block +
                         2.0 * D * c->n_classes;
    return XF_OK;
}

/* big_vision's init (models/tensors.h). timm's trunc_normal(0.02) trains
 * these small ViTs much more slowly (docs/models.md). LayerScale (imported
 * models only) starts as the identity, 1. */
static void vit_init_weights(xf_model *m, uint64_t seed) {
    xf_init_big_vision(m, seed);
    for (int k = 0; k < m->n_tensors; k++)
        if (strstr(m->tensors[k].name, ".gamma"))
            for (size_t j = 0; j < m->tensors[k].numel; j++)
                m->params[m->tensors[k].offset + j] = 1.0f;
}

const xf_model_ops xf_vit_ops = {
    .build = vit_build, .init_weights = vit_init_weights, .arena_size = vit_arena_size,
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

/* A tensor of a timm checkpoint that must be there with ndim dimensions. */
static const xf_st_tensor *timm_tensor(const xf_safetensors *st, const char *name, int ndim,
                                       xf_status *status) {
    const xf_st_tensor *e = xf_safetensors_find(st, name);
    if (!e)
        *status = xf_fail(XF_EFORMAT, "%s: tensor '%s' is missing (a timm ViT has it)", st->path,
                          name);
    else if (e->ndim != ndim)
        *status = xf_fail(XF_EFORMAT, "%s: tensor '%s' has %d dimensions, a timm ViT's has %d",
                          st->path, name, e->ndim, ndim);
    return *status == XF_OK ? e : NULL;
}

/* timm's VisionTransformer from its state_dict: patch and width from
 * patch_embed.proj, the grid (a square) from pos_embed, depth from the
 * blocks, MLP width from fc1, class token, qkv bias, LayerScale and
 * fc_norm from their tensors, classes from head (0 without one). Heads and
 * a class-token model's pooling (cls unless told gap) are not in the
 * tensors: heads must have been told (c->vit.heads > 0). */
static xf_status vit_from_timm(const xf_safetensors *st, xf_model_config *c) {
    xf_status s = XF_OK;
    const xf_st_tensor *pe = timm_tensor(st, "patch_embed.proj.weight", 4, &s);
    const xf_st_tensor *pos = pe ? timm_tensor(st, "pos_embed", 3, &s) : NULL;
    const xf_st_tensor *fc1 = pos ? timm_tensor(st, "blocks.0.mlp.fc1.weight", 2, &s) : NULL;
    if (!fc1) return s;
    if (pe->shape[2] != pe->shape[3])
        return xf_fail(XF_EFORMAT, "%s: tensor 'patch_embed.proj.weight': %lldx%lld patches, "
                       "xfer reads square ones", st->path, (long long)pe->shape[2],
                       (long long)pe->shape[3]);
    int D = (int)pe->shape[0];
    c->channels = (int)pe->shape[1];
    c->vit.patch = (int)pe->shape[2];
    c->vit.dim = D;
    bool cls = xf_safetensors_find(st, "cls_token") != NULL;
    c->vit.fc_norm = xf_safetensors_find(st, "fc_norm.weight") != NULL;
    int pool = (int)c->vit.pool;
    if (pool < 0) pool = cls && !c->vit.fc_norm ? XF_POOL_CLS : XF_POOL_GAP;
    if (pool == XF_POOL_CLS && !cls)
        return xf_fail(XF_EINVAL, "%s: vit.pool cls, but the checkpoint has no cls_token",
                       st->path);
    c->vit.pool = (xf_vit_pool)pool;
    c->vit.gap_class_token = cls && pool == XF_POOL_GAP;
    c->vit.class_token_taps = cls;
    long long grid = pos->shape[1] - cls, side = llround(sqrt((double)grid));
    if (pos->shape[0] != 1 || pos->shape[2] != D || grid < 1 || side * side != grid)
        return xf_fail(XF_EFORMAT, "%s: tensor 'pos_embed' has %lld tokens, expected %sa "
                       "square grid of patches", st->path, (long long)pos->shape[1],
                       cls ? "the class token and " : "");
    if (!c->height) c->height = c->width = (int)side * c->vit.patch;
    else if (c->height != side * c->vit.patch || c->width != c->height)
        return xf_fail(XF_EINVAL, "%s: input_size %d, but pos_embed holds a %lldx%lld grid of "
                       "%d-pixel patches (%lld pixels)", st->path, c->height, side, side,
                       c->vit.patch, side * c->vit.patch);
    int depth = 0;
    for (char name[64];; depth++) {
        snprintf(name, sizeof name, "blocks.%d.norm1.weight", depth);
        if (!xf_safetensors_find(st, name)) break;
    }
    if (depth < 1) return timm_tensor(st, "blocks.0.norm1.weight", 1, &s), s;
    c->vit.depth = depth;
    c->vit.mlp_ratio = (double)fc1->shape[0] / D;
    c->vit.no_qkv_bias = !xf_safetensors_find(st, "blocks.0.attn.qkv.bias");
    c->vit.layer_scale = xf_safetensors_find(st, "blocks.0.ls1.gamma") != NULL;
    const xf_st_tensor *head = xf_safetensors_find(st, "head.weight");
    c->n_classes = head && head->ndim == 2 ? (int)head->shape[0] : 0;
    if (c->vit.heads < 1)
        return xf_fail(XF_EINVAL, "%s: the tensors do not tell a ViT's number of heads: give a "
                       "timm name (--arch), a sidecar with \"heads\" or --set heads=N (timm's "
                       "ViTs have dim / 64: %d here)", st->path, D / 64 > 0 ? D / 64 : 1);
    if (c->vit.mlp_ratio <= 0 || xf_vit_mlp_hidden(c) != fc1->shape[0])
        return xf_fail(XF_EFORMAT, "%s: tensor 'blocks.0.mlp.fc1.weight' has %lld rows",
                       st->path, (long long)fc1->shape[0]);
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
    .from_timm = vit_from_timm,
};
