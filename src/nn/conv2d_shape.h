/* Shapes shared by conv2d.c (im2col + gemm, and the choice of path) and
 * the direct kernels compiled per instruction set (conv2d_direct.inc). */
#ifndef XF_NN_CONV2D_SHAPE_H
#define XF_NN_CONV2D_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"

/* Kernels up to 7 x 7 go direct (a tile's kernel-row offsets live on the
 * stack). */
#define DIRECT_MAX_K 7

static inline bool is_pointwise(const xf_conv2d_geom *g) {
    return g->k == 1 && g->stride == 1 && g->pad == 0;
}

/* With stride 1, dx is the convolution of dy by the flipped weight with
 * padding k - 1 - pad: an im2col of dy and one gemm that writes dx, where
 * the patches' gemm followed by col2im would scatter-add. */
static inline bool transposed_dx(const xf_conv2d_geom *g) {
    return g->stride == 1 && g->pad <= g->k - 1;
}

static inline xf_conv2d_geom transposed_geometry(const xf_conv2d_geom *g) {
    if (!transposed_dx(g)) return *g;
    return xf_conv2d_geometry(g->batch, g->oh, g->ow, g->cout, g->cin, g->k, 1,
                              g->k - 1 - g->pad);
}

/* Scratch per image: the larger of x's patches and, for the transposed
 * path, dy's. */
static inline size_t per_image_cols(const xf_conv2d_geom *g) {
    size_t kk = (size_t)g->k * g->k, n = (size_t)g->oh * g->ow * g->cin * kk;
    if (transposed_dx(g)) {
        size_t t = (size_t)g->h * g->w * g->cout * kk;
        if (t > n) n = t;
    }
    return n;
}

/* Elements of one zero-padded input image. */
static inline size_t padded_size(const xf_conv2d_geom *g) {
    return (size_t)(g->h + 2 * g->pad) * (g->w + 2 * g->pad) * g->cin;
}

/* Scratch of one thread of the direct backward: the padded input, then
 * the padded dy (stride 1) or padded dx (the scatter), then a share of the
 * weight gradient (threads after the first). */
static inline size_t backward_thread_size(const xf_conv2d_geom *g) {
    xf_conv2d_geom gt = transposed_geometry(g);
    size_t d = transposed_dx(g) ? padded_size(&gt) : padded_size(g);
    return padded_size(g) + d + (size_t)g->cout * g->cin * g->k * g->k;
}

/* Consecutive output positions read consecutive input floats: a
 * grayscale first layer, whose weight gradient the direct backward takes
 * by rows. */
static inline bool dw_by_rows(const xf_conv2d_geom *g) { return g->cin == 1 && g->stride == 1; }

#endif
