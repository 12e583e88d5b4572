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
#include "core/safetensors.h"
#include "models/family.h"
#include "models/tensors.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/groupnorm.h"
#include "nn/linear.h"
#include "nn/maxpool.h"
#include "nn/real.h"
#include "nn/spatial_pool.h"
#include "nn/wstd.h"

#define RN_NORM_EPS 1e-5   /* timm's GroupNormAct and BatchNormAct2d */
/* BiT's stem (timm's stem_type 'fixed'): a 7x7 stride-2 conv, then zero
 * padding of 1 and a 3x3 stride-2 max pool. */
enum { RN_BIT_STEM_K = 7, RN_BIT_POOL_K = 3, RN_BIT_POOL_PAD = 1 };
/* A bottleneck block's output width over its inner width. */
enum { RN_EXPANSION = 4 };
#define RN_BN_MOMENTUM 0.1 /* PyTorch's BatchNorm default */
/* im2col chunks cover about this many output positions per gemm. */
enum { RN_CHUNK_ROWS = 8192 };

typedef struct {
    int t; /* weight tensor */
    int h, w, cin, cout, k, stride, pad;
    size_t what, stat; /* fixed-arena offsets of the standardised weight and its mean, rstd */
    bool zero_init;    /* a block's last conv (timm's zero_init_last) */
} rn_conv;

typedef struct {
    int t;     /* weight tensor; the bias is t + 1 */
    int c, hw; /* channels, spatial positions per image */
    int state; /* BatchNorm: the running_mean state tensor (running_var + 1, count + 2) */
} rn_norm;

/* A block's main path is n (2: basic, 3: bottleneck) pre-activation
 * layers, norm[i] + ReLU then conv[i]; norm 0 reads the block input h,
 * norm i > 0 reads pre[i], conv i - 1's output; the last conv writes the
 * block output with the shortcut added. */
enum { RN_MAX_LAYERS = 3 };

typedef struct {
    int n, ds; /* ds: conv index or -1 */
    int conv[RN_MAX_LAYERS], norm[RN_MAX_LAYERS];
    int cin, cout, hw_in, hw_out;
    /* per-image offsets: the input, each norm's output and stats, each
     * inner conv's output (pre[0] unused), the tap */
    size_t h, act[RN_MAX_LAYERS], pre[RN_MAX_LAYERS], stats[RN_MAX_LAYERS], tap;
    size_t tap_fwd; /* the tap in the forward-only plan */
} rn_block;

/* Per-image offsets of a forward-only pass (model.h's forward_only):
 * every block's input and output share one buffer h (a block reads its
 * input through norm1 and as the shortcut, which its last conv adds as it
 * writes the output in place), as do its norm outputs, inner conv outputs
 * and statistics (act also holds the stem conv's output before the pool),
 * so a pass needs four of the largest activation instead of all of them;
 * the stem reads the caller's input. */
typedef struct {
    size_t h, pre, act, stats, tmp, af, sf, pooled, per_image;
} rn_fwd_plan;

typedef struct {
    int n_blocks, n_convs, n_norms;
    rn_block *blocks;
    rn_conv *convs;
    rn_norm *norms;
    int stem, final_norm, head; /* head: head.fc.weight, its bias head + 1 */
    int cf, hwf;                /* final width and spatial positions */
    bool stem_pool;             /* BiT's stem: the conv's output is max-pooled */
    int sh, sw, sc;             /* the stem conv's output shape (before the pool) */
    /* per-image offsets */
    size_t in, stem_out, hf, af, sf, pooled, tmp, dh, db, dc, dpooled, per_image;
    size_t max_act, max_cout; /* per image: largest activation, widest norm */
    size_t what_total, stat_total, max_wnumel;
    rn_fwd_plan fwd;
    double *work; /* the norms' sums: 3 max_cout */
} rn_state;

