/* Position embeddings brought to another grid, as timm's
 * resample_abs_pos_embed does when a ViT runs at another resolution: the
 * prefix (class) tokens kept, the grid resized like PyTorch's
 * F.interpolate(mode='bicubic', align_corners=False, antialias=...):
 *   antialias false: Keys' cubic with a = -0.75 at source position
 *     (i + 0.5) * in / out - 0.5, taps beyond the border clamped to it;
 *   antialias true (timm's own default): Pillow's cubic, a = -0.5, centred
 *     at (i + 0.5) * in / out, widened by in / out when shrinking, taps
 *     beyond the border dropped and the rest renormalised. */
#ifndef XF_ZOO_RESAMPLE_H
#define XF_ZOO_RESAMPLE_H

#include <stdbool.h>

#include "core/status.h"

/* src: [prefix + gh * gw, dim], dst: [prefix + nh * nw, dim] (row-major
 * grids). Fails only when out of memory. */
xf_status xf_pos_embed_resample(const float *src, int prefix, int gh, int gw, float *dst, int nh,
                                int nw, int dim, bool antialias);

#endif
