/* The `checkpoints:` entries of a study file (docs/zoo.md): existing
 * checkpoints to probe, each with its US accuracy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/path.h"
#include "study/config_yaml.h"

static int cmp_text(const void *a, const void *b) { return strcmp(a, b); }

static const char *const checkpoint_keys[] = {"path",   "arch",       "us_name",
                                              "us_csv", "upstream",   "us_acc",
                                              "image_size", "settings"};
enum {
    CK_PATH,
    CK_ARCH,
    CK_US_NAME,
    CK_US_CSV,
    CK_UPSTREAM,
    CK_US_ACC,
    CK_IMAGE_SIZE,
    CK_SETTINGS,
    N_CHECKPOINT_KEYS
};

/* settings: a mapping of model settings to scalars, kept as sorted
 * "key=value" texts for the importer (its table checks them) and the id. */
static xf_status parse_settings(const ctx *c, const yaml_node_t *n, const char *key,
                                xf_study_checkpoint *e) {
    xf_status st = cfg_expect_kind(c, n, key, YAML_MAPPING_NODE, "a mapping of settings to values");
    if (st) return st;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (e->n_settings == XF_STUDY_MAX_SETTINGS)
            return cfg_fail_at(c, k, key, "more than %d settings", XF_STUDY_MAX_SETTINGS);
        char name[XF_STUDY_SETTING_LEN], value[XF_STUDY_SETTING_LEN];
        if ((st = cfg_parse_name_as(c, k, key, name, sizeof name, false)) ||
            (st = cfg_parse_name(c, v, key, value, sizeof value)))
            return st;
        char *dst = e->settings[e->n_settings];
        size_t nl = strlen(name), vl = strlen(value);
        if (nl + vl + 2 > XF_STUDY_SETTING_LEN)
            return cfg_fail_at(c, k, key, "'%s=%s' is longer than %d bytes", name, value,
                           XF_STUDY_SETTING_LEN - 1);
        memcpy(dst, name, nl);
        dst[nl] = '=';
        memcpy(dst + nl + 1, value, vl + 1);
        for (int i = 0; i < e->n_settings; i++)
            if (strncmp(e->settings[i], dst, strlen(name) + 1) == 0)
                return cfg_fail_at(c, k, key, "%s is given twice", name);
        e->n_settings++;
    }
    qsort(e->settings, (size_t)e->n_settings, sizeof e->settings[0], cmp_text);
    return XF_OK;
}

/* A file path: any non-empty text that fits (it never enters an id). */
xf_status cfg_parse_path(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                            size_t size) {
    xf_status st = cfg_expect_kind(c, n, key, YAML_SCALAR_NODE, "a file path");
    if (st) return st;
    size_t len = strlen(cfg_scalar(n));
    if (len == 0 || len >= size)
        return cfg_fail_at(c, n, key, "expected a file path of 1-%zu bytes, got %zu bytes", size - 1,
                       len);
    memcpy(out, cfg_scalar(n), len + 1);
    return XF_OK;
}

static const xf_setting image_size_setting = {
    .key = "image_size", .kind = XF_SETTING_INT, .lo = 8, .hi = 4096,
    .help = "the resolution to probe at (default: the checkpoint's own)"};

/* us_acc: measure, or a fraction in [0, 1]. */
static xf_status parse_us_acc(const ctx *c, const yaml_node_t *n, const char *key,
                              xf_study_checkpoint *e) {
    if (n->type == YAML_SCALAR_NODE && strcmp(cfg_scalar(n), "measure") == 0) {
        e->us_source = XF_US_ACC_MEASURE;
        return XF_OK;
    }
    char *end = NULL;
    double v = cfg_plain_scalar(n) ? strtod(cfg_scalar(n), &end) : NAN;
    if (!end || end == cfg_scalar(n) || *end || !(v >= 0 && v <= 1)) {
        char got[64];
        cfg_describe(n, got, sizeof got);
        return cfg_fail_at(c, n, key, "expected a US accuracy as a fraction in [0, 1] or 'measure', "
                       "got %s%s", got, v > 1 && v <= 100 ? " (a percentage? divide by 100)" : "");
    }
    e->us_source = XF_US_ACC_GIVEN;
    e->us_acc = v;
    return XF_OK;
}

