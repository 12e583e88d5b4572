/* The npy: task source: an images and a labels .npy (core/npy.h parses
 * both), checked for the shapes and labels a dataset needs. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/npy.h"
#include "data/readers.h"

/* What both files must be, beyond a valid .npy: integers, C order, no
 * empty dimension. */
static xf_status check_array(const xf_npy *a, const char *origin) {
    if (!xf_npy_is_integer(a->dtype))
        return xf_fail(XF_EFORMAT, "%s: descr %s, expected an integer dtype like '|u1' or '<i8'",
                       origin, xf_npy_descr(a->dtype));
    if (a->fortran_order)
        return xf_fail(XF_EFORMAT,
                       "%s: header: fortran_order must be False (save a C-ordered array)", origin);
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] == 0)
            return xf_fail(XF_EFORMAT, "%s: header: shape entry %d is 0, expected at least 1",
                           origin, i);
    return XF_OK;
}

static xf_status check_pair(const xf_npy *im, const char *images_origin, const xf_npy *lb,
                            const char *labels_origin, int *classes) {
    xf_status st = check_array(im, images_origin);
    if (st == XF_OK) st = check_array(lb, labels_origin);
    if (st != XF_OK) return st;
    if (im->dtype != XF_NPY_U1)
        return xf_fail(XF_EFORMAT, "%s: images must be uint8 ('|u1'), not %s", images_origin,
                       xf_npy_descr(im->dtype));
    int64_t c = im->ndim == 4 ? im->shape[3] : 1;
    if ((im->ndim != 3 && im->ndim != 4) || (c != 1 && c != 3))
        return xf_fail(XF_EFORMAT,
                       "%s: shape of rank %d, expected (N, H, W) or (N, H, W, C) with C 1 or 3",
                       images_origin, im->ndim);
    if (lb->ndim != 1)
        return xf_fail(XF_EFORMAT, "%s: labels of rank %d, expected (N,)", labels_origin,
                       lb->ndim);
    if (lb->shape[0] != im->shape[0])
        return xf_fail(XF_EFORMAT, "%s: %lld labels, but %s has %lld images", labels_origin,
                       (long long)lb->shape[0], images_origin, (long long)im->shape[0]);
    int64_t top = 0;
    for (size_t i = 0; i < lb->count; i++) {
        int64_t v = xf_npy_int(lb, i);
        if (v < 0 || v >= 65536)
            return xf_fail(XF_EFORMAT, "%s: entry %zu: label %lld out of range [0, 65536)",
                           labels_origin, i, (long long)v);
        if (v >= top) top = v + 1;
    }
    *classes = (int)top;
    return XF_OK;
}

/* The dataset of two parsed arrays; frees both. */
static xf_status build(xf_npy *im, const char *images_origin, xf_npy *lb,
                       const char *labels_origin, const char *name, xf_dataset *out) {
    int classes = 0;
    xf_status st = check_pair(im, images_origin, lb, labels_origin, &classes);
    if (st == XF_OK)
        st = xf_dataset_alloc(out, name, (int)im->shape[0], (int)im->shape[1],
                              (int)im->shape[2], im->ndim == 4 ? (int)im->shape[3] : 1, classes);
    if (st == XF_OK) {
        memcpy(out->images, im->data, im->count);
        for (int i = 0; i < out->n; i++) out->labels[i] = (int32_t)xf_npy_int(lb, (size_t)i);
    }
    xf_npy_free(im);
    xf_npy_free(lb);
    return st;
}

xf_status xf_npy_parse_pair(const uint8_t *images, size_t images_size, const char *images_origin,
                            const uint8_t *labels, size_t labels_size, const char *labels_origin,
                            const char *name, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    xf_npy im, lb;
    xf_status st = xf_npy_parse(images, images_size, images_origin, &im);
    if (st != XF_OK) return st;
    if ((st = xf_npy_parse(labels, labels_size, labels_origin, &lb)) != XF_OK) {
        xf_npy_free(&im);
        return st;
    }
    return build(&im, images_origin, &lb, labels_origin, name, out);
}

/* xf_npy_read checks each header against its file's size before reading. */
static xf_status read_pair(const char *ipath, const char *lpath, const char *name,
                           xf_dataset *out) {
    memset(out, 0, sizeof *out);
    xf_npy im, lb;
    xf_status st = xf_npy_read(ipath, &im);
    if (st != XF_OK) return st;
    if ((st = xf_npy_read(lpath, &lb)) != XF_OK) {
        xf_npy_free(&im);
        return st;
    }
    return build(&im, ipath, &lb, lpath, name, out);
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
