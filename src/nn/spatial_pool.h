/* Global average pooling over the spatial positions of NHWC activations
 * (the ResNet's head input and its taps). Each function also exists as
 * _f64 (double, same code). */
#ifndef XF_NN_SPATIAL_POOL_H
#define XF_NN_SPATIAL_POOL_H

/* x: [n, hw, c], y: [n, c] (written). */
void xf_spatial_mean_forward(const float *x, float *y, int n, int hw, int c);
/* dy: [n, c], dx: [n, hw, c] (written). */
void xf_spatial_mean_backward(const float *dy, float *dx, int n, int hw, int c);

void xf_spatial_mean_forward_f64(const double *x, double *y, int n, int hw, int c);
void xf_spatial_mean_backward_f64(const double *dy, double *dx, int n, int hw, int c);

#endif