static xf_status checkpoint_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                                void *obj) {
    xf_study_checkpoint *e = obj;
    double x;
    xf_status st;
    switch (index) {
    case CK_PATH: return cfg_parse_path(c, v, path, e->path, sizeof e->path);
    case CK_ARCH: return cfg_parse_name(c, v, path, e->arch, sizeof e->arch);
    case CK_US_NAME: return cfg_parse_name(c, v, path, e->us_name, sizeof e->us_name);
    case CK_US_CSV: return cfg_parse_path(c, v, path, e->us_csv, sizeof e->us_csv);
    case CK_UPSTREAM: return cfg_parse_name(c, v, path, e->upstream, sizeof e->upstream);
    case CK_US_ACC: return parse_us_acc(c, v, path, e);
    case CK_SETTINGS: return parse_settings(c, v, path, e);
    default:
        if ((st = cfg_parse_value(c, v, path, &image_size_setting, &x))) return st;
        e->image_size = (int)x;
        return XF_OK;
    }
}

xf_status cfg_parse_checkpoints(const ctx *c, yaml_node_t *n, xf_study_config *cfg) {
    xf_status st =
        cfg_expect_kind(c, n, "checkpoints", YAML_SEQUENCE_NODE, "a list of checkpoint mappings");
    if (st) return st;
    if (n->data.sequence.items.start == n->data.sequence.items.top)
        return cfg_fail_at(c, n, "checkpoints", "expected at least one checkpoint, got an empty list");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        char section[32];
        snprintf(section, sizeof section, "checkpoints[%d]", cfg->n_checkpoints);
        if (cfg->n_checkpoints == XF_STUDY_MAX_CHECKPOINTS)
            return cfg_fail_at(c, item, "checkpoints", "more than %d checkpoints",
                           XF_STUDY_MAX_CHECKPOINTS);
        xf_study_checkpoint *e = &cfg->checkpoints[cfg->n_checkpoints];
        memset(e, 0, sizeof *e);
        e->us_source = XF_US_ACC_CSV;
        e->line = (int)item->start_mark.line + 1;
        e->column = (int)item->start_mark.column + 1;
        unsigned seen = 0;
        if ((st = cfg_walk_mapping(c, item, section, checkpoint_keys, N_CHECKPOINT_KEYS,
                               checkpoint_key, e, &seen)))
            return st;
        if (!(seen & (1u << CK_PATH))) return cfg_missing(c, item, section, "path");
        if (e->us_source != XF_US_ACC_CSV && (seen & (1u << CK_US_NAME | 1u << CK_US_CSV)))
            return cfg_fail_at(c, item, section, "us_name and us_csv are for a US accuracy read "
                           "from a results table; this entry gives us_acc");
        if (e->us_source == XF_US_ACC_CSV && !e->us_name[0] && !e->arch[0])
            return cfg_fail_at(c, item, section, "no us_acc, and no us_name or arch to look up in "
                           "a results table (us_csv)");
        cfg->n_checkpoints++;
    }
    return XF_OK;
}

/* Defaults an entry takes from the study, checked once the whole file is
 * read (the study's keys may come after `checkpoints`). */
xf_status cfg_finish_checkpoints(const ctx *c, xf_study_config *cfg) {
    for (int i = 0; i < cfg->n_checkpoints; i++) {
        xf_study_checkpoint *e = &cfg->checkpoints[i];
        if (!e->upstream[0]) {
            if (cfg->n_upstream != 1)
                return xf_fail(XF_EINVAL, "%s:%d:%d: checkpoints[%d]: give the checkpoint its "
                               "upstream (the US task its US accuracy is measured on)%s",
                               c->origin, e->line, e->column, i,
                               cfg->n_upstream > 1 ? "; the study lists several" : "");
            snprintf(e->upstream, sizeof e->upstream, "%s", cfg->upstream[0]);
        }
        if (e->us_source == XF_US_ACC_CSV && !e->us_csv[0] && !cfg->us_csv[0])
            return xf_fail(XF_EINVAL, "%s:%d:%d: checkpoints[%d]: no us_acc, and no us_csv "
                           "(a results table such as timm's results-imagenet.csv) to read it "
                           "from", c->origin, e->line, e->column, i);
    }
    return XF_OK;
}

/* ---- the file ---- */
