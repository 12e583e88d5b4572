#include "study/config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/setting.h"
#include "study/config_yaml.h"
#include "models/family.h"
#include "probe/probe.h"
#include "probe/probe_settings.h"
#include "train/train.h"
#include "train/train_settings.h"


/* Every error names file:line:column (1-based, as editors count) and the
 * key's full path, so a typo in a large grid is found at once. */
xf_status cfg_fail_at(const ctx *c, const yaml_node_t *n, const char *key, const char *fmt,
                         ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xf_fail(XF_EINVAL, "%s:%zu:%zu: %s%s%s", c->origin, n->start_mark.line + 1,
                   n->start_mark.column + 1, key ? key : "", key ? ": " : "", msg);
}

/* How a node looks, for "expected X, got Y". */
void cfg_describe(const yaml_node_t *n, char *buf, size_t size) {
    if (n->type == YAML_MAPPING_NODE)
        snprintf(buf, size, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE)
        snprintf(buf, size, "a list");
    else if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        snprintf(buf, size, "the quoted string '%.40s'", (const char *)n->data.scalar.value);
    else
        snprintf(buf, size, "'%.40s'", (const char *)n->data.scalar.value);
}

const char *cfg_scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

xf_status cfg_expect_kind(const ctx *c, const yaml_node_t *n, const char *key,
                             yaml_node_type_t type, const char *what) {
    if (n->type == type) return XF_OK;
    char got[64];
    cfg_describe(n, got, sizeof got);
    return cfg_fail_at(c, n, key, "expected %s, got %s", what, got);
}

/* Numbers must be plain scalars: a quoted "64" is a string in YAML, and
 * accepting it would hide a mistake in the file. */
