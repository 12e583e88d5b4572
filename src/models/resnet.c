/* The resnet family (see resnet.h for the architecture, names and taps).
 *
 * FLOPs per image count the convolutions and the head (2 per multiply-add),
 * as the other families count their matrix products: a conv is
 * 2 oh ow cout cin k^2, the head 2 width classes. Norms, ReLUs, weight
 * standardisation, pooling and residual adds are O(activations) and left
 * out.
 *
 * Activation arena: every region whose size scales with the batch sits at
 * base + batch * (its per-image offset), so one table of per-image offsets
 * serves every batch size; the batch-independent scratch (standardised
 * weights and their statistics, the weight-gradient scratch, the im2col
 * buffer) comes first. */
#include "models/resnet.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "models/family.h"
#include "models/tensors.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/groupnorm.h"
#include "nn/linear.h"
#include "nn/real.h"
#include "nn/spatial_pool.h"
#include "nn/wstd.h"

#define RN_NORM_EPS 1e-5   /* timm's GroupNormAct and BatchNormAct2d */
#define RN_BN_MOMENTUM 0.1 /* PyTorch's BatchNorm default */
/* im2col chunks cover about this many output positions per gemm. */
enum { RN_CHUNK_ROWS = 8192 };

typedef struct {
    int t; /* weight tensor */
    int h, w, cin, cout, k, stride, pad;
    size_t what, stat; /* fixed-arena offsets of the standardised weight and its mean, rstd */
} rn_conv;

typedef struct {
    int t;     /* weight tensor; the bias is t + 1 */
    int c, hw; /* channels, spatial positions per image */
    int state; /* BatchNorm: the running_mean state tensor (running_var + 1, count + 2) */
} rn_norm;

typedef struct {
    int ds, conv1, conv2, norm1, norm2; /* ds: conv index or -1 */
    int cin, cout, hw_in, hw_out;
    size_t h, a1, c1, a2, s1, s2, tap; /* per-image offsets */
} rn_block;

typedef struct {
    int n_blocks, n_convs, n_norms;
    rn_block *blocks;
    rn_conv *convs;
    rn_norm *norms;
    int stem, final_norm, head; /* head: head.fc.weight, its bias head + 1 */
    int cf, hwf;                /* final width and spatial positions */
    /* per-image offsets */
    size_t in, hf, af, sf, pooled, tmp, dh, db, dc, dpooled, per_image;
    size_t max_act, max_cout; /* per image: largest activation, widest norm */
    size_t what_total, stat_total, max_wnumel;
    double *work; /* the norms' sums: 3 max_cout */
} rn_state;

typedef struct {
    size_t dwhat, cols, cols_cap, base, total;
} rn_layout;

int xf_resnet_groups(int channels) {
    int a = 32, b = channels;
    while (b) {
        int r = a % b;
        a = b;
        b = r;
    }
    return a;
}

static bool use_gn(const xf_model *m) { return m->config.resnet.norm == XF_NORM_GROUP_WS; }

/* The standardised weights' rstd follow all their means in the arena. */
static size_t s_stat_total(const xf_model *m) {
    return ((const rn_state *)m->impl)->stat_total;
}

static rn_layout rn_layout_of(const rn_state *s, int batch) {
    rn_layout L;
    size_t at = s->what_total + 2 * s->stat_total; /* what, then mean, then rstd */
    L.dwhat = at;
    at += s->max_wnumel;
    L.cols_cap = 0;
    for (int i = 0; i < s->n_convs; i++) {
        const rn_conv *c = &s->convs[i];
        xf_conv2d_geom g =
            xf_conv2d_geometry(batch, c->h, c->w, c->cin, c->cout, c->k, c->stride, c->pad);
        int per = g.oh * g.ow, imgs = RN_CHUNK_ROWS / per;
        imgs = imgs < 1 ? 1 : imgs > batch ? batch : imgs;
        size_t need = xf_conv2d_cols_size(&g, imgs);
        if (need > L.cols_cap) L.cols_cap = need;
    }
    L.cols = at;
    at += L.cols_cap;
    L.base = at;
    L.total = at + (size_t)batch * s->per_image;
    return L;
}

#define XF_PASSES "models/resnet_pass.inc"
#include "models/passes.inc"

/* Running the table twice (count, then fill) keeps the layout in one place. */
typedef struct {
    xf_model *m;
    rn_state *s;
    bool fill;
    xf_tensor_list params, state;
    int nconv, nnorm;
    size_t what, stat;
} rn_builder;

