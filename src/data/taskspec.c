/* xf_task_load: task specs (unions, subset options, reader prefixes) on top
 * of the named tasks and the readers. See registry.h for the grammar. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/preprocess.h"
#include "data/readers.h"
#include "data/registry.h"

enum { MAX_PARTS = 16, MAX_CLASSES = 4096 };

typedef struct {
    int classes[MAX_CLASSES], n_classes; /* n_classes 0: all */
    int per_class;                       /* 0: all */
    double fraction;                     /* 1: all */
    unsigned long long seed;
    xf_pipeline pipe;                    /* size, resize, crop, channels, filter, background */
    bool piped;                          /* some pipeline option was given */
    int crop_h, crop_w;                  /* crop=, until resize= is known */
    xf_norm norm;                        /* mean=, std= (std 0: the default) */
    bool mean_set, std_set;
    int bad;                             /* bad=: 0 unset, 1 skip, 2 fail (folder: only) */
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

/* Up to 3 comma-separated numbers in [lo, hi]; the count, or -1. */
static int parse_floats(const char *v, float *out, double lo, double hi) {
    int k = 0;
    for (const char *s = v;; s++) {
        char *end;
        errno = 0;
        double x = strtod(s, &end);
        if (end == s || errno || !(x >= lo && x <= hi) || k == 3) return -1;
        out[k++] = (float)x;
        if (!*end) return k;
        if (*end != ',') return -1;
        s = end;
    }
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
        if (o->pipe.fit == XF_FIT_SHORTER) return bad(spec, opt, "size= and resize= both set the size");
        o->pipe.fit = XF_FIT_STRETCH;
        o->pipe.height = (int)h;
        o->pipe.width = (int)w;
        if (c) o->pipe.channels = (int)c;
        return o->piped = true, XF_OK;
    }
    if (KEY("resize")) {
        if (!parse_int(v, &end, 1, 4096, &n) || *end) return bad(spec, opt, "expected a size 1..4096");
        if (o->pipe.fit == XF_FIT_STRETCH) return bad(spec, opt, "size= and resize= both set the size");
        o->pipe.fit = XF_FIT_SHORTER;
        o->pipe.shorter = (int)n;
        return o->piped = true, XF_OK;
    }
    if (KEY("crop")) {
        long h, w;
        bool ok = parse_int(v, &end, 1, 4096, &h);
        w = h;
        if (ok && *end == 'x') ok = parse_int(end + 1, &end, 1, 4096, &w);
        if (!ok || *end) return bad(spec, opt, "expected S or HxW (sizes up to 4096)");
        o->crop_h = (int)h;
        o->crop_w = (int)w;
        return o->piped = true, XF_OK;
    }
    if (KEY("channels")) {
        if (!parse_int(v, &end, 1, 3, &n) || *end || n == 2) return bad(spec, opt, "expected 1 or 3");
        o->pipe.channels = (int)n;
        return o->piped = true, XF_OK;
    }
    if (KEY("filter")) {
        if (strcmp(v, "bilinear") == 0) o->pipe.filter = XF_FILTER_BILINEAR;
        else if (strcmp(v, "bicubic") == 0) o->pipe.filter = XF_FILTER_BICUBIC;
        else if (strcmp(v, "box") == 0 || strcmp(v, "area") == 0) o->pipe.filter = XF_FILTER_BOX;
        else return bad(spec, opt, "expected bilinear, bicubic or box (area)");
        return o->piped = true, XF_OK;
    }
    if (KEY("background")) {
        float rgb[3];
        int k = parse_floats(v, rgb, 0, 255);
        if (strcmp(v, "white") == 0) rgb[0] = rgb[1] = rgb[2] = 255, k = 3;
        else if (strcmp(v, "black") == 0) rgb[0] = rgb[1] = rgb[2] = 0, k = 3;
        if (k != 1 && k != 3) return bad(spec, opt, "expected white, black, V or R,G,B (0..255)");
        for (int i = 0; i < 3; i++) o->pipe.background[i] = (uint8_t)rgb[k == 1 ? 0 : i];
        return o->piped = true, XF_OK;
    }
    if (KEY("mean") || KEY("std")) {
        bool mean = KEY("mean");
        float *dst = mean ? o->norm.mean : o->norm.std;
        int k = parse_floats(v, dst, mean ? 0 : 1e-6, mean ? 1 : 1e6);
        if (k != 1 && k != 3)
            return bad(spec, opt, mean ? "expected 1 or 3 numbers in [0, 1] (of v / 255)"
                                       : "expected 1 or 3 numbers > 0 (of v / 255)");
        if (k == 1) dst[1] = dst[2] = dst[0];
        *(mean ? &o->mean_set : &o->std_set) = true;
        return XF_OK;
    }
    if (KEY("bad")) {
        if (strcmp(v, "skip") == 0) o->bad = 1;
        else if (strcmp(v, "fail") == 0) o->bad = 2;
        else return bad(spec, opt, "expected skip or fail");
        return XF_OK;
    }
