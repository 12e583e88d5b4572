#include "study/config.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/mem.h"

typedef struct {
    const char *origin;
    yaml_document_t *doc;
} ctx;

/* Every error names file:line:column (1-based, as editors count) and the
 * key's full path, so a typo in a large grid is found at once. */
static xf_status fail_at(const ctx *c, const yaml_node_t *n, const char *key, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
static xf_status fail_at(const ctx *c, const yaml_node_t *n, const char *key, const char *fmt,
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
static void describe(const yaml_node_t *n, char *buf, size_t size) {
    if (n->type == YAML_MAPPING_NODE)
        snprintf(buf, size, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE)
        snprintf(buf, size, "a list");
    else if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        snprintf(buf, size, "the quoted string '%.40s'", (const char *)n->data.scalar.value);
    else
        snprintf(buf, size, "'%.40s'", (const char *)n->data.scalar.value);
}

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static xf_status expect_kind(const ctx *c, const yaml_node_t *n, const char *key,
                             yaml_node_type_t type, const char *what) {
    if (n->type == type) return XF_OK;
    char got[64];
    describe(n, got, sizeof got);
    return fail_at(c, n, key, "expected %s, got %s", what, got);
}

/* Numbers must be plain scalars: a quoted "64" is a string in YAML, and
 * accepting it would hide a mistake in the file. */
static bool plain_scalar(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

typedef struct {
    const char *key;
    size_t offset; /* of the xf_study_axis in xf_study_config */
    bool integer;
    double lo, hi;
    bool lo_open;
    const char *expect;
} axis_spec;

static xf_status parse_number(const ctx *c, const yaml_node_t *n, const char *key,
                              const axis_spec *s, double *out) {
    char got[64];
    describe(n, got, sizeof got);
    if (!plain_scalar(n)) return fail_at(c, n, key, "expected %s, got %s", s->expect, got);
    const char *text = scalar(n);
    char *end = NULL;
    double v;
    if (s->integer) {
        long long i = strtoll(text, &end, 10);
        v = (double)i;
    } else {
        v = strtod(text, &end);
    }
    bool ok = *text && end && *end == '\0' && isfinite(v) && v <= s->hi &&
              (s->lo_open ? v > s->lo : v >= s->lo);
    if (!ok) return fail_at(c, n, key, "expected %s, got %s", s->expect, got);
    *out = v;
    return XF_OK;
}

/* A scalar or a list of scalars: one grid axis. */
static xf_status parse_axis(const ctx *c, const yaml_node_t *n, const char *key,
                            const axis_spec *s, xf_study_axis *axis) {
    axis->n = 0;
    if (n->type == YAML_SCALAR_NODE) {
        axis->n = 1;
        return parse_number(c, n, key, s, &axis->v[0]);
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        char got[64];
        describe(n, got, sizeof got);
        return fail_at(c, n, key, "expected %s or a list of them, got %s", s->expect, got);
    }
    yaml_node_item_t *it = n->data.sequence.items.start;
    if (it == n->data.sequence.items.top)
        return fail_at(c, n, key, "expected at least one value, got an empty list");
    for (; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        if (axis->n == XF_STUDY_MAX_VALUES)
            return fail_at(c, item, key, "more than %d values", XF_STUDY_MAX_VALUES);
        double v;
        xf_status st = parse_number(c, item, key, s, &v);
        if (st) return st;
        for (int i = 0; i < axis->n; i++)
            if (axis->v[i] == v) return fail_at(c, item, key, "%s is listed twice", scalar(item));
        axis->v[axis->n++] = v;
    }
    return XF_OK;
}

/* The study's name becomes a folder name: keep it to a safe alphabet. Task
 * names may also be "idx:DIR", so they allow any printable character but
 * the two that JSON would need to escape. */
static xf_status parse_name_as(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                               size_t size, bool task) {
    xf_status st = expect_kind(c, n, key, YAML_SCALAR_NODE, "a name");
    if (st) return st;
    const char *s = scalar(n);
    size_t len = strlen(s);
    bool ok = len > 0 && len < size && s[0] != '.' && s[0] != '-';
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        ok = task ? ch > ' ' && ch < 127 && ch != '"' && ch != '\\'
                  : (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    }
    if (!ok)
        return fail_at(c, n, key, "expected a name of 1-%zu %s, got '%.40s'", size - 1,
                       task ? "printable characters (no quotes, backslashes or spaces)"
                            : "letters, digits, '-', '_' or '.'",
                       s);
    memcpy(out, s, len + 1);
    return XF_OK;
}

static xf_status parse_name(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                            size_t size) {
    return parse_name_as(c, n, key, out, size, true);
}

/* A name or a list of distinct names, into out[max][size]. */
static xf_status parse_names(const ctx *c, const yaml_node_t *n, const char *key, char *out,
                             size_t size, int max, int *count) {
    *count = 0;
    if (n->type == YAML_SCALAR_NODE) {
        *count = 1;
        return parse_name(c, n, key, out, size);
    }
    xf_status st = expect_kind(c, n, key, YAML_SEQUENCE_NODE, "a name or a list of names");
    if (st) return st;
    yaml_node_item_t *it = n->data.sequence.items.start;
    if (it == n->data.sequence.items.top)
        return fail_at(c, n, key, "expected at least one name, got an empty list");
    for (; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        if (*count == max) return fail_at(c, item, key, "more than %d names", max);
        char *dst = out + (size_t)*count * size;
        if ((st = parse_name(c, item, key, dst, size))) return st;
        for (int i = 0; i < *count; i++)
            if (strcmp(out + (size_t)i * size, dst) == 0)
                return fail_at(c, item, key, "'%s' is listed twice", dst);
        (*count)++;
    }
    return XF_OK;
}

/* Walks a mapping, rejecting unknown and repeated keys; `handle` gets the
 * index of each key in `keys`. */
typedef xf_status (*key_handler)(const ctx *c, int index, const char *path, yaml_node_t *value,
                                 xf_study_config *cfg);

static xf_status walk_mapping(const ctx *c, yaml_node_t *n, const char *section,
                              const char *const *keys, int n_keys, key_handler handle,
                              xf_study_config *cfg, unsigned *seen_out) {
    xf_status st = expect_kind(c, n, section[0] ? section : NULL, YAML_MAPPING_NODE,
                               "a mapping of keys to values");
    if (st) return st;
    unsigned seen = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail_at(c, k, section[0] ? section : NULL, "expected a key, got a %s",
                           k->type == YAML_MAPPING_NODE ? "mapping" : "list");
        int idx = -1;
        for (int i = 0; i < n_keys; i++)
            if (strcmp(scalar(k), keys[i]) == 0) idx = i;
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", section, section[0] ? "." : "", scalar(k));
        if (idx < 0) {
            char known[256] = "";
            for (int i = 0; i < n_keys; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         i ? ", " : "", keys[i]);
            return fail_at(c, k, NULL, "unknown key '%s'; expected one of: %s", path, known);
        }
        if (seen & (1u << idx)) return fail_at(c, k, path, "key given twice");
        seen |= 1u << idx;
        if ((st = handle(c, idx, path, v, cfg))) return st;
    }
    *seen_out = seen;
    return XF_OK;
}

static xf_status missing(const ctx *c, yaml_node_t *n, const char *section, const char *key) {
    return fail_at(c, n, NULL, "missing required key '%s%s%s'", section,
                   section[0] ? "." : "", key);
}

#define AXIS(field) offsetof(xf_study_config, field)

static const axis_spec model_axes[] = {
    {"width", AXIS(width), true, 1, 1 << 20, false, "an integer >= 1"},
    {"depth", AXIS(depth), true, 1, 1024, false, "an integer in [1, 1024]"},
};

static const axis_spec train_axes[] = {
    {"epochs", AXIS(epochs), true, 1, 1e6, false, "an integer >= 1"},
    {"data_fraction", AXIS(data_fraction), false, 0, 1, true, "a number in (0, 1]"},
    {"batch", AXIS(batch), true, 1, 1 << 20, false, "an integer >= 1"},
    {"lr", AXIS(lr), false, 0, 1e6, true, "a number > 0"},
    {"wd", AXIS(wd), false, 0, 1e6, false, "a number >= 0"},
    {"head_lr", AXIS(head_lr), false, 0, 1e6, true, "a number > 0"},
    {"head_wd", AXIS(head_wd), false, 0, 1e6, false, "a number >= 0"},
    {"warmup", AXIS(warmup), false, 0, 0.999, false, "a number in [0, 1)"},
    {"seed", AXIS(seed), true, 0, 9007199254740992.0, false, "an integer >= 0"},
};

static xf_study_axis *axis_of(xf_study_config *cfg, const axis_spec *s) {
    return (xf_study_axis *)((char *)cfg + s->offset);
}

static const char *const model_keys[] = {"family", "width", "depth"};

static xf_status model_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                           xf_study_config *cfg) {
    if (index > 0) {
        const axis_spec *s = &model_axes[index - 1];
        return parse_axis(c, v, path, s, axis_of(cfg, s));
    }
    xf_status st = parse_names(c, v, path, &cfg->family[0][0], sizeof cfg->family[0],
                               XF_STUDY_MAX_VALUES, &cfg->n_family);
    if (st) return st;
    /* The grid's axes are the mlp's; other families bring their own keys. */
    for (int i = 0; i < cfg->n_family; i++)
        if (strcmp(cfg->family[i], "mlp") != 0)
            return fail_at(c, v, path, "expected a model family (mlp), got '%s'",
                           cfg->family[i]);
    return XF_OK;
}

static xf_status train_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                           xf_study_config *cfg) {
    return parse_axis(c, v, path, &train_axes[index], axis_of(cfg, &train_axes[index]));
}

