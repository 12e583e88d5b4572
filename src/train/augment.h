/* Training-time augmentation on a float NHWC batch: a random crop of the
 * image padded with `padding` zeros on every side (torchvision's
 * RandomCrop(size, padding) on the normalised tensor), then an optional
 * random horizontal flip (RandomHorizontalFlip(0.5)). Zero is mid-grey in
 * xfer's [-1, 1] pixel scale. */
#ifndef XF_AUGMENT_H
#define XF_AUGMENT_H

#include <stdbool.h>

#include "core/rng.h"

/* One image: dst(i, j) = src(i + dy - padding, jj + dx - padding), zero
 * outside src, with jj = w - 1 - j when flipped, else j.
 * src, dst: [h, w, c] (must not alias); dy, dx in [0, 2 padding]. */
void xf_augment_image(const float *src, float *dst, int h, int w, int c, int padding, int dy,
                      int dx, bool flip);

/* Augments each of the n images of x in place. Per image it draws dy, then
 * dx (each uniform in [0, 2 padding], only when padding > 0), then the flip
 * (only when `flip`) from rng. x: [n, h, w, c]; scratch: [h, w, c]. */
void xf_augment_batch(float *x, int n, int h, int w, int c, int padding, bool flip, xf_rng *rng,
                      float *scratch);

#endif