#undef KEY
    return bad(spec, opt, "unknown option (classes, per-class, fraction, seed, size, resize, "
                          "crop, channels, filter, background, mean, std, bad)");
}

/* Replaces *ds by the result of an operation that read it. */
static void swap_in(xf_dataset *ds, xf_dataset *next) {
    xf_dataset_free(ds);
    *ds = *next;
}

/* Settles what the options say together: the crop with the resize. */
static xf_status finish_options(const char *spec, options *o) {
    xf_pipeline *p = &o->pipe;
    if (o->crop_h && p->fit == XF_FIT_STRETCH)
        return bad(spec, "crop", "goes with resize= or alone (size= sets the final size)");
    if (p->fit == XF_FIT_SHORTER) {
        p->height = o->crop_h ? o->crop_h : p->shorter;
        p->width = o->crop_h ? o->crop_w : p->shorter;
        if (p->height > p->shorter || p->width > p->shorter)
            return bad(spec, "crop", "larger than the resize= size, so it may not fit");
    } else if (o->crop_h) {
        p->fit = XF_FIT_COVER;
        p->height = o->crop_h;
        p->width = o->crop_w;
    }
    if (o->mean_set != o->std_set) return bad(spec, o->mean_set ? "mean" : "std", "mean= and std= go together");
    return XF_OK;
}

/* The options, in the order classes, per-class, fraction, pipeline
 * (skipped when the reader applied it while decoding), normalisation. */
static xf_status apply(const options *o, bool piped_already, xf_dataset *ds) {
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
    if (o->piped && !piped_already) {
        if ((st = xf_dataset_preprocess(ds, &o->pipe, &next)) != XF_OK) return st;
        swap_in(ds, &next);
    }
    if (o->mean_set) {
        if (ds->channels == 1 && (o->norm.mean[1] != o->norm.mean[0] || o->norm.std[1] != o->norm.std[0]))
            return xf_fail(XF_EINVAL, "task %s: 3 means or stds for grey images", ds->name);
        ds->norm = o->norm;
    }
    return st;
}

/* A folder decodes through the part's pipeline; with no size stated, the
 * caller's target (a model's input shape) is used instead of the first
 * picture's, so pictures go straight to the size they are used at. */
static xf_status load_source(const char *src, const options *o, const xf_pipeline *target,
                             xf_dataset *train, xf_dataset *test) {
    if (strncmp(src, "folder:", 7) == 0) {
        xf_pipeline pipe = o->pipe;
        if (pipe.fit == XF_FIT_NONE && target) {
            pipe.fit = target->fit;
            pipe.height = target->height;
            pipe.width = target->width;
            if (!pipe.channels) pipe.channels = target->channels;
        }
        /* A folder with broken files still loads: each one is named in a
         * warning (bad=fail makes the first one an error). */
        return xf_folder_load(src + 7, src, &pipe, o->bad != 2, train, test);
    }
    if (o->bad) return xf_fail(XF_EINVAL, "task %s: bad= is an option of folder: tasks", src);
    if (strncmp(src, "idx:", 4) == 0) return xf_idx_dir_load(src + 4, src, train, test);
    if (strncmp(src, "cifar:", 6) == 0) return xf_cifar_load(src + 6, src, train, test);
    if (strncmp(src, "npy:", 4) == 0) return xf_npy_load(src + 4, src, train, test);
    return xf_named_task_load(src, train, test);
}

/* One union part: SOURCE[@OPT...] (part is modified in place). */
static xf_status load_part(char *part, const xf_pipeline *target, xf_dataset *train,
                           xf_dataset *test) {
    options *o = xf_calloc(1, sizeof *o);
    if (!o) return XF_ENOMEM;
    o->fraction = 1;
    xf_pipeline_default(&o->pipe);
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
    if (st == XF_OK) st = finish_options(part, o);
    if (st == XF_OK && !*part) st = xf_fail(XF_EINVAL, "empty task name in a task spec");
    bool folder = strncmp(part, "folder:", 7) == 0;
    if (st == XF_OK) st = load_source(part, o, target, train, test);
    if (st == XF_OK) st = apply(o, folder, train);
    if (st == XF_OK) st = apply(o, folder, test);
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
            xf_pipeline to_first;
            xf_pipeline_default(&to_first);
            xf_pipeline_to_shape(&to_first, parts[0].height, parts[0].width, parts[0].channels);
            xf_status st = xf_dataset_preprocess(&parts[i], &to_first, &conv);
            if (st != XF_OK) return st;
            swap_in(&parts[i], &conv);
        }
        ptrs[i] = &parts[i];
    }
    return xf_dataset_concat(ptrs, k, name, out);
}

xf_status xf_task_load(const char *name, xf_dataset *train, xf_dataset *test) {
    return xf_task_load_at(name, NULL, train, test);
}

xf_status xf_task_load_at(const char *name, const xf_pipeline *target, xf_dataset *train,
                          xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
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
            st = load_part(p, target, &parts[k], &parts[MAX_PARTS + k]);
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
