/* The mixer family (see mixer.h for names and taps).
 *
 * FLOPs per image count the matrix products only (2 per multiply-add):
 * stem 2 N C p^2 D, per block token MLP 2 * 2 D N TM and channel MLP
 * 2 * 2 N D CM, head 2 D classes. */
#include "models/mixer.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/family.h"
#include "models/tensors.h"
#include "nn/activation.h"
#include "nn/embed.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/pool.h"
#include "nn/real.h"
#include "nn/tokenmix.h"

/* timm's MlpMixer norm_layer: partial(nn.LayerNorm, eps=1e-6). */
#define MIXER_LN_EPS 1e-6

typedef struct {
    int patch, N, D, TM, CM, depth;
} mixer_dims;

static mixer_dims mixer_dims_of(const xf_model_config *c) {
    mixer_dims d;
    d.patch = c->mixer.patch;
    d.N = (c->height / d.patch) * (c->width / d.patch);
    d.D = c->mixer.dim;
    d.TM = c->mixer.token_mlp_dim;
    d.CM = c->mixer.channel_mlp_dim;
    d.depth = c->mixer.depth;
    return d;
}

enum { T_STEM_W = 0, T_STEM_B };
enum {
    B_NORM1_W = 0, B_NORM1_B, B_TOK1_W, B_TOK1_B, B_TOK2_W, B_TOK2_B,
    B_NORM2_W, B_NORM2_B, B_CH1_W, B_CH1_B, B_CH2_W, B_CH2_B, B_COUNT
};
/* Block i's first tensor; block `depth` is where norm and head begin. */
static int block_tensor(int i) { return 2 + B_COUNT * i; }

/* Per-block buffers are `depth` slabs, or, forward only, one slab every
 * block reuses, the residual stream h included (a block reads its input
 * only before it writes its output); the taps keep a slab per block
 * either way. */
typedef struct {
    size_t cols, h, ln1, mu1, rs1, tf1, ta, mid, ln2, mu2, rs2, cf1, ca;
    size_t lnf, muf, rsf, pooled, taps, dh, dtmp, dta, dca, dpooled, total;
    size_t s_bnd, s_bn, s_tok, s_ch, s_bd;
    bool kept; /* every block's activations kept for the backward */
} mixer_layout;

/* The slab of block i's buffers, and of the residual stream h entering
 * block i (i = depth: the last block's output). */
static size_t mixer_slab(const mixer_layout *L, int i) { return L->kept ? (size_t)i : 0; }

static mixer_layout mixer_layout_of(const xf_model_config *c, int batch, bool forward_only) {
    mixer_dims d = mixer_dims_of(c);
    mixer_layout L;
    L.kept = !forward_only;
    size_t B = (size_t)batch, at = 0, taps = (size_t)d.depth;
    size_t depth = L.kept ? (size_t)d.depth : 1, back = L.kept;
    L.s_bnd = B * d.N * d.D;
    L.s_bn = B * d.N;
    L.s_tok = B * d.TM * d.D;
    L.s_ch = B * d.N * d.CM;
    L.s_bd = B * d.D;
#define TAKE(field, n) (L.field = at, at += (n))
    TAKE(cols, L.s_bn * c->channels * d.patch * d.patch);
    TAKE(h, (L.kept ? depth + 1 : 1) * L.s_bnd);
    TAKE(ln1, depth * L.s_bnd);
    TAKE(mu1, depth * L.s_bn);
    TAKE(rs1, depth * L.s_bn);
    TAKE(tf1, depth * L.s_tok);
    TAKE(ta, depth * L.s_tok);
    TAKE(mid, depth * L.s_bnd);
    TAKE(ln2, depth * L.s_bnd);
    TAKE(mu2, depth * L.s_bn);
    TAKE(rs2, depth * L.s_bn);
    TAKE(cf1, depth * L.s_ch);
    TAKE(ca, depth * L.s_ch);
    TAKE(lnf, L.s_bnd);
    TAKE(muf, L.s_bn);
    TAKE(rsf, L.s_bn);
    TAKE(pooled, L.s_bd);
    TAKE(taps, taps * L.s_bd);
    TAKE(dh, back * L.s_bnd);
    TAKE(dtmp, back * L.s_bnd);
    TAKE(dta, back * L.s_tok);
    TAKE(dca, back * L.s_ch);
    TAKE(dpooled, back * L.s_bd);
#undef TAKE
    L.total = at;
    return L;
}

