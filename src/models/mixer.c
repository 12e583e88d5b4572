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

#include "core/mem.h"
#include "core/rng.h"
#include "models/family.h"
#include "nn/activation.h"
#include "nn/embed.h"
#include "nn/linear.h"
#include "nn/loss.h"
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

typedef struct {
    size_t cols, h, ln1, mu1, rs1, tf1, ta, mid, ln2, mu2, rs2, cf1, ca;
    size_t lnf, muf, rsf, pooled, taps, dh, dtmp, dta, dca, dpooled, total;
    size_t s_bnd, s_bn, s_tok, s_ch, s_bd;
} mixer_layout;

static mixer_layout mixer_layout_of(const xf_model_config *c, int batch) {
    mixer_dims d = mixer_dims_of(c);
    mixer_layout L;
    size_t B = (size_t)batch, depth = (size_t)d.depth, at = 0;
    L.s_bnd = B * d.N * d.D;
    L.s_bn = B * d.N;
    L.s_tok = B * d.TM * d.D;
    L.s_ch = B * d.N * d.CM;
    L.s_bd = B * d.D;
#define TAKE(field, n) (L.field = at, at += (n))
    TAKE(cols, L.s_bn * c->channels * d.patch * d.patch);
    TAKE(h, (depth + 1) * L.s_bnd);
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
    TAKE(taps, depth * L.s_bd);
    TAKE(dh, L.s_bnd);
    TAKE(dtmp, L.s_bnd);
    TAKE(dta, L.s_tok);
    TAKE(dca, L.s_ch);
    TAKE(dpooled, L.s_bd);
#undef TAKE
    L.total = at;
    return L;
}

#define REAL float
#define XF_NN_NAME(base) base
#include "models/mixer_pass.inc"
#undef REAL
#undef XF_NN_NAME

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "models/mixer_pass.inc"
#undef REAL
#undef XF_NN_NAME

typedef struct {
    float *arena;
    mixer_layout layout;
    int last_batch; /* of the last forward; 0 before any */
} mixer_state;

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

static xf_status mixer_build(xf_model *m) {
    const xf_model_config *c = &m->config;
    mixer_dims d = mixer_dims_of(c);
    int D = d.D, N = d.N, TM = d.TM, CM = d.CM, p = d.patch;
    m->n_tensors = block_tensor(d.depth) + 4;
    m->n_taps = d.depth + 1;
    m->tensors = xf_calloc((size_t)m->n_tensors, sizeof *m->tensors);
    m->tap_dims = xf_calloc((size_t)m->n_taps, sizeof *m->tap_dims);
    m->tap_names = xf_calloc((size_t)m->n_taps, sizeof *m->tap_names);
    m->impl = xf_calloc(1, sizeof(mixer_state));
    if (!m->tensors || !m->tap_dims || !m->tap_names || !m->impl) return XF_ENOMEM;

    int k = 0;
    size_t off = 0;
    const xf_param_group body = XF_GROUP_BODY;
    add_tensor(m, &k, &off, body, 4, SHAPE(D, c->channels, p, p), "stem.proj.weight", 0);
    add_tensor(m, &k, &off, body, 1, SHAPE(D), "stem.proj.bias", 0);
    for (int i = 0; i < d.depth; i++) {
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm1.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm1.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(TM, N), "blocks.%d.mlp_tokens.fc1.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(TM), "blocks.%d.mlp_tokens.fc1.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(N, TM), "blocks.%d.mlp_tokens.fc2.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(N), "blocks.%d.mlp_tokens.fc2.bias", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm2.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.norm2.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(CM, D), "blocks.%d.mlp_channels.fc1.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(CM), "blocks.%d.mlp_channels.fc1.bias", i);
        add_tensor(m, &k, &off, body, 2, SHAPE(D, CM), "blocks.%d.mlp_channels.fc2.weight", i);
        add_tensor(m, &k, &off, body, 1, SHAPE(D), "blocks.%d.mlp_channels.fc2.bias", i);
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
    double per_block = 2.0 * 2 * D * N * TM + 2.0 * 2 * N * D * CM;
    m->flops_per_image = 2.0 * N * c->channels * p * p * D + d.depth * per_block +
                         2.0 * D * c->n_classes;
    return XF_OK;
}

