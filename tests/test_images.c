/* folder: on real picture trees written here: nested class folders of
 * mixed-size colour PNGs and JPEGs, other files, train/test layouts, the
 * contact sheet of `xfer data show`, and each kind of bad input named with
 * its path (skipped by default, an error with bad=fail). */
#include <criterion/criterion.h>
#include <stdio.h> /* before jpeglib.h */
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/mem.h"
#include "data/readers.h"
#include "data/registry.h"
#include "support.h"

TestSuite(images, .init = test_tmp_make, .fini = test_tmp_remove);

static void mkdir_rel(const char *rel) { cr_assert_eq(xf_mkdirs(test_tmp_path(rel)), XF_OK); }

/* A solid h x w PNG of libpng colour type `type` (GRAY, GRAY_ALPHA, RGB,
 * RGB_ALPHA, PALETTE) showing rgb (alpha 255; grey types use rgb[0]). */
static void write_png(const char *rel, int h, int w, int type, const uint8_t rgb[3]) {
    FILE *f = fopen(test_tmp_path(rel), "wb");
    cr_assert(f, "%s", rel);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int c = 1;
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[2] = {{0, 0, 0}, {rgb[0], rgb[1], rgb[2]}};
        png_set_PLTE(png, info, pal, 2);
    } else {
        c = type == PNG_COLOR_TYPE_GRAY ? 1 : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
            : type == PNG_COLOR_TYPE_RGB ? 3 : 4;
    }
    png_write_info(png, info);
    uint8_t *row = malloc((size_t)w * 4);
    for (int x = 0; x < w; x++) {
        uint8_t px[4] = {rgb[0], rgb[1], rgb[2], 255};
        if (type == PNG_COLOR_TYPE_PALETTE) px[0] = 1;
        if (type == PNG_COLOR_TYPE_GRAY_ALPHA) px[1] = 255;
        memcpy(row + x * c, px, (size_t)c);
    }
    for (int y = 0; y < h; y++) png_write_row(png, row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

/* n solid pictures <prefix><i>.png. */
static void write_pngs(const char *prefix, int n, int h, int w, int type, const uint8_t rgb[3]) {
    for (int i = 0; i < n; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s%d.png", prefix, i);
        write_png(rel, h, w, type, rgb);
    }
}

/* A solid RGB or grey JPEG (quality 95); `noise` adds texture so the file
 * has enough data to be cut. */
static void write_jpeg(const char *rel, int h, int w, int c, const uint8_t rgb[3], bool noise) {
    FILE *f = fopen(test_tmp_path(rel), "wb");
    cr_assert(f, "%s", rel);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 95, TRUE);
    jpeg_start_compress(&ci, TRUE);
    uint8_t *row = malloc((size_t)w * c);
    unsigned seed = 1;
    while (ci.next_scanline < ci.image_height) {
        for (int i = 0; i < w * c; i++)
            row[i] = noise ? (uint8_t)((seed = seed * 1103515245u + 12345u) >> 24) : rgb[i % c];
        JSAMPROW r = row;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    fclose(f);
}

static const uint8_t RED[3] = {230, 20, 20}, GREEN[3] = {20, 200, 40}, BLUE[3] = {30, 40, 220};

/* Three classes, 6 pictures each, of assorted sizes, colour types and
 * nesting depths; plus files that are not pictures. Class ant is red, bee
 * green, cat blue. */
static void write_tree(const char *root) {
    const char *classes[3] = {"ant", "bee", "cat"};
    const uint8_t *colour[3] = {RED, GREEN, BLUE};
    char rel[256];
    for (int k = 0; k < 3; k++) {
        snprintf(rel, sizeof rel, "%s/%s/deeper/deepest", root, classes[k]);
        mkdir_rel(rel);
        const int types[3] = {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_PALETTE};
        for (int i = 0; i < 3; i++) {
            snprintf(rel, sizeof rel, "%s/%s/%s%d.png", root, classes[k], i ? "deeper/" : "", i);
            write_png(rel, 20 + 13 * i, 31 + 7 * k, types[i], colour[k]);
        }
        snprintf(rel, sizeof rel, "%s/%s/deeper/deepest/3.jpg", root, classes[k]);
        write_jpeg(rel, 64, 48, 3, colour[k], false);
        snprintf(rel, sizeof rel, "%s/%s/4.JPEG", root, classes[k]);
        write_jpeg(rel, 17, 90, 3, colour[k], false);
        snprintf(rel, sizeof rel, "%s/%s/deeper/5.jpeg", root, classes[k]);
        write_jpeg(rel, 33, 33, 3, colour[k], false);
        snprintf(rel, sizeof rel, "%s/%s/notes.txt", root, classes[k]);
        test_tmp_write(rel, "not a picture", 13);
        snprintf(rel, sizeof rel, "%s/%s/.DS_Store", root, classes[k]);
        test_tmp_write(rel, "hidden", 6);
    }
    snprintf(rel, sizeof rel, "%s/README", root);
    test_tmp_write(rel, "a file beside the classes", 25);
}

static void load(const char *spec_fmt, const char *dir, xf_dataset *tr, xf_dataset *te) {
    char spec[1024];
    snprintf(spec, sizeof spec, spec_fmt, test_tmp_path(dir));
    cr_assert_eq(xf_task_load(spec, tr, te), XF_OK, "%s: %s", spec, xf_error_message());
}

static void expect_colour(const xf_dataset *ds, int i, const uint8_t *rgb) {
    const uint8_t *px = ds->images + (size_t)i * xf_dataset_image_size(ds);
    size_t centre = ((size_t)(ds->height / 2) * ds->width + ds->width / 2) * 3;
    for (int k = 0; k < 3; k++)
        cr_assert(abs(px[centre + k] - rgb[k]) <= 4, "image %d channel %d: %d, expected %d", i,
                  k, px[centre + k], rgb[k]);
}

Test(images, folder_reads_nested_mixed_size_colour_pictures) {
    write_tree("t");
    xf_dataset tr, te;
    load("folder:%s@size=24x24x3", "t", &tr, &te);
    cr_assert_eq(tr.n_classes, 3);
    cr_assert_eq(tr.n + te.n, 18, "6 pictures a class, the other files skipped");
    cr_assert_eq(te.n, 3, "1/6 of each class to test");
    cr_assert_eq(tr.height, 24);
    cr_assert_eq(tr.width, 24);
    cr_assert_eq(tr.channels, 3);
    const uint8_t *colour[3] = {RED, GREEN, BLUE};
    for (int i = 0; i < tr.n; i++) expect_colour(&tr, i, colour[tr.labels[i]]);
    for (int i = 0; i < te.n; i++) expect_colour(&te, i, colour[te.labels[i]]);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);

    /* No size stated: the first picture's (ant/0.png, 20 x 31); grey asked. */
    load("folder:%s@channels=1", "t", &tr, &te);
    cr_assert_eq(tr.height, 20);
    cr_assert_eq(tr.width, 31);
    cr_assert_eq(tr.channels, 1);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);

    /* Shorter side to 40, centre crop 32, bicubic, normalised. */
    load("folder:%s@resize=40@crop=32@filter=bicubic@mean=0.5,0.4,0.3@std=0.2", "t", &tr, &te);
    cr_assert_eq(tr.height, 32);
    cr_assert_float_eq(tr.norm.mean[1], 0.4f, 1e-6);
    cr_assert_float_eq(tr.norm.std[2], 0.2f, 1e-6);
    float x[32 * 32 * 3];
    int first = 0;
    xf_dataset_gather(&tr, &first, 1, x, NULL);
    const uint8_t *px = tr.images;
    cr_assert_float_eq(x[1], ((float)px[1] / 255.0f - 0.4f) / 0.2f, 1e-5);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(images, folder_train_test_layout_and_transparency) {
    const uint8_t half[3] = {100, 100, 100};
    mkdir_rel("s/train/a");
    mkdir_rel("s/train/b");
    mkdir_rel("s/test/a");
    mkdir_rel("s/test/b");
    write_pngs("s/train/a/", 3, 8, 8, PNG_COLOR_TYPE_GRAY, half);
    write_pngs("s/train/b/", 3, 9, 12, PNG_COLOR_TYPE_RGB, RED);
    write_png("s/test/a/x.png", 8, 8, PNG_COLOR_TYPE_GRAY_ALPHA, half);
    write_png("s/test/b/y.png", 8, 8, PNG_COLOR_TYPE_RGB_ALPHA, BLUE);
    xf_dataset tr, te;
    load("folder:%s@size=4x4x3@background=white", "s", &tr, &te);
    cr_assert_eq(tr.n, 6);
    cr_assert_eq(te.n, 2);
    cr_assert_eq(te.labels[1], 1);
    cr_assert_eq(te.images[0], 100, "grey + opaque alpha, replicated to RGB");
    cr_assert_eq(te.images[48 + 2], 220, "opaque blue stays blue");
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(images, data_show_writes_a_contact_sheet_of_a_real_tree) {
    write_tree("t");
    char cmd[2048], sheet[1024];
    snprintf(sheet, sizeof sheet, "%s", test_tmp_path("sheet.png"));
    snprintf(cmd, sizeof cmd, "%s data show 'folder:%s@resize=32@crop=32' -o %s -n 4 2> %s",
             test_xfer_bin(), test_tmp_path("t"), sheet, test_tmp_path("err.txt"));
    cr_assert_eq(test_system(cmd), 0, "%s", cmd);
    unsigned char *bytes;
    size_t size;
    cr_assert_eq(xf_read_file(sheet, &bytes, &size), XF_OK);
    uint8_t *px;
    int h, w, c;
    cr_assert_eq(xf_image_decode(bytes, size, sheet, &px, &h, &w, &c), XF_OK);
    free(bytes);
    /* 3 rows of 32-pixel cells with 2-pixel gaps, 4 cells a row. */
    cr_assert_eq(h, 3 * 34 + 2);
    cr_assert_eq(w, 4 * 34 + 2);
    cr_assert_eq(c, 3);
    const uint8_t *colour[3] = {RED, GREEN, BLUE};
    for (int row = 0; row < 3; row++)
        for (int col = 0; col < 4; col++) {
            const uint8_t *p = px + ((size_t)(2 + row * 34 + 16) * w + 2 + col * 34 + 16) * 3;
            for (int k = 0; k < 3; k++)
                cr_assert(abs(p[k] - colour[row][k]) <= 4, "cell %d,%d: %d vs %d", row, col,
                          p[k], colour[row][k]);
        }
    free(px);
    char *err = NULL;
    size_t n;
    cr_assert_eq(xf_read_file(test_tmp_path("err.txt"), (unsigned char **)&err, &n), XF_OK);
    err[n] = 0;
    cr_assert(strstr(err, "4 files that are not .png, .jpg or .jpeg skipped"), "%s", err);
    free(err);
}

/* A PNG whose header claims 100000 x 100000 pixels (valid CRCs). */
static void write_huge_png_header(const char *rel) {
    uint8_t b[8 + 25 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t *ihdr = b + 8;
    memcpy(ihdr, "\0\0\0\x0dIHDR", 8);
    uint32_t side = 100000;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++) ihdr[8 + 4 * k + i] = (uint8_t)(side >> (24 - 8 * i));
    ihdr[16] = 8, ihdr[17] = 2, ihdr[18] = ihdr[19] = ihdr[20] = 0;
    uint32_t crc = (uint32_t)crc32(0, ihdr + 4, 17);
    for (int i = 0; i < 4; i++) ihdr[21 + i] = (uint8_t)(crc >> (24 - 8 * i));
    uint8_t *idat = ihdr + 25, *iend = idat + 12;
    memcpy(idat, "\0\0\0\0IDAT", 8);
    crc = (uint32_t)crc32(0, idat + 4, 4);
    for (int i = 0; i < 4; i++) idat[8 + i] = (uint8_t)(crc >> (24 - 8 * i));
    memcpy(iend, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
    test_tmp_write(rel, b, sizeof b);
}

/* A good class `ok` beside class `bad`, 6 good pictures each; a test adds
 * one kind of trouble to `bad`. */
static void write_bad_tree(void) {
    mkdir_rel("b/ok");
    mkdir_rel("b/bad");
    write_pngs("b/ok/", 6, 10, 10, PNG_COLOR_TYPE_RGB, GREEN);
    write_pngs("b/bad/good", 6, 12, 10, PNG_COLOR_TYPE_RGB, RED);
}

/* The spec must fail with bad=fail naming `needle`, and load by default
 * with the 12 good pictures. */
static void expect_named(const char *needle) {
    char spec[1024];
    xf_dataset tr, te;
    snprintf(spec, sizeof spec, "folder:%s@size=8x8@bad=fail", test_tmp_path("b"));
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EFORMAT, needle);
    cr_assert_null(tr.images);
    snprintf(spec, sizeof spec, "folder:%s@size=8x8", test_tmp_path("b"));
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n + te.n, 12, "%s: the good pictures load", needle);
    cr_assert_eq(tr.n_classes, 2);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
}

