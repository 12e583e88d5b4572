#include "study/plan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "core/setting.h"
#include "models/family.h"
#include "train/train_settings.h"

void xf_trial_hash(const char *text, char id[XF_TRIAL_ID_LEN]) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    snprintf(id, XF_TRIAL_ID_LEN, "%016llx", (unsigned long long)h);
}

/* ---- the space of one model entry ---- */

/* Axis kinds besides a plain xf_study_axis. */
enum { AX_PLAIN, AX_UPSTREAM, AX_BLOCKS };
enum { MAX_AXES = 40 };

typedef struct {
    const xf_study_axis *axis[MAX_AXES];
    int kind[MAX_AXES];
    int n;
} space;

static void add_axis(space *s, const xf_study_axis *a, int kind) {
    s->axis[s->n] = a;
    s->kind[s->n++] = kind;
}

static int axis_size(const xf_study_model *m, const space *s, int k) {
    if (s->kind[k] == AX_UPSTREAM) return m->n_upstream;
    if (s->kind[k] == AX_BLOCKS) return m->n_blocks ? m->n_blocks : 1;
    return s->axis[k]->n ? s->axis[k]->n : 1;
}

/* The entry's axes, the last turning fastest: upstream, the family's own
 * axes, then training with the seed last. */
static void entry_space(const xf_study_model *m, space *s) {
    s->n = 0;
    add_axis(s, NULL, AX_UPSTREAM);
    switch (m->family_id) {
    case XF_FAMILY_MLP:
        add_axis(s, &m->width, AX_PLAIN);
        add_axis(s, &m->depth, AX_PLAIN);
        break;
    case XF_FAMILY_VIT:
        add_axis(s, &m->patch, AX_PLAIN);
        add_axis(s, &m->dim, AX_PLAIN);
        add_axis(s, &m->depth, AX_PLAIN);
        add_axis(s, &m->heads, AX_PLAIN);
        add_axis(s, &m->mlp_ratio, AX_PLAIN);
        add_axis(s, &m->pool, AX_PLAIN);
        break;
    case XF_FAMILY_MIXER:
        add_axis(s, &m->patch, AX_PLAIN);
        add_axis(s, &m->dim, AX_PLAIN);
        add_axis(s, &m->depth, AX_PLAIN);
        add_axis(s, &m->token_mlp_dim, AX_PLAIN);
        add_axis(s, &m->channel_mlp_dim, AX_PLAIN);
        break;
    default:
        add_axis(s, NULL, AX_BLOCKS);
        add_axis(s, &m->base_width, AX_PLAIN);
        add_axis(s, &m->norm, AX_PLAIN);
        add_axis(s, &m->block, AX_PLAIN);
        add_axis(s, &m->stem, AX_PLAIN);
        break;
    }
    const xf_study_train *tr = &m->train;
    const xf_study_axis *train[] = {
        &tr->epochs,    &tr->data_fraction,   &tr->data_count,   &tr->batch,
        &tr->lr,        &tr->wd,              &tr->head_lr,      &tr->head_wd,
        &tr->warmup,    &tr->optimizer,       &tr->momentum,     &tr->decay,
        &tr->clip_norm, &tr->label_smoothing, &tr->crop_padding, &tr->flip,
        &tr->data_seed, &tr->augment_seed,    &tr->seed};
    for (size_t i = 0; i < sizeof train / sizeof train[0]; i++) add_axis(s, train[i], AX_PLAIN);
}

/* The chosen value of axis a (its default when not given). */
static double pick(const xf_study_axis *a, const int *at, const space *s, double fallback) {
    for (int k = 0; k < s->n; k++)
        if (s->axis[k] == a) return a->n ? a->v[at[k]] : fallback;
    return fallback;
}

