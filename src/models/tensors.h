/* What the families' build and init_weights share: filling the tensor table
 * (PyTorch state_dict names; each tensor follows the one before in the
 * parameter buffer, in table order) and the tap table, and the
 * initialisation the vit and mixer families share. */
#ifndef XF_MODELS_TENSORS_H
#define XF_MODELS_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "models/model.h"

/* A shape argument: XF_SHAPE(out, in). */
#define XF_SHAPE(...) ((const int[]){__VA_ARGS__})

/* Allocates m's tensor table for n_tensors and its tap tables for n_taps,
 * zeroed, and sets the counts. */
xf_status xf_tensors_alloc(xf_model *m, int n_tensors, int n_taps);

/* A table filled in order: the next tensor is at[n], `offset` floats into
 * its buffer. With at NULL only n and offset advance, so a family can size
 * its tables by running its build twice. */
typedef struct {
    xf_tensor_info *at;
    int n;
    size_t offset;
} xf_tensor_list;

/* Appends a tensor of ndim dimensions (0: a scalar) named by printf's fmt;
 * returns its index. */
int xf_tensors_add(xf_tensor_list *l, xf_param_group group, int ndim, const int *shape,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A layer's <name>.weight of ndim dimensions and its <name>.bias
 * [shape[0]]: a Linear ([out, in]), a norm ([c]), a conv with a bias
 * ([out, in, k, k]). Returns the weight's index. */
int xf_tensors_layer(xf_tensor_list *l, xf_param_group group, int ndim, const int *shape,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* timm's Mlp on `in` features: <name>.fc1 (in -> hidden), <name>.fc2
 * (hidden -> in), body group. */
void xf_tensors_mlp(xf_tensor_list *l, int in, int hidden, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets tap t's width and name (printf's fmt). */
void xf_tap_set(xf_model *m, int t, int dim, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Taps "block0" .. "block<blocks - 1>", then "prelogits" (tap `blocks`),
 * all `dim` wide. */
void xf_taps_blocks(xf_model *m, int blocks, int dim);

/* The Flax / big_vision initialisation (vit and mixer; the one the paper's
 * models were trained from), in table order from the seed: 4-D weights (the
 * patch embedding) lecun_normal (std 1/sqrt(fan_in), cut at 2 std),
 * pos_embed normal(1/sqrt(dim)), norms weight 1 and bias 0, other weights
 * xavier_uniform, MLP biases normal(1e-6), everything else 0. The head is
 * a weight like the others: xavier_uniform rather than big_vision's zeros,
 * so the blocks receive gradient on the first step. */
void xf_init_big_vision(xf_model *m, uint64_t seed);

#endif
