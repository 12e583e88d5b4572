/* Weight standardisation as BiT's StdConv2d (timm's StdConv2d): each output
 * channel's weights are standardised, what = (w - mean) / sqrt(var + eps),
 * mean and the biased variance over its cin * k * k entries, before the
 * convolution uses them. The forward keeps each row's mean and rstd for
 * the backward, which maps d(what) to d(w). Each function also exists as
 * _f64 (double, same code). */
#ifndef XF_NN_WSTD_H
#define XF_NN_WSTD_H

/* timm's BiT models build StdConv2d with eps 1e-8 (BiT's own code used
 * 1e-10, timm's class default is 1e-6). */
#define XF_WSTD_EPS 1e-8

/* w: [rows, k] (a conv weight [cout, cin, kh, kw] has rows = cout,
 * k = cin kh kw), what: [rows, k] (written), mean, rstd: [rows] (written). */
void xf_wstd_forward(const float *w, float *what, float *mean, float *rstd, int rows, int k,
                     float eps);
/* what: the forward's output, rstd: from the forward, dwhat: [rows, k],
 * dw: [rows, k] (accumulated). */
void xf_wstd_backward(const float *what, const float *rstd, const float *dwhat, float *dw,
                      int rows, int k);

void xf_wstd_forward_f64(const double *w, double *what, double *mean, double *rstd, int rows,
                         int k, double eps);
void xf_wstd_backward_f64(const double *what, const double *rstd, const double *dwhat,
                          double *dw, int rows, int k);

#endif
