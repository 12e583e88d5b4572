/* NumPy .npy arrays: the header is a Python dict literal of descr,
 * fortran_order and shape; only the forms numpy.save writes are accepted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/readers.h"

typedef struct {
    char kind;        /* 'u' or 'i' */
    int bytes;        /* 1, 2, 4, 8 */
    bool big_endian;
    int rank;
    long long shape[4];
    const uint8_t *data;
    size_t data_size;
} npy_array;

/* Finds "'key':" in the header and returns what follows (spaces skipped). */
static const char *header_value(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return p;
}

static xf_status parse_npy(const uint8_t *b, size_t size, const char *origin, npy_array *a) {
    memset(a, 0, sizeof *a);
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return xf_fail(XF_EFORMAT, "%s: byte 0: no \\x93NUMPY magic (not a .npy file)", origin);
    int major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return xf_fail(XF_EFORMAT, "%s: byte %zu: file ends in the header", origin, size);
        hlen = b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        return xf_fail(XF_EFORMAT, "%s: byte 6: format version %d, expected 1, 2 or 3", origin, major);
    }
    if (hlen > 65536 || hstart + hlen > size)
        return xf_fail(XF_EFORMAT, "%s: byte 8: header of %zu bytes does not fit the file (%zu bytes)",
                       origin, hlen, size);
    char h[65537];
    memcpy(h, b + hstart, hlen);
    h[hlen] = 0;
    if (strlen(h) != hlen)
        return xf_fail(XF_EFORMAT, "%s: byte %zu: NUL inside the header", origin, hstart + strlen(h));
    const char *d = header_value(h, "descr");
    if (!d || (d[0] != '\'') || !strchr("<>|", d[1]) || !strchr("ui", d[2]) ||
        !strchr("1248", d[3]) || d[4] != '\'')
        return xf_fail(XF_EFORMAT, "%s: header: descr %.12s, expected an integer dtype like '|u1' "
                                   "or '<i8'",
                       origin, d ? d : "missing");
    a->big_endian = d[1] == '>';
    a->kind = d[2];
    a->bytes = d[3] - '0';
    const char *f = header_value(h, "fortran_order");
    if (!f || strncmp(f, "False", 5) != 0)
        return xf_fail(XF_EFORMAT, "%s: header: fortran_order must be False (save a C-ordered array)",
                       origin);
    const char *s = header_value(h, "shape");
    if (!s || *s != '(') return xf_fail(XF_EFORMAT, "%s: header: no shape tuple", origin);
    s++;
    size_t count = 1;
    while (*s != ')') {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v <= 0 || v > (1LL << 31) || a->rank == 4)
            return xf_fail(XF_EFORMAT, "%s: header: shape entry %d: expected 1..2^31, at most 4 "
                                       "dims",
                           origin, a->rank);
        a->shape[a->rank++] = v;
        if (count > ((size_t)1 << 40) / (size_t)v)
            return xf_fail(XF_EFORMAT, "%s: header: shape too large", origin);
        count *= (size_t)v;
        s = end;
    }
    if (a->rank == 0) return xf_fail(XF_EFORMAT, "%s: header: empty shape", origin);
    size_t data = hstart + hlen;
    if (size - data != count * (size_t)a->bytes)
        return xf_fail(XF_EFORMAT, "%s: byte %zu: %zu data bytes, shape and dtype need %zu%s", origin,
                       data, size - data, count * (size_t)a->bytes,
                       size - data < count * (size_t)a->bytes ? " (truncated file)" : "");
    a->data = b + data;
    a->data_size = size - data;
    return XF_OK;
}

static long long element(const npy_array *a, size_t i) {
    const uint8_t *p = a->data + i * (size_t)a->bytes;
    unsigned long long u = 0;
    for (int k = 0; k < a->bytes; k++)
        u |= (unsigned long long)p[a->big_endian ? a->bytes - 1 - k : k] << (8 * k);
    if (a->kind == 'i' && a->bytes < 8 && (u >> (8 * a->bytes - 1)) & 1)
        u |= ~0ull << (8 * a->bytes); /* sign-extend */
    return a->kind == 'u' && a->bytes == 8 && u > (unsigned long long)INT64_MAX ? -1 : (long long)u;
}

