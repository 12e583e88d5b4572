/* Max pooling over k x k windows of NHWC activations, with the input
 * zero-padded first: BiT's stem (timm's stem_type 'fixed':
 * nn.ConstantPad2d(1, 0) then nn.MaxPool2d(3, stride 2)), where the
 * padding zeros take part in the max, unlike MaxPool2d's own -inf padding.
 * Ties go to the first position in row-major window order, as PyTorch's
 * CPU kernel; a window whose max is a padding zero passes no gradient.
 * Each function also exists as _f64 (double, same code). */
#ifndef XF_NN_MAXPOOL_H
#define XF_NN_MAXPOOL_H

/* Output side for an input side of `size`: (size + 2 pad - k) / stride + 1. */
int xf_maxpool_out(int size, int k, int stride, int pad);

/* x: [n, h, w, c], y: [n, oh, ow, c] (written), oh and ow from
 * xf_maxpool_out. */
void xf_maxpool_zeropad_forward(const float *x, float *y, int n, int h, int w, int c, int k,
                                int stride, int pad);
/* x: the forward's input, dy: [n, oh, ow, c], dx: [n, h, w, c] (written):
 * each output's gradient goes to the input its max came from (the window
 * is searched again in x rather than remembered). */
void xf_maxpool_zeropad_backward(const float *x, const float *dy, float *dx, int n, int h, int w,
                                 int c, int k, int stride, int pad);

void xf_maxpool_zeropad_forward_f64(const double *x, double *y, int n, int h, int w, int c,
                                    int k, int stride, int pad);
void xf_maxpool_zeropad_backward_f64(const double *x, const double *dy, double *dx, int n, int h,
                                     int w, int c, int k, int stride, int pad);

#endif