static int add_conv(rn_builder *b, const char *prefix, int h, int w, int cin, int cout, int k,
                    int stride) {
    int t = xf_tensors_add(&b->params, XF_GROUP_BODY, 4, XF_SHAPE(cout, cin, k, k), "%s.weight",
                           prefix);
    if (b->fill)
        b->s->convs[b->nconv] = (rn_conv){t, h, w, cin, cout, k, stride, k / 2, b->what, b->stat};
    b->what += (size_t)cout * cin * k * k;
    b->stat += (size_t)cout;
    return b->nconv++;
}

static int add_norm(rn_builder *b, const char *prefix, int c, int hw) {
    int t = xf_tensors_layer(&b->params, XF_GROUP_BODY, 1, XF_SHAPE(c), "%s", prefix);
    int state = -1;
    if (b->m->config.resnet.norm == XF_NORM_BATCH) {
        state = b->state.n;
        xf_tensors_add(&b->state, XF_GROUP_BODY, 1, XF_SHAPE(c), "%s.running_mean", prefix);
        xf_tensors_add(&b->state, XF_GROUP_BODY, 1, XF_SHAPE(c), "%s.running_var", prefix);
        xf_tensors_add(&b->state, XF_GROUP_BODY, 0, NULL, "%s.num_batches_tracked", prefix);
    }
    if (b->fill) b->s->norms[b->nnorm] = (rn_norm){t, c, hw, state};
    return b->nnorm++;
}

static void build_table(rn_builder *b) {
    const xf_model_config *c = &b->m->config;
    rn_state *s = b->s;
    int h = c->height, w = c->width, width = c->resnet.base_width, k = 0;
    char prefix[XF_NAME_LEN];
    s->stem = add_conv(b, "stem.conv", h, w, c->channels, width, 3, 1);
    for (int st = 0; st < c->resnet.stages; st++) {
        int cout = c->resnet.base_width << st;
        for (int j = 0; j < c->resnet.blocks[st]; j++, k++) {
            int stride = st > 0 && j == 0 ? 2 : 1;
            int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
            rn_block blk = {.ds = -1, .cin = width, .cout = cout, .hw_in = h * w,
                            .hw_out = oh * ow};
            if (stride != 1 || width != cout) {
                snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.downsample.conv", st, j);
                blk.ds = add_conv(b, prefix, h, w, width, cout, 1, stride);
            }
            snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.norm1", st, j);
            blk.norm1 = add_norm(b, prefix, width, h * w);
            snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.conv1", st, j);
            blk.conv1 = add_conv(b, prefix, h, w, width, cout, 3, stride);
            snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.norm2", st, j);
            blk.norm2 = add_norm(b, prefix, cout, oh * ow);
            snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.conv2", st, j);
            blk.conv2 = add_conv(b, prefix, oh, ow, cout, cout, 3, 1);
            if (b->fill) {
                s->blocks[k] = blk;
                xf_tap_set(b->m, k, cout, "s%db%d", st, j);
            }
            h = oh;
            w = ow;
            width = cout;
        }
    }
    s->final_norm = add_norm(b, "norm", width, h * w);
    s->head = xf_tensors_layer(&b->params, XF_GROUP_HEAD, 4, XF_SHAPE(c->n_classes, width, 1, 1),
                               "head.fc");
    s->n_blocks = k;
    s->cf = width;
    s->hwf = h * w;
}

/* Per-image offsets of the batch-scaled regions. */
static void plan_arena(xf_model *m, rn_state *s) {
    size_t at = 0, max_act = 0, max_c = (size_t)s->cf;
    const xf_model_config *c = &m->config;
    s->in = at;
    at += (size_t)c->height * c->width * c->channels;
    for (int i = 0; i < s->n_blocks; i++) {
        rn_block *b = &s->blocks[i];
        size_t in = (size_t)b->hw_in * b->cin, out = (size_t)b->hw_out * b->cout;
        b->h = at, at += in;
        b->a1 = at, at += in;
        b->c1 = at, at += out;
        b->a2 = at, at += out;
        b->s1 = at, at += 2 * (size_t)b->cin;
        b->s2 = at, at += 2 * (size_t)b->cout;
        b->tap = at, at += (size_t)b->cout;
        if (in > max_act) max_act = in;
        if (out > max_act) max_act = out;
        if ((size_t)b->cout > max_c) max_c = (size_t)b->cout;
        if ((size_t)b->cin > max_c) max_c = (size_t)b->cin;
    }
    size_t fin = (size_t)s->hwf * s->cf;
    if (fin > max_act) max_act = fin;
    s->hf = at, at += fin;
    s->af = at, at += fin;
    s->sf = at, at += 2 * (size_t)s->cf;
    s->pooled = at, at += (size_t)s->cf;
    s->dpooled = at, at += (size_t)s->cf;
    s->tmp = at, at += max_act;
    s->dh = at, at += max_act;
    s->db = at, at += max_act;
    s->dc = at, at += max_act;
    s->per_image = at;
    s->max_act = max_act;
    s->max_cout = max_c;
    s->max_wnumel = 0;
    for (int i = 0; i < s->n_convs; i++) {
        const rn_conv *cv = &s->convs[i];
        size_t n = (size_t)cv->cout * cv->cin * cv->k * cv->k;
        if (n > s->max_wnumel) s->max_wnumel = n;
    }
}