static size_t mixer_arena_size(const xf_model *m, int batch) {
    return mixer_layout_of(&m->config, batch, xf_model_forward_only(m)).total;
}

#define XF_PASSES "models/mixer_pass.inc"
#include "models/passes.inc"

static xf_status mixer_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    mixer_dims d = mixer_dims_of(c);
    int D = d.D, N = d.N, p = d.patch;
    xf_status st = xf_tensors_alloc(m, block_tensor(d.depth) + 4, d.depth + 1);
    if (st != XF_OK) return st;
    xf_tensor_list l = {.at = m->tensors};
    xf_tensors_layer(&l, XF_GROUP_BODY, 4, XF_SHAPE(D, c->channels, p, p), "stem.proj");
    for (int i = 0; i < d.depth; i++) {
        xf_tensors_layer(&l, XF_GROUP_BODY, 1, XF_SHAPE(D), "blocks.%d.norm1", i);
        /* Across the N tokens, channel by channel. */
        xf_tensors_mlp(&l, N, d.TM, "blocks.%d.mlp_tokens", i);
        xf_tensors_layer(&l, XF_GROUP_BODY, 1, XF_SHAPE(D), "blocks.%d.norm2", i);
        xf_tensors_mlp(&l, D, d.CM, "blocks.%d.mlp_channels", i);
    }
    xf_tensors_layer(&l, XF_GROUP_BODY, 1, XF_SHAPE(D), "norm");
    xf_tensors_layer(&l, XF_GROUP_HEAD, 2, XF_SHAPE(c->n_classes, D), "head");
    XF_ASSERT(l.n == m->n_tensors);
    m->n_params = l.offset;
    xf_taps_blocks(m, d.depth, D);
    double per_block = 2.0 * 2 * D * N * d.TM + 2.0 * 2 * N * D * d.CM;
    m->flops_per_image = 2.0 * N * c->channels * p * p * D + d.depth * per_block +
                         2.0 * D * c->n_classes;
    return XF_OK;
}

/* timm's MlpMixer init is big_vision's (models/tensors.h), the head
 * excepted as there. */
const xf_model_ops xf_mixer_ops = {
    .build = mixer_build, .init_weights = xf_init_big_vision, .arena_size = mixer_arena_size,
    .forward = mixer_forward, .backward = mixer_backward, .forward_f64 = mixer_forward_f64,
    .backward_f64 = mixer_backward_f64};

#define MIXER(field) XF_FIELD_INT, offsetof(xf_model_config, mixer.field)

static const xf_setting mixer_settings[] = {
    {.key = "patch", .kind = XF_SETTING_INT, .lo = 1, .hi = 256, .def = "4", .required = true,
     .help = "patch side in pixels; divides the image", MIXER(patch)},
    {.key = "dim", .kind = XF_SETTING_INT, .lo = 1, .hi = 8192, .def = "64", .required = true,
     .help = "channels per token", MIXER(dim)},
    {.key = "depth", .kind = XF_SETTING_INT, .lo = 1, .hi = 256, .def = "4", .required = true,
     .help = "token- and channel-mixing blocks", MIXER(depth)},
    {.key = "token_mlp_dim", .kind = XF_SETTING_INT, .lo = 1, .hi = 1 << 16, .def = "64",
     .required = true, .help = "hidden units of the token-mixing MLP", MIXER(token_mlp_dim)},
    {.key = "channel_mlp_dim", .kind = XF_SETTING_INT, .lo = 1, .hi = 1 << 16, .def = "256",
     .required = true, .help = "hidden units of the channel-mixing MLP",
     MIXER(channel_mlp_dim)},
};

