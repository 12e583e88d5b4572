/* 2-D convolution without bias on NHWC activations, PyTorch weight layout
 * [cout, cin, k, k] (square kernel, symmetric zero padding), as im2col +
 * gemm: the patches of a chunk of images form a [rows, k*k*cin] matrix in
 * (ky, kx, ci) column order, channels innermost as NHWC stores them, so
 * each tap is one contiguous copy; the weight is permuted to that order in
 * the scratch (it is small) rather than the patches to the weight's. A 1x1,
 * stride 1, unpadded conv skips im2col. The backward recomputes the
 * patches from the forward's input instead of keeping them, so one scratch
 * buffer serves every conv of a model. In float, direct kernels replace
 * im2col + gemm (no patches; threaded by image over BLAS's thread count):
 * the forward of a conv whose output channels come in blocks of 16, and
 * the backward (weight gradient, and dx as the transposed convolution or
 * scattered tap by tap) of one whose input channels come in blocks of 16
 * and output channels in 8s, or whose input is a single channel with
 * stride 1 and no dx is asked for (a grayscale first layer); up to a
 * weight of 65536 floats (beyond it, 128 channels and more at 3 x 3,
 * im2col + sgemm is faster). The kernels are compiled per instruction set
 * and chosen at run time (nn/kernels.h). The naive
 * direct convolution is the reference the tests hold the fast paths to.
 * Each function also exists as _f64 (double, same code). */
#ifndef XF_NN_CONV2D_H
#define XF_NN_CONV2D_H

#include <stddef.h>

typedef struct {
    int batch, h, w, cin;     /* input [batch, h, w, cin] */
    int cout, k, stride, pad; /* weight [cout, cin, k, k] */
    int oh, ow;               /* output [batch, oh, ow, cout] */
} xf_conv2d_geom;

/* Fills oh = (h + 2 pad - k) / stride + 1 and likewise ow. */
xf_conv2d_geom xf_conv2d_geometry(int batch, int h, int w, int cin, int cout, int k, int stride,
                                  int pad);
/* Scratch (in elements) to process `images` images per gemm; 0 when the
 * conv needs none (1x1, stride 1, no padding). */
size_t xf_conv2d_cols_size(const xf_conv2d_geom *g, int images);

/* x: [batch, h, w, cin], w: [cout, cin, k, k], y: [batch, oh, ow, cout]
 * (written), cols: scratch of cols_cap elements, at least
 * xf_conv2d_cols_size(g, 1); more lets the gemms cover several images. */
void xf_conv2d_forward(const xf_conv2d_geom *g, const float *x, const float *w, float *y,
                       float *cols, size_t cols_cap);
/* As xf_conv2d_forward, with y = conv(x, w) + r: r [batch, oh, ow, cout]
 * (a residual; may be y itself, to accumulate; NULL: none). */
void xf_conv2d_forward_add(const xf_conv2d_geom *g, const float *x, const float *w,
                           const float *r, float *y, float *cols, size_t cols_cap);
/* x: the forward's input, w: [cout, cin, k, k], dy: [batch, oh, ow, cout],
 * dx: [batch, h, w, cin] (written; may be NULL), dw: [cout, cin, k, k]
 * (accumulated), cols: scratch as for the forward. */
void xf_conv2d_backward(const xf_conv2d_geom *g, const float *x, const float *w, const float *dy,
                        float *dx, float *dw, float *cols, size_t cols_cap);
/* As xf_conv2d_backward, with dx (not NULL) accumulated: a gradient that
 * also flows another way into the same input. */
void xf_conv2d_backward_add(const xf_conv2d_geom *g, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *cols, size_t cols_cap);

/* The direct seven-loop convolution, same arguments without scratch. */
void xf_conv2d_forward_naive(const xf_conv2d_geom *g, const float *x, const float *w, float *y);
void xf_conv2d_backward_naive(const xf_conv2d_geom *g, const float *x, const float *w,
                              const float *dy, float *dx, float *dw);

void xf_conv2d_forward_f64(const xf_conv2d_geom *g, const double *x, const double *w, double *y,
                           double *cols, size_t cols_cap);
void xf_conv2d_forward_add_f64(const xf_conv2d_geom *g, const double *x, const double *w,
                               const double *r, double *y, double *cols, size_t cols_cap);
void xf_conv2d_backward_f64(const xf_conv2d_geom *g, const double *x, const double *w,
                            const double *dy, double *dx, double *dw, double *cols,
                            size_t cols_cap);
void xf_conv2d_backward_add_f64(const xf_conv2d_geom *g, const double *x, const double *w,
                                const double *dy, double *dx, double *dw, double *cols,
                                size_t cols_cap);
void xf_conv2d_forward_naive_f64(const xf_conv2d_geom *g, const double *x, const double *w,
                                 double *y);
void xf_conv2d_backward_naive_f64(const xf_conv2d_geom *g, const double *x, const double *w,
                                  const double *dy, double *dx, double *dw);

#endif