static void reset_state(xf_model *m) {
    /* PyTorch's fresh buffers: mean 0, var 1, count 0. */
    for (int i = 0; i < m->n_state_tensors; i++) {
        const xf_tensor_info *t = &m->state_tensors[i];
        float v = i % 3 == 1 ? 1.0f : 0.0f;
        for (size_t j = 0; j < t->numel; j++) m->state[t->offset + j] = v;
    }
}

static xf_status rn_build(xf_model *m) {
    rn_state *s = xf_calloc(1, sizeof *s);
    if (!s) return XF_ENOMEM;
    m->impl = s;
    rn_builder b = {.m = m, .s = s};
    build_table(&b);
    xf_status st = xf_tensors_alloc(m, b.params.n, s->n_blocks + 1);
    if (st != XF_OK) return st;
    m->n_state_tensors = b.state.n;
    s->n_convs = b.nconv;
    s->n_norms = b.nnorm;
    s->blocks = xf_calloc((size_t)s->n_blocks, sizeof *s->blocks);
    s->convs = xf_calloc((size_t)s->n_convs, sizeof *s->convs);
    s->norms = xf_calloc((size_t)s->n_norms, sizeof *s->norms);
    if (b.state.n) m->state_tensors = xf_calloc((size_t)b.state.n, sizeof *m->state_tensors);
    if (!s->blocks || !s->convs || !s->norms || (b.state.n && !m->state_tensors))
        return XF_ENOMEM;
    /* Standardised weights first, then their means, then their rstds. */
    s->what_total = b.what;
    s->stat_total = b.stat;
    b = (rn_builder){.m = m, .s = s, .fill = true, .params = {.at = m->tensors},
                     .state = {.at = m->state_tensors}, .stat = s->what_total};
    build_table(&b);
    m->n_params = b.params.offset;
    m->n_state = b.state.offset;
    if (m->n_state) {
        m->state = xf_calloc(m->n_state, sizeof(float));
        if (!m->state) return XF_ENOMEM;
        reset_state(m);
    }
    xf_tap_set(m, s->n_blocks, s->cf, "prelogits");
    plan_arena(m, s);
    s->work = xf_malloc(sizeof(double) * 3 * s->max_cout);
    if (!s->work) return XF_ENOMEM;
    double flops = 2.0 * s->cf * m->config.n_classes;
    for (int i = 0; i < s->n_convs; i++) {
        const rn_conv *cv = &s->convs[i];
        xf_conv2d_geom g =
            xf_conv2d_geometry(1, cv->h, cv->w, cv->cin, cv->cout, cv->k, cv->stride, cv->pad);
        flops += 2.0 * g.oh * g.ow * cv->cout * cv->cin * cv->k * cv->k;
    }
    m->flops_per_image = flops;
    return XF_OK;
}

/* timm's ResNetV2 init: convs kaiming_normal_(fan_out, relu), each block's
 * conv2 zero (zero_init_last), head.fc normal(0.01) with zero bias, norms
 * weight 1 and bias 0; running statistics fresh. */
