/* Checkpoint import (import.h): xfer's own checkpoints, and timm
 * state_dicts in safetensors, whose architecture comes from their tensor
 * names and shapes (the family's from_timm), completed by a timm name
 * (zoo/timm_names.c), a sidecar JSON and key=value settings, in that order.
 * docs/zoo.md describes the flow. */
#include "zoo/import.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/safetensors.h"
#include "models/family.h"
#include "train/checkpoint.h"
#include "zoo/resample.h"
#include "zoo/timm_names.h"

/* A tensor only one family's timm checkpoints have, in the stem. */
static const struct {
    const char *tensor;
    xf_family family;
} signatures[] = {
    {"patch_embed.proj.weight", XF_FAMILY_VIT},
    {"stem.proj.weight", XF_FAMILY_MIXER},
    {"stem.conv.weight", XF_FAMILY_RESNET},
};

/* timm's default crop_pct per family when nothing names one: the _cfg of
 * vision_transformer.py (0.9), else timm's DEFAULT_CROP_PCT (0.875). */
static double default_crop_pct(xf_family f) { return f == XF_FAMILY_VIT ? 0.9 : 0.875; }

/* Everything told about a timm checkpoint before its tensors are read. */
typedef struct {
    const char *path;
    const xf_family_info *family;
    xf_model_config c;
    float mean[3], std[3]; /* timm's _cfg of ViT, Mixer and BiT unless told: 0.5 */
    double crop_pct; /* 0: the family's default */
    xf_filter filter;
    int input_size;  /* 0: from the tensors */
} import_ctx;

static xf_status parse_triple(const char *key, const char *text, float out[3]) {
    double v[3];
    int n = 0;
    const char *p = text;
    for (; n < 3; n++) {
        char *end;
        v[n] = strtod(p, &end);
        if (end == p || !isfinite(v[n])) break;
        p = end;
        if (*p == ',') p++;
        else if (*p == 0) {
            n++;
            break;
        }
    }
    if (*p != 0 || (n != 1 && n != 3))
        return xf_fail(XF_EINVAL, "%s: expected 1 or 3 comma-separated numbers, got '%s'", key,
                       text);
    for (int k = 0; k < 3; k++) out[k] = (float)v[n == 1 ? 0 : k];
    return XF_OK;
}

/* One key=value told about the checkpoint: an input setting (mean, std,
 * crop_pct, interpolation, input_size) or one of the family's settings. */
static xf_status apply_setting(import_ctx *x, const char *key, const char *value) {
    char *end;
    if (strcmp(key, "mean") == 0 || strcmp(key, "std") == 0) {
        float *dst = key[0] == 'm' ? x->mean : x->std;
        xf_status st = parse_triple(key, value, dst);
        if (st) return st;
        for (int k = 0; key[0] == 's' && k < 3; k++)
            if (!(dst[k] > 0)) return xf_fail(XF_EINVAL, "std: '%s' is not positive", value);
        return XF_OK;
    }
    if (strcmp(key, "crop_pct") == 0) {
        double v = strtod(value, &end);
        if (end == value || *end || !(v > 0 && v <= 1))
            return xf_fail(XF_EINVAL, "crop_pct: expected a number in (0, 1], got '%s'", value);
        x->crop_pct = v;
        return XF_OK;
    }
    if (strcmp(key, "interpolation") == 0) {
        if (strcmp(value, "bicubic") == 0) x->filter = XF_FILTER_BICUBIC;
        else if (strcmp(value, "bilinear") == 0) x->filter = XF_FILTER_BILINEAR;
        else
            return xf_fail(XF_EINVAL, "interpolation: expected bicubic or bilinear, got '%s'",
                           value);
        return XF_OK;
    }
    if (strcmp(key, "input_size") == 0) {
        long v = strtol(value, &end, 10);
        if (end == value || *end || v < 1 || v > 4096)
            return xf_fail(XF_EINVAL, "input_size: expected an integer in [1, 4096], got '%s'",
                           value);
        x->input_size = (int)v;
        return XF_OK;
    }
    const xf_family_info *f = x->family;
    const xf_setting *s = xf_setting_find(f->settings, f->n_settings, key);
    if (!s || s->kind == XF_SETTING_INTS)
        return xf_fail(XF_EINVAL,
                       "'%s' is not a setting of a %s checkpoint (mean, std, crop_pct, "
                       "interpolation, input_size, or a %s setting the tensors do not tell)",
                       key, f->name, f->name);
    double v;
    xf_status st = xf_setting_parse(s, value, &v, NULL);
    if (st) return xf_fail_context(st, "%s.%s: ", f->name, key);
    xf_setting_set(s, &x->c, v);
    return XF_OK;
}

