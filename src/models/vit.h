/* The vit family: a Vision Transformer with timm's parameter names.
 *
 * It reproduces timm's VisionTransformer(img_size, patch_size, in_chans,
 * num_classes, embed_dim, depth, num_heads, mlp_ratio, qkv_bias=True,
 * norm_layer=LayerNorm(eps=1e-6), act_layer=GELU (erf)) in two configs:
 *   pool "cls": class_token=True,  global_pool='token'
 *   pool "gap": class_token=False, global_pool='avg', fc_norm=False
 * so the final LayerNorm is `norm` (applied to every token, then pooled) in
 * both; timm's default for 'avg' (fc_norm after pooling) is not this one.
 *
 * Tensors, in table order: patch_embed.proj.weight [dim, C, p, p],
 * patch_embed.proj.bias, pos_embed [1, T, dim] (T = patches, + 1 with cls),
 * cls_token [1, 1, dim] (cls only), then per block i: blocks.i.norm1.*,
 * blocks.i.attn.qkv.* ([3 dim, dim]), blocks.i.attn.proj.*, blocks.i.norm2.*,
 * blocks.i.mlp.fc1.*, blocks.i.mlp.fc2.*; then norm.*, head.* (group head;
 * everything else body).
 *
 * Taps: "block<i>" is block i's output averaged over the patch tokens (the
 * class token left out), "prelogits" the head's input: the final norm's
 * output pooled as the model pools (class token, or mean of all tokens). */
#ifndef XF_MODELS_VIT_H
#define XF_MODELS_VIT_H

#include "models/model.h"

extern const xf_model_ops xf_vit_ops;

/* The MLP hidden width of a config: round(dim * mlp_ratio). */
int xf_vit_mlp_hidden(const xf_model_config *c);

#endif
