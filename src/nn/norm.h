/* Layer normalisation over the last axis (PyTorch's nn.LayerNorm(dim, eps)):
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, var the biased variance.
 * The forward keeps each row's mean and 1/sqrt(var + eps) for the backward.
 * Each function also exists as _f64 (double, same code). */
#ifndef XF_NN_NORM_H
#define XF_NN_NORM_H

/* x: [n, dim], gamma, beta: [dim], y: [n, dim] (may alias x),
 * mean, rstd: [n] (written). */
void xf_layernorm_forward(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd, int n, int dim, float eps);
/* x: [n, dim] (the forward's input), gamma: [dim], mean, rstd: [n] (from the
 * forward), dy: [n, dim], dx: [n, dim] (written; may alias dy),
 * dgamma, dbeta: [dim] (accumulated). */
void xf_layernorm_backward(const float *x, const float *gamma, const float *mean,
                           const float *rstd, const float *dy, float *dx, float *dgamma,
                           float *dbeta, int n, int dim);

void xf_layernorm_forward_f64(const double *x, const double *gamma, const double *beta,
                              double *y, double *mean, double *rstd, int n, int dim, double eps);
void xf_layernorm_backward_f64(const double *x, const double *gamma, const double *mean,
                               const double *rstd, const double *dy, double *dx,
                               double *dgamma, double *dbeta, int n, int dim);

#endif