/* timm's MlpMixer init, except the head: Linear weights xavier_uniform,
 * MLP biases normal(1e-6), LayerNorm 1 / 0, the stem lecun_normal (std
 * 1/sqrt(fan_in), cut at 2 std). The head gets xavier_uniform and a zero
 * bias, not timm's zeros, so a fresh model's blocks already receive
 * gradient on the first step. */
static void mixer_init_weights(xf_model *m, uint64_t seed) {
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    mixer_dims d = mixer_dims_of(&m->config);
    for (int k = 0; k < m->n_tensors; k++) {
        const xf_tensor_info *t = &m->tensors[k];
        float *v = m->params + t->offset;
        size_t len = strlen(t->name);
        bool is_weight = len > 7 && strcmp(t->name + len - 7, ".weight") == 0;
        if (k == T_STEM_W) {
            double std = 1 / sqrt((double)m->config.channels * d.patch * d.patch);
            for (size_t j = 0; j < t->numel; j++) {
                double z;
                do z = xf_rng_normal(&rng);
                while (fabs(z) > 2);
                v[j] = (float)(z * std);
            }
        } else if (strstr(t->name, "norm")) {
            for (size_t j = 0; j < t->numel; j++) v[j] = is_weight ? 1.0f : 0.0f;
        } else if (is_weight) {
            double bound = sqrt(6.0 / (t->shape[0] + t->shape[1]));
            for (size_t j = 0; j < t->numel; j++)
                v[j] = (float)((2 * xf_rng_uniform(&rng) - 1) * bound);
        } else if (strstr(t->name, "mlp_")) {
            for (size_t j = 0; j < t->numel; j++) v[j] = (float)(1e-6 * xf_rng_normal(&rng));
        } else {
            memset(v, 0, sizeof(float) * t->numel);
        }
    }
}

static xf_status mixer_reserve(xf_model *m, int batch) {
    mixer_state *s = m->impl;
    mixer_layout L = mixer_layout_of(&m->config, batch);
    float *arena = xf_malloc(sizeof(float) * L.total);
    if (!arena) return XF_ENOMEM;
    free(s->arena);
    s->arena = arena;
    s->layout = L;
    s->last_batch = 0;
    return XF_OK;
}

static void mixer_forward(xf_model *m, const float *x, int batch, float *logits) {
    mixer_state *s = m->impl;
    pass_forward(m, &s->layout, m->params, x, batch, s->arena, logits, m->taps_enabled);
    s->last_batch = batch;
}

static void mixer_backward(xf_model *m, const float *dlogits, int batch) {
    mixer_state *s = m->impl;
    XF_ASSERT(s->last_batch == batch);
    pass_backward(m, &s->layout, m->params, m->grads, batch, s->arena, dlogits);
}

static const float *mixer_tap(const xf_model *m, int t) {
    const mixer_state *s = m->impl;
    if (t == m->n_taps - 1) return s->arena + s->layout.pooled;
    return s->arena + s->layout.taps + (size_t)t * s->layout.s_bd;
}

static void mixer_free_impl(xf_model *m) {
    mixer_state *s = m->impl;
    if (s) free(s->arena);
    free(s);
    m->impl = NULL;
}

const xf_model_ops xf_mixer_ops = {
    .build = mixer_build,
    .init_weights = mixer_init_weights,
    .reserve = mixer_reserve,
    .forward = mixer_forward,
    .backward = mixer_backward,
    .tap = mixer_tap,
    .free_impl = mixer_free_impl,
};

xf_status xf_mixer_loss_f64(const xf_model *m, const double *params, const double *x,
                            const int32_t *labels, int batch, double *loss, double *grads) {
    if (m->ops != &xf_mixer_ops)
        return xf_fail(XF_EINVAL, "xf_mixer_loss_f64: the model is a %s, not a mixer",
                       xf_family_name(m->config.family));
    if (batch < 1)
        return xf_fail(XF_EINVAL, "xf_mixer_loss_f64: batch %d, expected >= 1", batch);
    mixer_layout L = mixer_layout_of(&m->config, batch);
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

const xf_family_info xf_mixer_family = {
    .name = "mixer",
    .summary = "patch embedding, depth token- and channel-mixing blocks, head",
    .ops = &xf_mixer_ops,
    .settings = mixer_settings,
    .n_settings = sizeof mixer_settings / sizeof mixer_settings[0],
    .validate = mixer_validate,
};
