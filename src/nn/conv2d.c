#include "nn/conv2d.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#ifdef __FMA__
#include <immintrin.h>
#endif

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

/* With stride 1, dx is the convolution of dy by the flipped weight with
 * padding k - 1 - pad: an im2col of dy and one gemm that writes dx, where
 * the patches' gemm followed by col2im would scatter-add. */
static bool transposed_dx(const xf_conv2d_geom *g) {
    return g->stride == 1 && g->pad <= g->k - 1;
}

static xf_conv2d_geom transposed_geometry(const xf_conv2d_geom *g) {
    if (!transposed_dx(g)) return *g;
    return xf_conv2d_geometry(g->batch, g->oh, g->ow, g->cout, g->cin, g->k, 1,
                              g->k - 1 - g->pad);
}

/* Scratch per image: the larger of x's patches and, for the transposed
 * path, dy's. */
static size_t per_image_cols(const xf_conv2d_geom *g) {
    size_t kk = (size_t)g->k * g->k, n = (size_t)g->oh * g->ow * g->cin * kk;
    if (transposed_dx(g)) {
        size_t t = (size_t)g->h * g->w * g->cout * kk;
        if (t > n) n = t;
    }
    return n;
}

/* The scratch holds the patches, then the weight and its gradient in the
 * patches' column order. */
size_t xf_conv2d_cols_size(const xf_conv2d_geom *g, int images) {
    if (is_pointwise(g)) return 0;
    size_t K = (size_t)g->cin * g->k * g->k;
    return (size_t)images * per_image_cols(g) + 2 * (size_t)g->cout * K;
}

/* Images per gemm that fit the scratch. */
static int chunk_images(const xf_conv2d_geom *g, size_t cols_cap) {
    size_t K = (size_t)g->cin * g->k * g->k, one = per_image_cols(g);
    XF_ASSERT(cols_cap >= xf_conv2d_cols_size(g, 1));
    size_t n = (cols_cap - 2 * (size_t)g->cout * K) / one;
    return n > (size_t)g->batch ? g->batch : (int)n;
}

/* The direct float kernel for convs whose output channels come in blocks
 * of 16: the weight as [k k cin, cout], each output row of 6 positions x 16
 * channels kept in twelve 8-wide accumulators over all taps, reading a
 * zero-padded copy of one image. It skips the patch matrix and OpenBLAS's
 * repacking of it, which cost as much as the multiply-adds with so few
 * output channels. GCC's generic vectors map to AVX (or pairs of SSE). */
typedef float v8sf __attribute__((vector_size(32)));
/* Positions per tile: 7 divides the 28, 14 and 7 wide maps of 28 x 28
 * inputs; 14 accumulators fit AVX-512's 32 vector registers. */
enum { DIRECT_POS = 7 };

static bool direct_ok(const xf_conv2d_geom *g) {
    return g->cout % 16 == 0 && !is_pointwise(g);
}

/* Elements of one zero-padded input image. */
static size_t padded_size(const xf_conv2d_geom *g) {
    return (size_t)(g->h + 2 * g->pad) * (g->w + 2 * g->pad) * g->cin;
}

/* Macros rather than functions: a vector argument or result would change
 * the ABI where AVX is not enabled (-Wpsabi). */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8sf))
#define STORE8(p, v) memcpy((p), &(v), sizeof(v8sf))
/* acc += b c, fused where the CPU can (ISO C mode keeps GCC from
 * contracting a * b + c). */
#ifdef __FMA__
#define FMA8(acc, b, c) ((acc) = _mm256_fmadd_ps(_mm256_set1_ps(b), (c), (acc)))
#else
#define FMA8(acc, b, c) ((acc) += (b) * (c))
#endif

