/* PNG output: single images and contact sheets. (Resizing and channel
 * conversion are data/preprocess.h's.) */
#ifndef XF_IMAGE_H
#define XF_IMAGE_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

/* Writes an 8-bit grey (channels 1) or RGB (channels 3) PNG. */
xf_status xf_png_write(const char *path, const uint8_t *pixels, int height, int width,
                       int channels);

/* A contact sheet: one row per class with up to `per_class` of its images
 * (the first ones, in dataset order), each scaled by an integer factor so a
 * cell is at least 28 pixels, with a 2-pixel gap. Written as PNG. */
xf_status xf_dataset_contact_sheet(const xf_dataset *ds, int per_class, const char *path);

#endif