static void fill_trial(const xf_study_model *m, const space *s, const int *at, xf_trial *t) {
    const xf_study_train *tr = &m->train;
    memset(t, 0, sizeof *t);
    snprintf(t->upstream, sizeof t->upstream, "%s", m->upstream[at[0]]);
    snprintf(t->family, sizeof t->family, "%s", m->family);
    xf_model_config *mc = &t->model, defaults;
    mc->family = (xf_family)m->family_id;
    xf_model_config_default(&defaults, mc->family); /* for the optional keys */
    mc->mlp.width = (int)pick(&m->width, at, s, 0);
    mc->mlp.depth = m->family_id == XF_FAMILY_MLP ? (int)pick(&m->depth, at, s, 0) : 0;
    if (m->family_id == XF_FAMILY_VIT) {
        mc->vit.patch = (int)pick(&m->patch, at, s, 0);
        mc->vit.dim = (int)pick(&m->dim, at, s, 0);
        mc->vit.depth = (int)pick(&m->depth, at, s, 0);
        mc->vit.heads = (int)pick(&m->heads, at, s, 0);
        mc->vit.mlp_ratio = pick(&m->mlp_ratio, at, s, defaults.vit.mlp_ratio);
        mc->vit.pool = (xf_vit_pool)(int)pick(&m->pool, at, s, defaults.vit.pool);
    } else if (m->family_id == XF_FAMILY_MIXER) {
        mc->mixer.patch = (int)pick(&m->patch, at, s, 0);
        mc->mixer.dim = (int)pick(&m->dim, at, s, 0);
        mc->mixer.depth = (int)pick(&m->depth, at, s, 0);
        mc->mixer.token_mlp_dim = (int)pick(&m->token_mlp_dim, at, s, 0);
        mc->mixer.channel_mlp_dim = (int)pick(&m->channel_mlp_dim, at, s, 0);
    } else if (m->family_id == XF_FAMILY_RESNET) {
        int b = 0;
        for (int k = 0; k < s->n; k++)
            if (s->kind[k] == AX_BLOCKS) b = at[k];
        mc->resnet.stages = m->n_stages[b];
        memcpy(mc->resnet.blocks, m->blocks[b], (size_t)m->n_stages[b] * sizeof(int));
        mc->resnet.base_width = (int)pick(&m->base_width, at, s, 0);
        mc->resnet.norm = (xf_resnet_norm)(int)pick(&m->norm, at, s, defaults.resnet.norm);
        mc->resnet.block = (xf_resnet_block)(int)pick(&m->block, at, s, defaults.resnet.block);
        mc->resnet.stem = (xf_resnet_stem)(int)pick(&m->stem, at, s, defaults.resnet.stem);
    }

    xf_train_config *tc = &t->train;
    xf_train_config_default(tc);
    tc->epochs = (int)pick(&tr->epochs, at, s, tc->epochs);
    tc->batch_size = (int)pick(&tr->batch, at, s, tc->batch_size);
    tc->lr = pick(&tr->lr, at, s, tc->lr);
    tc->weight_decay = pick(&tr->wd, at, s, tc->weight_decay);
    /* An omitted head_lr / head_wd follows the body's value in every trial. */
    tc->head_lr = pick(&tr->head_lr, at, s, tc->lr);
    tc->head_weight_decay = pick(&tr->head_wd, at, s, tc->weight_decay);
    tc->warmup_fraction = pick(&tr->warmup, at, s, tc->warmup_fraction);
    tc->optimizer = (xf_optimizer_kind)(int)pick(&tr->optimizer, at, s, tc->optimizer);
    tc->momentum = pick(&tr->momentum, at, s, tc->momentum);
    tc->decay = (xf_decay_kind)(int)pick(&tr->decay, at, s, tc->decay);
    tc->clip_norm = pick(&tr->clip_norm, at, s, tc->clip_norm);
    tc->label_smoothing = pick(&tr->label_smoothing, at, s, tc->label_smoothing);
    tc->crop_padding = (int)pick(&tr->crop_padding, at, s, tc->crop_padding);
    tc->flip = pick(&tr->flip, at, s, tc->flip) != 0;
    tc->seed = (uint64_t)pick(&tr->seed, at, s, 0);
    tc->data_seed = (uint64_t)pick(&tr->data_seed, at, s, (double)tc->seed);
    tc->augment_seed = (uint64_t)pick(&tr->augment_seed, at, s, (double)tc->seed);
    t->data_fraction = pick(&tr->data_fraction, at, s, 1);
    t->data_count = (int)pick(&tr->data_count, at, s, 0);
}

/* ---- canonical JSON ---- */

typedef struct {
    char buf[8192];
    size_t len;
    bool overflow;
    bool first; /* no member written yet in the current object */
} json_buf;