/* "key=value" */
static xf_status apply_pair(import_ctx *x, const char *pair) {
    const char *eq = strchr(pair, '=');
    char key[64];
    if (!eq || eq == pair || (size_t)(eq - pair) >= sizeof key)
        return xf_fail(XF_EINVAL, "'%s': expected key=value", pair);
    memcpy(key, pair, (size_t)(eq - pair));
    key[eq - pair] = 0;
    return apply_setting(x, key, eq + 1);
}

static xf_status apply_arch(import_ctx *x, const xf_timm_arch *a) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", a->settings);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        xf_status st = apply_pair(x, tok);
        if (st) return xf_fail_context(st, "timm name %s: ", a->name);
    }
    memcpy(x->mean, a->mean, sizeof x->mean);
    memcpy(x->std, a->std, sizeof x->std);
    x->crop_pct = a->crop_pct;
    x->input_size = a->input_size;
    return apply_setting(x, "interpolation", a->interpolation);
}

static const xf_timm_arch *find_arch(const char *name, xf_status *st) {
    const xf_timm_arch *a = xf_timm_arch_find(name);
    *st = a ? XF_OK
            : xf_fail(XF_EINVAL,
                      "unknown timm name '%s' (docs/zoo.md lists the known ones; a sidecar "
                      "JSON can give the settings instead)",
                      name);
    return a;
}

/* The sidecar: a JSON object of settings ("heads": 12, "mean": [0.5, 0.5,
 * 0.5], "crop_pct": 0.9, "interpolation": "bicubic", "pool": "gap", ...),
 * and optionally "arch", a timm name applied first. */
static xf_status apply_sidecar(import_ctx *x, const char *path) {
    size_t size;
    unsigned char *text;
    xf_status st = xf_read_file_max(path, 1 << 20, &text, &size);
    if (st) return xf_fail_context(st, "sidecar: ");
    cJSON *o = cJSON_ParseWithLength((const char *)text, size);
    free(text);
    if (!cJSON_IsObject(o)) {
        st = xf_fail(XF_EFORMAT, "%s: expected a JSON object of settings", path);
        goto done;
    }
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(o, "arch");
    if (arch) {
        const xf_timm_arch *a;
        if (!cJSON_IsString(arch))
            st = xf_fail(XF_EFORMAT, "%s: field 'arch': expected a string", path);
        else if ((a = find_arch(arch->valuestring, &st)) != NULL)
            st = apply_arch(x, a);
    }
    for (const cJSON *item = o->child; st == XF_OK && item; item = item->next) {
        if (strcmp(item->string, "arch") == 0) continue;
        char value[128];
        if (cJSON_IsString(item)) {
            snprintf(value, sizeof value, "%s", item->valuestring);
        } else if (cJSON_IsNumber(item)) {
            snprintf(value, sizeof value, "%.17g", item->valuedouble);
        } else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) == 3) {
            double v[3];
            for (int k = 0; k < 3; k++) {
                const cJSON *e = cJSON_GetArrayItem(item, k);
                v[k] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
            }
            snprintf(value, sizeof value, "%.9g,%.9g,%.9g", v[0], v[1], v[2]);
        } else {
            st = xf_fail(XF_EFORMAT, "%s: field '%s': expected a string, a number or 3 numbers",
                         path, item->string);
            break;
        }
        st = apply_setting(x, item->string, value);
        if (st) xf_fail_context(st, "%s: field '%s': ", path, item->string);
    }
done:
    cJSON_Delete(o);
    return st;
}

/* Pixels of a picture after timm's eval transform: resize the shorter
 * side to floor(size / crop_pct), centre crop size x size. */
static void fill_input(const import_ctx *x, const xf_model *m, xf_model_input *input) {
    const xf_model_config *c = &m->config;
    xf_pipeline *p = &input->pipeline;
    xf_pipeline_default(p);
    double crop = x->crop_pct > 0 ? x->crop_pct : default_crop_pct(c->family);
    int side = c->height > c->width ? c->height : c->width;
    p->fit = XF_FIT_SHORTER;
    p->height = c->height;
    p->width = c->width;
    p->shorter = (int)floor(side / crop + 1e-9);
    if (p->shorter < side) p->shorter = side;
    p->channels = c->channels == 1 ? 1 : 3;
    p->filter = x->filter;
    memcpy(input->norm.mean, x->mean, sizeof x->mean);
    memcpy(input->norm.std, x->std, sizeof x->std);
}

