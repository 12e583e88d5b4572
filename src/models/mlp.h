/* The mlp family: flatten H x W x C, then `depth` blocks of Linear(width) +
 * GELU, then a Linear head to n_classes.
 *
 * Tensor names are the state_dict of this PyTorch module, so a checkpoint
 * loads into it with load_state_dict:
 *
 *   class Block(nn.Module):  # self.fc = nn.Linear(d_in, width); forward: gelu(fc(x))
 *   class MLP(nn.Module):    # self.blocks = nn.ModuleList([Block, ...])
 *                            # self.head = nn.Linear(width, n_classes)
 *
 *   blocks.{i}.fc.weight [width, d_in]   blocks.{i}.fc.bias [width]   (body group)
 *   head.weight [n_classes, width]       head.bias [n_classes]        (head group)
 *
 * with d_in = H*W*C for block 0 and width after. Taps are the block outputs
 * (after GELU): "block0" .. "block{depth-2}", and the last block's output,
 * which is the pre-logits, named "prelogits". */
#ifndef XF_MLP_H
#define XF_MLP_H

#include "models/model.h"

extern const xf_model_ops xf_mlp_ops;

#endif
