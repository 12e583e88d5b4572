/* Batch normalisation on NHWC activations (PyTorch's nn.BatchNorm2d(c, eps,
 * momentum) on the NCHW view), optionally fused with the ReLU after it as
 * timm's BatchNormAct2d: y = relu((x - mean[c]) * rstd[c] * gamma[c] +
 * beta[c]).
 *
 * Training: mean and the biased variance over the rows (images x spatial
 * positions) of the batch; running_mean and running_var (when not NULL)
 * move by `momentum` towards the batch mean and the unbiased variance
 * (var * rows / (rows - 1)), as PyTorch does. Evaluation: the running
 * statistics are the mean and variance, and the backward is the plain
 * per-channel affine map's. The forward writes the mean and
 * rstd = 1/sqrt(var + eps) it used for the backward; with relu the backward
 * reads the output y for the ReLU's mask. `work` is per-call scratch of 2 c
 * doubles (no allocation inside a training step). Each function also exists
 * as _f64 (double, same code). */
#ifndef XF_NN_BATCHNORM_H
#define XF_NN_BATCHNORM_H

#include <stdbool.h>

/* x: [rows, c], gamma, beta: [c], y: [rows, c] (written; may not alias x),
 * mean, rstd: [c] (written), running_mean, running_var: [c] (read in
 * evaluation, updated in training; may be NULL in training), work: [2 c]. */
void xf_batchnorm_forward(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd, float *running_mean, float *running_var,
                          double *work, int rows, int c, float eps, float momentum,
                          bool training, bool relu);
/* x: the forward's input, gamma: [c], mean, rstd: from the forward,
 * y: the forward's output (read only when relu), dy: [rows, c],
 * dx: [rows, c] (written; may alias dy), dgamma, dbeta: [c] (accumulated),
 * work: [2 c]. */
void xf_batchnorm_backward(const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *y, const float *dy, float *dx,
                           float *dgamma, float *dbeta, double *work, int rows, int c,
                           bool training, bool relu);

void xf_batchnorm_forward_f64(const double *x, const double *gamma, const double *beta,
                              double *y, double *mean, double *rstd, double *running_mean,
                              double *running_var, double *work, int rows, int c, double eps,
                              double momentum, bool training, bool relu);
void xf_batchnorm_backward_f64(const double *x, const double *gamma, const double *mean,
                               const double *rstd, const double *y, const double *dy,
                               double *dx, double *dgamma, double *dbeta, double *work,
                               int rows, int c, bool training, bool relu);

#endif