bool cfg_plain_scalar(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* One element of a list-valued setting (blocks, shots, layers): an integer
 * in the setting's range. */
static xf_setting item_of(const xf_setting *s) {
    xf_setting item = *s;
    item.kind = XF_SETTING_INT;
    return item;
}

/* One value of a setting (numbers plain scalars, see above). An old
 * spelling of a word is read with a warning that names the new one. */
xf_status cfg_parse_value(const ctx *c, const yaml_node_t *n, const char *key,
                             const xf_setting *s, double *out) {
    bool word = s->kind == XF_SETTING_WORD || s->kind == XF_SETTING_SWITCH;
    bool deprecated = false;
    if (n->type != YAML_SCALAR_NODE || (!word && !cfg_plain_scalar(n)) ||
        xf_setting_parse(s, cfg_scalar(n), out, &deprecated) != XF_OK) {
        char got[64], expect[160];
        cfg_describe(n, got, sizeof got);
        xf_setting_expect(s, expect, sizeof expect);
        return cfg_fail_at(c, n, key, "expected %s, got %s", expect, got);
    }
    if (deprecated)
        xf_log_warn("%s:%zu:%zu: %s: '%s' is deprecated; write %s", c->origin,
                    n->start_mark.line + 1, n->start_mark.column + 1, key, cfg_scalar(n),
                    xf_setting_word(s, (int)*out));
    return XF_OK;
}

/* A scalar or a list of scalars: one grid axis. */
static xf_status parse_axis(const ctx *c, const yaml_node_t *n, const char *key,
                            const xf_setting *s, xf_study_axis *axis) {
    axis->n = 0;
    if (n->type == YAML_SCALAR_NODE) {
        axis->n = 1;
        return cfg_parse_value(c, n, key, s, &axis->v[0]);
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        char got[64], expect[160];
        cfg_describe(n, got, sizeof got);
        xf_setting_expect(s, expect, sizeof expect);
        return cfg_fail_at(c, n, key, "expected %s or a list of them, got %s", expect, got);
    }
    yaml_node_item_t *it = n->data.sequence.items.start;
    if (it == n->data.sequence.items.top)
        return cfg_fail_at(c, n, key, "expected at least one value, got an empty list");
    for (; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        if (axis->n == XF_STUDY_MAX_VALUES)
            return cfg_fail_at(c, item, key, "more than %d values", XF_STUDY_MAX_VALUES);
        double v;
        xf_status st = cfg_parse_value(c, item, key, s, &v);
        if (st) return st;
        for (int i = 0; i < axis->n; i++)
            if (axis->v[i] == v) return cfg_fail_at(c, item, key, "%s is listed twice", cfg_scalar(item));
        axis->v[axis->n++] = v;
    }
    return XF_OK;
}

/* The study's name becomes a folder name: keep it to a safe alphabet. Task
 * names may also be "idx:DIR", so they allow any printable character but
 * the two that JSON would need to escape. */
xf_status cfg_parse_name_as(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                               size_t size, bool task) {
    xf_status st = cfg_expect_kind(c, n, key, YAML_SCALAR_NODE, "a name");
    if (st) return st;
    const char *s = cfg_scalar(n);
    size_t len = strlen(s);
    bool ok = len > 0 && len < size && s[0] != '.' && s[0] != '-';
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        ok = task ? ch > ' ' && ch < 127 && ch != '"' && ch != '\\'
                  : (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    }
    if (!ok)
        return cfg_fail_at(c, n, key, "expected a name of 1-%zu %s, got '%.40s'", size - 1,
                       task ? "printable characters (no quotes, backslashes or spaces)"
                            : "letters, digits, '-', '_' or '.'",
                       s);
    memcpy(out, s, len + 1);
    return XF_OK;
}

xf_status cfg_parse_name(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                            size_t size) {
    return cfg_parse_name_as(c, n, key, out, size, true);
}

/* A name or a list of distinct names, into out[max][size]. */
static xf_status parse_names(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                             size_t size, int max, int *count) {
    *count = 0;
    if (n->type == YAML_SCALAR_NODE) {
        *count = 1;
        return cfg_parse_name(c, n, key, out, size);
    }
    xf_status st = cfg_expect_kind(c, n, key, YAML_SEQUENCE_NODE, "a name or a list of names");
    if (st) return st;
    yaml_node_item_t *it = n->data.sequence.items.start;
    if (it == n->data.sequence.items.top)
        return cfg_fail_at(c, n, key, "expected at least one name, got an empty list");
    for (; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        if (*count == max) return cfg_fail_at(c, item, key, "more than %d names", max);
        char *dst = out + (size_t)*count * size;
        if ((st = cfg_parse_name(c, item, key, dst, size))) return st;
        for (int i = 0; i < *count; i++)
            if (strcmp(out + (size_t)i * size, dst) == 0)
                return cfg_fail_at(c, item, key, "'%s' is listed twice", dst);
        (*count)++;
    }
    return XF_OK;
}

xf_status cfg_walk_mapping(const ctx *c, yaml_node_t *n, const char *section,
                              const char *const *keys, int n_keys, key_handler handle, void *obj,
                              unsigned *seen_out) {
    xf_status st = cfg_expect_kind(c, n, section[0] ? section : NULL, YAML_MAPPING_NODE,
                               "a mapping of keys to values");
    if (st) return st;
    unsigned seen = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return cfg_fail_at(c, k, section[0] ? section : NULL, "expected a key, got a %s",
                           k->type == YAML_MAPPING_NODE ? "mapping" : "list");
        int idx = -1;
        for (int i = 0; i < n_keys; i++)
            if (strcmp(cfg_scalar(k), keys[i]) == 0) idx = i;
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", section, section[0] ? "." : "", cfg_scalar(k));
        if (idx < 0) {
            char known[400] = "";
            for (int i = 0; i < n_keys; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         i ? ", " : "", keys[i]);
            return cfg_fail_at(c, k, NULL, "unknown key '%s'; expected one of: %s", path, known);
        }
        if (seen & (1u << idx)) return cfg_fail_at(c, k, path, "key given twice");
        seen |= 1u << idx;
        if ((st = handle(c, idx, path, v, obj))) return st;
    }
    *seen_out = seen;
    return XF_OK;
}

