/* Position embeddings brought to another grid, as timm's
 * resample_abs_pos_embed does when a ViT runs at another resolution: the
 * prefix (class) tokens kept, the grid resized like PyTorch's
 * F.interpolate(mode='bicubic', align_corners=False, antialias=False)
 * (Keys' cubic with a = -0.75, source index (i + 0.5) * in / out - 0.5,
 * taps beyond the border clamped to it). */
#ifndef XF_ZOO_RESAMPLE_H
#define XF_ZOO_RESAMPLE_H

/* src: [prefix + gh * gw, dim], dst: [prefix + nh * nw, dim] (row-major
 * grids). */
void xf_pos_embed_resample(const float *src, int prefix, int gh, int gw, float *dst, int nh,
                           int nw, int dim);

#endif
