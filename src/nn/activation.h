/* Element-wise activations. GELU is the exact (erf) form, PyTorch's
 * nn.GELU() default: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
 * Each function also exists as _f64 (double, same code) and, for float, as
 * _ref: the plain scalar loop the vectorised float versions must match. */
#ifndef XF_NN_ACTIVATION_H
#define XF_NN_ACTIVATION_H

#include <stddef.h>

/* x, y: [n] (y may alias x). */
void xf_gelu_forward(const float *x, float *y, size_t n);
/* x: [n] (the forward's input), dy: [n], dx: [n] (written; may alias dy). */
void xf_gelu_backward(const float *x, const float *dy, float *dx, size_t n);

/* Fused bias + GELU, one pass instead of two: z[i, j] += b[j] (z keeps the
 * pre-activation for the backward), y = gelu(z). z, y: [n, dim], b: [dim]. */
void xf_bias_gelu_forward(float *z, const float *b, float *y, int n, int dim);

void xf_gelu_forward_ref(const float *x, float *y, size_t n);
void xf_gelu_backward_ref(const float *x, const float *dy, float *dx, size_t n);
void xf_bias_gelu_forward_ref(float *z, const float *b, float *y, int n, int dim);

void xf_bias_gelu_forward_f64(double *z, const double *b, double *y, int n, int dim);
void xf_gelu_forward_f64(const double *x, double *y, size_t n);
void xf_gelu_backward_f64(const double *x, const double *dy, double *dx, size_t n);

#endif