xf_status cfg_missing(const ctx *c, yaml_node_t *n, const char *section, const char *key) {
    return cfg_fail_at(c, n, NULL, "missing required key '%s%s%s'", section,
                   section[0] ? "." : "", key);
}

/* ---- models ---- */

/* Where each family setting's grid axis lives in an entry (the settings
 * themselves, their ranges and words, are the families' tables). */
#define MAXIS(field) offsetof(xf_study_model, field)
static const struct {
    const char *key;
    size_t offset;
} model_axes[] = {
    {"width", MAXIS(width)},         {"depth", MAXIS(depth)},
    {"patch", MAXIS(patch)},         {"dim", MAXIS(dim)},
    {"heads", MAXIS(heads)},         {"mlp_ratio", MAXIS(mlp_ratio)},
    {"pool", MAXIS(pool)},           {"token_mlp_dim", MAXIS(token_mlp_dim)},
    {"channel_mlp_dim", MAXIS(channel_mlp_dim)}, {"base_width", MAXIS(base_width)},
    {"norm", MAXIS(norm)},           {"block", MAXIS(block)},
    {"stem", MAXIS(stem)},
};

static xf_study_axis *model_axis(xf_study_model *m, const char *key) {
    for (size_t i = 0; i < sizeof model_axes / sizeof model_axes[0]; i++)
        if (strcmp(model_axes[i].key, key) == 0)
            return (xf_study_axis *)((char *)m + model_axes[i].offset);
    XF_ASSERT(!"every scalar family setting has an axis in xf_study_model");
    return NULL;
}

/* One blocks value: a list of per-stage block counts. */
static xf_status parse_stages(const ctx *c, const yaml_node_t *n, const char *key,
                              const xf_setting *s, xf_study_model *m) {
    char got[64], expect[160];
    cfg_describe(n, got, sizeof got);
    xf_setting_expect(s, expect, sizeof expect);
    int count = n->type == YAML_SEQUENCE_NODE
                    ? (int)(n->data.sequence.items.top - n->data.sequence.items.start)
                    : 0;
    if (count < 1 || count > s->max_items || count > XF_STUDY_MAX_STAGES)
        return cfg_fail_at(c, n, key, "expected a list of %s, got %s", expect, got);
    if (m->n_blocks == XF_STUDY_MAX_VALUES)
        return cfg_fail_at(c, n, key, "more than %d values", XF_STUDY_MAX_VALUES);
    int *dst = m->blocks[m->n_blocks];
    xf_setting item = item_of(s);
    for (int i = 0; i < count; i++) {
        double v;
        xf_status st = cfg_parse_value(
            c, yaml_document_get_node(c->doc, n->data.sequence.items.start[i]), key, &item, &v);
        if (st) return st;
        dst[i] = (int)v;
    }
    for (int j = 0; j < m->n_blocks; j++)
        if (m->n_stages[j] == count && memcmp(m->blocks[j], dst, (size_t)count * sizeof *dst) == 0)
            return cfg_fail_at(c, n, key, "a blocks value is listed twice");
    m->n_stages[m->n_blocks++] = count;
    return XF_OK;
}

/* `blocks: [2, 2, 2]` is one value; `blocks: [[1, 1, 1], [2, 2, 2]]` two. */
static xf_status parse_blocks(const ctx *c, yaml_node_t *n, const char *key, const xf_setting *s,
                              xf_study_model *m) {
    m->n_blocks = 0;
    yaml_node_item_t *first = n->type == YAML_SEQUENCE_NODE ? n->data.sequence.items.start : NULL;
    if (first && first < n->data.sequence.items.top &&
        yaml_document_get_node(c->doc, *first)->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = first; it < n->data.sequence.items.top; it++) {
            xf_status st = parse_stages(c, yaml_document_get_node(c->doc, *it), key, s, m);
            if (st) return st;
        }
        return XF_OK;
    }
    return parse_stages(c, n, key, s, m);
}

