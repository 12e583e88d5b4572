/* The mixer family: MLP-Mixer with timm's parameter names (MlpMixer with
 * LayerNorm eps 1e-6, exact GELU, global average pooling).
 *
 * Tensors, in table order: stem.proj.weight [dim, C, p, p], stem.proj.bias,
 * then per block i: blocks.i.norm1.*, blocks.i.mlp_tokens.fc1.* ([token_mlp_dim,
 * N]), blocks.i.mlp_tokens.fc2.* ([N, token_mlp_dim]), blocks.i.norm2.*,
 * blocks.i.mlp_channels.fc1.* ([channel_mlp_dim, dim]),
 * blocks.i.mlp_channels.fc2.* ([dim, channel_mlp_dim]); then norm.*, head.*
 * (group head; everything else body). N = (H / p) * (W / p) patches.
 *
 * Taps: "block<i>" is block i's output averaged over the tokens,
 * "prelogits" the final norm's output averaged over the tokens (the head's
 * input). */
#ifndef XF_MODELS_MIXER_H
#define XF_MODELS_MIXER_H

#include "models/model.h"

extern const xf_model_ops xf_mixer_ops;

#endif