static int cmp_int(const void *a, const void *b) {
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

static const char *const downstream_keys[] = {"tasks", "shots", "draws", "test_limit", "lambda"};

static xf_status downstream_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                                xf_study_config *cfg) {
    static const axis_spec shots = {"shots", 0, true, 1, 1 << 20, false, "an integer >= 1"};
    static const axis_spec draws = {"draws", 0, true, 1, 1000, false, "an integer in [1, 1000]"};
    static const axis_spec limit = {"test_limit", 0, true, 0, 1 << 30, false, "an integer >= 0"};
    static const axis_spec lambda = {"lambda", 0, false, 0, 1e30, true, "a number > 0"};
    xf_study_axis a;
    xf_status st;
    switch (index) {
    case 0:
        st = parse_names(c, v, path, &cfg->ds_tasks[0][0], sizeof cfg->ds_tasks[0],
                         XF_STUDY_MAX_TASKS, &cfg->n_ds_tasks);
        /* Sorted, so the order of the list does not change trial ids. */
        if (!st) qsort(cfg->ds_tasks, (size_t)cfg->n_ds_tasks, sizeof cfg->ds_tasks[0], cmp_name);
        return st;
    case 1:
        if ((st = parse_axis(c, v, path, &shots, &a))) return st;
        if (a.n > XF_STUDY_SHOTS_MAX)
            return fail_at(c, v, path, "more than %d shot counts", XF_STUDY_SHOTS_MAX);
        cfg->n_shots = a.n;
        for (int i = 0; i < a.n; i++) cfg->shots[i] = (int)a.v[i];
        qsort(cfg->shots, (size_t)a.n, sizeof cfg->shots[0], cmp_int);
        return XF_OK;
    case 2:
    case 3:
    case 4:
        /* Probe settings apply to every trial; a list here is not a grid. */
        if (v->type != YAML_SCALAR_NODE) {
            const axis_spec *s = index == 2 ? &draws : index == 3 ? &limit : &lambda;
            char got[64];
            describe(v, got, sizeof got);
            return fail_at(c, v, path, "expected %s, got %s", s->expect, got);
        }
        if (index == 2) {
            if ((st = parse_axis(c, v, path, &draws, &a))) return st;
            cfg->draws = (int)a.v[0];
        } else if (index == 3) {
            if ((st = parse_axis(c, v, path, &limit, &a))) return st;
            cfg->test_limit = (int)a.v[0];
        } else {
            if ((st = parse_axis(c, v, path, &lambda, &a))) return st;
            cfg->lambda = a.v[0];
        }
        return XF_OK;
    }
    return XF_OK;
}

