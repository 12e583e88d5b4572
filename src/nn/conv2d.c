#include "nn/conv2d.h"

#include <stdbool.h>
#include <string.h>

#include "core/blas.h"
#include "core/status.h"
#include "nn/real.h"

xf_conv2d_geom xf_conv2d_geometry(int batch, int h, int w, int cin, int cout, int k, int stride,
                                  int pad) {
    xf_conv2d_geom g = {batch, h, w, cin, cout, k, stride, pad, 0, 0};
    g.oh = (h + 2 * pad - k) / stride + 1;
    g.ow = (w + 2 * pad - k) / stride + 1;
    return g;
}

static bool is_pointwise(const xf_conv2d_geom *g) {
    return g->k == 1 && g->stride == 1 && g->pad == 0;
}

/* The scratch holds the patches, then the weight and its gradient in the
 * patches' column order. */
size_t xf_conv2d_cols_size(const xf_conv2d_geom *g, int images) {
    if (is_pointwise(g)) return 0;
    size_t K = (size_t)g->cin * g->k * g->k;
    return ((size_t)images * g->oh * g->ow + 2 * (size_t)g->cout) * K;
}

/* Images per gemm that fit the scratch. */
static int chunk_images(const xf_conv2d_geom *g, size_t cols_cap) {
    size_t K = (size_t)g->cin * g->k * g->k, one = (size_t)g->oh * g->ow * K;
    XF_ASSERT(cols_cap >= xf_conv2d_cols_size(g, 1));
    size_t n = (cols_cap - 2 * (size_t)g->cout * K) / one;
    return n > (size_t)g->batch ? g->batch : (int)n;
}

#define REAL float
#define XF_NN_NAME(base) base
#define GEMM xf_sgemm
#include "nn/conv2d.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#define GEMM xf_dgemm
#include "nn/conv2d.inc"
#undef REAL
#undef XF_NN_NAME
#undef GEMM
