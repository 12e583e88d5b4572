/* GroupNorm: the float functions run the build of groupnorm.inc for the
 * instruction set in use (nn/kernels.h); the double instance is built here
 * for the gradient checks. */
#include "nn/groupnorm.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "nn/kernels.h"
#include "nn/real.h"

void xf_groupnorm_forward(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd, double *work, int n, int hw, int c, int groups,
                          float eps, bool relu) {
    xf_kernels()->groupnorm_forward(x, gamma, beta, y, mean, rstd, work, n, hw, c, groups, eps,
                                    relu);
}

void xf_groupnorm_backward_add(const float *x, const float *gamma, const float *mean,
                               const float *rstd, const float *y, const float *dy,
                               const float *res, float *dx, float *dgamma, float *dbeta,
                               double *work, int n, int hw, int c, int groups, bool relu) {
    xf_kernels()->groupnorm_backward_add(x, gamma, mean, rstd, y, dy, res, dx, dgamma, dbeta,
                                         work, n, hw, c, groups, relu);
}

void xf_groupnorm_backward(const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *y, const float *dy, float *dx,
                           float *dgamma, float *dbeta, double *work, int n, int hw, int c,
                           int groups, bool relu) {
    xf_groupnorm_backward_add(x, gamma, mean, rstd, y, dy, NULL, dx, dgamma, dbeta, work, n, hw,
                              c, groups, relu);
}

/* Double vectors of 8 channels; the sums run on halves widened to double. */
#define GN_LANES 8
typedef double gn_wide __attribute__((vector_size(GN_LANES / 2 * sizeof(double))));
enum { GN_CHUNK = 64 };

#define REAL double
#define XF_NN_NAME(base) XF_NN_CAT(base, _f64)
#include "nn/groupnorm.inc"
#undef REAL
#undef XF_NN_NAME

void xf_groupnorm_backward_f64(const double *x, const double *gamma, const double *mean,
                               const double *rstd, const double *y, const double *dy,
                               double *dx, double *dgamma, double *dbeta, double *work, int n,
                               int hw, int c, int groups, bool relu) {
    xf_groupnorm_backward_add_f64(x, gamma, mean, rstd, y, dy, NULL, dx, dgamma, dbeta, work, n,
                                  hw, c, groups, relu);
}