static xf_status parse_train(const ctx *c, yaml_node_t *n, const char *section,
                             xf_study_train *train);

/* The keys of an entry: family, upstream and train, then the family's
 * settings in table order. */
enum { MODEL_OWN_KEYS = 3, MAX_MODEL_KEYS = 32 };

typedef struct {
    xf_study_model *model;
    const xf_family_info *family;
} model_walk;

static xf_status model_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                           void *obj) {
    model_walk *w = obj;
    xf_study_model *m = w->model;
    if (index == 0) return XF_OK; /* family: read before the walk */
    if (index == 1)
        return parse_names(c, v, path, &m->upstream[0][0], sizeof m->upstream[0],
                           XF_STUDY_MAX_VALUES, &m->n_upstream);
    if (index == 2) return parse_train(c, v, path, &m->train);
    const xf_setting *s = &w->family->settings[index - MODEL_OWN_KEYS];
    if (s->kind == XF_SETTING_INTS) return parse_blocks(c, v, path, s, m);
    return parse_axis(c, v, path, s, model_axis(m, s->key));
}

/* One model mapping into cfg->models; a legacy `family: [mlp, ...]` list
 * makes one entry per family with the same axes. */
static xf_status parse_model(const ctx *c, yaml_node_t *n, const char *section,
                             xf_study_config *cfg) {
    xf_status st = cfg_expect_kind(c, n, section, YAML_MAPPING_NODE, "a mapping of keys to values");
    if (st) return st;
    yaml_node_t *fam = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(k), "family") == 0)
            fam = yaml_document_get_node(c->doc, p->value);
    }
    if (!fam) return cfg_missing(c, n, section, "family");
    char path[128];
    snprintf(path, sizeof path, "%s.family", section);
    char names[XF_STUDY_MAX_VALUES][16];
    int n_names;
    if ((st = parse_names(c, fam, path, &names[0][0], sizeof names[0], XF_STUDY_MAX_VALUES,
                          &n_names)))
        return st;
    for (int f = 0; f < n_names; f++) {
        xf_family id;
        if (xf_family_parse(names[f], &id) != XF_OK) {
            char known[96] = "";
            for (int i = 0; i < XF_N_FAMILIES; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         i ? ", " : "", xf_family_name((xf_family)i));
            return cfg_fail_at(c, fam, path, "expected a model family (%s), got '%s'", known,
                           names[f]);
        }
        if (cfg->n_models == XF_STUDY_MAX_MODELS)
            return cfg_fail_at(c, n, section, "more than %d model entries", XF_STUDY_MAX_MODELS);
        xf_study_model *m = &cfg->models[cfg->n_models];
        memset(m, 0, sizeof *m);
        snprintf(m->family, sizeof m->family, "%s", xf_family_name(id));
        m->family_id = (int)id;
        const xf_family_info *family = xf_family_of(id);
        XF_ASSERT(family->n_settings + MODEL_OWN_KEYS <= MAX_MODEL_KEYS);
        const char *keys[MAX_MODEL_KEYS] = {"family", "upstream", "train"};
        int n_keys = MODEL_OWN_KEYS;
        for (int i = 0; i < family->n_settings; i++) keys[n_keys++] = family->settings[i].key;
        model_walk w = {m, family};
        unsigned seen = 0;
        if ((st = cfg_walk_mapping(c, n, section, keys, n_keys, model_key, &w, &seen))) return st;
        for (int i = 0; i < family->n_settings; i++)
            if (family->settings[i].required && !(seen & (1u << (i + MODEL_OWN_KEYS))))
                return cfg_missing(c, n, section, family->settings[i].key);
        cfg->n_models++;
    }
    return XF_OK;
}

