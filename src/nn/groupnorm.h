/* Group normalisation on NHWC activations (PyTorch's nn.GroupNorm(groups,
 * channels, eps) on the NCHW view), optionally fused with the ReLU after it
 * as timm's GroupNormAct: y = relu((x - mean) * rstd * gamma[c] + beta[c]),
 * mean and the biased variance taken per image over the spatial positions
 * and the channels/groups channels of the group. The forward keeps each
 * (image, group)'s mean and rstd = 1/sqrt(var + eps) for the backward; with
 * relu the backward reads the output y for the ReLU's mask. `work` is
 * per-call scratch of 3 c doubles (no allocation inside a training step).
 * Each function also exists as _f64 (double, same code). */
#ifndef XF_NN_GROUPNORM_H
#define XF_NN_GROUPNORM_H

#include <stdbool.h>

/* x: [n, hw, c], gamma, beta: [c], y: [n, hw, c] (written; may not alias
 * x), mean, rstd: [n, groups] (written), work: [3 c]. groups divides c. */
void xf_groupnorm_forward(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd, double *work, int n, int hw, int c, int groups,
                          float eps, bool relu);
/* x: the forward's input, gamma: [c], mean, rstd: from the forward,
 * y: the forward's output (read only when relu), dy: [n, hw, c],
 * dx: [n, hw, c] (written; may alias dy), dgamma, dbeta: [c] (accumulated),
 * work: [3 c]. */
void xf_groupnorm_backward(const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *y, const float *dy, float *dx,
                           float *dgamma, float *dbeta, double *work, int n, int hw, int c,
                           int groups, bool relu);
/* As xf_groupnorm_backward, with dx = the input gradient + res (res: [n,
 * hw, c], a gradient that reaches x another way, as a residual's; NULL:
 * none; may be dx itself). */
void xf_groupnorm_backward_add(const float *x, const float *gamma, const float *mean,
                               const float *rstd, const float *y, const float *dy,
                               const float *res, float *dx, float *dgamma, float *dbeta,
                               double *work, int n, int hw, int c, int groups, bool relu);

void xf_groupnorm_forward_f64(const double *x, const double *gamma, const double *beta,
                              double *y, double *mean, double *rstd, double *work, int n,
                              int hw, int c, int groups, double eps, bool relu);
void xf_groupnorm_backward_f64(const double *x, const double *gamma, const double *mean,
                               const double *rstd, const double *y, const double *dy,
                               double *dx, double *dgamma, double *dbeta, double *work, int n,
                               int hw, int c, int groups, bool relu);
void xf_groupnorm_backward_add_f64(const double *x, const double *gamma, const double *mean,
                                   const double *rstd, const double *y, const double *dy,
                                   const double *res, double *dx, double *dgamma,
                                   double *dbeta, double *work, int n, int hw, int c,
                                   int groups, bool relu);

#endif
