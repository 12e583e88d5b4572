/* Multi-head scaled dot-product self-attention, the part of timm's
 * Attention between the qkv and proj linears:
 *   out_h = softmax(q_h k_h^T / sqrt(head_dim)) v_h  for each head h.
 * qkv rows are laid out as timm reshapes them: [3, heads, head_dim], so q, k
 * and v of head h start at h*head_dim, dim + h*head_dim, 2*dim + h*head_dim.
 * The work is sgemm on strided views of qkv, one small product per image
 * and head. Each function also exists as _f64 (double, same code). */
#ifndef XF_NN_ATTENTION_H
#define XF_NN_ATTENTION_H

/* qkv: [batch, tokens, 3*dim], probs: [batch, heads, tokens, tokens]
 * (written: the softmax weights, kept for the backward),
 * out: [batch, tokens, dim] (written; heads side by side). dim % heads == 0. */
void xf_attention_forward(const float *qkv, float *probs, float *out, int batch, int tokens,
                          int dim, int heads);
/* qkv, probs: from the forward, dout: [batch, tokens, dim],
 * dqkv: [batch, tokens, 3*dim] (written), scratch: [tokens, tokens]. */
void xf_attention_backward(const float *qkv, const float *probs, const float *dout, float *dqkv,
                           float *scratch, int batch, int tokens, int dim, int heads);

void xf_attention_forward_f64(const double *qkv, double *probs, double *out, int batch,
                              int tokens, int dim, int heads);
void xf_attention_backward_f64(const double *qkv, const double *probs, const double *dout,
                               double *dqkv, double *scratch, int batch, int tokens, int dim,
                               int heads);

#endif
