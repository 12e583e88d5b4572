/* xf_task_load: task specs (unions, subset options, reader prefixes) on top
 * of the named tasks and the readers. See registry.h for the grammar. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/image.h"
#include "data/readers.h"
#include "data/registry.h"

enum { MAX_PARTS = 16, MAX_CLASSES = 4096 };

typedef struct {
    int classes[MAX_CLASSES], n_classes; /* n_classes 0: all */
    int per_class;                       /* 0: all */
    double fraction;                     /* 1: all */
    unsigned long long seed;
    int height, width, channels;         /* 0: as loaded */
} options;

static xf_status bad(const char *spec, const char *opt, const char *why) {
    return xf_fail(XF_EINVAL, "task %s: option '%s': %s", spec, opt, why);
}

static bool parse_int(const char *s, char **end, long lo, long hi, long *v) {
    errno = 0;
    *v = strtol(s, end, 10);
    return *end != s && !errno && *v >= lo && *v <= hi;
}

static xf_status parse_classes(const char *spec, const char *opt, const char *v, options *o) {
    const char *s = v;
    while (*s) {
        char *end;
        long a, b;
        if (!parse_int(s, &end, 0, MAX_CLASSES - 1, &a))
            return bad(spec, opt, "expected class numbers like 0,3,5-9");
        b = a;
        if (*end == '-' && !parse_int(end + 1, &end, a, MAX_CLASSES - 1, &b))
            return bad(spec, opt, "a range needs a larger second number (5-9)");
        for (long c = a; c <= b; c++) {
            if (o->n_classes == MAX_CLASSES) return bad(spec, opt, "too many classes");
            o->classes[o->n_classes++] = (int)c;
        }
        if (*end == ',') end++;
        else if (*end) return bad(spec, opt, "expected ',' between classes");
        s = end;
    }
    if (o->n_classes == 0) return bad(spec, opt, "empty class list");
    return XF_OK;
}

static xf_status parse_option(const char *spec, const char *opt, options *o) {
    const char *eq = strchr(opt, '=');
    if (!eq) return bad(spec, opt, "expected KEY=VALUE");
    size_t klen = (size_t)(eq - opt);
    const char *v = eq + 1;
    char *end;
    long n;
#define KEY(k) (klen == sizeof(k) - 1 && strncmp(opt, k, klen) == 0)
    if (KEY("classes")) return parse_classes(spec, opt, v, o);
    if (KEY("per-class")) {
        if (!parse_int(v, &end, 1, 1L << 30, &n) || *end) return bad(spec, opt, "expected a count >= 1");
        o->per_class = (int)n;
        return XF_OK;
    }
    if (KEY("fraction")) {
        errno = 0;
        o->fraction = strtod(v, &end);
        if (end == v || *end || errno || !(o->fraction > 0 && o->fraction <= 1))
            return bad(spec, opt, "expected 0 < fraction <= 1");
        return XF_OK;
    }
    if (KEY("seed")) {
        errno = 0;
        o->seed = strtoull(v, &end, 10);
        if (end == v || *end || errno || *v == '-') return bad(spec, opt, "expected an unsigned integer");
        return XF_OK;
    }
    if (KEY("size")) {
        long h, w, c = 0;
        if (!parse_int(v, &end, 1, 4096, &h) || *end != 'x' ||
            !parse_int(end + 1, &end, 1, 4096, &w) ||
            (*end == 'x' && (!parse_int(end + 1, &end, 1, 3, &c) || c == 2)) || *end)
            return bad(spec, opt, "expected HxW or HxWxC (C 1 or 3, sizes up to 4096)");
        o->height = (int)h;
        o->width = (int)w;
        o->channels = (int)c;
        return XF_OK;
    }
#undef KEY
    return bad(spec, opt, "unknown option (classes, per-class, fraction, seed, size)");
}

/* Replaces *ds by the result of an operation that read it. */
static void swap_in(xf_dataset *ds, xf_dataset *next) {
    xf_dataset_free(ds);
    *ds = *next;
}

static xf_status apply(const options *o, xf_dataset *ds) {
    xf_dataset next;
    xf_status st = XF_OK;
    if (o->n_classes) {
        if ((st = xf_dataset_select_classes(ds, o->classes, o->n_classes, &next)) != XF_OK) return st;
        swap_in(ds, &next);
    }
    if (o->per_class) {
        if ((st = xf_dataset_per_class(ds, o->per_class, o->seed, &next)) != XF_OK) return st;
        swap_in(ds, &next);
    }
    if (o->fraction < 1) {
        if ((st = xf_dataset_subset(ds, o->fraction, o->seed, &next)) != XF_OK) return st;
        swap_in(ds, &next);
    }
    if (o->height) {
        int c = o->channels ? o->channels : ds->channels;
        if ((st = xf_dataset_convert(ds, o->height, o->width, c, &next)) != XF_OK) return st;
        swap_in(ds, &next);
    }
    return st;
}

