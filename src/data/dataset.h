/* A labelled image set held in memory: n images of H x W x C uint8 pixels
 * (channels last, rows top to bottom) and one int32 label per image in
 * [0, n_classes). Every reader and named task produces one. */
#ifndef XF_DATASET_H
#define XF_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Per-channel normalisation of pixels on their way to a model:
 * x = (v / 255 - mean[k]) / std[k]. std[0] == 0 means the default,
 * v / 255 * 2 - 1 (mean 0.5, std 0.5), so every set without one is in
 * [-1, 1]. Stated by a task spec (mean=, std=); kept through subsets,
 * splits and conversions; a union takes its first part's. */
typedef struct {
    float mean[3], std[3];
} xf_norm;

typedef struct {
    char name[64];   /* task name, for messages and records */
    int n;           /* number of images */
    int height, width, channels;
    int n_classes;
    uint8_t *images; /* n x height x width x channels */
    int32_t *labels; /* n */
    xf_norm norm;
} xf_dataset;

/* Bytes per image. */
static inline size_t xf_dataset_image_size(const xf_dataset *ds) {
    return (size_t)ds->height * ds->width * ds->channels;
}

/* Allocates storage for n images of the given shape (contents undefined). */
xf_status xf_dataset_alloc(xf_dataset *ds, const char *name, int n, int height, int width,
                           int channels, int n_classes);
void xf_dataset_free(xf_dataset *ds);

/* Pixel scaling every model sees: v / 255 * 2 - 1, so inputs lie in [-1, 1]. */
static inline float xf_pixel_to_float(uint8_t v) { return (float)v * (2.0f / 255.0f) - 1.0f; }

/* Converts images idx[0..count) to floats (count x H x W x C) with the
 * set's normalisation and copies their labels (labels may be NULL). */
void xf_dataset_gather(const xf_dataset *ds, const int *idx, int count, float *images,
                       int32_t *labels);

/* A deterministic subset of `fraction` (0 < fraction <= 1) of the images,
 * the same fraction of each class (at least one per class), chosen by seed.
 * `out` owns a copy. */
xf_status xf_dataset_subset(const xf_dataset *src, double fraction, uint64_t seed,
                            xf_dataset *out);

/* The images of the listed classes only, relabelled 0..k-1 in list order
 * (classes: k distinct labels of src). `out` owns a copy. */
xf_status xf_dataset_select_classes(const xf_dataset *src, const int *classes, int k,
                                    xf_dataset *out);

/* At most `per_class` images of each class, chosen by seed, kept in their
 * original order. `out` owns a copy. */
xf_status xf_dataset_per_class(const xf_dataset *src, int per_class, uint64_t seed,
                               xf_dataset *out);

/* Splits src into train and test, stratified: each class puts
 * round(test_fraction * size) images (at least one when it has two) into
 * test, chosen by seed; both keep the source order. For sources that ship
 * one set only. */
xf_status xf_dataset_split(const xf_dataset *src, double test_fraction, uint64_t seed,
                           xf_dataset *train, xf_dataset *test);

/* xf_dataset_split that takes `all` apart instead of copying it: test is
 * copied out, train keeps all's buffer (so a task is held 1 + test_fraction
 * times, not twice), and *all is left empty. On failure *all is unchanged. */
xf_status xf_dataset_split_consume(xf_dataset *all, double test_fraction, uint64_t seed,
                                   xf_dataset *train, xf_dataset *test);

/* The union of k datasets of one shape with disjoint label spaces: part i's
 * labels are shifted by the class counts of parts 0..i-1. */
xf_status xf_dataset_concat(const xf_dataset *const *parts, int k, const char *name,
                            xf_dataset *out);

/* Checks the invariants every consumer relies on: labels in range, n > 0.
 * `origin` names the source in the error message. */
xf_status xf_dataset_validate(const xf_dataset *ds, const char *origin);

#endif
