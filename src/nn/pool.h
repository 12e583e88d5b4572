/* Mean over a sequence's tokens (ViT with global average pooling, Mixer,
 * and the taps of both). Convolutional models pool in their own file. Each
 * function also exists as _f64 (double, same code). */
#ifndef XF_NN_POOL_H
#define XF_NN_POOL_H

/* x: [batch, tokens, dim], y: [batch, dim] (written): the mean over tokens
 * first..tokens-1 (first = 1 skips a class token). */
void xf_token_mean_forward(const float *x, float *y, int batch, int tokens, int first, int dim);
/* dy: [batch, dim], dx: [batch, tokens, dim] (written; 0 on tokens before
 * first). */
void xf_token_mean_backward(const float *dy, float *dx, int batch, int tokens, int first,
                            int dim);

void xf_token_mean_forward_f64(const double *x, double *y, int batch, int tokens, int first,
                               int dim);
void xf_token_mean_backward_f64(const double *dy, double *dx, int batch, int tokens, int first,
                                int dim);

#endif
