#include "nn/conv2d.h"

#include <stdbool.h>
#include <string.h>

#include "core/blas.h"
#include "core/status.h"
#include "nn/conv2d_shape.h"
#include "nn/kernels.h"
#include "nn/real.h"

xf_conv2d_geom xf_conv2d_geometry(int batch, int h, int w, int cin, int cout, int k, int stride,
                                  int pad) {
    xf_conv2d_geom g = {batch, h, w, cin, cout, k, stride, pad, 0, 0};
    g.oh = (h + 2 * pad - k) / stride + 1;
    g.ow = (w + 2 * pad - k) / stride + 1;
    return g;
}

/* The scratch holds the patches (or one thread's share of the direct
 * kernels' buffers, if larger), then the weight and its gradient in the
 * patches' column order. */
size_t xf_conv2d_cols_size(const xf_conv2d_geom *g, int images) {
    if (is_pointwise(g)) return 0;
    size_t K = (size_t)g->cin * g->k * g->k, n = (size_t)images * per_image_cols(g);
    if (backward_thread_size(g) > n) n = backward_thread_size(g);
    return n + 2 * (size_t)g->cout * K;
}

/* Images per gemm that fit the scratch. */
static int chunk_images(const xf_conv2d_geom *g, size_t cols_cap) {
    size_t K = (size_t)g->cin * g->k * g->k, one = per_image_cols(g);
    XF_ASSERT(cols_cap >= xf_conv2d_cols_size(g, 1));
    size_t n = (cols_cap - 2 * (size_t)g->cout * K) / one;
    return n > (size_t)g->batch ? g->batch : (int)n;
}

/* The direct kernels stream the whole weight for every tile of positions,
 * so past what L2 holds beside the image, im2col + sgemm (which OpenBLAS
 * blocks for the caches) wins: single-threaded on the AVX2 EPYC, 3x3
 * convs forward/backward GFLOP/s direct -> im2col: 64 -> 64 channels at
 * 56 x 56 72/57 (direct kept), 128 -> 128 at 28 x 28 47/48 -> 60/63,
 * 256 at 14 x 14 37/36 -> 57/63, 512 at 7 x 7 7.5/12 -> 63/43. In floats:
 * 256 KB. */
enum { DIRECT_MAX_WEIGHT = 65536 };

static bool direct_weight_fits(const xf_conv2d_geom *g) {
    return (size_t)g->k * g->k * g->cin * g->cout <= DIRECT_MAX_WEIGHT;
}

/* The direct kernels (conv2d_direct.inc, one build per instruction set:
 * nn/kernels.h) take a conv whose output channels come in blocks of 16. */
static bool direct_ok(const xf_conv2d_geom *g) {
    return g->cout % 16 == 0 && !is_pointwise(g) && g->k <= DIRECT_MAX_K && direct_weight_fits(g);
}

/* The backward's vectors run over input channels (dx, and dw_image's
 * rows) and its broadcasts over output channels in groups of 8; or, with
 * no dx to give, dw_rows_image's over output channels in blocks of 16. */
static bool direct_backward_ok(const xf_conv2d_geom *g, bool dx) {
    if (is_pointwise(g) || g->k > DIRECT_MAX_K || !direct_weight_fits(g)) return false;
    if (!dx && dw_by_rows(g)) return g->cout % 16 == 0 && g->k <= xf_kernels()->conv_rows_max_k;
    return g->cin % 16 == 0 && g->cout % 8 == 0;
}


#define REAL float
#define DIRECT 1
#define XF_NN_NAME(base) base
#define GEMM xf_sgemm
#include "nn/conv2d.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
#undef DIRECT

#define REAL double
#define DIRECT 0
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#define GEMM xf_dgemm
#include "nn/conv2d.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
#undef DIRECT
