/* The preprocessing pipeline (data/preprocess.h): pixels computed by hand,
 * and PIL's results for the same steps on the fixtures that
 * tools/pil_reference.py writes (tests/fixtures/preprocess/). */
#include <criterion/criterion.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/preprocess.h"
#include "data/readers.h"
#include "support.h"

TestSuite(preprocess, .init = test_tmp_make, .fini = test_tmp_remove);

static xf_pipeline stretch(int h, int w, int c, xf_filter f) {
    xf_pipeline p;
    xf_pipeline_default(&p);
    p.fit = XF_FIT_STRETCH, p.height = h, p.width = w, p.channels = c, p.filter = f;
    return p;
}

/* ---- by hand ---- */

Test(preprocess, bilinear_upsampling_between_pixel_centres) {
    uint8_t src[2] = {0, 255}, dst[4];
    xf_pipeline p = stretch(1, 4, 1, XF_FILTER_BILINEAR);
    cr_assert_eq(xf_pipeline_apply(&p, src, 1, 2, 1, dst), XF_OK);
    /* Centres at -0.25, 0.25, 0.75, 1.25 source pixels; taps outside the
     * image are dropped, so the ends keep the end pixels. */
    cr_assert_eq(dst[0], 0);
    cr_assert_eq(dst[1], 64, "0.25 * 255 = 63.75");
    cr_assert_eq(dst[2], 191, "0.75 * 255 = 191.25");
    cr_assert_eq(dst[3], 255);
}

Test(preprocess, bicubic_upsampling_uses_keys_cubic) {
    uint8_t src[4] = {0, 0, 255, 255}, dst[8];
    xf_pipeline p = stretch(1, 8, 1, XF_FILTER_BICUBIC);
    cr_assert_eq(xf_pipeline_apply(&p, src, 1, 4, 1, dst), XF_OK);
    /* Output 3 sits at 1.75: source pixels 0..3 at distances 1.25, 0.25,
     * 0.75, 1.75 weigh -0.0703125, 0.8671875, 0.2265625, -0.0234375 (a =
     * -0.5), so 255 * (0.2265625 - 0.0234375) = 51.8. */
    cr_assert_eq(dst[3], 52);
    cr_assert_eq(dst[4], 255 - 52, "the mirror image");
}

Test(preprocess, shrinking_averages_every_source_pixel) {
    /* A one-pixel checkerboard halved: plain bilinear sampling would keep
     * 0/255 stripes; the filter widened by the scale averages to grey. */
    uint8_t src[8 * 8], dst[4 * 4];
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) src[y * 8 + x] = (x + y) % 2 ? 255 : 0;
    xf_pipeline p = stretch(4, 4, 1, XF_FILTER_BILINEAR);
    cr_assert_eq(xf_pipeline_apply(&p, src, 8, 8, 1, dst), XF_OK);
    for (int i = 0; i < 16; i++) cr_assert(dst[i] >= 120 && dst[i] <= 135, "pixel %d = %d", i, dst[i]);
    uint8_t two[4] = {0, 100, 200, 40}, one;
    p = stretch(1, 1, 1, XF_FILTER_BILINEAR);
    cr_assert_eq(xf_pipeline_apply(&p, two, 2, 2, 1, &one), XF_OK);
    cr_assert_eq(one, 85, "2x2 to 1x1 is the mean (340 / 4)");
    uint8_t row[4] = {10, 20, 30, 50}, half[2];
    p = stretch(1, 2, 1, XF_FILTER_BOX);
    cr_assert_eq(xf_pipeline_apply(&p, row, 1, 4, 1, half), XF_OK);
    cr_assert_eq(half[0], 15, "box: the mean of each pair");
    cr_assert_eq(half[1], 40);
}