static xf_status load_source(const char *src, xf_dataset *train, xf_dataset *test) {
    if (strncmp(src, "idx:", 4) == 0) return xf_idx_dir_load(src + 4, src, train, test);
    if (strncmp(src, "cifar:", 6) == 0) return xf_cifar_load(src + 6, src, train, test);
    if (strncmp(src, "folder:", 7) == 0) return xf_folder_load(src + 7, src, train, test);
    if (strncmp(src, "npy:", 4) == 0) return xf_npy_load(src + 4, src, train, test);
    return xf_named_task_load(src, train, test);
}

/* One union part: SOURCE[@OPT...] (part is modified in place). */
static xf_status load_part(char *part, xf_dataset *train, xf_dataset *test) {
    options *o = xf_calloc(1, sizeof *o);
    if (!o) return XF_ENOMEM;
    o->fraction = 1;
    char *at = strchr(part, '@');
    xf_status st = XF_OK;
    if (at) {
        *at = 0;
        for (char *opt = at + 1; opt && st == XF_OK;) {
            char *next = strchr(opt, '@');
            if (next) *next++ = 0;
            st = parse_option(part, opt, o);
            opt = next;
        }
    }
    if (st == XF_OK && !*part) st = xf_fail(XF_EINVAL, "empty task name in a task spec");
    if (st == XF_OK) st = load_source(part, train, test);
    if (st == XF_OK) st = apply(o, train);
    if (st == XF_OK) st = apply(o, test);
    if (st == XF_OK && train->n_classes != test->n_classes)
        st = xf_fail(XF_EINVAL, "task %s: train has %d classes, test %d", part,
                     train->n_classes, test->n_classes);
    free(o);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}

/* Union of the loaded parts into out, converting shapes to the first's. */
static xf_status unite(xf_dataset *parts, int k, const char *name, xf_dataset *out) {
    const xf_dataset *ptrs[MAX_PARTS];
    for (int i = 0; i < k; i++) {
        if (i > 0 && (parts[i].height != parts[0].height || parts[i].width != parts[0].width ||
                      parts[i].channels != parts[0].channels)) {
            xf_dataset conv;
            xf_status st = xf_dataset_convert(&parts[i], parts[0].height, parts[0].width,
                                              parts[0].channels, &conv);
            if (st != XF_OK) return st;
            swap_in(&parts[i], &conv);
        }
        ptrs[i] = &parts[i];
    }
    return xf_dataset_concat(ptrs, k, name, out);
}

xf_status xf_task_load(const char *name, xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!strchr(name, '+') && !strchr(name, '@')) return load_source(name, train, test);
    char *spec = xf_strdup(name);
    xf_dataset *parts = xf_calloc(2 * MAX_PARTS, sizeof(xf_dataset));
    if (!spec || !parts) {
        free(spec);
        free(parts);
        return XF_ENOMEM;
    }
    xf_status st = XF_OK;
    int k = 0;
    for (char *p = spec; p && st == XF_OK; k++) {
        char *next = strchr(p, '+');
        if (next) *next++ = 0;
        if (k == MAX_PARTS)
            st = xf_fail(XF_EINVAL, "task %s: more than %d parts", name, MAX_PARTS);
        else
            st = load_part(p, &parts[k], &parts[MAX_PARTS + k]);
        p = next;
    }
    if (st == XF_OK && k == 1) {
        *train = parts[0];
        *test = parts[MAX_PARTS];
        snprintf(train->name, sizeof train->name, "%s", name);
        snprintf(test->name, sizeof test->name, "%s", name);
        memset(parts, 0, 2 * MAX_PARTS * sizeof(xf_dataset));
    } else if (st == XF_OK) {
        st = unite(parts, k, name, train);
        if (st == XF_OK) st = unite(parts + MAX_PARTS, k, name, test);
        if (st != XF_OK) {
            xf_dataset_free(train);
            xf_dataset_free(test);
        }
    }
    for (int i = 0; i < 2 * MAX_PARTS; i++) xf_dataset_free(&parts[i]);
    free(parts);
    free(spec);
    if (st != XF_OK) return xf_fail_context(st, "loading %s: ", name);
    return XF_OK;
}