static const char *const top_keys[] = {"name", "upstream", "model", "train", "downstream"};

static xf_status top_key(const ctx *c, int index, const char *path, yaml_node_t *v,
                         xf_study_config *cfg) {
    unsigned seen = 0;
    xf_status st;
    switch (index) {
    case 0:
        return parse_name_as(c, v, path, cfg->name, sizeof cfg->name, false);
    case 1:
        return parse_names(c, v, path, &cfg->upstream[0][0], sizeof cfg->upstream[0],
                           XF_STUDY_MAX_VALUES, &cfg->n_upstream);
    case 2:
        if ((st = walk_mapping(c, v, "model", model_keys, 3, model_key, cfg, &seen))) return st;
        for (int i = 0; i < 3; i++)
            if (!(seen & (1u << i))) return missing(c, v, "model", model_keys[i]);
        return XF_OK;
    case 3:
        return walk_mapping(c, v, "train", (const char *const[]){"epochs", "data_fraction",
                                                                 "batch", "lr", "wd", "head_lr",
                                                                 "head_wd", "warmup", "seed"},
                            9, train_key, cfg, &seen);
    case 4:
        if ((st = walk_mapping(c, v, "downstream", downstream_keys, 5, downstream_key, cfg,
                               &seen)))
            return st;
        if (!(seen & 1u)) return missing(c, v, "downstream", "tasks");
        return XF_OK;
    }
    return XF_OK;
}

