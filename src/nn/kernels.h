/* xfer's own vector kernels, built once per instruction set and chosen at
 * run time (core/cpu.h): src/nn/kernels.inc is compiled by
 * kernels_plain.c, kernels_avx2.c and kernels_avx512.c, each with its own
 * -m flags (the Makefile's ISA_FLAGS_*), into one table each. The ops'
 * float entry points (conv2d.c, groupnorm.c, activation.c, attention.c,
 * train/optimizer.c) call through xf_kernels(), so the rest of the code
 * can be built for the baseline (make PORTABLE=1) and still run its hot
 * loops with the CPU's widest vectors.
 *
 * The paths agree bit for bit where they do the same arithmetic: GroupNorm,
 * AdamW and (AVX2 against AVX-512) GELU, exp and the convolutions. The
 * plain path has no FMA and calls the scalar erff/expf, so its convolutions
 * and GELU round differently (well within the tests' tolerances). */
#ifndef XF_NN_KERNELS_H
#define XF_NN_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cpu.h"
#include "nn/conv2d.h"

/* AdamW's per-group coefficients, floats computed in double (see
 * train/optimizer.c). */
typedef struct {
    float decay, b1, one_minus_b1, b2, one_minus_b2, step, inv_sqrt_bc2, eps;
} xf_adamw_coefficients;

typedef struct {
    xf_isa isa;
    /* The direct convolutions (conv2d.c says when they apply). The largest
     * kernel whose grayscale weight gradient conv_direct_backward takes by
     * rows (its conv tile's positions). */
    int conv_rows_max_k;
    /* y = conv(x, wd) + r (NULL: none), wd [k, k, cin, cout]; scratch: cap
     * floats, at least one zero-padded image. */
    void (*conv_direct_forward)(const xf_conv2d_geom *g, const float *x, const float *wd,
                                const float *r, float *y, float *scratch, size_t cap);
    /* Whether conv_direct_backward gives the weight gradient as [k, k, cin,
     * cout] rather than [k, k, cout, cin] (dx: whether it gives dx too). */
    bool (*conv_dw_by_outputs)(const xf_conv2d_geom *g, bool dx);
    /* dwt += the weight gradient (in the layout conv_dw_by_outputs says), dx (NULL: none) = (or +=
     * with dx_add) the input gradient through wdx ([k, k, cout, cin], taps
     * reversed for stride 1); scratch as xf_conv2d_cols_size reserves. */
    void (*conv_direct_backward)(const xf_conv2d_geom *g, const float *x, const float *wdx,
                                 const float *dy, float *dx, bool dx_add, float *dwt,
                                 float *scratch, size_t cap);
    /* nn/groupnorm.h's float functions. */
    void (*groupnorm_forward)(const float *x, const float *gamma, const float *beta, float *y,
                              float *mean, float *rstd, double *work, int n, int hw, int c,
                              int groups, float eps, bool relu);
    void (*groupnorm_backward_add)(const float *x, const float *gamma, const float *mean,
                                   const float *rstd, const float *y, const float *dy,
                                   const float *res, float *dx, float *dgamma, float *dbeta,
                                   double *work, int n, int hw, int c, int groups, bool relu);
    /* nn/activation.h's float GELU. */
    void (*gelu_forward)(const float *x, float *y, size_t n);
    void (*bias_gelu_forward)(float *z, const float *b, float *y, int n, int dim);
    void (*gelu_backward)(const float *x, const float *dy, float *dx, size_t n);
    /* row[j] = exp(row[j] - max) for j < n (the softmax's). */
    void (*exp_shifted)(float *row, int n, float max);
    /* One AdamW step on n parameters p with gradients g and moments m, v. */
    void (*adamw_update)(float *restrict p, const float *restrict g, float *restrict m,
                         float *restrict v, size_t n, const xf_adamw_coefficients *k);
} xf_kernel_table;

extern const xf_kernel_table xf_kernels_plain, xf_kernels_avx2, xf_kernels_avx512;

/* The table of the instruction set in use (xf_cpu_isa()). */
const xf_kernel_table *xf_kernels(void);

#endif