static xf_status parse_models(const ctx *c, yaml_node_t *n, xf_study_config *cfg) {
    xf_status st = cfg_expect_kind(c, n, "models", YAML_SEQUENCE_NODE, "a list of model mappings");
    if (st) return st;
    if (n->data.sequence.items.start == n->data.sequence.items.top)
        return cfg_fail_at(c, n, "models", "expected at least one model, got an empty list");
    int i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        char section[32];
        snprintf(section, sizeof section, "models[%d]", i);
        if ((st = parse_model(c, yaml_document_get_node(c->doc, *it), section, cfg))) return st;
    }
    return XF_OK;
}

/* ---- train ---- */

/* xf_study_train holds one axis per row of xf_train_settings, in its order. */
static xf_study_axis *axis_of(xf_study_train *train, int i) {
    XF_ASSERT(sizeof *train == (size_t)xf_train_n_settings * sizeof(xf_study_axis));
    return (xf_study_axis *)train + i;
}

static bool is_data_key(int i) {
    return strcmp(xf_train_settings[i].key, "data_fraction") == 0 ||
           strcmp(xf_train_settings[i].key, "data_count") == 0;
}

static xf_status train_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                           void *obj) {
    return parse_axis(c, v, path, &xf_train_settings[index], axis_of(obj, index));
}

/* `section` is "train" or, for a model entry's own keys, "models[i].train". */
static xf_status parse_train(const ctx *c, yaml_node_t *n, const char *section,
                             xf_study_train *train) {
    enum { MAX_TRAIN_KEYS = 32 };
    XF_ASSERT(xf_train_n_settings <= MAX_TRAIN_KEYS);
    const char *keys[MAX_TRAIN_KEYS];
    for (int i = 0; i < xf_train_n_settings; i++) keys[i] = xf_train_settings[i].key;
    unsigned seen = 0;
    xf_status st = cfg_walk_mapping(c, n, section, keys, xf_train_n_settings, train_key, train, &seen);
    if (st) return st;
    if (train->data_fraction.n && train->data_count.n)
        return cfg_fail_at(c, n, section, "give data_fraction or data_count, not both");
    return XF_OK;
}

/* An entry's own train keys win; data_fraction and data_count count as one
 * key, since a trial has one or the other. */
static void merge_train(xf_study_train *entry, const xf_study_train *study) {
    bool own_data = entry->data_fraction.n || entry->data_count.n;
    for (int i = 0; i < xf_train_n_settings; i++) {
        xf_study_axis *own = axis_of(entry, i);
        if (is_data_key(i) ? !own_data : !own->n)
            *own = *axis_of((xf_study_train *)study, i);
    }
}

/* ---- search ---- */

static const char *const search_methods[] = {"grid", "random", NULL};

/* Settings of the study file alone (docs/studies.md). */
static const xf_setting search_settings[] = {
    {.key = "method", .kind = XF_SETTING_WORD, .words = search_methods, .def = "grid",
     .help = "every point of the grid, or a random sample of it"},
    {.key = "samples", .kind = XF_SETTING_INT, .lo = 1, .hi = 1000000,
     .help = "random search: trials drawn"},
    {.key = "seed", .kind = XF_SETTING_INT, .lo = 0, .hi = 9007199254740992.0, .def = "0",
     .help = "random search: the draw's seed"},
};

static xf_status search_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                            void *obj) {
    xf_study_config *cfg = obj;
    double x;
    xf_status st = cfg_parse_value(c, v, path, &search_settings[index], &x);
    if (st) return st;
    if (index == 0)
        cfg->search = (xf_search_kind)(int)x;
    else if (index == 1)
        cfg->samples = (int)x;
    else
        cfg->search_seed = (unsigned long long)x;
    return XF_OK;
}