static void put(json_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(json_buf *b, const char *fmt, ...) {
    if (b->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, sizeof b->buf - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->buf - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

/* Shortest text that reads back as the same double, so 0.001 stays
 * "0.001" (not 0.0010000000000000000208) and 1e-3 in the file hashes the
 * same as 0.001. */
static void put_number(json_buf *b, double v) {
    char text[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (strtod(text, NULL) == v) break;
    }
    put(b, "%s", text);
}

static void key(json_buf *b, const char *k) {
    put(b, "%s\"%s\":", b->first ? "" : ",", k);
    b->first = false;
}

static void num(json_buf *b, const char *k, double v) {
    key(b, k);
    put_number(b, v);
}

/* Integer fields print as integers (2000, never 2e+03), as they always did. */
static void inum(json_buf *b, const char *k, long long v) {
    key(b, k);
    put(b, "%lld", v);
}

static void str(json_buf *b, const char *k, const char *v) {
    key(b, k);
    put(b, "\"%s\"", v);
}

static void open_obj(json_buf *b, const char *k) {
    if (k) key(b, k);
    put(b, "{");
    b->first = true;
}

static void close_obj(json_buf *b) {
    put(b, "}");
    b->first = false;
}

/* How a word-valued setting's value is spelled (its table's word). */
static const char *model_word(xf_family f, const char *key, int v) {
    const xf_family_info *family = xf_family_of(f);
    return xf_setting_word(xf_setting_find(family->settings, family->n_settings, key), v);
}

static const char *train_word(const char *key, int v) {
    return xf_setting_word(xf_setting_find(xf_train_settings, xf_train_n_settings, key), v);
}

/* Members are written in sorted key order. The mlp's members and the train
 * keys of the first studies are always written, so their ids never change;
 * newer train keys only when the file gives them. Names are restricted by
 * the config parser to characters that need no JSON escaping. */
static void model_json(json_buf *b, const xf_model_config *mc) {
    open_obj(b, "model");
    switch (mc->family) {
    case XF_FAMILY_MLP:
        inum(b, "depth", mc->mlp.depth);
        str(b, "family", "mlp");
        inum(b, "width", mc->mlp.width);
        break;
    case XF_FAMILY_VIT:
        inum(b, "depth", mc->vit.depth);
        inum(b, "dim", mc->vit.dim);
        str(b, "family", "vit");
        inum(b, "heads", mc->vit.heads);
        num(b, "mlp_ratio", mc->vit.mlp_ratio);
        inum(b, "patch", mc->vit.patch);
        str(b, "pool", model_word(XF_FAMILY_VIT, "pool", mc->vit.pool));
        break;
    case XF_FAMILY_MIXER:
        inum(b, "channel_mlp_dim", mc->mixer.channel_mlp_dim);
        inum(b, "depth", mc->mixer.depth);
        inum(b, "dim", mc->mixer.dim);
        str(b, "family", "mixer");
        inum(b, "patch", mc->mixer.patch);
        inum(b, "token_mlp_dim", mc->mixer.token_mlp_dim);
        break;
    default:
        inum(b, "base_width", mc->resnet.base_width);
        /* block and stem came later: at their defaults they are left out,
         * so the ids of studies written before stay as they were. */
        if (mc->resnet.block != XF_BLOCK_BASIC)
            str(b, "block", model_word(XF_FAMILY_RESNET, "block", mc->resnet.block));
        key(b, "blocks");
        put(b, "[");
        for (int i = 0; i < mc->resnet.stages; i++)
            put(b, "%s%d", i ? "," : "", mc->resnet.blocks[i]);
        put(b, "]");
        str(b, "family", "resnet");
        str(b, "norm", model_word(XF_FAMILY_RESNET, "norm", mc->resnet.norm));
        if (mc->resnet.stem != XF_STEM_SMALL)
            str(b, "stem", model_word(XF_FAMILY_RESNET, "stem", mc->resnet.stem));
        break;
    }
    close_obj(b);
}

/* `given`: the axes of the trial's model entry, merged over the study's. */
static void train_json(json_buf *b, const xf_study_train *given, const xf_trial *t) {
    const xf_train_config *tc = &t->train;
    open_obj(b, "train");
    if (given->augment_seed.n) inum(b, "augment_seed", (long long)tc->augment_seed);
    inum(b, "batch", tc->batch_size);
    if (given->clip_norm.n) num(b, "clip_norm", tc->clip_norm);
    if (given->crop_padding.n) inum(b, "crop_padding", tc->crop_padding);
    if (given->data_count.n)
        inum(b, "data_count", t->data_count);
    else
        num(b, "data_fraction", t->data_fraction);
    if (given->data_seed.n) inum(b, "data_seed", (long long)tc->data_seed);
    if (given->decay.n) str(b, "decay", train_word("decay", tc->decay));
    inum(b, "epochs", tc->epochs);
    if (given->flip.n) {
        key(b, "flip");
        put(b, tc->flip ? "true" : "false");
    }
    num(b, "head_lr", tc->head_lr);
    num(b, "head_wd", tc->head_weight_decay);
    if (given->label_smoothing.n) num(b, "label_smoothing", tc->label_smoothing);
    num(b, "lr", tc->lr);
    if (given->momentum.n) num(b, "momentum", tc->momentum);
    if (given->optimizer.n) str(b, "optimizer", train_word("optimizer", tc->optimizer));
    key(b, "seed");
    put(b, "%llu", (unsigned long long)tc->seed);
    num(b, "warmup", tc->warmup_fraction);
    num(b, "wd", tc->weight_decay);
    close_obj(b);
}

static void canonical_json(const xf_study_config *cfg, const xf_study_model *m, const xf_trial *t,
                           json_buf *b) {
    open_obj(b, NULL);
    open_obj(b, "downstream");
    inum(b, "draws", cfg->draws);
    num(b, "lambda", cfg->lambda);
    if (cfg->n_layers) {
        key(b, "layers");
        put(b, "[");
        for (int i = 0; i < cfg->n_layers; i++) put(b, "%s%d", i ? "," : "", cfg->layers[i]);
        put(b, "]");
    }
    key(b, "shots");
    put(b, "[");
    for (int i = 0; i < cfg->n_shots; i++) put(b, "%s%d", i ? "," : "", cfg->shots[i]);
    put(b, "]");
    key(b, "tasks");
    put(b, "[");
    for (int i = 0; i < cfg->n_ds_tasks; i++) put(b, "%s\"%s\"", i ? "," : "", cfg->ds_tasks[i]);
    put(b, "]");
    inum(b, "test_limit", cfg->test_limit);
    close_obj(b);
    model_json(b, &t->model);
    train_json(b, &m->train, t);
    str(b, "upstream", t->upstream);
    close_obj(b);
}

/* ---- building ---- */

/* Trial `index` of the concatenated spaces of all model entries. */
static xf_status make_trial(const xf_study_config *cfg, const double *entry_total, uint64_t index,
                            xf_trial *t) {
    int e = 0;
    while ((double)index >= entry_total[e]) index -= (uint64_t)entry_total[e++];
    const xf_study_model *m = &cfg->models[e];
    space s;
    entry_space(m, &s);
    int at[MAX_AXES];
    for (int k = s.n - 1; k >= 0; k--) {
        uint64_t size = (uint64_t)axis_size(m, &s, k);
        at[k] = (int)(index % size);
        index /= size;
    }
    fill_trial(m, &s, at, t);
    /* Settings that depend on each other are refused now, not after the
     * trials before this one have trained. */
    xf_status st = xf_model_config_check_settings(&t->model);
    if (st) {
        char what[256];
        xf_trial_describe(t, what, sizeof what);
        return xf_fail_context(st, "study %s: models[%d] (%s): ", cfg->name, e, what);
    }
    json_buf *b = xf_malloc(sizeof *b);
    if (!b) return XF_ENOMEM;
    b->len = 0;
    b->overflow = false;
    b->first = true;
    canonical_json(cfg, m, t, b);
    XF_ASSERT(!b->overflow); /* names and lists are bounded by the config */
    t->config_json = xf_strdup(b->buf);
    free(b);
    if (!t->config_json) return XF_ENOMEM;
    xf_trial_hash(t->config_json, t->id);
    return XF_OK;
}

/* An open-addressing set of 64-bit keys (trial ids, drawn indices). */
typedef struct {
    uint64_t *slots; /* 0 = empty; keys are stored + 1 */
    size_t mask;
} key_set;

static xf_status set_init(key_set *s, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    s->slots = xf_calloc(cap, sizeof *s->slots);
    s->mask = cap - 1;
    return s->slots ? XF_OK : XF_ENOMEM;
}

/* Adds k; false when it was there already. */
static bool set_add(key_set *s, uint64_t k) {
    uint64_t stored = k + 1 ? k + 1 : 1; /* 2^64-1 shares a slot value with 0: harmless */
    size_t i = (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 20) & s->mask;
    while (s->slots[i]) {
        if (s->slots[i] == stored) return false;
        i = (i + 1) & s->mask;
    }
    s->slots[i] = stored;
    return true;
}

xf_status xf_plan_build(const xf_study_config *cfg, xf_plan *plan) {
    memset(plan, 0, sizeof *plan);
    double entry_total[XF_STUDY_MAX_MODELS];
    double total = 0;
    for (int e = 0; e < cfg->n_models; e++) {
        space s;
        entry_space(&cfg->models[e], &s);
        entry_total[e] = 1;
        for (int k = 0; k < s.n; k++) entry_total[e] *= axis_size(&cfg->models[e], &s, k);
        total += entry_total[e];
    }
    if (total == 0)
        return xf_fail(XF_EINVAL, "study %s: the space is empty (no model or an axis without "
                                  "values)", cfg->name);
    bool random = cfg->search == XF_SEARCH_RANDOM && cfg->samples < total;
    if (random && total > 9007199254740992.0)
        return xf_fail(XF_EINVAL, "study %s: the space has more than 2^53 trials", cfg->name);
    if (!random && total > XF_PLAN_MAX_TRIALS)
        return xf_fail(XF_EINVAL,
                       "study %s: the grid has %.0f trials, more than %d (use search: "
                       "{method: random, samples: N})",
                       cfg->name, total, XF_PLAN_MAX_TRIALS);
    int want = random ? cfg->samples : (int)total;
    xf_trial *trials = xf_calloc((size_t)want, sizeof *trials);
    if (!trials) return XF_ENOMEM;
    plan->trials = trials;
    plan->space = total;
    key_set ids = {0}, drawn = {0};
    xf_status st = set_init(&ids, (size_t)want);
    if (!st && random) st = set_init(&drawn, (size_t)want);
    xf_rng rng;
    xf_rng_seed(&rng, cfg->search_seed);
    /* A random search draws indices until `want` distinct trials are found;
     * the grid walks them all. Either way a trial two model entries share
     * is kept once. */
    uint64_t n_drawn = 0;
    for (uint64_t i = 0; !st && plan->n < want && n_drawn < (uint64_t)total; i++) {
        uint64_t index = i;
        if (random) {
            index = xf_rng_below(&rng, (uint64_t)total);
            if (!set_add(&drawn, index)) continue;
        }
        n_drawn++;
        xf_trial *t = &trials[plan->n];
        if ((st = make_trial(cfg, entry_total, index, t))) break;
        uint64_t id = strtoull(t->id, NULL, 16);
        if (!set_add(&ids, id)) {
            free(t->config_json);
            memset(t, 0, sizeof *t);
            continue;
        }
        plan->n++;
    }
    free(ids.slots);
    free(drawn.slots);
    if (st) xf_plan_free(plan);
    return st;
}

void xf_plan_free(xf_plan *plan) {
    if (!plan) return;
    for (int i = 0; i < plan->n; i++) free(plan->trials[i].config_json);
    free(plan->trials);
    plan->trials = NULL;
    plan->n = 0;
}

void xf_trial_describe(const xf_trial *t, char *buf, size_t size) {
    const xf_model_config *mc = &t->model;
    char model[96], data[96];
    switch (mc->family) {
    case XF_FAMILY_MLP:
        snprintf(model, sizeof model, "mlp w%d d%d", mc->mlp.width, mc->mlp.depth);
        break;
    case XF_FAMILY_VIT:
        snprintf(model, sizeof model, "vit p%d dim%d d%d h%d", mc->vit.patch, mc->vit.dim,
                 mc->vit.depth, mc->vit.heads);
        break;
    case XF_FAMILY_MIXER:
        snprintf(model, sizeof model, "mixer p%d dim%d d%d", mc->mixer.patch, mc->mixer.dim,
                 mc->mixer.depth);
        break;
    default: {
        int n = snprintf(model, sizeof model, "resnet%s%s w%d b",
                         mc->resnet.block == XF_BLOCK_BOTTLENECK ? " bottleneck" : "",
                         mc->resnet.stem == XF_STEM_BIT ? " bit-stem" : "",
                         mc->resnet.base_width);
        for (int i = 0; i < mc->resnet.stages && n > 0 && (size_t)n < sizeof model; i++)
            n += snprintf(model + n, sizeof model - (size_t)n, "%s%d", i ? "-" : "",
                          mc->resnet.blocks[i]);
    }
    }
    if (t->data_count)
        snprintf(data, sizeof data, "%s n=%d", t->upstream, t->data_count);
    else
        snprintf(data, sizeof data, "%s %g", t->upstream, t->data_fraction);
    snprintf(buf, size, "%s | %s | %d ep lr %g seed %llu", model, data, t->train.epochs,
             t->train.lr, (unsigned long long)t->train.seed);
}