Test(preprocess, channels_luma_replication_and_alpha) {
    uint8_t rgb[2 * 3] = {255, 0, 0, 0, 255, 0}, grey[2], back[2 * 3];
    xf_pipeline p;
    xf_pipeline_default(&p);
    p.channels = 1;
    cr_assert_eq(xf_pipeline_apply(&p, rgb, 1, 2, 3, grey), XF_OK);
    cr_assert_eq(grey[0], 76, "0.299 * 255 = 76.2");
    cr_assert_eq(grey[1], 150, "0.587 * 255 = 149.7");
    p.channels = 3;
    cr_assert_eq(xf_pipeline_apply(&p, grey, 1, 2, 1, back), XF_OK);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(back[k], 76);
        cr_assert_eq(back[3 + k], 150);
    }
    /* RGBA (200, 0, 100, 128) over white: (v * 128 + 255 * 127) / 255. */
    uint8_t rgba[4] = {200, 0, 100, 128}, over[3];
    p.background[0] = p.background[1] = p.background[2] = 255;
    cr_assert_eq(xf_pipeline_apply(&p, rgba, 1, 1, 4, over), XF_OK);
    cr_assert_eq(over[0], 227, "(25600 + 32385) / 255 = 227.4");
    cr_assert_eq(over[1], 127, "32385 / 255 = 127");
    cr_assert_eq(over[2], 177, "(12800 + 32385) / 255 = 177.2");
    /* With no channels stated, colour stays colour and alpha goes. */
    p.channels = 0;
    int oh, ow, oc;
    xf_pipeline_shape(&p, 1, 1, 4, &oh, &ow, &oc);
    cr_assert_eq(oc, 3);
    xf_pipeline_shape(&p, 1, 1, 2, &oh, &ow, &oc);
    cr_assert_eq(oc, 1);
}

Test(preprocess, shorter_side_and_cover_crop_the_centre) {
    /* 4 x 6, shorter side already 4: no resampling, columns 1..4 kept. */
    uint8_t src[4 * 6], dst[4 * 4];
    for (int i = 0; i < 24; i++) src[i] = (uint8_t)i;
    xf_pipeline p;
    xf_pipeline_default(&p);
    p.fit = XF_FIT_SHORTER, p.shorter = 4, p.height = 4, p.width = 4;
    cr_assert_eq(xf_pipeline_apply(&p, src, 4, 6, 1, dst), XF_OK);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) cr_assert_eq(dst[y * 4 + x], src[y * 6 + x + 1]);
    /* Cover 2 x 2 from 4 x 6: scaled by 1/2 to 2 x 3, then column 0..1 of
     * the 3 (left = (3 - 2) / 2 = 0). */
    xf_pipeline_to_shape(&p, 2, 2, 1);
    uint8_t small[4];
    cr_assert_eq(xf_pipeline_apply(&p, src, 4, 6, 1, small), XF_OK);
    xf_pipeline q = stretch(2, 3, 1, XF_FILTER_BILINEAR);
    uint8_t whole[6];
    cr_assert_eq(xf_pipeline_apply(&q, src, 4, 6, 1, whole), XF_OK);
    cr_assert_eq(small[0], whole[0]);
    cr_assert_eq(small[1], whole[1]);
    cr_assert_eq(small[2], whole[3]);
    cr_assert_eq(small[3], whole[4]);
}