static xf_status parse_search(const ctx *c, yaml_node_t *n, xf_study_config *cfg) {
    unsigned seen = 0;
    xf_status st;
    if (n->type == YAML_SCALAR_NODE) {
        if ((st = search_key(c, 0, "search", n, cfg))) return st;
        seen = 1;
    } else if ((st = cfg_walk_mapping(c, n, "search",
                                  (const char *const[]){search_settings[0].key,
                                                        search_settings[1].key,
                                                        search_settings[2].key},
                                  3, search_key, cfg, &seen))) {
        return st;
    }
    if (!(seen & 1u)) return cfg_missing(c, n, "search", "method");
    if (cfg->search == XF_SEARCH_RANDOM && !cfg->samples)
        return cfg_fail_at(c, n, "search", "random search needs samples (write search: "
                                       "{method: random, samples: N, seed: S})");
    if (cfg->search == XF_SEARCH_GRID && (seen & 6u))
        return cfg_fail_at(c, n, "search", "samples and seed are for method: random");
    return XF_OK;
}

/* ---- downstream ---- */

static int cmp_int(const void *a, const void *b) {
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

/* all | last | an index | a list of indices (< 0 counts from the end). */
static const xf_setting *probe_setting(const char *key) {
    const xf_setting *s = xf_setting_find(xf_probe_settings, xf_probe_n_settings, key);
    XF_ASSERT(s);
    return s;
}

/* A list-valued probe setting (shots, layers): an integer or a list of
 * them, each in the setting's range, sorted. */
static xf_status parse_int_list(const ctx *c, yaml_node_t *v, const char *path,
                                const xf_setting *s, int *out, int *n) {
    xf_setting item = item_of(s);
    xf_study_axis a;
    xf_status st = parse_axis(c, v, path, &item, &a);
    if (st) return st;
    if (a.n > s->max_items) return cfg_fail_at(c, v, path, "more than %d values", s->max_items);
    for (int i = 0; i < a.n; i++) out[i] = (int)a.v[i];
    *n = a.n;
    qsort(out, (size_t)a.n, sizeof *out, cmp_int);
    return XF_OK;
}

/* all | last | an index | a list of indices (< 0 counts from the end). */
static xf_status parse_layers(const ctx *c, yaml_node_t *v, const char *path,
                              xf_study_config *cfg) {
    cfg->n_layers = 0;
    if (v->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(v), "all") == 0) return XF_OK;
    if (v->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(v), "last") == 0) {
        cfg->layers[cfg->n_layers++] = -1;
        return XF_OK;
    }
    const xf_setting *s = probe_setting("layers");
    XF_ASSERT(s->max_items <= XF_STUDY_MAX_LAYERS);
    xf_status st = parse_int_list(c, v, path, s, cfg->layers, &cfg->n_layers);
    if (st && v->type == YAML_SCALAR_NODE) {
        char got[64];
        cfg_describe(v, got, sizeof got);
        return cfg_fail_at(c, v, path, "expected all, last, or tap indices in [%.0f, %.0f], got %s",
                       s->lo, s->hi, got);
    }
    return st;
}

static const char *const downstream_keys[] = {"tasks",      "shots",  "draws",
                                              "test_limit", "lambda", "layers"};

static xf_status downstream_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                                void *obj) {
    xf_study_config *cfg = obj;
    xf_status st;
    double x;
    switch (index) {
    case 0:
        st = parse_names(c, v, path, &cfg->ds_tasks[0][0], sizeof cfg->ds_tasks[0],
                         XF_STUDY_MAX_TASKS, &cfg->n_ds_tasks);
        /* Sorted, so the order of the list does not change trial ids. */
        if (!st) qsort(cfg->ds_tasks, (size_t)cfg->n_ds_tasks, sizeof cfg->ds_tasks[0], cmp_name);
        return st;
    case 1:
        XF_ASSERT(probe_setting("shots")->max_items <= XF_STUDY_SHOTS_MAX);
        return parse_int_list(c, v, path, probe_setting("shots"), cfg->shots, &cfg->n_shots);
    case 5:
        return parse_layers(c, v, path, cfg);
    default:
        /* Probe settings apply to every trial; a list here is not a grid. */
        if ((st = cfg_parse_value(c, v, path, probe_setting(downstream_keys[index]), &x))) return st;
        if (index == 2)
            cfg->draws = (int)x;
        else if (index == 3)
            cfg->test_limit = (int)x;
        else
            cfg->lambda = x;
        return XF_OK;
    }
}

