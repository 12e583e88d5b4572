/* Fully connected layer, PyTorch layout: y = x W^T + b.
 *
 * Backward accumulates the parameter gradients (dw, db: +=) and writes the
 * input gradient dx (=): an activation's gradient has one consumer here, so
 * accumulating it would only cost a memset. Each function also exists as
 * _f64 (double, same code) for gradient checks. */
#ifndef XF_NN_LINEAR_H
#define XF_NN_LINEAR_H

/* x: [n, in], w: [out, in], b: [out] (may be NULL), y: [n, out]. */
void xf_linear_forward(const float *x, const float *w, const float *b, float *y, int n, int in,
                       int out);
/* x: [n, in] (the forward's input), w: [out, in], dy: [n, out],
 * dx: [n, in] (written; may be NULL when not needed),
 * dw: [out, in] (accumulated), db: [out] (accumulated; may be NULL). */
void xf_linear_backward(const float *x, const float *w, const float *dy, float *dx, float *dw,
                        float *db, int n, int in, int out);

/* Row-wise bias: y[i, j] += b[j]. y: [n, dim], b: [dim]. */
void xf_bias_add(float *y, const float *b, int n, int dim);
/* db[j] += sum_i dy[i, j]. dy: [n, dim], db: [dim]. */
void xf_bias_backward(const float *dy, float *db, int n, int dim);

void xf_linear_forward_f64(const double *x, const double *w, const double *b, double *y, int n,
                           int in, int out);
void xf_linear_backward_f64(const double *x, const double *w, const double *dy, double *dx,
                            double *dw, double *db, int n, int in, int out);
void xf_bias_add_f64(double *y, const double *b, int n, int dim);
void xf_bias_backward_f64(const double *dy, double *db, int n, int dim);

#endif