Test(images, truncated_jpeg_is_named) {
    write_bad_tree();
    write_jpeg("b/bad/cut.jpg", 64, 64, 3, RED, true);
    unsigned char *bytes;
    size_t size;
    cr_assert_eq(xf_read_file(test_tmp_path("b/bad/cut.jpg"), &bytes, &size), XF_OK);
    test_tmp_write("b/bad/cut.jpg", bytes, size / 2);
    free(bytes);
    expect_named("b/bad/cut.jpg: truncated JPEG");
}

Test(images, huge_png_header_is_refused_before_allocating) {
    write_bad_tree();
    write_huge_png_header("b/bad/huge.png");
    expect_named("b/bad/huge.png: PNG of 100000 x 100000 pixels");
}

Test(images, zero_byte_and_garbage_files_are_named) {
    write_bad_tree();
    test_tmp_write("b/bad/empty.png", "", 0);
    expect_named("b/bad/empty.png: empty file (0 bytes)");
    test_tmp_write("b/bad/empty.png", "GIF89a", 6);
    expect_named("b/bad/empty.png: byte 0: neither a PNG nor a JPEG signature");
    test_tmp_write("b/bad/empty.png", "\x89PNG\r\n\x1a\nbroken", 14);
    expect_named("b/bad/empty.png: unreadable PNG");
}

