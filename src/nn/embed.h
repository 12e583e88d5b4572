/* Patch embedding and the token sequence of a ViT / Mixer stem.
 *
 * Patch embedding is a Conv2d(C, dim, kernel p, stride p) (timm's
 * PatchEmbed.proj) computed as one sgemm over every patch of the batch:
 * each patch is gathered into a row in the weight's (c, ki, kj) order, so
 * the PyTorch weight [dim, C, p, p] is used as it is, a [dim, C*p*p] matrix.
 * Patches are numbered row-major over the (H/p) x (W/p) grid, as timm's
 * flatten(2).transpose(1, 2) numbers them.
 *
 * The token sequence prepends an optional class token and adds the learned
 * position embedding. Each function also exists as _f64 (same code). */
#ifndef XF_NN_EMBED_H
#define XF_NN_EMBED_H

#include <stdbool.h>

/* x: [batch, height, width, channels] (NHWC), height and width divisible by
 * patch; cols: [batch * N, channels * patch * patch] (written, kept for the
 * backward) with N = (height / patch) * (width / patch); w: [dim, channels,
 * patch, patch]; b: [dim]; y: [batch * N, dim] (written). */
void xf_patch_embed_forward(const float *x, float *cols, const float *w, const float *b, float *y,
                            int batch, int height, int width, int channels, int patch, int dim);
/* cols: from the forward, dy: [batch * N, dim], dw: [dim, channels * patch *
 * patch] and db: [dim] (accumulated). No input gradient: the input is the
 * image. rows = batch * N, k = channels * patch * patch. */
void xf_patch_embed_backward(const float *cols, const float *dy, float *dw, float *db, int rows,
                             int k, int dim);

/* patches: [batch, n, dim]; cls: [dim] or NULL; pos: [T, dim];
 * tokens: [batch, T, dim] (written) with T = n + 1 when cls is given (the
 * class token first), else n, when tokens may alias patches. */
void xf_tokens_forward(const float *patches, const float *cls, const float *pos, float *tokens,
                       int batch, int n, int dim);
/* dtokens: [batch, T, dim]; dpatches: [batch, n, dim] (written; may be NULL,
 * or alias dtokens when has_cls is false); dcls: [dim] (accumulated; used
 * when has_cls); dpos: [T, dim] (accumulated). */
void xf_tokens_backward(const float *dtokens, float *dpatches, float *dcls, float *dpos,
                        int batch, int n, int dim, bool has_cls);

void xf_patch_embed_forward_f64(const double *x, double *cols, const double *w, const double *b,
                                double *y, int batch, int height, int width, int channels,
                                int patch, int dim);
void xf_patch_embed_backward_f64(const double *cols, const double *dy, double *dw, double *db,
                                 int rows, int k, int dim);
void xf_tokens_forward_f64(const double *patches, const double *cls, const double *pos,
                           double *tokens, int batch, int n, int dim);
void xf_tokens_backward_f64(const double *dtokens, double *dpatches, double *dcls, double *dpos,
                            int batch, int n, int dim, bool has_cls);

#endif