typedef struct {
    size_t dwhat, cols, cols_cap, base, total;
    bool kept; /* the full plan: every activation kept for the backward */
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

static rn_layout rn_layout_of(const rn_state *s, int batch, bool forward_only) {
    rn_layout L;
    L.kept = !forward_only;
    size_t at = s->what_total + 2 * s->stat_total; /* what, then mean, then rstd */
    L.dwhat = at;
    at += L.kept ? s->max_wnumel : 0;
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
    L.total = at + (size_t)batch * (L.kept ? s->per_image : s->fwd.per_image);
    return L;
}

/* Per-image offsets of the buffers a forward pass uses, in L's plan: the
 * input of block i (i = n_blocks: the last block's output), block i's
 * layer-l norm output, inner conv output (l > 0) and statistics, its tap. */
static size_t rn_at_h(const rn_state *s, const rn_layout *L, int i) {
    if (!L->kept) return s->fwd.h;
    return i < s->n_blocks ? s->blocks[i].h : s->hf;
}
static size_t rn_at_act(const rn_state *s, const rn_layout *L, int i, int l) {
    return L->kept ? s->blocks[i].act[l] : s->fwd.act;
}
static size_t rn_at_pre(const rn_state *s, const rn_layout *L, int i, int l) {
    return L->kept ? s->blocks[i].pre[l] : s->fwd.pre;
}
static size_t rn_at_stats(const rn_state *s, const rn_layout *L, int i, int l) {
    return L->kept ? s->blocks[i].stats[l] : s->fwd.stats;
}
static size_t rn_at_tap(const rn_state *s, const rn_layout *L, int i) {
    return L->kept ? s->blocks[i].tap : s->blocks[i].tap_fwd;
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

/* Padding k / 2, timm's get_padding for every conv here (odd k, stride 1
 * or 2). */
static int add_conv(rn_builder *b, const char *prefix, int h, int w, int cin, int cout, int k,
                    int stride) {
    int t = xf_tensors_add(&b->params, XF_GROUP_BODY, 4, XF_SHAPE(cout, cin, k, k), "%s.weight",
                           prefix);
    if (b->fill)
        b->s->convs[b->nconv] =
            (rn_conv){t, h, w, cin, cout, k, stride, k / 2, b->what, b->stat, false};
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

/* Output side of a stride-`stride` conv or pool with padding k / 2. */
static int strided(int size, int stride) { return (size - 1) / stride + 1; }

static void build_table(rn_builder *b) {
    const xf_model_config *c = &b->m->config;
    rn_state *s = b->s;
    bool bottleneck = c->resnet.block == XF_BLOCK_BOTTLENECK;
    int h = c->height, w = c->width, width = c->resnet.base_width, k = 0;
    char prefix[XF_NAME_LEN];
    if (c->resnet.stem == XF_STEM_BIT) {
        s->stem = add_conv(b, "stem.conv", h, w, c->channels, width, RN_BIT_STEM_K, 2);
        s->stem_pool = true;
        s->sh = strided(h, 2);
        s->sw = strided(w, 2);
        s->sc = width;
        h = xf_maxpool_out(s->sh, RN_BIT_POOL_K, 2, RN_BIT_POOL_PAD);
        w = xf_maxpool_out(s->sw, RN_BIT_POOL_K, 2, RN_BIT_POOL_PAD);
    } else {
        s->stem = add_conv(b, "stem.conv", h, w, c->channels, width, 3, 1);
    }
    for (int st = 0; st < c->resnet.stages; st++) {
        int mid = c->resnet.base_width << st, cout = bottleneck ? RN_EXPANSION * mid : mid;
        for (int j = 0; j < c->resnet.blocks[st]; j++, k++) {
            int stride = st > 0 && j == 0 ? 2 : 1;
            int oh = strided(h, stride), ow = strided(w, stride);
            rn_block blk = {.n = bottleneck ? 3 : 2, .ds = -1, .cin = width, .cout = cout,
                            .hw_in = h * w, .hw_out = oh * ow};
            if (stride != 1 || width != cout) {
                snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.downsample.conv", st, j);
                blk.ds = add_conv(b, prefix, h, w, width, cout, 1, stride);
            }
            /* basic: 3x3 (strided), 3x3; bottleneck: 1x1, 3x3 (strided), 1x1. */
            int cins[RN_MAX_LAYERS] = {width, mid, mid};
            int couts[RN_MAX_LAYERS] = {mid, bottleneck ? mid : cout, cout};
            int ks[RN_MAX_LAYERS] = {bottleneck ? 1 : 3, 3, 1};
            int strides[RN_MAX_LAYERS] = {bottleneck ? 1 : stride, bottleneck ? stride : 1, 1};
            int lh = h, lw = w;
            for (int i = 0; i < blk.n; i++) {
                snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.norm%d", st, j, i + 1);
                blk.norm[i] = add_norm(b, prefix, cins[i], lh * lw);
                snprintf(prefix, sizeof prefix, "stages.%d.blocks.%d.conv%d", st, j, i + 1);
                blk.conv[i] = add_conv(b, prefix, lh, lw, cins[i], couts[i], ks[i], strides[i]);
                lh = strided(lh, strides[i]);
                lw = strided(lw, strides[i]);
            }
            if (b->fill) {
                s->convs[blk.conv[blk.n - 1]].zero_init = true;
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
    if (s->stem_pool) {
        size_t out = (size_t)s->sh * s->sw * s->sc;
        s->stem_out = at, at += out;
        if (out > max_act) max_act = out;
    }
    for (int i = 0; i < s->n_blocks; i++) {
        rn_block *b = &s->blocks[i];
        size_t in = (size_t)b->hw_in * b->cin, out = (size_t)b->hw_out * b->cout;
        b->h = at, at += in;
        for (int l = 0; l < b->n; l++) {
            const rn_norm *n = &s->norms[b->norm[l]];
            size_t len = (size_t)n->hw * n->c;
            if (l > 0) b->pre[l] = at, at += len;
            b->act[l] = at, at += len;
            b->stats[l] = at, at += 2 * (size_t)n->c;
            if (len > max_act) max_act = len;
            if ((size_t)n->c > max_c) max_c = (size_t)n->c;
        }
        b->tap = at, at += (size_t)b->cout;
        if (out > max_act) max_act = out;
        if ((size_t)b->cout > max_c) max_c = (size_t)b->cout;
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
    rn_fwd_plan *f = &s->fwd;
    at = 0;
    f->h = at, at += max_act;
    f->pre = at, at += max_act;
    f->act = at, at += max_act;
    f->tmp = at, at += max_act;
    f->stats = at, at += 2 * max_c;
    for (int i = 0; i < s->n_blocks; i++)
        s->blocks[i].tap_fwd = at, at += (size_t)s->blocks[i].cout;
    f->af = at, at += fin;
    f->sf = at, at += 2 * (size_t)s->cf;
    f->pooled = at, at += (size_t)s->cf;
    f->per_image = at;
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
 * last conv zero (zero_init_last), head.fc normal(0.01) with zero bias, norms
 * weight 1 and bias 0; running statistics fresh. */
static void rn_init_weights(xf_model *m, uint64_t seed) {
    rn_state *s = m->impl;
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    memset(m->params, 0, sizeof(float) * m->n_params);
    for (int i = 0; i < s->n_convs; i++) {
        const rn_conv *cv = &s->convs[i];
        const xf_tensor_info *t = &m->tensors[cv->t];
        if (cv->zero_init) continue;
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
    return rn_layout_of(m->impl, batch, xf_model_forward_only(m)).total;
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

static const char *const block_words[] = {[XF_BLOCK_BASIC] = "basic",
                                          [XF_BLOCK_BOTTLENECK] = "bottleneck", NULL};
static const char *const stem_words[] = {[XF_STEM_SMALL] = "small", [XF_STEM_BIT] = "bit",
                                         NULL};
_Static_assert(sizeof(xf_resnet_block) == sizeof(int), "block is stored as an int");
_Static_assert(sizeof(xf_resnet_stem) == sizeof(int), "stem is stored as an int");

static const xf_setting resnet_settings[] = {
    {.key = "blocks", .kind = XF_SETTING_INTS, .lo = 1, .hi = 64, .max_items = 4,
     .def = "2,2,2", .required = true,
     .help = "blocks per stage, one number per stage (1 to 4 stages)",
     .field = XF_FIELD_INTS, .offset = offsetof(xf_model_config, resnet.blocks),
     .count_offset = offsetof(xf_model_config, resnet.stages), .count_key = "stages"},
    {.key = "base_width", .kind = XF_SETTING_INT, .lo = 1, .hi = 4096, .def = "16",
     .required = true,
     .help = "channels of the stem and of the first stage (a bottleneck's inner width), "
             "doubled per stage",
     .field = XF_FIELD_INT, .offset = offsetof(xf_model_config, resnet.base_width)},
    {.key = "norm", .kind = XF_SETTING_WORD, .words = norm_words, .aliases = norm_aliases,
     .def = "group_ws", .help = "GroupNorm with weight standardisation, or BatchNorm",
     .field = XF_FIELD_INT, .offset = offsetof(xf_model_config, resnet.norm)},
    {.key = "block", .kind = XF_SETTING_WORD, .words = block_words, .def = "basic",
     .optional = true,
     .help = "pre-activation basic blocks (two 3x3 convs) or bottlenecks as BiT (1x1, 3x3, "
             "1x1 convs; outputs 4 x the stage's width)",
     .field = XF_FIELD_INT, .offset = offsetof(xf_model_config, resnet.block)},
    {.key = "stem", .kind = XF_SETTING_WORD, .words = stem_words, .def = "small",
     .optional = true,
     .help = "small: a 3x3 conv, stride 1; bit: BiT's 7x7 stride-2 conv, zero pad 1, 3x3 "
             "stride-2 max pool",
     .field = XF_FIELD_INT, .offset = offsetof(xf_model_config, resnet.stem)},
};

/* The widest layer: the last stage's block output. A bottleneck net may
 * reach 8192 (BiT-R152x4), a basic one 4096. */
static int rn_widest_limit(const xf_model_config *c) {
    return c->resnet.block == XF_BLOCK_BOTTLENECK ? 8192 : 4096;
}

static xf_status rn_check(const xf_model_config *c) {
    /* The last stage has base_width << (stages - 1) channels (x 4 with
     * bottlenecks). */
    int factor = (1 << (c->resnet.stages - 1)) *
                 (c->resnet.block == XF_BLOCK_BOTTLENECK ? RN_EXPANSION : 1);
    int limit = rn_widest_limit(c), widest = limit / factor;
    if (c->resnet.base_width > widest)
        return xf_fail(XF_EINVAL,
                       "model config: field 'resnet.base_width' is %d, expected at most %d with "
                       "%d stages (the last stage has base_width x %d channels, at most %d)",
                       c->resnet.base_width, widest, c->resnet.stages, factor, limit);
    return XF_OK;
}

static xf_status rn_validate(const xf_model_config *c) {
    /* One image's patches (positions x k^2 x input channels) stay within
     * int, which BLAS takes. Bounded per stage at its input's positions and
     * its widest layer, and for the stem. */
    bool bit = c->resnet.stem == XF_STEM_BIT;
    double h = c->height, w = c->width, worst = h * w * 9 * c->channels;
    if (bit) {
        h = strided((int)h, 2);
        w = strided((int)w, 2);
        worst = h * w * RN_BIT_STEM_K * RN_BIT_STEM_K * c->channels;
        h = xf_maxpool_out((int)h, RN_BIT_POOL_K, 2, RN_BIT_POOL_PAD);
        w = xf_maxpool_out((int)w, RN_BIT_POOL_K, 2, RN_BIT_POOL_PAD);
    }
    for (int st = 0; st < c->resnet.stages; st++) {
        double widest = (double)(c->resnet.base_width << st) *
                        (c->resnet.block == XF_BLOCK_BOTTLENECK ? RN_EXPANSION : 1);
        worst = fmax(worst, h * w * 9 * widest);
        if (st + 1 < c->resnet.stages) {
            h = strided((int)h, 2);
            w = strided((int)w, 2);
        }
    }
    if (worst > (double)INT_MAX)
        return xf_fail(XF_EINVAL, "model config: resnet on a %d x %d image is too large",
                       c->height, c->width);
    return XF_OK;
}

/* ---- timm checkpoints ---- */

/* Whether the file has a tensor of that printf-formatted name. */
static const xf_st_tensor *st_find(const xf_safetensors *st, const char *fmt, int a, int b) {
    char name[XF_NAME_LEN];
    snprintf(name, sizeof name, fmt, a, b);
    return xf_safetensors_find(st, name);
}

static bool is_head(const char *name) { return strncmp(name, "head.fc.", 8) == 0; }

/* Every tensor the config's model has (parameters, then BatchNorm's
 * buffers) against the file's: the first one missing or of another
 * shape, then the first of the file's that the model lacks. headless:
 * the file has no head.fc, which is then not looked for. */
static xf_status match_tensors(const xf_safetensors *st, const xf_model_config *c,
                               bool headless) {
    xf_model probe = {.config = *c};
    rn_state s = {0};
    rn_builder count = {.m = &probe, .s = &s};
    build_table(&count);
    int n = count.params.n + count.state.n;
    xf_tensor_info *want = xf_calloc((size_t)n, sizeof *want);
    if (!want) return XF_ENOMEM;
    rn_builder names = {.m = &probe, .s = &s, .params = {.at = want},
                        .state = {.at = want + count.params.n}};
    build_table(&names);
    xf_status result = XF_OK;
    for (int i = 0; i < n && !result; i++) {
        const xf_tensor_info *t = &want[i];
        if (headless && is_head(t->name)) continue;
        const xf_st_tensor *got = xf_safetensors_find(st, t->name);
        bool same = got && got->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = got->shape[d] == t->shape[d];
        if (same) continue;
        char shape[64] = "[", *at = shape + 1;
        for (int d = 0; d < t->ndim; d++)
            at += snprintf(at, (size_t)(shape + sizeof shape - at), "%s%d", d ? ", " : "",
                           t->shape[d]);
        snprintf(at, (size_t)(shape + sizeof shape - at), "]");
        result = xf_fail(XF_EFORMAT,
                         "%s: tensor '%s' is %s, expected shape %s (a timm ResNetV2 with %s "
                         "blocks %d wide, %s stem, %d stages)",
                         st->path, t->name, got ? "of another shape" : "missing", shape,
                         c->resnet.block == XF_BLOCK_BOTTLENECK ? "bottleneck" : "basic",
                         c->resnet.base_width, c->resnet.stem == XF_STEM_BIT ? "BiT" : "3x3",
                         c->resnet.stages);
    }
    for (int j = 0; j < st->n_tensors && !result; j++) {
        bool known = false;
        for (int i = 0; i < n && !known; i++)
            known = strcmp(want[i].name, st->tensors[j].name) == 0;
        if (!known)
            result = xf_fail(XF_EFORMAT,
                             "%s: tensor '%s' is not one of a timm ResNetV2's (pre-activation, "
                             "%s blocks)",
                             st->path, st->tensors[j].name,
                             c->resnet.block == XF_BLOCK_BOTTLENECK ? "bottleneck" : "basic");
    }
    free(want);
    return result;
}

/* timm's ResNetV2 (pre-activation; BiT's resnetv2_*_bit are bottleneck
 * nets with the 'fixed' 7x7 stem) from its state_dict: the stem conv gives
 * the input channels, the stem (its kernel 7 or 3) and base_width; conv3 in
 * the first block means bottlenecks; the blocks present give the stages
 * and their counts; running statistics mean BatchNorm (else GroupNorm with
 * weight standardisation, which the shapes cannot tell from plain convs:
 * timm's GroupNorm ResNetV2s all standardise); head.fc gives the classes.
 * A file without head.fc (a headless export) keeps c's n_classes. The image
 * size is c's, or 224 when c has none. */
static xf_status rn_from_timm(const xf_safetensors *st, xf_model_config *c) {
    const xf_st_tensor *stem = xf_safetensors_find(st, "stem.conv.weight");
    if (!stem)
        return xf_fail(XF_EFORMAT, "%s: tensor 'stem.conv.weight' is missing (a timm "
                       "ResNetV2 starts with it)", st->path);
    if (stem->ndim != 4 || stem->shape[2] != stem->shape[3] ||
        (stem->shape[2] != RN_BIT_STEM_K && stem->shape[2] != 3) || stem->shape[0] < 1 ||
        stem->shape[0] > 4096 || stem->shape[1] < 1 || stem->shape[1] > 64)
        return xf_fail(XF_EFORMAT,
                       "%s: tensor 'stem.conv.weight' has shape [%lld, %lld, %lld, %lld], "
                       "expected [width, channels, 7, 7] (BiT's stem) or [width, channels, 3, "
                       "3], width at most 4096, channels at most 64",
                       st->path, (long long)stem->shape[0],
                       (long long)(stem->ndim > 1 ? stem->shape[1] : 0),
                       (long long)(stem->ndim > 2 ? stem->shape[2] : 0),
                       (long long)(stem->ndim > 3 ? stem->shape[3] : 0));
    xf_model_config got = *c;
    got.family = XF_FAMILY_RESNET;
    got.channels = (int)stem->shape[1];
    got.resnet.base_width = (int)stem->shape[0];
    got.resnet.stem = stem->shape[2] == RN_BIT_STEM_K ? XF_STEM_BIT : XF_STEM_SMALL;
    got.resnet.block =
        st_find(st, "stages.%d.blocks.%d.conv3.weight", 0, 0) ? XF_BLOCK_BOTTLENECK
                                                              : XF_BLOCK_BASIC;
    got.resnet.norm = st_find(st, "stages.%d.blocks.%d.norm1.running_mean", 0, 0)
                          ? XF_NORM_BATCH
                          : XF_NORM_GROUP_WS;
    int stages = 0;
    while (stages < 4 && st_find(st, "stages.%d.blocks.%d.norm1.weight", stages, 0)) {
        int j = 0;
        while (st_find(st, "stages.%d.blocks.%d.norm1.weight", stages, j)) j++;
        if (j > 64)
            return xf_fail(XF_EFORMAT, "%s: stage %d has %d blocks, expected at most 64",
                           st->path, stages, j);
        got.resnet.blocks[stages++] = j;
    }
    if (!stages)
        return xf_fail(XF_EFORMAT, "%s: tensor 'stages.0.blocks.0.norm1.weight' is missing (a "
                       "timm ResNetV2 has at least one stage)", st->path);
    got.resnet.stages = stages;
    const xf_st_tensor *head = xf_safetensors_find(st, "head.fc.weight");
    bool headless = !head && !xf_safetensors_find(st, "head.fc.bias");
    if (head) {
        if (head->ndim != 4 || head->shape[0] < 2 || head->shape[0] > (1 << 20))
            return xf_fail(XF_EFORMAT,
                           "%s: tensor 'head.fc.weight' has %d dimensions and %lld rows, "
                           "expected [classes, width, 1, 1] with 2 to %d classes",
                           st->path, head->ndim, (long long)(head->ndim ? head->shape[0] : 0),
                           1 << 20);
        got.n_classes = (int)head->shape[0];
    }
    if (got.height <= 0 || got.width <= 0) got.height = got.width = 224;
    xf_status result = xf_family_check_settings(&xf_resnet_family, &got);
    if (result) return xf_fail_context(result, "%s: ", st->path);
    if ((result = match_tensors(st, &got, headless))) return result;
    *c = got;
    return XF_OK;
}

const xf_family_info xf_resnet_family = {
    .name = "resnet",
    .summary = "stem, pre-activation stages of basic or bottleneck blocks (BiT), head",
    .ops = &xf_resnet_ops,
    .settings = resnet_settings,
    .n_settings = sizeof resnet_settings / sizeof resnet_settings[0],
    .check = rn_check,
    .validate = rn_validate,
    .from_timm = rn_from_timm,
};
