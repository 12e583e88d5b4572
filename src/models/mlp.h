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

#include <stdint.h>

#include "models/model.h"

extern const xf_model_ops xf_mlp_ops;

/* The loss (mean softmax cross-entropy) of an mlp model at `params`, and
 * its gradient, in double precision. It runs the same generic forward and
 * backward code as the float model (mlp.c instantiates it for both types),
 * so gradient checks can use central differences free of float rounding.
 * params: m->n_params doubles in m's tensor layout; x: [batch, H*W*C];
 * grads: m->n_params doubles, accumulated (may be NULL to skip backward).
 * Allocates its own scratch: not for the training loop. */
xf_status xf_mlp_loss_f64(const xf_model *m, const double *params, const double *x,
                          const int32_t *labels, int batch, double *loss, double *grads);

#endif