static void set_default(xf_study_axis *a, double v) {
    if (a->n) return;
    a->v[0] = v;
    a->n = 1;
}

/* The same values as xf_train_config_default and xf_probe_config_default;
 * kept here so that reading a study needs neither the trainer nor the
 * probes. */
static void apply_defaults(xf_study_config *cfg) {
    set_default(&cfg->epochs, 1);
    set_default(&cfg->data_fraction, 1);
    set_default(&cfg->batch, 128);
    set_default(&cfg->lr, 1e-3);
    set_default(&cfg->wd, 1e-4);
    set_default(&cfg->warmup, 0.05);
    set_default(&cfg->seed, 0);
    if (!cfg->n_shots) {
        static const int shots[] = {1, 5, 10, 25};
        cfg->n_shots = 4;
        memcpy(cfg->shots, shots, sizeof shots);
    }
    if (!cfg->draws) cfg->draws = 3;
    if (!(cfg->lambda > 0)) cfg->lambda = 1024;
}

xf_status xf_study_config_parse(const char *text, size_t len, const char *origin,
                                xf_study_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
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
        st = xf_fail(XF_EINVAL, "%s: empty study file; expected keys name, upstream, model, "
                                "train, downstream", origin);
    } else if (!(st = walk_mapping(&c, root, "", top_keys, 5, top_key, cfg, &seen))) {
        static const int required[] = {0, 1, 2, 4};
        for (int i = 0; i < 4 && !st; i++)
            if (!(seen & (1u << required[i]))) st = missing(&c, root, "", top_keys[required[i]]);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (!st) apply_defaults(cfg);
    return st;
}

xf_status xf_study_config_load(const char *path, xf_study_config *cfg) {
    unsigned char *data = NULL;
    size_t size = 0;
    xf_status st = xf_read_file(path, &data, &size);
    if (st) return st;
    st = xf_study_config_parse((const char *)data, size, path, cfg);
    free(data);
    return st;
}
