/* Subsets, splits and unions of datasets. Each builds a keep-mask or an
 * index list first and copies once, so the result never aliases the source. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "data/dataset.h"

/* Copies the images listed in idx[0..count) (labels mapped through `map`,
 * or kept when map is NULL) into a new dataset. */
static xf_status copy_rows(const xf_dataset *src, const int *idx, int count, const int *map,
                           int n_classes, xf_dataset *out) {
    xf_status st = xf_dataset_alloc(out, src->name, count, src->height, src->width,
                                    src->channels, n_classes);
    if (st != XF_OK) return st;
    out->norm = src->norm;
    size_t image = xf_dataset_image_size(src);
    for (int j = 0; j < count; j++) {
        memcpy(out->images + (size_t)j * image, src->images + (size_t)idx[j] * image, image);
        int label = src->labels[idx[j]];
        out->labels[j] = map ? map[label] : label;
    }
    return XF_OK;
}

xf_status xf_dataset_select_classes(const xf_dataset *src, const int *classes, int k,
                                    xf_dataset *out) {
    memset(out, 0, sizeof *out);
    xf_status st = xf_dataset_validate(src, src->name);
    if (st != XF_OK) return st;
    if (k <= 0) return xf_fail(XF_EINVAL, "task %s: empty class list", src->name);
    int *map = xf_malloc(sizeof(int) * (size_t)src->n_classes);
    int *idx = xf_malloc(sizeof(int) * (size_t)src->n);
    if (!map || !idx) {
        st = XF_ENOMEM;
        goto done;
    }
    for (int c = 0; c < src->n_classes; c++) map[c] = -1;
    for (int i = 0; i < k; i++) {
        if (classes[i] < 0 || classes[i] >= src->n_classes) {
            st = xf_fail(XF_EINVAL, "task %s: class %d out of range [0, %d)", src->name,
                         classes[i], src->n_classes);
            goto done;
        }
        if (map[classes[i]] >= 0) {
            st = xf_fail(XF_EINVAL, "task %s: class %d listed twice", src->name, classes[i]);
            goto done;
        }
        map[classes[i]] = i;
    }
    int count = 0;
    for (int i = 0; i < src->n; i++)
        if (map[src->labels[i]] >= 0) idx[count++] = i;
    if (count == 0)
        st = xf_fail(XF_EINVAL, "task %s: the selected classes have no images", src->name);
    else
        st = copy_rows(src, idx, count, map, k, out);
done:
    free(map);
    free(idx);
    return st;
}

/* Image indices grouped by class, each group in source order:
 * order[start[c] .. start[c+1]). */
static xf_status group_by_class(const xf_dataset *src, int **start, int **order) {
    *start = xf_calloc((size_t)src->n_classes + 1, sizeof(int));
    *order = xf_malloc(sizeof(int) * (size_t)src->n);
    int *fill = xf_malloc(sizeof(int) * ((size_t)src->n_classes + 1));
    if (!*start || !*order || !fill) {
        free(*start);
        free(*order);
        free(fill);
        *start = *order = NULL;
        return XF_ENOMEM;
    }
    for (int i = 0; i < src->n; i++) (*start)[src->labels[i] + 1]++;
    for (int c = 0; c < src->n_classes; c++) (*start)[c + 1] += (*start)[c];
    memcpy(fill, *start, sizeof(int) * ((size_t)src->n_classes + 1));
    for (int i = 0; i < src->n; i++) (*order)[fill[src->labels[i]]++] = i;
    free(fill);
    return XF_OK;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Marks `take(c, size)` seeded random members of each class in `mask`
 * (1 = chosen); one RNG stream drawn in class order, so a seed fixes all. */
static xf_status choose_per_class(const xf_dataset *src, uint64_t seed, int (*take)(int, double),
                                  double arg, char *mask) {
    int *start, *order;
    xf_status st = group_by_class(src, &start, &order);
    if (st != XF_OK) return st;
    xf_rng rng;
    xf_rng_seed(&rng, seed);
    for (int c = 0; c < src->n_classes; c++) {
        int size = start[c + 1] - start[c];
        if (size == 0) continue;
        int k = take(size, arg);
        xf_rng_shuffle(&rng, order + start[c], (size_t)size);
        for (int j = 0; j < k && j < size; j++) mask[order[start[c] + j]] = 1;
    }
    free(start);
    free(order);
    return XF_OK;
}

static int take_count(int size, double count) { return size < count ? size : (int)count; }

static int take_test(int size, double fraction) {
    if (size < 2) return 0;
    int k = (int)floor(fraction * size + 0.5);
    if (k < 1) k = 1;
    return k < size ? k : size - 1;
}

/* The masked (want = 1) or unmasked (want = 0) images, in source order. */
static xf_status copy_masked(const xf_dataset *src, const char *mask, char want,
                             xf_dataset *out) {
    int *idx = xf_malloc(sizeof(int) * (size_t)src->n);
    if (!idx) return XF_ENOMEM;
    int count = 0;
    for (int i = 0; i < src->n; i++)
        if (mask[i] == want) idx[count++] = i;
    qsort(idx, (size_t)count, sizeof(int), cmp_int);
    xf_status st = count ? copy_rows(src, idx, count, NULL, src->n_classes, out)
                         : xf_fail(XF_EINVAL, "task %s: the subset is empty", src->name);
    free(idx);
    return st;
}

xf_status xf_dataset_per_class(const xf_dataset *src, int per_class, uint64_t seed,
                               xf_dataset *out) {
    memset(out, 0, sizeof *out);
    if (per_class <= 0)
        return xf_fail(XF_EINVAL, "task %s: per-class count %d, expected at least 1", src->name,
                       per_class);
    xf_status st = xf_dataset_validate(src, src->name);
    if (st != XF_OK) return st;
    char *mask = xf_calloc((size_t)src->n, 1);
    if (!mask) return XF_ENOMEM;
    st = choose_per_class(src, seed, take_count, per_class, mask);
    if (st == XF_OK) st = copy_masked(src, mask, 1, out);
    free(mask);
    return st;
}

/* Empties train and test, then mask[i] = 1 for the images a split puts
 * into test. */
static xf_status split_mask(const xf_dataset *src, double test_fraction, uint64_t seed,
                            xf_dataset *train, xf_dataset *test, char **mask) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *mask = NULL;
    if (!(test_fraction > 0 && test_fraction < 1))
        return xf_fail(XF_EINVAL, "task %s: test fraction %g, expected 0 < f < 1", src->name,
                       test_fraction);
    xf_status st = xf_dataset_validate(src, src->name);
    if (st != XF_OK) return st;
    if (!(*mask = xf_calloc((size_t)src->n, 1))) return XF_ENOMEM;
    st = choose_per_class(src, seed, take_test, test_fraction, *mask);
    if (st != XF_OK) {
        free(*mask);
        *mask = NULL;
    }
    return st;
}

