/* The resnet family: timm's pre-activation ResNetV2 with its parameter
 * names (docs/models.md has the mapping), for small images by default and
 * BiT with block "bottleneck" and stem "bit".
 *
 * Stem: "small", stem.conv (3x3, stride 1, pad 1, C -> base_width; no
 * pooling); "bit", stem.conv 7x7 stride 2 pad 3, then zero padding of 1 and
 * a 3x3 stride-2 max pool (timm's stem_type 'fixed'). Then `stages` stages
 * of blocks[s] pre-activation blocks of width w = base_width * 2^s, the
 * stride 2 in block 0 of stages s > 0:
 *   basic (timm's PreActBasic): a = relu(norm1(x));
 *     y = conv2(relu(norm2(conv1(a)))) + shortcut, conv1 3x3 with the
 *     stride, conv2 3x3, output w;
 *   bottleneck (PreActBottleneck): a = relu(norm1(x));
 *     y = conv3(relu(norm3(conv2(relu(norm2(conv1(a))))))) + shortcut,
 *     conv1 1x1 to w, conv2 3x3 with the stride, conv3 1x1 to 4 w;
 * shortcut = downsample.conv(a) (1x1, same stride) when the block changes
 * width or size, else x. Then norm (+ ReLU), global average pool and
 * head.fc (timm's 1x1 conv head: weight [classes, width, 1, 1] + bias).
 *
 * norm "group_ws": GroupNorm with gcd(32, channels) groups (32 as BiT, and for
 * narrower layers the most groups of equal power-of-two size that divide
 * the channels), eps 1e-5, and every conv weight-standardised (StdConv2d,
 * eps XF_WSTD_EPS). norm "batch": BatchNorm (eps 1e-5, momentum 0.1) with
 * plain convs; in m->training the batch statistics are used and the running
 * statistics in m->state are updated, otherwise the running ones are used.
 *
 * Tensors, in table order: stem.conv.weight; per block
 * stages.s.blocks.j.{downsample.conv.weight (when it has one), norm1.weight,
 * norm1.bias, conv1.weight, norm2.weight, norm2.bias, conv2.weight, and for
 * a bottleneck norm3.weight, norm3.bias, conv3.weight}; then norm.weight,
 * norm.bias, head.fc.weight, head.fc.bias (group head; the rest body). With
 * BatchNorm, m->state holds for every norm its <norm>.running_mean,
 * <norm>.running_var and <norm>.num_batches_tracked.
 *
 * Taps: "s<s>b<j>" is block j of stage s's output averaged over space;
 * "prelogits" the head's input (the final norm + ReLU, averaged).
 *
 * xf_resnet_family.from_timm reads a timm ResNetV2 state_dict's names and
 * shapes into a config (docs/models.md, "From a timm checkpoint"). */
#ifndef XF_MODELS_RESNET_H
#define XF_MODELS_RESNET_H

#include "models/model.h"

extern const xf_model_ops xf_resnet_ops;

/* Groups of the GroupNorm over `channels` channels: gcd(32, channels). */
int xf_resnet_groups(int channels);

#endif
