/* A linear layer across tokens instead of channels (the Mixer's token MLP):
 * for each image, y_b = W x_b + b 1^T, x_b: [n_in, dim] -> y_b: [n_out, dim].
 * timm computes it as a Linear(n_in, n_out) on the transposed [dim, n_in]
 * sequence; multiplying from the left keeps the [tokens, dim] layout and
 * skips two transposes. Same PyTorch weight layout [n_out, n_in]. Each
 * function also exists as _f64 (double, same code). */
#ifndef XF_NN_TOKENMIX_H
#define XF_NN_TOKENMIX_H

/* x: [batch, n_in, dim], w: [n_out, n_in], b: [n_out], y: [batch, n_out, dim]. */
void xf_token_linear_forward(const float *x, const float *w, const float *b, float *y, int batch,
                             int n_in, int n_out, int dim);
/* x: the forward's input, dy: [batch, n_out, dim], dx: [batch, n_in, dim]
 * (written; may be NULL), dw: [n_out, n_in], db: [n_out] (accumulated). */
void xf_token_linear_backward(const float *x, const float *w, const float *dy, float *dx,
                              float *dw, float *db, int batch, int n_in, int n_out, int dim);

void xf_token_linear_forward_f64(const double *x, const double *w, const double *b, double *y,
                                 int batch, int n_in, int n_out, int dim);
void xf_token_linear_backward_f64(const double *x, const double *w, const double *dy, double *dx,
                                  double *dw, double *db, int batch, int n_in, int n_out,
                                  int dim);

#endif