/* ---- checkpoints ---- */

static const char *const top_keys[] = {"name",   "upstream",   "model",       "models",
                                       "train",  "search",     "downstream",  "checkpoints",
                                       "us_csv"};
enum {
    TOP_NAME,
    TOP_UPSTREAM,
    TOP_MODEL,
    TOP_MODELS,
    TOP_TRAIN,
    TOP_SEARCH,
    TOP_DOWNSTREAM,
    TOP_CHECKPOINTS,
    TOP_US_CSV,
    N_TOP_KEYS
};

static xf_status top_key(const ctx *c, int index, const char *path, yaml_node_t *v, void *obj) {
    xf_study_config *cfg = obj;
    unsigned seen = 0;
    xf_status st;
    switch (index) {
    case TOP_NAME:
        return cfg_parse_name_as(c, v, path, cfg->name, sizeof cfg->name, false);
    case TOP_UPSTREAM:
        return parse_names(c, v, path, &cfg->upstream[0][0], sizeof cfg->upstream[0],
                           XF_STUDY_MAX_VALUES, &cfg->n_upstream);
    case TOP_MODEL:
        if (cfg->n_models) return cfg_fail_at(c, v, path, "give model or models, not both");
        return parse_model(c, v, "model", cfg);
    case TOP_MODELS:
        if (cfg->n_models) return cfg_fail_at(c, v, path, "give model or models, not both");
        return parse_models(c, v, cfg);
    case TOP_TRAIN:
        return parse_train(c, v, "train", &cfg->train);
    case TOP_SEARCH:
        return parse_search(c, v, cfg);
    case TOP_DOWNSTREAM:
        if ((st = cfg_walk_mapping(c, v, "downstream", downstream_keys, 6, downstream_key, cfg,
                               &seen)))
            return st;
        if (!(seen & 1u)) return cfg_missing(c, v, "downstream", "tasks");
        return XF_OK;
    case TOP_CHECKPOINTS:
        return cfg_parse_checkpoints(c, v, cfg);
    case TOP_US_CSV:
        cfg->us_csv_line = (int)v->start_mark.line + 1;
        cfg->us_csv_column = (int)v->start_mark.column + 1;
        return cfg_parse_path(c, v, path, cfg->us_csv, sizeof cfg->us_csv);
    }
    return XF_OK;
}

static void set_default(xf_study_axis *a, double v) {
    if (a->n) return;
    a->v[0] = v;
    a->n = 1;
}

/* Omitted keys take the trainer's and the probes' own defaults. Defaults of
 * the newer train keys and of the families' optional keys are applied by
 * the plan, which leaves them out of the ids. */
static void apply_defaults(xf_study_config *cfg) {
    xf_train_config train;
    xf_train_config_default(&train);
    xf_probe_config probe;
    xf_probe_config_default(&probe);
    xf_study_train *t = &cfg->train;
    set_default(&t->epochs, train.epochs);
    if (!t->data_count.n) set_default(&t->data_fraction, 1);
    set_default(&t->batch, train.batch_size);
    set_default(&t->lr, train.lr);
    set_default(&t->wd, train.weight_decay);
    set_default(&t->warmup, train.warmup_fraction);
    set_default(&t->seed, (double)train.seed);
    for (int e = 0; e < cfg->n_models; e++) {
        xf_study_model *m = &cfg->models[e];
        merge_train(&m->train, t);
        if (!m->n_upstream) {
            memcpy(m->upstream, cfg->upstream, sizeof m->upstream);
            m->n_upstream = cfg->n_upstream;
        }
    }
    if (!cfg->n_shots) {
        XF_ASSERT(probe.n_shots <= XF_STUDY_SHOTS_MAX);
        cfg->n_shots = probe.n_shots;
        memcpy(cfg->shots, probe.shots, sizeof(int) * (size_t)probe.n_shots);
    }
    if (!cfg->draws) cfg->draws = probe.draws;
    if (!(cfg->lambda > 0)) cfg->lambda = probe.lambda;
}

