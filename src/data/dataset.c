#include "data/dataset.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"

xf_status xf_dataset_alloc(xf_dataset *ds, const char *name, int n, int height, int width,
                           int channels, int n_classes) {
    memset(ds, 0, sizeof *ds);
    if (n <= 0 || height <= 0 || width <= 0 || channels <= 0 || n_classes <= 0)
        return xf_fail(XF_EINVAL,
                       "dataset %s: n %d, shape %d x %d x %d, %d classes: all must be positive",
                       name, n, height, width, channels, n_classes);
    size_t image = (size_t)height * width * channels;
    if (image > SIZE_MAX / (size_t)n)
        return xf_fail(XF_EINVAL, "dataset %s: %d images of %zu bytes overflow memory", name, n,
                       image);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->images = xf_malloc(image * (size_t)n);
    ds->labels = xf_malloc(sizeof(int32_t) * (size_t)n);
    if (!ds->images || !ds->labels) {
        xf_dataset_free(ds);
        return XF_ENOMEM;
    }
    ds->n = n;
    ds->height = height;
    ds->width = width;
    ds->channels = channels;
    ds->n_classes = n_classes;
    return XF_OK;
}

void xf_dataset_free(xf_dataset *ds) {
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

void xf_dataset_gather(const xf_dataset *ds, const int *idx, int count, float *images,
                       int32_t *labels) {
    size_t size = xf_dataset_image_size(ds);
    for (int i = 0; i < count; i++) {
        XF_ASSERT(idx[i] >= 0 && idx[i] < ds->n);
        const uint8_t *src = ds->images + (size_t)idx[i] * size;
        float *dst = images + (size_t)i * size;
        if (ds->norm.std[0] == 0) {
            for (size_t j = 0; j < size; j++) dst[j] = xf_pixel_to_float(src[j]);
        } else {
            const xf_norm *nm = &ds->norm;
            for (size_t j = 0; j < size; j++) {
                int k = (int)(j % (size_t)ds->channels);
                dst[j] = ((float)src[j] / 255.0f - nm->mean[k]) / nm->std[k];
            }
        }
        if (labels) labels[i] = ds->labels[idx[i]];
    }
}

xf_status xf_dataset_subset(const xf_dataset *src, double fraction, uint64_t seed,
                            xf_dataset *out) {
    memset(out, 0, sizeof *out);
    if (!(fraction > 0 && fraction <= 1))
        return xf_fail(XF_EINVAL, "dataset %s: subset fraction %g, expected 0 < fraction <= 1",
                       src->name, fraction);
    xf_status st = xf_dataset_validate(src, src->name);
    if (st != XF_OK) return st;
    int classes = src->n_classes;
    /* Indices grouped by class (counting sort keeps each class in order). */
    int *start = xf_calloc((size_t)classes + 1, sizeof(int));
    int *order = xf_malloc(sizeof(int) * (size_t)src->n);
    char *keep = xf_calloc((size_t)src->n, 1);
    if (!start || !order || !keep) {
        st = XF_ENOMEM;
        goto done;
    }
    for (int i = 0; i < src->n; i++) start[src->labels[i] + 1]++;
    for (int c = 0; c < classes; c++) start[c + 1] += start[c];
    int *fill = xf_malloc(sizeof(int) * (size_t)classes);
    if (!fill) {
        st = XF_ENOMEM;
        goto done;
    }
    memcpy(fill, start, sizeof(int) * (size_t)classes);
    for (int i = 0; i < src->n; i++) order[fill[src->labels[i]]++] = i;
    free(fill);
    /* One stream for all classes, drawn in class order, so a seed fixes the
     * whole subset; each class keeps round(fraction * size), at least 1. */
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    int total = 0;
    for (int c = 0; c < classes; c++) {
        int size = start[c + 1] - start[c];
        if (size == 0) continue;
        int take = (int)floor(fraction * size + 0.5);
        if (take < 1) take = 1;
        if (take > size) take = size;
        xf_rng_shuffle(&rng, order + start[c], (size_t)size);
        for (int k = 0; k < take; k++) keep[order[start[c] + k]] = 1;
        total += take;
    }
    st = xf_dataset_alloc(out, src->name, total, src->height, src->width, src->channels,
                          classes);
    if (st != XF_OK) goto done;
    out->norm = src->norm;
    /* Kept images stay in their original order, so the subset mixes classes
     * the way the source does. */
    size_t image = xf_dataset_image_size(src);
    for (int i = 0, j = 0; i < src->n; i++) {
        if (!keep[i]) continue;
        memcpy(out->images + (size_t)j * image, src->images + (size_t)i * image, image);
        out->labels[j++] = src->labels[i];
    }
done:
    free(start);
    free(order);
    free(keep);
    return st;
}

xf_status xf_dataset_validate(const xf_dataset *ds, const char *origin) {
    if (ds->n <= 0)
        return xf_fail(XF_EFORMAT, "%s: %d images, expected at least one", origin, ds->n);
    if (ds->height <= 0 || ds->width <= 0 || ds->channels <= 0)
        return xf_fail(XF_EFORMAT, "%s: image shape %d x %d x %d, expected positive sizes",
                       origin, ds->height, ds->width, ds->channels);
    if (ds->n_classes <= 0)
        return xf_fail(XF_EFORMAT, "%s: %d classes, expected at least one", origin,
                       ds->n_classes);
    if (!ds->images || !ds->labels)
        return xf_fail(XF_EINVAL, "%s: dataset has no storage", origin);
    for (int i = 0; i < ds->n; i++)
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->n_classes)
            return xf_fail(XF_EFORMAT, "%s: image %d: label %d out of range [0, %d)", origin, i,
                           (int)ds->labels[i], ds->n_classes);
    return XF_OK;
}
