/* The user-data readers behind cifar: and npy:, on small files written
 * here, including the bad inputs each must name (folder: is test_images.c's). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/npy.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/readers.h"
#include "data/registry.h"
#include "support.h"

TestSuite(readers, .init = test_tmp_make, .fini = test_tmp_remove);

/* ---- CIFAR ---- */

/* n CIFAR-10 records: label i % 10, red plane i, green 100, blue 200. */
static void write_cifar10(const char *rel, int n) {
    uint8_t *b = malloc((size_t)n * 3073);
    for (int i = 0; i < n; i++) {
        uint8_t *r = b + (size_t)i * 3073;
        r[0] = (uint8_t)(i % 10);
        memset(r + 1, i, 1024);
        memset(r + 1 + 1024, 100, 1024);
        memset(r + 1 + 2048, 200, 1024);
    }
    test_tmp_write(rel, b, (size_t)n * 3073);
    free(b);
}

Test(readers, cifar10_reads_batches_channels_last) {
    char name[32];
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", i);
        write_cifar10(name, 3);
    }
    write_cifar10("test_batch.bin", 2);
    char spec[700];
    snprintf(spec, sizeof spec, "cifar:%s", test_tmp);
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n, 15);
    cr_assert_eq(te.n, 2);
    cr_assert_eq(tr.height, 32);
    cr_assert_eq(tr.channels, 3);
    cr_assert_eq(tr.n_classes, 10);
    cr_assert_eq(tr.labels[2], 2);
    cr_assert_eq(tr.images[2 * 3072 + 0], 2, "red");
    cr_assert_eq(tr.images[2 * 3072 + 1], 100, "green");
    cr_assert_eq(tr.images[2 * 3072 + 5], 200, "blue of pixel 1");
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(readers, cifar_bad_inputs_name_file_and_byte) {
    xf_dataset ds, tr, te;
    cr_assert_eq(xf_dataset_alloc(&ds, "c", 4, 32, 32, 3, 10), XF_OK);
    uint8_t rec[3073 + 10] = {0};
    int count = 0;
    test_expect_error(xf_cifar_parse(rec, 3073 + 10, 10, "b.bin", &ds, &count), XF_EFORMAT,
                      "b.bin: byte 3073: file ends inside record 1");
    rec[0] = 10;
    test_expect_error(xf_cifar_parse(rec, 3073, 10, "b.bin", &ds, &count), XF_EFORMAT,
                      "b.bin: byte 0: label 10 of record 0 is out of range");
    xf_dataset_free(&ds);
    char spec[700];
    snprintf(spec, sizeof spec, "cifar:%s", test_tmp);
    test_expect_error(xf_task_load(spec, &tr, &te), XF_ENOTFOUND, "data_batch_1.bin: missing");
}

/* ---- npy ---- */

/* A version-1 .npy with the given header dict and data. */
static size_t npy_bytes(uint8_t *out, const char *dict, const void *data, size_t size) {
    char header[256];
    int len = snprintf(header, sizeof header, "%s", dict);
    while ((10 + len + 1) % 64) header[len++] = ' ';
    header[len++] = '\n';
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)len;
    out[9] = 0;
    memcpy(out + 10, header, (size_t)len);
    memcpy(out + 10 + len, data, size);
    return 10 + (size_t)len + size;
}

