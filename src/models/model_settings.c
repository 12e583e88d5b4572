/* A family's part of xf_model_config, generically from its settings table:
 * the range checks and the JSON object written into checkpoints. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/family.h"

xf_status xf_family_check_settings(const xf_family_info *f, const xf_model_config *c) {
    for (int i = 0; i < f->n_settings; i++) {
        const xf_setting *s = &f->settings[i];
        char expect[160];
        xf_setting_expect(s, expect, sizeof expect);
        if (s->field == XF_FIELD_INTS) {
            int n = *(const int *)((const char *)c + s->count_offset);
            const int *items = (const int *)((const char *)c + s->offset);
            if (n < 1 || n > s->max_items)
                return xf_fail(XF_EINVAL, "model config: field '%s.%s' has %d values, expected %s",
                               f->name, s->count_key ? s->count_key : s->key, n, expect);
            for (int k = 0; k < n; k++)
                if (!xf_setting_valid(s, items[k]))
                    return xf_fail(XF_EINVAL,
                                   "model config: field '%s.%s[%d]' is %d, expected %s", f->name,
                                   s->key, k, items[k], expect);
            continue;
        }
        double v = xf_setting_get(s, c);
        if (!xf_setting_valid(s, v))
            return xf_fail(XF_EINVAL, "model config: field '%s.%s' is %g, expected %s", f->name,
                           s->key, v, expect);
    }
    return f->check ? f->check(c) : XF_OK;
}

xf_status xf_model_config_check_settings(const xf_model_config *cfg) {
    const xf_family_info *family = xf_family_of(cfg->family);
    if (!family)
        return xf_fail(XF_EINVAL, "model config: field 'family' is %d, not a known family",
                       (int)cfg->family);
    return xf_family_check_settings(family, cfg);
}

void xf_model_config_default(xf_model_config *cfg, xf_family f) {
    memset(cfg, 0, sizeof *cfg);
    cfg->family = f;
    const xf_family_info *family = xf_family_of(f);
    XF_ASSERT(family);
    xf_settings_apply_defaults(family->settings, family->n_settings, cfg);
}

/* A scalar setting at its default value. */
static bool is_default(const xf_setting *s, const xf_model_config *c) {
    double def = 0;
    XF_ASSERT(s->def && s->field != XF_FIELD_INTS);
    xf_status st = xf_setting_parse(s, s->def, &def, NULL);
    XF_ASSERT(st == XF_OK);
    return xf_setting_get(s, c) == def;
}

bool xf_family_settings_to_json(const xf_family_info *f, const xf_model_config *c, cJSON *obj) {
    for (int i = 0; i < f->n_settings; i++) {
        const xf_setting *s = &f->settings[i];
        bool ok;
        if (s->optional && is_default(s, c)) continue;
        if (s->field == XF_FIELD_INTS) {
            int n = *(const int *)((const char *)c + s->count_offset);
            cJSON *list = cJSON_CreateIntArray((const int *)((const char *)c + s->offset), n);
            ok = list && cJSON_AddItemToObject(obj, s->key, list);
            if (ok && s->count_key) ok = cJSON_AddNumberToObject(obj, s->count_key, n);
        } else if (s->kind == XF_SETTING_WORD) {
            ok = cJSON_AddStringToObject(obj, s->key, xf_setting_word(s, (int)xf_setting_get(s, c)));
        } else {
            ok = cJSON_AddNumberToObject(obj, s->key, xf_setting_get(s, c));
        }
        if (!ok) return false;
    }
    return true;
}

/* field: the dotted path for messages ("mlp.width"). */
xf_status xf_json_get_int(const cJSON *obj, const char *key, const char *field, int *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item) return xf_fail(XF_EFORMAT, "model config: missing field '%s'", field);
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || v != floor(v) || fabs(v) > 2147483647.0)
        return xf_fail(XF_EFORMAT, "model config: field '%s': expected an integer", field);
    *out = (int)v;
    return XF_OK;
}

static xf_status ints_from_json(const xf_family_info *f, const xf_setting *s, const cJSON *obj,
                                xf_model_config *c) {
    char field[64];
    snprintf(field, sizeof field, "%s.%s", f->name, s->key);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, s->key);
    if (!list) return xf_fail(XF_EFORMAT, "model config: missing field '%s'", field);
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    int count = 0;
    /* Older checkpoints also give the count; it must agree with the list. */
    if (s->count_key && cJSON_GetObjectItemCaseSensitive(obj, s->count_key)) {
        char count_field[64];
        snprintf(count_field, sizeof count_field, "%s.%s", f->name, s->count_key);
        xf_status st = xf_json_get_int(obj, s->count_key, count_field, &count);
        if (st) return st;
        if (count < 1 || count > s->max_items)
            return xf_fail(XF_EINVAL, "model config: field '%s' is %d, expected 1 to %d",
                           count_field, count, s->max_items);
        if (n != count)
            return xf_fail(XF_EFORMAT,
                           "model config: field '%s': expected an array of %d integers (one "
                           "per stage)", field, count);
    }
    if (n < 1 || n > s->max_items)
        return xf_fail(XF_EFORMAT, "model config: field '%s': expected an array of 1 to %d "
                       "integers", field, s->max_items);
    int *items = (int *)((char *)c + s->offset);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(list, i);
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            fabs(v->valuedouble) > 1e6)
            return xf_fail(XF_EFORMAT, "model config: field '%s[%d]': expected an integer",
                           field, i);
        items[i] = (int)v->valuedouble;
    }
    *(int *)((char *)c + s->count_offset) = n;
    return XF_OK;
}

xf_status xf_family_settings_from_json(const xf_family_info *f, const cJSON *obj,
                                       xf_model_config *c) {
    for (int i = 0; i < f->n_settings; i++) {
        const xf_setting *s = &f->settings[i];
        char field[64];
        snprintf(field, sizeof field, "%s.%s", f->name, s->key);
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, s->key);
        xf_status st = XF_OK;
        if (s->field == XF_FIELD_INTS) {
            st = ints_from_json(f, s, obj, c);
        } else if (!item && s->optional) {
            double def = 0;
            if (!(st = xf_setting_parse(s, s->def, &def, NULL))) xf_setting_set(s, c, def);
        } else if (!item) {
            st = xf_fail(XF_EFORMAT, "model config: missing field '%s'", field);
        } else if (s->kind == XF_SETTING_WORD) {
            double v = 0;
            /* Old checkpoints' spellings ("group") load without a warning:
             * nobody typed them. */
            if (!cJSON_IsString(item))
                st = xf_fail(XF_EFORMAT, "model config: field '%s': expected a string", field);
            else if ((st = xf_setting_parse(s, item->valuestring, &v, NULL)))
                st = xf_fail_context(XF_EFORMAT, "model config: field '%s': ", field);
            else
                xf_setting_set(s, c, v);
        } else if (s->kind == XF_SETTING_INT) {
            int v = 0;
            if (!(st = xf_json_get_int(obj, s->key, field, &v))) xf_setting_set(s, c, v);
        } else if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
            st = xf_fail(XF_EFORMAT, "model config: field '%s': expected a number", field);
        } else {
            xf_setting_set(s, c, item->valuedouble);
        }
        if (st) return st;
    }
    return XF_OK;
}
