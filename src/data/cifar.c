/* CIFAR-10/100 binary batches. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/mem.h"
#include "core/path.h"
#include "data/readers.h"

enum { PIXELS = 3072 };

xf_status xf_cifar_parse(const uint8_t *bytes, size_t size, int n_classes, const char *origin,
                         xf_dataset *out, int *count) {
    size_t header = n_classes == 100 ? 2 : 1, record = header + PIXELS;
    if (size == 0) return xf_fail(XF_EFORMAT, "%s: empty file", origin);
    if (size % record)
        return xf_fail(XF_EFORMAT, "%s: byte %zu: file ends inside record %zu (records are %zu "
                                   "bytes; truncated or not CIFAR-%d)",
                       origin, size - size % record, size / record, record, n_classes);
    for (size_t r = 0; r < size / record; r++) {
        const uint8_t *p = bytes + r * record;
        int label = p[header - 1];
        if (label >= n_classes)
            return xf_fail(XF_EFORMAT, "%s: byte %zu: label %d of record %zu is out of range "
                                       "[0, %d)",
                           origin, r * record + header - 1, label, r, n_classes);
        int at = (*count)++;
        XF_ASSERT(at < out->n);
        uint8_t *img = out->images + (size_t)at * PIXELS;
        /* Planes R, G, B of 32x32 become channels-last pixels. */
        for (int i = 0; i < 1024; i++)
            for (int c = 0; c < 3; c++) img[i * 3 + c] = p[header + (size_t)c * 1024 + i];
        out->labels[at] = label;
    }
    return XF_OK;
}

static bool is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Reads the listed files (all present) into one dataset. */
static xf_status read_batches(const char *dir, const char *const *files, int k, int n_classes,
                              const char *name, xf_dataset *out) {
    memset(out, 0, sizeof *out);
    size_t record = n_classes == 100 ? 3074 : 3073, total = 0;
    char path[XF_PATH_MAX];
    for (int i = 0; i < k; i++) {
        struct stat sb;
        xf_status st = xf_path_format(path, sizeof path, "%s/%s", dir, files[i]);
        if (st) return st;
        if (stat(path, &sb) != 0) return xf_fail(XF_EIO, "%s: cannot stat", path);
        /* Whole records or nothing: a wrong file fails before the dataset
         * is allocated for it. */
        size_t size = (size_t)sb.st_size;
        if (size == 0 || size % record)
            return xf_fail(XF_EFORMAT, "%s: %zu bytes, not a whole number of %zu-byte records "
                                       "(truncated or not CIFAR-%d)",
                           path, size, record, n_classes);
        total += size / record;
    }
    if (total > (1u << 30)) return xf_fail(XF_EFORMAT, "%s: too many records", dir);
    xf_status st = xf_dataset_alloc(out, name, (int)total, 32, 32, 3, n_classes);
    int count = 0;
    for (int i = 0; i < k && st == XF_OK; i++) {
        unsigned char *bytes;
        size_t size;
        st = xf_path_format(path, sizeof path, "%s/%s", dir, files[i]);
        if (st == XF_OK) st = xf_read_file(path, &bytes, &size);
        if (st != XF_OK) break;
        /* The file may have grown since stat; never write past the storage. */
        if (size / record > (size_t)(out->n - count))
            st = xf_fail(XF_EIO, "%s: changed while being read", path);
        else
            st = xf_cifar_parse(bytes, size, n_classes, path, out, &count);
        free(bytes);
    }
    if (st != XF_OK) {
        xf_dataset_free(out);
        return st;
    }
    out->n = count;
    return XF_OK;
}

xf_status xf_cifar_load(const char *dir, const char *name, xf_dataset *train,
                        xf_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    static const char *const c10_train[] = {"data_batch_1.bin", "data_batch_2.bin",
                                            "data_batch_3.bin", "data_batch_4.bin",
                                            "data_batch_5.bin"};
    static const char *const c10_test[] = {"test_batch.bin"};
    static const char *const c100_train[] = {"train.bin"}, *const c100_test[] = {"test.bin"};
    char path[XF_PATH_MAX];
    xf_status st = xf_path_format(path, sizeof path, "%s/train.bin", dir);
    if (st) return st;
    bool c100 = is_file(path);
    const char *const *tr = c100 ? c100_train : c10_train, *const *te = c100 ? c100_test : c10_test;
    int ktr = c100 ? 1 : 5, classes = c100 ? 100 : 10;
    for (int i = 0; i < ktr + 1; i++) {
        if ((st = xf_path_format(path, sizeof path, "%s/%s", dir, i < ktr ? tr[i] : te[0])))
            return st;
        if (!is_file(path))
            return xf_fail(XF_ENOTFOUND, "%s: missing (cifar:DIR wants data_batch_1..5.bin and "
                                         "test_batch.bin, or train.bin and test.bin)",
                           path);
    }
    st = read_batches(dir, tr, ktr, classes, name, train);
    if (st == XF_OK) st = read_batches(dir, te, 1, classes, name, test);
    if (st != XF_OK) xf_dataset_free(train);
    return st;
}
