/* Augmentation: crops with zero padding and flips on tiny images against
 * hand-written results, and the batch version's draws. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/rng.h"
#include "train/augment.h"

/* A 3 x 3 image with 2 channels: pixel (i, j) = (10 i + j, -(10 i + j)). */
static void ramp(float *img) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            img[(i * 3 + j) * 2] = (float)(10 * i + j);
            img[(i * 3 + j) * 2 + 1] = (float)-(10 * i + j);
        }
}

/* Checks channel 0 of dst against `want` (3 x 3) and channel 1 = -channel 0. */
static void expect(const float *dst, const float want[9]) {
    for (int p = 0; p < 9; p++) {
        cr_assert_eq(dst[2 * p], want[p], "pixel %d: %g, expected %g", p, dst[2 * p], want[p]);
        cr_assert_eq(dst[2 * p + 1], -want[p], "pixel %d channel 1", p);
    }
}

Test(augment, centred_crop_is_the_identity) {
    float src[18], dst[18];
    ramp(src);
    xf_augment_image(src, dst, 3, 3, 2, 1, 1, 1, false);
    cr_assert_arr_eq(dst, src, sizeof src);
    xf_augment_image(src, dst, 3, 3, 2, 0, 0, 0, false);
    cr_assert_arr_eq(dst, src, sizeof src);
}

Test(augment, crops_shift_in_zeros) {
    float src[18], dst[18];
    ramp(src);
    /* Padding 1, offset (0, 0): the window starts one row above and one
     * column left of the image. */
    xf_augment_image(src, dst, 3, 3, 2, 1, 0, 0, false);
    expect(dst, (const float[9]){0, 0, 0, 0, 0, 1, 0, 10, 11});
    /* Offset (2, 1): one row down, columns as they were. */
    xf_augment_image(src, dst, 3, 3, 2, 1, 2, 1, false);
    expect(dst, (const float[9]){10, 11, 12, 20, 21, 22, 0, 0, 0});
    /* Padding 2, offset (2, 4): two columns right. */
    xf_augment_image(src, dst, 3, 3, 2, 2, 2, 4, false);
    expect(dst, (const float[9]){2, 0, 0, 12, 0, 0, 22, 0, 0});
    /* A shift past the whole image leaves only zeros. */
    xf_augment_image(src, dst, 3, 3, 2, 5, 5, 0, false);
    expect(dst, (const float[9]){0});
    xf_augment_image(src, dst, 3, 3, 2, 5, 5, 10, false);
    expect(dst, (const float[9]){0});
}

Test(augment, flips_mirror_the_cropped_window) {
    float src[18], dst[18];
    ramp(src);
    xf_augment_image(src, dst, 3, 3, 2, 0, 0, 0, true);
    expect(dst, (const float[9]){2, 1, 0, 12, 11, 10, 22, 21, 20});
    /* Crop first (window one column right: 1 2 0), then mirror (0 2 1). */
    xf_augment_image(src, dst, 3, 3, 2, 1, 1, 2, true);
    expect(dst, (const float[9]){0, 2, 1, 0, 12, 11, 0, 22, 21});
}

Test(augment, batch_draws_dy_dx_flip_per_image_from_the_stream) {
    enum { N = 6 };
    float x[N * 18], want[N * 18], scratch[18];
    for (int k = 0; k < N; k++) ramp(x + k * 18);
    xf_rng rng, replay;
    xf_rng_seed(&rng, 42);
    xf_rng_seed(&replay, 42);
    int flips = 0, moved = 0;
    for (int k = 0; k < N; k++) {
        int dy = (int)xf_rng_below(&replay, 3), dx = (int)xf_rng_below(&replay, 3);
        bool f = xf_rng_below(&replay, 2);
        xf_augment_image(x + k * 18, want + k * 18, 3, 3, 2, 1, dy, dx, f);
        flips += f;
        moved += dy != 1 || dx != 1;
    }
    xf_augment_batch(x, N, 3, 3, 2, 1, true, &rng, scratch);
    cr_assert_arr_eq(x, want, sizeof x);
    cr_assert_gt(flips, 0);
    cr_assert_gt(moved, 0);
    /* Both streams are in the same place afterwards. */
    cr_assert_eq(xf_rng_next(&rng), xf_rng_next(&replay));
}

Test(augment, nothing_to_do_draws_nothing) {
    float x[18], orig[18], scratch[18];
    ramp(x);
    ramp(orig);
    xf_rng rng, fresh;
    xf_rng_seed(&rng, 1);
    xf_rng_seed(&fresh, 1);
    xf_augment_batch(x, 1, 3, 3, 2, 0, false, &rng, scratch);
    cr_assert_arr_eq(x, orig, sizeof x);
    cr_assert_eq(xf_rng_next(&rng), xf_rng_next(&fresh));
}