xf_status xf_dataset_split(const xf_dataset *src, double test_fraction, uint64_t seed,
                           xf_dataset *train, xf_dataset *test) {
    char *mask;
    xf_status st = split_mask(src, test_fraction, seed, train, test, &mask);
    if (st != XF_OK) return st;
    st = copy_masked(src, mask, 0, train);
    if (st == XF_OK) st = copy_masked(src, mask, 1, test);
    free(mask);
    if (st != XF_OK) {
        xf_dataset_free(train);
        xf_dataset_free(test);
    }
    return st;
}

xf_status xf_dataset_split_consume(xf_dataset *all, double test_fraction, uint64_t seed,
                                   xf_dataset *train, xf_dataset *test) {
    char *mask;
    xf_status st = split_mask(all, test_fraction, seed, train, test, &mask);
    if (st != XF_OK) return st;
    st = copy_masked(all, mask, 1, test);
    if (st == XF_OK) {
        /* Training rows move forward in place: row k <= i never overtakes. */
        size_t image = xf_dataset_image_size(all);
        int k = 0;
        for (int i = 0; i < all->n; i++) {
            if (mask[i]) continue;
            if (k != i) memmove(all->images + (size_t)k * image, all->images + (size_t)i * image, image);
            all->labels[k++] = all->labels[i];
        }
        *train = *all;
        train->n = k;
        uint8_t *shrunk = realloc(train->images, (size_t)k * image);
        if (shrunk) train->images = shrunk;
        memset(all, 0, sizeof *all);
    }
    free(mask);
    return st;
}

xf_status xf_dataset_concat(const xf_dataset *const *parts, int k, const char *name,
                            xf_dataset *out) {
    memset(out, 0, sizeof *out);
    if (k <= 0) return xf_fail(XF_EINVAL, "task %s: union of no tasks", name);
    long n = 0, classes = 0;
    for (int p = 0; p < k; p++) {
        const xf_dataset *d = parts[p];
        if (d->height != parts[0]->height || d->width != parts[0]->width ||
            d->channels != parts[0]->channels)
            return xf_fail(XF_EINVAL, "task %s: part %s is %d x %d x %d, but %s is %d x %d x %d",
                           name, d->name, d->height, d->width, d->channels, parts[0]->name,
                           parts[0]->height, parts[0]->width, parts[0]->channels);
        n += d->n;
        classes += d->n_classes;
    }
    if (n > INT32_MAX || classes > INT32_MAX)
        return xf_fail(XF_EINVAL, "task %s: union has %ld images, too many", name, n);
    xf_status st = xf_dataset_alloc(out, name, (int)n, parts[0]->height, parts[0]->width,
                                    parts[0]->channels, (int)classes);
    if (st != XF_OK) return st;
    out->norm = parts[0]->norm;
    size_t image = xf_dataset_image_size(out), at = 0;
    int offset = 0;
    for (int p = 0; p < k; p++) {
        memcpy(out->images + at * image, parts[p]->images, (size_t)parts[p]->n * image);
        for (int i = 0; i < parts[p]->n; i++) out->labels[at + i] = parts[p]->labels[i] + offset;
        at += (size_t)parts[p]->n;
        offset += parts[p]->n_classes;
    }
    return XF_OK;
}