Test(preprocess, sixteen_bit_png_keeps_the_high_byte) {
    /* 2 x 1 16-bit grey + alpha: (0x1234, 0xffff) and (0xabcd, 0x8000). */
    const char *path = test_tmp_path("g16.png");
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, 2, 1, 16, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    uint8_t row[8] = {0x12, 0x34, 0xff, 0xff, 0xab, 0xcd, 0x80, 0x00};
    png_write_row(png, row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    unsigned char *bytes;
    size_t size;
    cr_assert_eq(xf_read_file(path, &bytes, &size), XF_OK);
    uint8_t *px;
    int h, w, c;
    cr_assert_eq(xf_image_decode(bytes, size, path, &px, &h, &w, &c), XF_OK, "%s",
                 xf_error_message());
    cr_assert_eq(h, 1);
    cr_assert_eq(w, 2);
    cr_assert_eq(c, 2);
    cr_assert_eq(px[0], 0x12);
    cr_assert_eq(px[1], 0xff);
    cr_assert_eq(px[2], 0xab);
    cr_assert_eq(px[3], 0x80);
    free(px);
    free(bytes);
}

Test(preprocess, dataset_preprocess_matches_one_by_one) {
    xf_dataset ds, out;
    cr_assert_eq(xf_dataset_alloc(&ds, "toy", 37, 9, 13, 3, 4), XF_OK);
    for (size_t i = 0; i < 37 * 9 * 13 * 3; i++) ds.images[i] = (uint8_t)(i * 7 + i / 13);
    for (int i = 0; i < 37; i++) ds.labels[i] = i % 4;
    ds.norm.mean[0] = 0.25f, ds.norm.std[0] = 0.5f;
    xf_pipeline p;
    xf_pipeline_default(&p);
    xf_pipeline_to_shape(&p, 5, 5, 1);
    cr_assert_eq(xf_dataset_preprocess(&ds, &p, &out), XF_OK);
    cr_assert_eq(out.height, 5);
    cr_assert_eq(out.channels, 1);
    cr_assert_eq(out.labels[5], 1);
    cr_assert_float_eq(out.norm.mean[0], 0.25f, 0, "normalisation kept");
    for (int i = 0; i < 37; i++) {
        uint8_t one[25];
        cr_assert_eq(xf_pipeline_apply(&p, ds.images + i * 351, 9, 13, 3, one), XF_OK);
        cr_assert(memcmp(one, out.images + i * 25, 25) == 0, "image %d", i);
    }
    xf_dataset_free(&ds);
    xf_dataset_free(&out);
}

/* ---- against PIL ---- */

static uint8_t *decode_fixture(const char *name, int *h, int *w, int *c) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/preprocess/%s", test_root(), name);
    unsigned char *bytes;
    size_t size;
    cr_assert_eq(xf_read_file(path, &bytes, &size), XF_OK, "%s", xf_error_message());
    uint8_t *px;
    cr_assert_eq(xf_image_decode(bytes, size, path, &px, h, w, c), XF_OK, "%s",
                 xf_error_message());
    free(bytes);
    return px;
}

Test(preprocess, matches_pil_within_one_level_on_every_fixture) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/preprocess/cases.txt", test_root());
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s missing: run tools/pil_reference.py", path);
    char src[64], want[64], fit[16], filter[16];
    int height, width, shorter, channels, bg[3], cases = 0, exact = 0;
    long pixels = 0;
    while (fscanf(f, "%63s %63s %15s %d %d %d %d %15s %d %d %d", src, want, fit, &height, &width,
                  &shorter, &channels, filter, &bg[0], &bg[1], &bg[2]) == 11) {
        xf_pipeline p;
        xf_pipeline_default(&p);
        p.fit = strcmp(fit, "none") == 0      ? XF_FIT_NONE
                : strcmp(fit, "stretch") == 0 ? XF_FIT_STRETCH
                : strcmp(fit, "shorter") == 0 ? XF_FIT_SHORTER
                                              : XF_FIT_COVER;
        p.height = height, p.width = width, p.shorter = shorter, p.channels = channels;
        p.filter = strcmp(filter, "bilinear") == 0  ? XF_FILTER_BILINEAR
                   : strcmp(filter, "bicubic") == 0 ? XF_FILTER_BICUBIC
                                                    : XF_FILTER_BOX;
        for (int k = 0; k < 3; k++) p.background[k] = (uint8_t)bg[k];
        int h, w, c, eh, ew, ec, oh, ow, oc;
        uint8_t *in = decode_fixture(src, &h, &w, &c);
        uint8_t *expected = decode_fixture(want, &eh, &ew, &ec);
        xf_pipeline_shape(&p, h, w, c, &oh, &ow, &oc);
        cr_assert(oh == eh && ow == ew && oc == ec, "%s: %dx%dx%d, PIL %dx%dx%d", want, oh, ow,
                  oc, eh, ew, ec);
        uint8_t *got = malloc((size_t)oh * ow * oc);
        cr_assert_eq(xf_pipeline_apply(&p, in, h, w, c, got), XF_OK);
        for (int i = 0; i < oh * ow * oc; i++) {
            int d = abs((int)got[i] - (int)expected[i]);
            cr_assert(d <= 1, "%s (%s %s): value %d is %d, PIL %d", want, src, fit, i, got[i],
                      expected[i]);
            exact += d == 0;
        }
        pixels += oh * ow * oc;
        free(in);
        free(expected);
        free(got);
        cases++;
    }
    fclose(f);
    cr_assert_eq(cases, 20, "every case of cases.txt read");
    /* Off by one only where PIL's 22-bit fixed-point weights round a
     * half differently: a handful of values, not a drift. */
    cr_assert(exact >= pixels * 99 / 100, "%d of %ld values equal PIL's", exact, pixels);
}