/* half and bfloat16 to float */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void to_float(const xf_st_tensor *e, float *dst) {
    const unsigned char *src = e->data;
    for (size_t i = 0; i < e->numel; i++) {
        if (e->dtype == XF_ST_F32) {
            memcpy(dst + i, src + 4 * i, 4);
        } else {
            uint16_t v;
            memcpy(&v, src + 2 * i, 2);
            if (e->dtype == XF_ST_F16) {
                dst[i] = half_to_float(v);
            } else {
                uint32_t bits = (uint32_t)v << 16;
                memcpy(dst + i, &bits, 4);
            }
        }
    }
}

static void shape_text(const int64_t *shape, int ndim, char *buf, size_t cap) {
    int len = snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && (size_t)len < cap; d++)
        len += snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if ((size_t)len < cap) snprintf(buf + len, cap - len, "]");
}

/* The model's tensor t from the file: converted to float, and pos_embed
 * resampled when the model runs on another grid. */
static xf_status load_tensor(const xf_safetensors *file, const xf_model *m,
                             const xf_tensor_info *t, int prefix, int grid_h, int grid_w) {
    const xf_st_tensor *e = xf_safetensors_find(file, t->name);
    XF_ASSERT(e);
    if (e->dtype != XF_ST_F32 && e->dtype != XF_ST_F16 && e->dtype != XF_ST_BF16)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16",
                       file->path, t->name, xf_st_dtype_name(e->dtype));
    float *dst = m->params + t->offset;
    bool same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = e->shape[d] == t->shape[d];
    if (same) {
        to_float(e, dst);
        return XF_OK;
    }
    int64_t want[XF_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) want[d] = t->shape[d];
    char got_s[96], want_s[96];
    shape_text(e->shape, e->ndim, got_s, sizeof got_s);
    shape_text(want, t->ndim, want_s, sizeof want_s);
    bool resample = strcmp(t->name, "pos_embed") == 0 && grid_h > 0 && e->ndim == 3 &&
                    e->shape[0] == 1 && e->shape[2] == t->shape[2] &&
                    e->shape[1] == prefix + (int64_t)grid_h * grid_w;
    if (!resample)
        return xf_fail(XF_EFORMAT, "%s: tensor '%s' has shape %s, the %s model expects %s",
                       file->path, t->name, got_s, xf_family_name(m->config.family), want_s);
    float *src = xf_malloc(sizeof(float) * e->numel);
    if (!src) return XF_ENOMEM;
    to_float(e, src);
    int patch = m->config.vit.patch;
    xf_pos_embed_resample(src, prefix, grid_h, grid_w, dst, m->config.height / patch,
                          m->config.width / patch, t->shape[2]);
    free(src);
    xf_log_info("%s: pos_embed resampled from a %dx%d grid to %dx%d (bicubic)", file->path,
                grid_h, grid_w, m->config.height / patch, m->config.width / patch);
    return XF_OK;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool file_has_head(const xf_safetensors *file) {
    for (int i = 0; i < file->n_tensors; i++)
        if (starts_with(file->tensors[i].name, "head.")) return true;
    return false;
}

/* The family's settings as "not told": 0, and -1 for words. */
static void clear_family_settings(const xf_family_info *f, xf_model_config *c) {
    for (int i = 0; i < f->n_settings; i++) {
        const xf_setting *s = &f->settings[i];
        if (s->field == XF_FIELD_INTS) continue;
        xf_setting_set(s, c, s->kind == XF_SETTING_WORD ? -1 : 0);
    }
}

