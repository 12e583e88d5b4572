#include "nn/conv2d.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#if defined(__FMA__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/blas.h"
#include "core/pool.h"
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

/* Elements of one zero-padded input image. */
static size_t padded_size(const xf_conv2d_geom *g) {
    return (size_t)(g->h + 2 * g->pad) * (g->w + 2 * g->pad) * g->cin;
}

/* Scratch of one thread of the direct backward: the padded input, then
 * the padded dy (stride 1) or padded dx (the scatter), then a share of the
 * weight gradient (threads after the first). */
static size_t backward_thread_size(const xf_conv2d_geom *g) {
    xf_conv2d_geom gt = transposed_geometry(g);
    size_t d = transposed_dx(g) ? padded_size(&gt) : padded_size(g);
    return padded_size(g) + d + (size_t)g->cout * g->cin * g->k * g->k;
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

/* The direct float kernels, for convs whose channels come in blocks of 16
 * (no patch matrix, no OpenBLAS repacking of it, which cost as much as the
 * multiply-adds with so few channels). Each reads a zero-padded copy of
 * one image at a time and keeps its tile of outputs in vector registers:
 * - conv_tile: TILE_POS(nb) positions x nb blocks of 16 output channels
 *   (28 x 1 or 14 x 2 with AVX-512) over all taps and input channels, one
 *   broadcast input times the weight vectors per step. It gives the
 *   forward (with a residual added as it writes), dx as the transposed
 *   convolution for stride 1, for other strides each tap's share of dx
 *   added into a padded dx, and a grayscale first layer's weight gradient.
 * - dw_tile: the weight gradient of DW_TAPS taps of one kernel row x 16
 *   input channels x DW_OUT output channels, summed over a band of rows,
 *   one input vector times broadcast dy values per step.
 * Vectors are GCC's generic vectors of AVX-512's 16 floats where the build
 * has it (32 registers), else of 8 (AVX, or pairs of SSE registers). */
#ifdef __AVX512F__
#define VL 16
#define TILE_ACC 28 /* a conv tile's accumulators, of the 32 registers */
#define TILE_BLOCKS 2
#define DW_OUT 8
#else
#define VL 8
#define TILE_ACC 12 /* of 16 registers */
#define TILE_BLOCKS 1
#define DW_OUT 2
#endif
#define BLOCK_VECS (16 / VL)
/* Positions of a conv tile with nb blocks of 16 channels. */
#define TILE_POS(nb) (TILE_ACC / (BLOCK_VECS * (nb)))
/* Positions a conv tile reads through one pointer (each further one would
 * take an index register). */
#define TILE_RUN 7
#define DW_TAPS 3
/* Output positions a weight-gradient tile sums before it adds its
 * registers to memory: a band of rows whose inputs stay in L1. */
#define DW_POSITIONS 128
/* Kernels up to 7 x 7 (a tile's kernel-row offsets live on the stack). */
#define DIRECT_MAX_K 7
typedef float vfloat __attribute__((vector_size(VL * sizeof(float))));

/* Macros rather than functions: a vector argument or result would change
 * the ABI where AVX is not enabled (-Wpsabi). */
#define LOADV(v, p) memcpy(&(v), (p), sizeof(vfloat))
#define STOREV(p, v) memcpy((p), &(v), sizeof(vfloat))
/* acc += s v for a scalar s, fused where the CPU can (ISO C mode keeps GCC
 * from contracting a * b + c). */
#if defined(__AVX512F__)
#define FMA_BCAST(acc, s, v) ((acc) = _mm512_fmadd_ps(_mm512_set1_ps(s), (v), (acc)))
#elif defined(__FMA__)
#define FMA_BCAST(acc, s, v) ((acc) = _mm256_fmadd_ps(_mm256_set1_ps(s), (v), (acc)))
#else
#define FMA_BCAST(acc, s, v) ((acc) += (s) * (v))
#endif

static bool direct_ok(const xf_conv2d_geom *g) {
    return g->cout % 16 == 0 && !is_pointwise(g) && g->k <= DIRECT_MAX_K;
}

/* Consecutive output positions read consecutive input floats: a
 * grayscale first layer, whose weight gradient dw_rows_image takes. */
static bool dw_by_rows(const xf_conv2d_geom *g) { return g->cin == 1 && g->stride == 1; }

/* The backward's vectors run over input channels (dx, and dw_image's
 * rows) and its broadcasts over output channels in groups of 8; or, with
 * no dx to give, dw_rows_image's over output channels in blocks of 16. */
static bool direct_backward_ok(const xf_conv2d_geom *g, bool dx) {
    if (is_pointwise(g) || g->k > DIRECT_MAX_K) return false;
    if (!dx && dw_by_rows(g)) return g->cout % 16 == 0 && g->k <= TILE_POS(1);
    return g->cin % 16 == 0 && g->cout % 8 == 0;
}

/* One tile: n positions x nb blocks of 16 output channels. */
typedef struct {
    const float *x;        /* input at the tile's first position */
    size_t x_step;         /* floats between the inputs of consecutive positions */
    const size_t *tap_off; /* tap t reads x + tap_off[t] */
    int taps, cin;         /* cin: the consecutive inputs each tap sums over */
    const float *w;        /* [taps cin, ld] at the tile's first output channel */
    size_t ld;
    float *y;              /* output at the tile's first position and channel */
    size_t y_step;         /* floats between consecutive positions */
    const float *r;        /* added to the output, laid out as y (may be y); NULL: none */
} tile_args;

/* Inlined with n and nb constant, so that the accumulators stay in
 * registers. */
static inline __attribute__((always_inline)) void conv_tile(const tile_args *a, const int n,
                                                            const int nb) {
    enum { MAX_POS = TILE_POS(1), MAX_VECS = TILE_BLOCKS * BLOCK_VECS };
    enum { RUNS = (MAX_POS + TILE_RUN - 1) / TILE_RUN };
    const int nv = nb * BLOCK_VECS;
    const size_t x_step = a->x_step;
    vfloat acc[MAX_POS][MAX_VECS];
    _Pragma("GCC unroll 28") for (int r = 0; r < n; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[r][v] = (vfloat){0};
    for (int t = 0; t < a->taps; t++) {
        const float *wr = a->w + (size_t)t * a->cin * a->ld, *run[RUNS];
        _Pragma("GCC unroll 4") for (int q = 0; q < RUNS; q++)
            run[q] = a->x + a->tap_off[t] + (size_t)q * TILE_RUN * x_step;
        for (int c = 0; c < a->cin; c++, wr += a->ld) {
            vfloat wv[MAX_VECS];
            _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) LOADV(wv[v], wr + v * VL);
            _Pragma("GCC unroll 28") for (int r = 0; r < n; r++) {
                float xv = run[r / TILE_RUN][(r % TILE_RUN) * x_step + c];
                _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
                    FMA_BCAST(acc[r][v], xv, wv[v]);
            }
        }
    }
    const float *res = a->r;
    float *y = a->y;
    _Pragma("GCC unroll 28") for (int r = 0; r < n; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
            size_t at = r * a->y_step + v * VL;
            if (res) {
                vfloat more;
                LOADV(more, res + at);
                acc[r][v] += more;
            }
            STOREV(y + at, acc[r][v]);
        }
}

static void conv_tile_n(const tile_args *a, int n, int nb) {
#define ONE(N)                                                                                \
    case 2 * N: conv_tile(a, N, 1); break;
#define TWO(N)                                                                                \
    case 2 * N + 1: conv_tile(a, N, 2); break;
#define UP_TO_6(T) T(1) T(2) T(3) T(4) T(5) T(6)
#define UP_TO_14(T) UP_TO_6(T) T(7) T(8) T(9) T(10) T(11) T(12) T(13) T(14)
#define UP_TO_28(T)                                                                           \
    UP_TO_14(T) T(15) T(16) T(17) T(18) T(19) T(20) T(21) T(22) T(23) T(24) T(25) T(26) T(27) \
    T(28)
    switch (n * 2 + nb - 1) {
#if TILE_ACC == 28
        UP_TO_28(ONE)
        UP_TO_14(TWO)
#else
        UP_TO_6(ONE)
#endif
    default: XF_ASSERT(false);
    }
#undef ONE
#undef TWO
#undef UP_TO_6
#undef UP_TO_14
#undef UP_TO_28
}

/* Blocks of 16 channels the next tile takes out of `left`. */
static int tile_blocks(int left) { return left / 16 >= TILE_BLOCKS ? TILE_BLOCKS : 1; }

/* Calls body with ox, n for the tiles of a row of ow positions, at most
 * max_n each and as even as that allows (with 14, a 15 wide row is 8 + 7,
 * not 14 + 1). */
#define ROW_TILES(ow, max_n, body)                                                            \
    do {                                                                                      \
        int tiles_ = ((ow) + (max_n) - 1) / (max_n);                                          \
        for (int t_ = 0; t_ < tiles_; t_++) {                                                 \
            int ox = (ow) * t_ / tiles_, n = (ow) * (t_ + 1) / tiles_ - ox;                   \
            body;                                                                             \
        }                                                                                     \
    } while (0)

/* The inside of the zero-padded copy of one image; its border stays as the
 * caller zeroed it. */
static void pad_image(const xf_conv2d_geom *g, const float *x, float *xp) {
    size_t row = (size_t)(g->w + 2 * g->pad) * g->cin, in_row = (size_t)g->w * g->cin;
    for (int iy = 0; iy < g->h; iy++)
        memcpy(xp + (iy + g->pad) * row + (size_t)g->pad * g->cin, x + iy * in_row,
               sizeof(float) * in_row);
}

/* y [oh, ow, cout] = conv of one padded image xp by wd [k k cin, cout],
 * plus r (laid out as y; may be y; NULL: none). */
static void conv_image(const xf_conv2d_geom *g, const float *xp, const float *wd,
                       const float *r, float *y) {
    /* A tap is a kernel row: its k cin inputs are consecutive in xp. */
    size_t row = (size_t)(g->w + 2 * g->pad) * g->cin, tap_off[DIRECT_MAX_K];
    for (int ky = 0; ky < g->k; ky++) tap_off[ky] = ky * row;
    tile_args a = {.x_step = (size_t)g->stride * g->cin, .tap_off = tap_off,
                   .taps = g->k, .cin = g->k * g->cin, .ld = (size_t)g->cout,
                   .y_step = (size_t)g->cout};
    for (int oy = 0; oy < g->oh; oy++)
        for (int o0 = 0, nb; o0 < g->cout; o0 += 16 * nb) {
            nb = tile_blocks(g->cout - o0);
            a.w = wd + o0;
            ROW_TILES(g->ow, TILE_POS(nb), {
                a.x = xp + (size_t)oy * g->stride * row + (size_t)ox * a.x_step;
                size_t at = ((size_t)oy * g->ow + ox) * g->cout + o0;
                a.y = y + at;
                a.r = r ? r + at : NULL;
                conv_tile_n(&a, n, nb);
            });
        }
}

/* dx (or dx +=, with add) of one image for any stride and padding: each
 * tap's product of dy by w[:, :, ky, kx] (ws: [k k, cout, cin]) added at
 * its place in the padded dx dp, whose inside is then dx. */
static void scatter_dx_image(const xf_conv2d_geom *g, const float *dy, const float *ws,
                             float *dp, float *dx, bool add) {
    size_t row = (size_t)(g->w + 2 * g->pad) * g->cin, in_row = (size_t)g->w * g->cin;
    static const size_t no_offset = 0;
    tile_args a = {.x_step = (size_t)g->cout, .tap_off = &no_offset, .taps = 1,
                   .cin = g->cout, .ld = (size_t)g->cin, .y_step = (size_t)g->stride * g->cin};
    memset(dp, 0, sizeof(float) * padded_size(g));
    for (int oy = 0; oy < g->oh; oy++)
        for (int c0 = 0, nb; c0 < g->cin; c0 += 16 * nb) {
            nb = tile_blocks(g->cin - c0);
            ROW_TILES(g->ow, TILE_POS(nb), {
                a.x = dy + ((size_t)oy * g->ow + ox) * g->cout;
                for (int ky = 0; ky < g->k; ky++)
                    for (int kx = 0; kx < g->k; kx++) {
                        a.w = ws + (size_t)(ky * g->k + kx) * g->cout * g->cin + c0;
                        a.y = dp + ((size_t)oy * g->stride + ky) * row +
                              ((size_t)ox * g->stride + kx) * g->cin + c0;
                        a.r = a.y;
                        conv_tile_n(&a, n, nb);
                    }
            });
        }
    for (int iy = 0; iy < g->h; iy++) {
        const float *from = dp + (iy + g->pad) * row + (size_t)g->pad * g->cin;
        float *to = dx + iy * in_row;
        if (!add) {
            memcpy(to, from, sizeof(float) * in_row);
            continue;
        }
        size_t i = 0;
        for (; i + VL <= in_row; i += VL) {
            vfloat u, v;
            LOADV(u, to + i);
            LOADV(v, from + i);
            u += v;
            STOREV(to + i, u);
        }
        for (; i < in_row; i++) to[i] += from[i];
    }
}

/* One weight-gradient tile: taps kx0 .. kx0 + tt of kernel row ky, input
 * channels c0 .. c0 + 16, output channels o0 .. o0 + DW_OUT, summed over
 * `rows` output rows. */
typedef struct {
    const float *x;      /* padded input at the first row's (ky, kx0) and channel c0 */
    size_t x_row;        /* floats between the inputs of consecutive output rows */
    size_t x_step;       /* floats between those of consecutive positions */
    const float *dy;     /* at the first row and channel o0 */
    int rows, ow, cin, cout;
    float *dwt;          /* [k k, cout, cin] at (ky k + kx0, o0, c0); accumulated */
} dw_args;

static inline __attribute__((always_inline)) void dw_tile(const dw_args *a, const int tt) {
    vfloat acc[DW_TAPS][BLOCK_VECS][DW_OUT];
    _Pragma("GCC unroll 3") for (int t = 0; t < tt; t++)
        _Pragma("GCC unroll 2") for (int v = 0; v < BLOCK_VECS; v++)
            _Pragma("GCC unroll 8") for (int j = 0; j < DW_OUT; j++) acc[t][v][j] = (vfloat){0};
    for (int oy = 0; oy < a->rows; oy++) {
        const float *xr = a->x + oy * a->x_row, *d = a->dy + (size_t)oy * a->ow * a->cout;
        for (int ox = 0; ox < a->ow; ox++, xr += a->x_step, d += a->cout) {
            /* The input vectors stay in registers and each broadcast is
             * used at once: with the 24 accumulators, all fit in 32. */
            vfloat xv[DW_TAPS][BLOCK_VECS];
            _Pragma("GCC unroll 3") for (int t = 0; t < tt; t++)
                _Pragma("GCC unroll 2") for (int v = 0; v < BLOCK_VECS; v++)
                    LOADV(xv[t][v], xr + t * a->cin + v * VL);
            _Pragma("GCC unroll 8") for (int j = 0; j < DW_OUT; j++)
                _Pragma("GCC unroll 3") for (int t = 0; t < tt; t++)
                    _Pragma("GCC unroll 2") for (int v = 0; v < BLOCK_VECS; v++)
                        FMA_BCAST(acc[t][v][j], d[j], xv[t][v]);
        }
    }
    _Pragma("GCC unroll 3") for (int t = 0; t < tt; t++)
        _Pragma("GCC unroll 2") for (int v = 0; v < BLOCK_VECS; v++)
            _Pragma("GCC unroll 8") for (int j = 0; j < DW_OUT; j++) {
                float *p = a->dwt + ((size_t)t * a->cout + j) * a->cin + v * VL;
                vfloat sum;
                LOADV(sum, p);
                sum += acc[t][v][j];
                STOREV(p, sum);
            }
}

/* dwt [k k, cout, cin] += the weight gradient of one image: xp its padded
 * input, dy [oh, ow, cout]. */
static void dw_image(const xf_conv2d_geom *g, const float *xp, const float *dy, float *dwt) {
    size_t row = (size_t)(g->w + 2 * g->pad) * g->cin;
    int band = DW_POSITIONS / g->ow > 0 ? DW_POSITIONS / g->ow : 1;
    dw_args a = {.x_row = (size_t)g->stride * row, .x_step = (size_t)g->stride * g->cin,
                 .ow = g->ow, .cin = g->cin, .cout = g->cout};
    for (int oy0 = 0; oy0 < g->oh; oy0 += band) {
        a.rows = g->oh - oy0 < band ? g->oh - oy0 : band;
        for (int ky = 0; ky < g->k; ky++)
            for (int kx0 = 0; kx0 < g->k; kx0 += DW_TAPS) {
                int tt = g->k - kx0 < DW_TAPS ? g->k - kx0 : DW_TAPS;
                for (int c0 = 0; c0 < g->cin; c0 += 16)
                    for (int o0 = 0; o0 < g->cout; o0 += DW_OUT) {
                        a.x = xp + ((size_t)oy0 * g->stride + ky) * row +
                              (size_t)kx0 * g->cin + c0;
                        a.dy = dy + (size_t)oy0 * g->ow * g->cout + o0;
                        a.dwt = dwt + ((size_t)(ky * g->k + kx0) * g->cout + o0) * g->cin + c0;
                        switch (tt) {
                        case 1: dw_tile(&a, 1); break;
                        case 2: dw_tile(&a, 2); break;
                        default: dw_tile(&a, 3); break;
                        }
                    }
            }
    }
}

/* dwf [k k cin, cout] += the weight gradient of one image when
 * dw_by_rows(g): for each kernel row and output row, conv_tile with the
 * row's k taps as its positions and the output positions as the
 * channels it sums over, dy as its weight. */
static void dw_rows_image(const xf_conv2d_geom *g, const float *xp, const float *dy,
                          float *dwf) {
    size_t row = (size_t)(g->w + 2 * g->pad);
    static const size_t no_offset = 0;
    tile_args a = {.x_step = 1, .tap_off = &no_offset, .taps = 1, .cin = g->ow,
                   .ld = (size_t)g->cout, .y_step = (size_t)g->cout};
    for (int ky = 0; ky < g->k; ky++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int o0 = 0, nb; o0 < g->cout; o0 += 16 * nb) {
                nb = tile_blocks(g->cout - o0);
                a.x = xp + (size_t)(oy + ky) * row;
                a.w = dy + (size_t)oy * g->ow * g->cout + o0;
                a.y = dwf + (size_t)ky * g->k * g->cout + o0;
                a.r = a.y;
                conv_tile_n(&a, g->k, nb);
            }
}

/* Asks for the n floats from p to be brought into the cache (L2), a line
 * at a time: the next image's input, while this one's tiles run. */
static void prefetch_image(const float *p, size_t n) {
    for (size_t i = 0; i < n; i += 64 / sizeof(float)) __builtin_prefetch(p + i, 0, 2);
}

/* Images [b0, b1) of a forward (x, w: wd, r -> y) or a backward (x, w:
 * the dx weight, dy -> dx, dwt) in one thread's scratch. */
typedef struct {
    const xf_conv2d_geom *g;
    const float *x, *w, *dy, *r;
    float *y, *dx, *dwt, *scratch;
    bool dx_add;  /* accumulate into dx rather than write it */
    bool own_dwt; /* dwt is this thread's share in its scratch: zero it first */
    int b0, b1;
} direct_job;

static void *forward_run(void *arg) {
    const direct_job *j = arg;
    const xf_conv2d_geom *g = j->g;
    size_t in_img = (size_t)g->h * g->w * g->cin, out_img = (size_t)g->oh * g->ow * g->cout;
    memset(j->scratch, 0, sizeof(float) * padded_size(g));
    for (int b = j->b0; b < j->b1; b++) {
        pad_image(g, j->x + b * in_img, j->scratch);
        if (b + 1 < j->b1) prefetch_image(j->x + (b + 1) * in_img, in_img);
        conv_image(g, j->scratch, j->w, j->r ? j->r + b * out_img : NULL, j->y + b * out_img);
    }
    return NULL;
}

/* With stride 1, dx is the convolution of the padded dy by the flipped
 * weight (w: [k k cout, cin], the transposed geometry's wd); otherwise the
 * taps are scattered (w: [k k, cout, cin]). */
static void *backward_run(void *arg) {
    const direct_job *j = arg;
    const xf_conv2d_geom *g = j->g;
    xf_conv2d_geom gt = transposed_geometry(g);
    bool gather = transposed_dx(g);
    size_t in_img = (size_t)g->h * g->w * g->cin, out_img = (size_t)g->oh * g->ow * g->cout;
    float *xp = j->scratch, *dp = xp + padded_size(g);
    memset(xp, 0, sizeof(float) * padded_size(g));
    if (gather) memset(dp, 0, sizeof(float) * padded_size(&gt));
    if (j->own_dwt) memset(j->dwt, 0, sizeof(float) * g->cout * g->cin * g->k * g->k);
    for (int b = j->b0; b < j->b1; b++) {
        pad_image(g, j->x + b * in_img, xp);
        if (b + 1 < j->b1) {
            prefetch_image(j->x + (b + 1) * in_img, in_img);
            prefetch_image(j->dy + (b + 1) * out_img, out_img);
        }
        if (dw_by_rows(g) && !j->dx)
            dw_rows_image(g, xp, j->dy + b * out_img, j->dwt);
        else
            dw_image(g, xp, j->dy + b * out_img, j->dwt);
        if (!j->dx) continue;
        float *dxb = j->dx + b * in_img;
        if (gather) {
            pad_image(&gt, j->dy + b * out_img, dp);
            conv_image(&gt, dp, j->w, j->dx_add ? dxb : NULL, dxb);
        } else {
            scatter_dx_image(g, j->dy + b * out_img, j->w, dp, dxb, j->dx_add);
        }
    }
    return NULL;
}

enum { DIRECT_MAX_THREADS = 16 };

/* Runs job over all g->batch images, split by image over as many threads
 * as BLAS uses (the gemms they replace were threaded), each with `one`
 * floats of scratch (cap floats in all). Threads after the first put
 * their weight gradient at `own_dwt` floats into their scratch (when
 * job.dwt is set). A thread that cannot start leaves its share to the
 * caller. Returns the threads used. */
static int direct_split(direct_job job, void *(*run)(void *), size_t one, size_t own_dwt,
                        size_t cap) {
    int threads = xf_blas_threads();
    if (threads > DIRECT_MAX_THREADS) threads = DIRECT_MAX_THREADS;
    if (threads > job.g->batch) threads = job.g->batch;
    if ((size_t)threads > cap / one) threads = (int)(cap / one);
    if (threads < 1) threads = 1;
    direct_job jobs[DIRECT_MAX_THREADS];
    pthread_t tid[DIRECT_MAX_THREADS];
    bool started[DIRECT_MAX_THREADS] = {false};
    for (int t = 0; t < threads; t++) {
        jobs[t] = job;
        jobs[t].scratch = job.scratch + (size_t)t * one;
        long b0, b1;
        xf_pool_share(job.g->batch, t, threads, &b0, &b1);
        jobs[t].b0 = (int)b0;
        jobs[t].b1 = (int)b1;
        if (t > 0 && job.dwt) {
            jobs[t].dwt = jobs[t].scratch + own_dwt;
            jobs[t].own_dwt = true;
        }
        if (t > 0) started[t] = pthread_create(&tid[t], NULL, run, &jobs[t]) == 0;
    }
    run(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            run(&jobs[t]);
    }
    return threads;
}

/* y = conv(x, wd) + r (NULL: none) for all g->batch images; scratch: cap
 * floats, at least padded_size(g). */
static void direct_conv(const xf_conv2d_geom *g, const float *x, const float *wd,
                        const float *r, float *y, float *scratch, size_t cap) {
    direct_job job = {.g = g, .x = x, .w = wd, .r = r, .y = y, .scratch = scratch};
    direct_split(job, forward_run, padded_size(g), 0, cap);
}

/* dwt += the weight gradient ([k k, cout, cin], or [k k cin, cout] when
 * dw_by_rows(g) and there is no dx), and dx (NULL: none) = (or += with
 * dx_add) the input gradient through wdx as backward_run takes it;
 * scratch: cap floats, at least backward_thread_size(g). */
static void direct_backward(const xf_conv2d_geom *g, const float *x, const float *wdx,
                            const float *dy, float *dx, bool dx_add, float *dwt,
                            float *scratch, size_t cap) {
    size_t one = backward_thread_size(g), n_w = (size_t)g->cout * g->cin * g->k * g->k;
    direct_job job = {.g = g, .x = x, .w = wdx, .dy = dy, .dx = dx, .dwt = dwt,
                      .dx_add = dx_add, .scratch = scratch};
    int threads = direct_split(job, backward_run, one, one - n_w, cap);
    for (int t = 1; t < threads; t++) {
        const float *share = scratch + (size_t)t * one + (one - n_w);
        for (size_t i = 0; i < n_w; i++) dwt[i] += share[i];
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
