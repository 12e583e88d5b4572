#include "core/setting.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const switch_words[] = {"false", "true", NULL};

static const char *const *words_of(const xf_setting *s) {
    return s->kind == XF_SETTING_SWITCH ? switch_words : s->words;
}

/* "[1, 256]", "(0, 1]": integers printed whole, so 1048576 is not 1.04858e+06. */
static void range_text(const xf_setting *s, bool integer, char *buf, size_t size) {
    if (integer)
        snprintf(buf, size, "[%.0f, %.0f]", s->lo, s->hi);
    else
        snprintf(buf, size, "%c%g, %g%c", s->lo_open ? '(' : '[', s->lo, s->hi,
                 s->hi_open ? ')' : ']');
}

void xf_setting_expect(const xf_setting *s, char *buf, size_t size) {
    char range[96];
    switch (s->kind) {
    case XF_SETTING_INT:
        range_text(s, true, range, sizeof range);
        snprintf(buf, size, "an integer in %s", range);
        return;
    case XF_SETTING_REAL:
        range_text(s, false, range, sizeof range);
        snprintf(buf, size, "a number in %s", range);
        return;
    case XF_SETTING_INTS:
        range_text(s, true, range, sizeof range);
        snprintf(buf, size, "1 to %d integers in %s", s->max_items, range);
        return;
    case XF_SETTING_SWITCH: snprintf(buf, size, "true or false"); return;
    case XF_SETTING_WORD: {
        const char *const *w = s->words;
        int n = 0;
        while (w[n]) n++;
        buf[0] = 0;
        for (int i = 0; i < n; i++) {
            size_t used = strlen(buf);
            snprintf(buf + used, size - used, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                     w[i]);
        }
        return;
    }
    }
}

bool xf_setting_valid(const xf_setting *s, double v) {
    if (!isfinite(v)) return false;
    if (s->kind == XF_SETTING_WORD || s->kind == XF_SETTING_SWITCH) {
        const char *const *w = words_of(s);
        int n = 0;
        while (w[n]) n++;
        return v == floor(v) && v >= 0 && v < n;
    }
    if (s->kind != XF_SETTING_REAL && v != floor(v)) return false;
    return (s->lo_open ? v > s->lo : v >= s->lo) && (s->hi_open ? v < s->hi : v <= s->hi);
}

/* One number of an INT, REAL or INTS setting, the whole of [text, text+len). */
static bool parse_number(const xf_setting *s, const char *text, size_t len, double *out) {
    char buf[64];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, text, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v;
    if (s->kind == XF_SETTING_REAL) {
        v = strtod(buf, &end);
    } else {
        long long i = strtoll(buf, &end, 10);
        /* Beyond 2^53 a double no longer holds every integer. */
        if (i > (1LL << 53) || i < -(1LL << 53)) errno = ERANGE;
        v = (double)i;
    }
    if (errno || end == buf || *end || !xf_setting_valid(s, v)) return false;
    *out = v;
    return true;
}

xf_status xf_setting_parse(const xf_setting *s, const char *text, double *value,
                           bool *deprecated) {
    if (deprecated) *deprecated = false;
    if (s->kind == XF_SETTING_WORD || s->kind == XF_SETTING_SWITCH) {
        const char *const *w = words_of(s);
        for (int i = 0; w[i]; i++) {
            if (strcmp(text, w[i]) == 0) {
                *value = i;
                return XF_OK;
            }
        }
        for (int a = 0; s->aliases && s->aliases[a][0]; a++)
            if (strcmp(text, s->aliases[a][0]) == 0)
                for (int i = 0; w[i]; i++)
                    if (strcmp(s->aliases[a][1], w[i]) == 0) {
                        if (deprecated) *deprecated = true;
                        *value = i;
                        return XF_OK;
                    }
    } else if (s->kind != XF_SETTING_INTS && parse_number(s, text, strlen(text), value)) {
        return XF_OK;
    }
    char expect[256];
    xf_setting_expect(s, expect, sizeof expect);
    return xf_fail(XF_EINVAL, "expected %s, got '%.60s'", expect, text);
}

xf_status xf_setting_parse_ints(const xf_setting *s, const char *text, int *items, int *n) {
    *n = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        double v;
        if (*n == s->max_items || !parse_number(s, p, len, &v)) {
            char expect[256];
            xf_setting_expect(s, expect, sizeof expect);
            return xf_fail(XF_EINVAL, "expected %s separated by commas, got '%.60s'", expect,
                           text);
        }
        items[(*n)++] = (int)v;
        if (!comma) return XF_OK;
        p = comma + 1;
    }
}

const char *xf_setting_word(const xf_setting *s, int value) {
    const char *const *w = words_of(s);
    for (int i = 0; w[i]; i++)
        if (i == value) return w[i];
    return "?";
}

const xf_setting *xf_setting_find(const xf_setting *table, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(table[i].key, key) == 0) return &table[i];
    return NULL;
}

double xf_setting_get(const xf_setting *s, const void *base) {
    const char *p = (const char *)base + s->offset;
    switch (s->field) {
    case XF_FIELD_INT: return *(const int *)p;
    case XF_FIELD_DOUBLE: return *(const double *)p;
    case XF_FIELD_U64: return (double)*(const uint64_t *)p;
    case XF_FIELD_BOOL: return *(const bool *)p;
    default: XF_ASSERT(!"a scalar field");
    }
    return 0;
}

void xf_setting_set(const xf_setting *s, void *base, double v) {
    char *p = (char *)base + s->offset;
    switch (s->field) {
    case XF_FIELD_INT: *(int *)p = (int)v; break;
    case XF_FIELD_DOUBLE: *(double *)p = v; break;
    case XF_FIELD_U64: *(uint64_t *)p = (uint64_t)v; break;
    case XF_FIELD_BOOL: *(bool *)p = v != 0; break;
    default: XF_ASSERT(!"a scalar field");
    }
}

void xf_settings_apply_defaults(const xf_setting *table, int n, void *base) {
    for (int i = 0; i < n; i++) {
        const xf_setting *s = &table[i];
        if (!s->def || s->field == XF_FIELD_NONE) continue;
        if (s->field == XF_FIELD_INTS) {
            int count;
            xf_status st = xf_setting_parse_ints(s, s->def, (int *)((char *)base + s->offset),
                                                 &count);
            XF_ASSERT(st == XF_OK); /* a table's own default */
            *(int *)((char *)base + s->count_offset) = count;
        } else {
            double v;
            xf_status st = xf_setting_parse(s, s->def, &v, NULL);
            XF_ASSERT(st == XF_OK);
            xf_setting_set(s, base, v);
        }
    }
    for (int i = 0; i < n; i++) {
        const xf_setting *s = &table[i];
        if (!s->follows || s->field == XF_FIELD_NONE) continue;
        const xf_setting *leader = xf_setting_find(table, n, s->follows);
        XF_ASSERT(leader);
        xf_setting_set(s, base, xf_setting_get(leader, base));
    }
}
