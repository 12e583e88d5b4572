/* Resizing and channel conversion of uint8 images, and PNG output.
 * Every task reaches a model's input shape through xf_image_convert, so
 * there is exactly one resampling rule in xfer. */
#ifndef XF_IMAGE_H
#define XF_IMAGE_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

/* Resizes src (sh x sw x sc, channels last) to dst (dh x dw x dc).
 * Channels: 1 (grey) or 3 (RGB); RGB to grey uses the Rec. 601 luma
 * weights (0.299, 0.587, 0.114), grey to RGB repeats the value.
 * Resampling is separable bilinear (a triangle filter on pixel centres);
 * when shrinking, the triangle widens by the scale factor so every source
 * pixel contributes (antialiasing), as area averaging would. Edges clamp.
 * `work` needs sh * dw * dc floats. */
void xf_image_convert(const uint8_t *src, int sh, int sw, int sc, uint8_t *dst, int dh, int dw,
                      int dc, float *work);

/* Every image of src converted to height x width x channels (a copy even
 * when the shape already matches). */
xf_status xf_dataset_convert(const xf_dataset *src, int height, int width, int channels,
                             xf_dataset *out);

/* Writes an 8-bit grey (channels 1) or RGB (channels 3) PNG. */
xf_status xf_png_write(const char *path, const uint8_t *pixels, int height, int width,
                       int channels);

/* A contact sheet: one row per class with up to `per_class` of its images
 * (the first ones, in dataset order), each scaled by an integer factor so a
 * cell is at least 28 pixels, with a 2-pixel gap. Written as PNG. */
xf_status xf_dataset_contact_sheet(const xf_dataset *ds, int per_class, const char *path);

#endif