static xf_status import_timm(const xf_safetensors *file, const xf_import_options *opt,
                             xf_model *m, xf_model_input *input) {
    import_ctx x = {.path = file->path, .filter = XF_FILTER_BICUBIC,
                    .mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}};
    xf_status st = XF_OK;
    const xf_timm_arch *arch = NULL;
    if (opt && opt->arch && !(arch = find_arch(opt->arch, &st))) return st;
    xf_family family = XF_N_FAMILIES;
    for (size_t i = 0; i < sizeof signatures / sizeof signatures[0]; i++)
        if (xf_safetensors_find(file, signatures[i].tensor)) family = signatures[i].family;
    if (family == XF_N_FAMILIES)
        return xf_fail(XF_EFORMAT,
                       "%s: neither an xfer checkpoint (__metadata__.xfer_config) nor a timm "
                       "ViT, MLP-Mixer or ResNetV2 state_dict (no patch_embed.proj.weight, "
                       "stem.proj.weight or stem.conv.weight)",
                       file->path);
    x.family = xf_family_of(family);
    if (!x.family->from_timm)
        return xf_fail(XF_EINVAL, "%s: timm %s checkpoints are not read yet", file->path,
                       x.family->name);
    if (arch && strcmp(arch->family, x.family->name) != 0)
        return xf_fail(XF_EINVAL, "%s: timm name %s is a %s, the tensors are a %s", file->path,
                       arch->name, arch->family, x.family->name);
    x.c.family = family;
    clear_family_settings(x.family, &x.c);
    if (arch && (st = apply_arch(&x, arch))) return st;
    if (opt && opt->sidecar && (st = apply_sidecar(&x, opt->sidecar))) return st;
    for (int i = 0; opt && i < opt->n_settings; i++)
        if ((st = apply_pair(&x, opt->settings[i]))) return st;
    x.c.height = x.c.width = x.input_size;
    if ((st = x.family->from_timm(file, &x.c)) != XF_OK) return st;
    if (x.c.n_classes == 0) x.c.n_classes = 2; /* headless: a zero head, taps only */
    /* The grid the checkpoint's pos_embed holds, before another size. */
    int prefix = 0, grid_h = 0, grid_w = 0;
    if (family == XF_FAMILY_VIT) {
        prefix = x.c.vit.pool == XF_POOL_CLS || x.c.vit.gap_class_token;
        grid_h = x.c.height / x.c.vit.patch;
        grid_w = x.c.width / x.c.vit.patch;
    }
    if (opt && opt->image_size && (opt->image_size != x.c.height || opt->image_size != x.c.width)) {
        if (family != XF_FAMILY_VIT && family != XF_FAMILY_RESNET)
            return xf_fail(XF_EINVAL,
                           "%s: a %s runs at %dx%d only (its token-mixing MLP fixes the number "
                           "of patches); image size %d refused",
                           file->path, x.family->name, x.c.height, x.c.width, opt->image_size);
        x.c.height = x.c.width = opt->image_size;
    }
    if ((st = xf_model_init(m, &x.c)) != XF_OK) return xf_fail_context(st, "%s: ", file->path);
    bool headless = !file_has_head(file);
    for (int i = 0; i < m->n_tensors; i++) {
        const xf_tensor_info *t = &m->tensors[i];
        if (!xf_safetensors_find(file, t->name)) {
            if (headless && starts_with(t->name, "head.")) continue; /* stays 0 */
            return xf_fail(XF_EFORMAT, "%s: tensor '%s' is missing (a timm %s checkpoint has it)",
                           file->path, t->name, x.family->name);
        }
        if ((st = load_tensor(file, m, t, prefix, grid_h, grid_w))) return st;
    }
    for (int i = 0; i < file->n_tensors; i++)
        if (!xf_model_find_tensor(m, file->tensors[i].name))
            return xf_fail(XF_EFORMAT, "%s: tensor '%s' is not part of the %s model xfer reads",
                           file->path, file->tensors[i].name, x.family->name);
    fill_input(&x, m, input);
    return XF_OK;
}

xf_status xf_model_import(const char *path, const xf_import_options *opt, xf_model *m,
                          xf_model_input *input) {
    memset(m, 0, sizeof *m);
    memset(input, 0, sizeof *input);
    xf_safetensors file;
    xf_status st = xf_safetensors_open(path, &file);
    if (st != XF_OK) return st;
    bool own = xf_safetensors_meta(&file, "xfer_config") != NULL;
    if (!own) {
        st = import_timm(&file, opt, m, input);
        xf_safetensors_free(&file);
        if (st != XF_OK) xf_model_free(m);
        return st;
    }
    xf_safetensors_free(&file);
    if (opt && (opt->arch || opt->sidecar || opt->n_settings || opt->image_size))
        return xf_fail(XF_EINVAL,
                       "%s: an xfer checkpoint carries its own settings; arch, sidecar, "
                       "settings and image size apply to timm checkpoints",
                       path);
    if ((st = xf_checkpoint_load(path, m)) != XF_OK) return st;
    /* xfer's own models were trained on v / 255 * 2 - 1 at their own shape. */
    xf_pipeline_to_shape(&input->pipeline, m->config.height, m->config.width,
                         m->config.channels);
    return XF_OK;
}