xf_status xf_npy_parse_pair(const uint8_t *images, size_t images_size, const char *images_origin,
                            const uint8_t *labels, size_t labels_size, const char *labels_origin,
                            const char *name, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    npy_array im, lb;
    xf_status st = parse_npy(images, images_size, images_origin, &im);
    if (st == XF_OK) st = parse_npy(labels, labels_size, labels_origin, &lb);
    if (st != XF_OK) return st;
    if (im.kind != 'u' || im.bytes != 1)
        return xf_fail(XF_EFORMAT, "%s: images must be uint8 ('|u1')", images_origin);
    int c = im.rank == 4 ? (int)im.shape[3] : 1;
    if ((im.rank != 3 && im.rank != 4) || (c != 1 && c != 3))
        return xf_fail(XF_EFORMAT, "%s: shape of rank %d, expected (N, H, W) or (N, H, W, C) with "
                                   "C 1 or 3",
                       images_origin, im.rank);
    if (lb.rank != 1)
        return xf_fail(XF_EFORMAT, "%s: labels of rank %d, expected (N,)", labels_origin, lb.rank);
    if (lb.shape[0] != im.shape[0])
        return xf_fail(XF_EFORMAT, "%s: %lld labels, but %s has %lld images", labels_origin,
                       lb.shape[0], images_origin, im.shape[0]);
    long long classes = 0;
    for (size_t i = 0; i < (size_t)lb.shape[0]; i++) {
        long long v = element(&lb, i);
        if (v < 0 || v >= 65536)
            return xf_fail(XF_EFORMAT, "%s: entry %zu: label %lld out of range [0, 65536)",
                           labels_origin, i, v);
        if (v >= classes) classes = v + 1;
    }
    st = xf_dataset_alloc(out, name, (int)im.shape[0], (int)im.shape[1], (int)im.shape[2], c,
                          (int)classes);
    if (st != XF_OK) return st;
    memcpy(out->images, im.data, im.data_size);
    for (int i = 0; i < out->n; i++) out->labels[i] = (int32_t)element(&lb, (size_t)i);
    return XF_OK;
}

static xf_status read_pair(const char *ipath, const char *lpath, const char *name,
                           xf_dataset *out) {
    unsigned char *ib = NULL, *lbuf = NULL;
    size_t isz, lsz;
    xf_status st = xf_read_file(ipath, &ib, &isz);
    if (st == XF_OK) st = xf_read_file(lpath, &lbuf, &lsz);
    if (st == XF_OK) st = xf_npy_parse_pair(ib, isz, ipath, lbuf, lsz, lpath, name, out);
    free(ib);
    free(lbuf);
    return st;
}

xf_status xf_npy_load(const char *paths, const char *name, xf_dataset *train, xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char *copy = xf_strdup(paths);
    if (!copy) return XF_ENOMEM;
    char *part[5];
    int k = 0;
    for (char *p = copy; p && k < 5; k++) {
        part[k] = p;
        p = strchr(p, ',');
        if (p) *p++ = 0;
    }
    xf_status st = XF_OK;
    if (k != 2 && k != 4)
        st = xf_fail(XF_EINVAL, "task %s: expected npy:IMAGES,LABELS or "
                                "npy:IMAGES,LABELS,TEST_IMAGES,TEST_LABELS", name);
    else if (k == 4) {
        st = read_pair(part[0], part[1], name, train);
        if (st == XF_OK) st = read_pair(part[2], part[3], name, test);
        if (st == XF_OK && (test->height != train->height || test->width != train->width ||
                            test->channels != train->channels))
            st = xf_fail(XF_EFORMAT, "%s: images are %d x %d x %d, but %s has %d x %d x %d",
                         part[2], test->height, test->width, test->channels, part[0],
                         train->height, train->width, train->channels);
        if (st == XF_OK) {
            int c = train->n_classes > test->n_classes ? train->n_classes : test->n_classes;
            train->n_classes = test->n_classes = c;
        }
    } else {
        xf_dataset all;
        st = read_pair(part[0], part[1], name, &all);
        if (st == XF_OK) {
            st = xf_dataset_split(&all, XF_SPLIT_TEST_FRACTION, XF_SPLIT_SEED, train, test);
            xf_dataset_free(&all);
        }
    }
    free(copy);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}