/* A study nests five levels (models, a model, blocks, stages); libyaml has
 * no depth limit and takes minutes over a document nested 100 000 deep
 * before it reports anything, so the events are counted first and the
 * document is refused at this depth. */
enum { YAML_MAX_DEPTH = 64 };

/* Fails at the first collection nested deeper than YAML_MAX_DEPTH; a syntax
 * error is left to yaml_parser_load, which reports it with its position. */
static xf_status check_depth(const char *text, size_t len, const char *origin) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return xf_fail(XF_ENOMEM, "%s: YAML parser", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    xf_status st = XF_OK;
    int depth = 0;
    for (bool done = false; !done && !st;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) break;
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > YAML_MAX_DEPTH)
                st = xf_fail(XF_EINVAL, "%s:%zu:%zu: YAML nested more than %d levels deep",
                             origin, ev.start_mark.line + 1, ev.start_mark.column + 1,
                             YAML_MAX_DEPTH);
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return st;
}

xf_status xf_study_config_parse(const char *text, size_t len, const char *origin,
                                xf_study_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    xf_status depth_st = check_depth(text, len, origin);
    if (depth_st) return depth_st;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return xf_fail(XF_ENOMEM, "%s: YAML parser", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        xf_status st = xf_fail(XF_EINVAL, "%s:%zu:%zu: malformed YAML: %s%s%s", origin,
                               parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                               parser.problem ? parser.problem : "parse error",
                               parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return st;
    }
    ctx c = {origin, &doc};
    xf_status st = XF_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    unsigned seen = 0;
    if (!root) {
        st = xf_fail(XF_EINVAL, "%s: empty study file; expected keys name, upstream, models, "
                                "train, downstream", origin);
    } else if (!(st = cfg_walk_mapping(&c, root, "", top_keys, N_TOP_KEYS, top_key, cfg, &seen))) {
        bool models = seen & (1u << TOP_MODEL | 1u << TOP_MODELS);
        if (!(seen & (1u << TOP_NAME)))
            st = cfg_missing(&c, root, "", "name");
        else if (models && !(seen & (1u << TOP_UPSTREAM)))
            st = cfg_missing(&c, root, "", "upstream");
        else if (!models && !cfg->n_checkpoints)
            st = cfg_missing(&c, root, "", "models");
        else if (!(seen & (1u << TOP_DOWNSTREAM)))
            st = cfg_missing(&c, root, "", "downstream");
        else
            st = cfg_finish_checkpoints(&c, cfg);
    }
    snprintf(cfg->origin, sizeof cfg->origin, "%s", origin);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (!st) apply_defaults(cfg);
    return st;
}

/* A study file is a few kilobytes; the cap stops a wrong path (a dataset, a
 * disk image) before it is read. */
enum { STUDY_FILE_MAX = 16 << 20 };

xf_status xf_study_config_load(const char *path, xf_study_config *cfg) {
    unsigned char *data = NULL;
    size_t size = 0;
    xf_status st = xf_read_file_max(path, STUDY_FILE_MAX, &data, &size);
    if (st) return st;
    st = xf_study_config_parse((const char *)data, size, path, cfg);
    free(data);
    if (st) return st;
    /* Paths in the file are relative to its folder. */
    char base[XF_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) st = xf_path_format(base, sizeof base, ".");
    else if (slash == path) st = xf_path_format(base, sizeof base, "/");
    else st = xf_path_format(base, sizeof base, "%.*s", (int)(slash - path), path);
    return st ? st : xf_study_config_resolve(cfg, base);
}