Test(images, symbolic_link_loops_are_named) {
    write_bad_tree();
    mkdir_rel("b/bad/sub");
    cr_assert_eq(symlink("..", test_tmp_path("b/bad/sub/up")), 0);
    expect_named("b/bad/sub/up: symbolic link loop");
    cr_assert_eq(unlink(test_tmp_path("b/bad/sub/up")), 0);
    cr_assert_eq(symlink("self.png", test_tmp_path("b/bad/self.png")), 0);
    expect_named("b/bad/self.png: Too many levels of symbolic links");
}

Test(images, empty_classes_and_empty_folders) {
    write_bad_tree();
    mkdir_rel("b/none/sub");
    test_tmp_write("b/none/sub/readme.txt", "x", 1);
    char spec[1024];
    xf_dataset tr, te;
    snprintf(spec, sizeof spec, "folder:%s@size=8x8@bad=fail", test_tmp_path("b"));
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EFORMAT, "b/none: empty class folder");
    /* Skipped by default: the class is left out, the others keep 0 and 1. */
    snprintf(spec, sizeof spec, "folder:%s@size=8x8", test_tmp_path("b"));
    cr_assert_eq(xf_task_load(spec, &tr, &te), XF_OK, "%s", xf_error_message());
    cr_assert_eq(tr.n_classes, 2);
    xf_dataset_free(&tr);
    xf_dataset_free(&te);
    mkdir_rel("zero");
    snprintf(spec, sizeof spec, "folder:%s", test_tmp_path("zero"));
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EFORMAT, "zero: no class folders");
    mkdir_rel("zero/a");
    test_expect_error(xf_task_load(spec, &tr, &te), XF_EFORMAT,
                      "zero: no readable pictures in any class folder");
    snprintf(spec, sizeof spec, "folder:%s", test_tmp_path("missing"));
    test_expect_error(xf_task_load(spec, &tr, &te), XF_ENOTFOUND, "missing: cannot open");
}

Test(images, unreadable_files_are_named) {
    /* Permissions do not stop root (CI runs the tests as root), so there
     * is nothing to observe there. */
    if (geteuid() == 0) cr_skip_test("running as root, which reads any file");
    write_bad_tree();
    write_png("b/bad/locked.png", 10, 10, PNG_COLOR_TYPE_RGB, RED);
    cr_assert_eq(chmod(test_tmp_path("b/bad/locked.png"), 0), 0);
    expect_named("b/bad/locked.png");
    cr_assert_eq(chmod(test_tmp_path("b/bad/locked.png"), 0644), 0);
    mkdir_rel("b/bad/closed");
    cr_assert_eq(chmod(test_tmp_path("b/bad/closed"), 0), 0);
    expect_named("b/bad/closed: cannot open the folder");
    cr_assert_eq(chmod(test_tmp_path("b/bad/closed"), 0755), 0);
}