static void rn_init_weights(xf_model *m, uint64_t seed) {
    rn_state *s = m->impl;
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    memset(m->params, 0, sizeof(float) * m->n_params);
    for (int i = 0; i < s->n_convs; i++) {
        const rn_conv *cv = &s->convs[i];
        const xf_tensor_info *t = &m->tensors[cv->t];
        size_t len = strlen(t->name);
        if (len > 12 && strcmp(t->name + len - 12, "conv2.weight") == 0) continue;
        double std = sqrt(2.0 / ((double)cv->cout * cv->k * cv->k));
        for (size_t j = 0; j < t->numel; j++)
            m->params[t->offset + j] = (float)(std * xf_rng_normal(&rng));
    }
    for (int i = 0; i < s->n_norms; i++) {
        const xf_tensor_info *t = &m->tensors[s->norms[i].t];
        for (size_t j = 0; j < t->numel; j++) m->params[t->offset + j] = 1.0f;
    }
    const xf_tensor_info *hw = &m->tensors[s->head];
    for (size_t j = 0; j < hw->numel; j++)
        m->params[hw->offset + j] = (float)(0.01 * xf_rng_normal(&rng));
    reset_state(m);
}

static size_t rn_arena_size(const xf_model *m, int batch) {
    return rn_layout_of(m->impl, batch).total;
}

static void rn_free_impl(xf_model *m) {
    rn_state *s = m->impl;
    if (s) {
        free(s->work);
        free(s->blocks);
        free(s->convs);
        free(s->norms);
    }
    free(s);
    free(m->state);
    free(m->state_tensors);
    m->impl = NULL;
    m->state = NULL;
    m->state_tensors = NULL;
}

const xf_model_ops xf_resnet_ops = {
    .build = rn_build, .init_weights = rn_init_weights, .arena_size = rn_arena_size,
    .forward = rn_forward, .backward = rn_backward, .forward_f64 = rn_forward_f64,
    .backward_f64 = rn_backward_f64, .free_impl = rn_free_impl};

static const char *const norm_words[] = {[XF_NORM_GROUP_WS] = "group_ws",
                                         [XF_NORM_BATCH] = "batch", NULL};
/* The command line said gn / bn and checkpoints "group" before the names
 * were one. */
static const char *const norm_aliases[][2] = {
    {"gn", "group_ws"}, {"group", "group_ws"}, {"bn", "batch"}, {NULL, NULL}};
_Static_assert(sizeof(xf_resnet_norm) == sizeof(int), "norm is stored as an int");

static const xf_setting resnet_settings[] = {
    {.key = "blocks", .kind = XF_SETTING_INTS, .lo = 1, .hi = 64, .max_items = 4,
     .def = "2,2,2", .required = true,
     .help = "blocks per stage, one number per stage (1 to 4 stages)",
     .field = XF_FIELD_INTS, .offset = offsetof(xf_model_config, resnet.blocks),
     .count_offset = offsetof(xf_model_config, resnet.stages), .count_key = "stages"},
    {.key = "base_width", .kind = XF_SETTING_INT, .lo = 1, .hi = 4096, .def = "16",
     .required = true, .help = "channels of the first stage, doubled per stage",
     .field = XF_FIELD_INT, .offset = offsetof(xf_model_config, resnet.base_width)},
    {.key = "norm", .kind = XF_SETTING_WORD, .words = norm_words, .aliases = norm_aliases,
     .def = "group_ws", .help = "GroupNorm with weight standardisation, or BatchNorm",
     .field = XF_FIELD_INT, .offset = offsetof(xf_model_config, resnet.norm)},
};

static xf_status rn_check(const xf_model_config *c) {
    /* The last stage has base_width << (stages - 1) channels. */
    int widest = 4096 >> (c->resnet.stages - 1);
    if (c->resnet.base_width > widest)
        return xf_fail(XF_EINVAL,
                       "model config: field 'resnet.base_width' is %d, expected at most %d with "
                       "%d stages (the last stage has base_width x %d channels, at most 4096)",
                       c->resnet.base_width, widest, c->resnet.stages,
                       1 << (c->resnet.stages - 1));
    return XF_OK;
}

static xf_status rn_validate(const xf_model_config *c) {
    /* One image's patches at the widest layer (positions x 9 channels) stay
     * within int, which BLAS takes. */
    double channels = (double)(c->resnet.base_width << (c->resnet.stages - 1));
    if ((double)c->height * c->width * 9 * channels > (double)INT_MAX)
        return xf_fail(XF_EINVAL, "model config: resnet on a %d x %d image is too large",
                       c->height, c->width);
    return XF_OK;
}

const xf_family_info xf_resnet_family = {
    .name = "resnet",
    .summary = "stem conv, pre-activation stages of basic blocks, head",
    .ops = &xf_resnet_ops,
    .settings = resnet_settings,
    .n_settings = sizeof resnet_settings / sizeof resnet_settings[0],
    .check = rn_check,
    .validate = rn_validate,
};