/* y[0 .. n) (n <= DIRECT_POS positions of one output row, from ox),
 * channels o0 .. o0 + 16; xp: the padded image at the row's first input
 * row, wd: [k k cin, cout]. Inlined with n constant, so that the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void direct_tile(const xf_conv2d_geom *g,
                                                              const float *xp,
                                                              size_t row_stride,
                                                              const float *wd, float *y, int ox,
                                                              const int n, int o0) {
    int cin = g->cin, k = g->k;
    size_t step = (size_t)g->stride * cin;
    v8sf acc[DIRECT_POS][2];
    _Pragma("GCC unroll 7") for (int r = 0; r < n; r++) acc[r][0] = acc[r][1] = (v8sf){0};
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            const float *xr = xp + ky * row_stride + ((size_t)ox * g->stride + kx) * cin;
            const float *wr = wd + ((size_t)(ky * k + kx) * cin) * g->cout + o0;
            for (int c = 0; c < cin; c++, wr += g->cout) {
                v8sf w0, w1;
                LOAD8(w0, wr);
                LOAD8(w1, wr + 8);
                _Pragma("GCC unroll 7") for (int r = 0; r < n; r++) {
                    float xv = xr[r * step + c];
                    FMA8(acc[r][0], xv, w0);
                    FMA8(acc[r][1], xv, w1);
                }
            }
        }
    _Pragma("GCC unroll 7") for (int r = 0; r < n; r++) {
        STORE8(y + (size_t)r * g->cout + o0, acc[r][0]);
        STORE8(y + (size_t)r * g->cout + o0 + 8, acc[r][1]);
    }
}

static void direct_tile_n(const xf_conv2d_geom *g, const float *xp, size_t row_stride,
                          const float *wd, float *y, int ox, int n, int o0) {
    switch (n) {
#define TILE(N)                                                                               \
    case N: direct_tile(g, xp, row_stride, wd, y, ox, N, o0); break;
        TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7)
#undef TILE
    }
}

/* y = conv(x, wd) for images [b0, b1); pad: padded_size(g) floats. */
static void direct_images(const xf_conv2d_geom *g, const float *x, const float *wd, float *y,
                          float *pad, int b0, int b1) {
    int wp = g->w + 2 * g->pad;
    size_t row_stride = (size_t)wp * g->cin, in_row = (size_t)g->w * g->cin;
    memset(pad, 0, sizeof(float) * padded_size(g));
    for (int b = b0; b < b1; b++) {
        const float *xb = x + (size_t)b * g->h * in_row;
        for (int iy = 0; iy < g->h; iy++)
            memcpy(pad + (iy + g->pad) * row_stride + (size_t)g->pad * g->cin,
                   xb + iy * in_row, sizeof(float) * in_row);
        for (int oy = 0; oy < g->oh; oy++) {
            const float *xp = pad + (size_t)oy * g->stride * row_stride;
            float *yr = y + (((size_t)b * g->oh + oy) * g->ow) * g->cout;
            for (int ox = 0; ox < g->ow; ox += DIRECT_POS) {
                int n = g->ow - ox < DIRECT_POS ? g->ow - ox : DIRECT_POS;
                for (int o0 = 0; o0 < g->cout; o0 += 16)
                    direct_tile_n(g, xp, row_stride, wd, yr + (size_t)ox * g->cout, ox, n, o0);
            }
        }
    }
}

typedef struct {
    const xf_conv2d_geom *g;
    const float *x, *wd;
    float *y, *pad;
    int b0, b1;
} direct_job;

static void *direct_run(void *arg) {
    const direct_job *j = arg;
    direct_images(j->g, j->x, j->wd, j->y, j->pad, j->b0, j->b1);
    return NULL;
}

enum { DIRECT_MAX_THREADS = 16 };

/* y = conv(x, wd) for all g->batch images, split by image over as many
 * threads as BLAS uses (the gemms it replaces were threaded), each with its
 * own padded image in `scratch` (cap floats). A thread that cannot start
 * leaves its share to the caller. */
static void direct_conv(const xf_conv2d_geom *g, const float *x, const float *wd, float *y,
                        float *scratch, size_t cap) {
    size_t one = padded_size(g);
    int threads = xf_blas_threads();
    if (threads > DIRECT_MAX_THREADS) threads = DIRECT_MAX_THREADS;
    if (threads > g->batch) threads = g->batch;
    if ((size_t)threads > cap / one) threads = (int)(cap / one);
    if (threads <= 1) {
        direct_images(g, x, wd, y, scratch, 0, g->batch);
        return;
    }
    direct_job jobs[DIRECT_MAX_THREADS];
    pthread_t tid[DIRECT_MAX_THREADS];
    bool started[DIRECT_MAX_THREADS] = {false};
    for (int t = 0; t < threads; t++) {
        jobs[t] = (direct_job){g, x, wd, y, scratch + (size_t)t * one,
                               (int)((long)g->batch * t / threads),
                               (int)((long)g->batch * (t + 1) / threads)};
        if (t > 0) started[t] = pthread_create(&tid[t], NULL, direct_run, &jobs[t]) == 0;
    }
    direct_run(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            direct_run(&jobs[t]);
    }
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