Test(readers, npy_pair_loads_and_splits) {
    uint8_t img[12 * 4], buf[512];
    int64_t lab[12];
    for (int i = 0; i < 12; i++) {
        memset(img + i * 4, i, 4);
        lab[i] = i % 2;
    }
    size_t n = npy_bytes(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (12, 2, 2), }", img, sizeof img);
    test_tmp_write("x.npy", buf, n);
    n = npy_bytes(buf, "{'descr': '<i8', 'fortran_order': False, 'shape': (12,), }", lab, sizeof lab);
    test_tmp_write("y.npy", buf, n);
    char spec[1500];
    snprintf(spec, sizeof spec, "npy:%s,%s", test_tmp_path("x.npy"), test_tmp_path("y.npy"));
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n + te.n, 12);
    cr_assert_eq(te.n, 2, "one of six per class is test");
    cr_assert_eq(tr.n_classes, 2);
    cr_assert_eq(tr.height, 2);
    for (int i = 0; i < tr.n; i++) cr_assert_eq(tr.labels[i], tr.images[i * 4] % 2);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(readers, npy_bad_inputs) {
    uint8_t img[4] = {1, 2, 3, 4}, lab8[2] = {0, 1}, a[512], b[512];
    int32_t neg[2] = {0, -3};
    xf_dataset ds;
    size_t na = npy_bytes(a, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 2), }", img, 4);
    size_t nb = npy_bytes(b, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", lab8, 2);
    cr_assert_eq(xf_npy_parse_pair(a, na, "x", b, nb, "y", "t", &ds), XF_OK, "%s", xf_error_message());
    xf_dataset_free(&ds);
    test_expect_error(
        xf_npy_parse_pair((const uint8_t *)"PK\3\4zipzipzip", 14, "x", b, nb, "y", "t", &ds),
        XF_EFORMAT, "x: byte 0: no \\x93NUMPY magic");
    test_expect_error(xf_npy_parse_pair(a, na - 1, "x", b, nb, "y", "t", &ds), XF_EFORMAT,
                      "x: byte 128: 3 data bytes, shape and dtype need 4 (truncated file)");
    size_t nc = npy_bytes(b, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", img, 3);
    test_expect_error(xf_npy_parse_pair(a, na, "x", b, nc, "y", "t", &ds), XF_EFORMAT,
                      "y: 3 labels, but x has 2 images");
    nc = npy_bytes(b, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", neg, 8);
    test_expect_error(xf_npy_parse_pair(a, na, "x", b, nc, "y", "t", &ds), XF_EFORMAT,
                      "y: entry 1: label -3 out of range");
    nc = npy_bytes(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", neg, 8);
    test_expect_error(xf_npy_parse_pair(a, na, "x", b, nc, "y", "t", &ds), XF_EFORMAT,
                      "integer dtype");
    nc = npy_bytes(b, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 1, 2), }", img, 4);
    test_expect_error(xf_npy_parse_pair(b, nc, "x", a, na, "y", "t", &ds), XF_EFORMAT,
                      "fortran_order");
}

/* One parser (core/npy.h) serves the pair reader: integers of any width
 * and byte order come out in host order; sizes that disagree name both
 * offsets. */
Test(readers, npy_parse_swaps_big_endian_and_names_offsets) {
    uint8_t img[4] = {1, 2, 3, 4}, be[4] = {0x01, 0x02, 0x00, 0x07}, a[512], b[512];
    size_t na =
        npy_bytes(a, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 2), }", img, 4);
    size_t nb = npy_bytes(b, "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", be, 4);
    xf_npy arr;
    cr_assert_eq(xf_npy_parse(b, nb, "y", &arr), XF_OK, "%s", xf_error_message());
    cr_assert(arr.dtype == XF_NPY_I2 && arr.ndim == 1 && arr.count == 2);
    cr_assert(xf_npy_int(&arr, 0) == 0x0102 && xf_npy_int(&arr, 1) == 7);
    xf_npy_free(&arr);
    int32_t *y;
    int n;
    cr_assert_eq(xf_npy_read_labels(test_tmp_write("y.npy", b, nb), &y, &n), XF_OK, "%s",
                 xf_error_message());
    cr_assert(n == 2 && y[0] == 258 && y[1] == 7);
    free(y);
    xf_dataset ds;
    cr_assert_eq(xf_npy_parse_pair(a, na, "x", b, nb, "y", "t", &ds), XF_OK, "%s",
                 xf_error_message());
    cr_assert(ds.n == 2 && ds.labels[0] == 258 && ds.labels[1] == 7 && ds.n_classes == 259);
    cr_assert(ds.height == 1 && ds.width == 2 && ds.channels == 1 && ds.images[3] == 4);
    xf_dataset_free(&ds);
    uint8_t c[600];
    memcpy(c, a, na);
    c[na] = 9;
    test_expect_error(xf_npy_parse(c, na + 1, "x", &arr), XF_EFORMAT,
                      "x: byte 128: 5 data bytes, shape and dtype need 4 (extra bytes from byte "
                      "132)");
    cr_assert_null(arr.data);
    test_expect_error(xf_npy_parse(a, na - 1, "x", &arr), XF_EFORMAT,
                      "(truncated file): the file ends at byte 131");
    nb = npy_bytes(b, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", be, 4);
    test_expect_error(xf_npy_parse(b, nb, "y", &arr), XF_EFORMAT,
                      "y: byte 20: .npy descr '>f4' is not supported");
    nb = npy_bytes(b, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 1, 2), }", img, 0);
    test_expect_error(xf_npy_parse_pair(b, nb, "x", a, na, "y", "t", &ds), XF_EFORMAT,
                      "x: header: shape entry 0 is 0");
}