static xf_status mixer_validate(const xf_model_config *c) {
    if (c->height % c->mixer.patch || c->width % c->mixer.patch)
        return xf_fail(XF_EINVAL,
                       "model config: mixer.patch %d does not divide the %d x %d image "
                       "(height x width)",
                       c->mixer.patch, c->height, c->width);
    double n = (double)(c->height / c->mixer.patch) * (c->width / c->mixer.patch);
    if (n * c->mixer.channel_mlp_dim > (double)(1u << 31) - 1 ||
        (double)c->mixer.token_mlp_dim * c->mixer.dim > (double)(1u << 31) - 1)
        return xf_fail(XF_EINVAL, "model config: mixer with %.0f tokens is too large for one image",
                       n);
    return XF_OK;
}

/* timm's MlpMixer from its state_dict: patch and width from stem.proj,
 * the patch count (a square grid) from the token MLP, its widths, depth
 * from the blocks, classes from head (0 without one). */
static xf_status mixer_from_timm(const xf_safetensors *st, xf_model_config *c) {
    static const char *const needed[] = {"stem.proj.weight", "blocks.0.mlp_tokens.fc1.weight",
                                         "blocks.0.mlp_channels.fc1.weight"};
    const xf_st_tensor *e[3];
    for (int k = 0; k < 3; k++) {
        e[k] = xf_safetensors_find(st, needed[k]);
        if (!e[k] || e[k]->ndim != (k ? 2 : 4))
            return xf_fail(XF_EFORMAT, "%s: tensor '%s' is %s (a timm MLP-Mixer has it, %d-D)",
                           st->path, needed[k], e[k] ? "of another rank" : "missing",
                           k ? 2 : 4);
    }
    if (e[0]->shape[2] != e[0]->shape[3])
        return xf_fail(XF_EFORMAT, "%s: tensor 'stem.proj.weight': patches are not square",
                       st->path);
    c->mixer.dim = (int)e[0]->shape[0];
    c->channels = (int)e[0]->shape[1];
    c->mixer.patch = (int)e[0]->shape[2];
    c->mixer.token_mlp_dim = (int)e[1]->shape[0];
    c->mixer.channel_mlp_dim = (int)e[2]->shape[0];
    long long n = e[1]->shape[1], side = llround(sqrt((double)n));
    if (side * side != n)
        return xf_fail(XF_EFORMAT, "%s: tensor 'blocks.0.mlp_tokens.fc1.weight' mixes %lld "
                       "tokens, not a square grid", st->path, n);
    if (!c->height) c->height = c->width = (int)side * c->mixer.patch;
    else if (c->height != side * c->mixer.patch || c->width != c->height)
        return xf_fail(XF_EINVAL, "%s: input_size %d, but the token MLP mixes a %lldx%lld grid "
                       "of %d-pixel patches", st->path, c->height, side, side, c->mixer.patch);
    int depth = 0;
    for (char name[64];; depth++) {
        snprintf(name, sizeof name, "blocks.%d.norm1.weight", depth);
        if (!xf_safetensors_find(st, name)) break;
    }
    c->mixer.depth = depth;
    const xf_st_tensor *head = xf_safetensors_find(st, "head.weight");
    c->n_classes = head && head->ndim == 2 ? (int)head->shape[0] : 0;
    return XF_OK;
}

const xf_family_info xf_mixer_family = {
    .name = "mixer",
    .summary = "patch embedding, depth token- and channel-mixing blocks, head",
    .ops = &xf_mixer_ops,
    .settings = mixer_settings,
    .n_settings = sizeof mixer_settings / sizeof mixer_settings[0],
    .validate = mixer_validate,
    .from_timm = mixer_from_timm,
};
