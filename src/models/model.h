/* The seam every model family plugs into.
 *
 * A model owns one contiguous parameter buffer and one gradient buffer of
 * the same size; each named tensor is a view (offset, shape) into them, with
 * a group (body or head) so the optimizer can apply head lr and head wd.
 * Activations live in an arena sized by xf_model_reserve() for a batch size,
 * so forward and backward never allocate.
 *
 * Taps: after a forward pass with taps enabled, xf_model_tap(m, t) is the
 * pooled output of tap t (each block's output, then the pre-logits last) as
 * batch x tap_dims[t] floats. The trainer and the probes use only this
 * interface. */
#ifndef XF_MODEL_H
#define XF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef enum {
    XF_FAMILY_MLP = 0,
    XF_FAMILY_VIT,
    XF_FAMILY_MIXER,
    XF_FAMILY_RESNET,
    XF_N_FAMILIES
} xf_family;

typedef enum { XF_POOL_GAP = 0, XF_POOL_CLS = 1 } xf_vit_pool;
typedef enum { XF_NORM_GROUP_WS = 0, XF_NORM_BATCH = 1 } xf_resnet_norm;
typedef enum { XF_BLOCK_BASIC = 0, XF_BLOCK_BOTTLENECK = 1 } xf_resnet_block;
typedef enum { XF_STEM_SMALL = 0, XF_STEM_BIT = 1 } xf_resnet_stem;

typedef struct {
    xf_family family;
    int height, width, channels; /* input image shape */
    int n_classes;
    struct {
        int width; /* hidden units per block */
        int depth; /* number of hidden blocks (Linear + GELU) */
    } mlp;
    struct {
        int patch, dim, depth, heads;
        double mlp_ratio;  /* MLP hidden = round(dim * mlp_ratio) */
        xf_vit_pool pool;
        /* Variants of timm's VisionTransformer that only imported checkpoints
         * have (zoo/import.c sets them). They are not settings: xfer's own
         * models, study files and config JSON keep them all false. */
        bool gap_class_token;  /* pool gap with a class token in the sequence (not pooled) */
        bool no_qkv_bias;      /* attn.qkv without a bias */
        bool layer_scale;      /* blocks.i.ls1.gamma, ls2.gamma scale each branch */
        bool fc_norm;          /* LayerNorm after pooling (fc_norm.*) instead of `norm` before */
        bool class_token_taps; /* a "block<i>_cls" tap (the class token) after each block's */
    } vit;
    struct {
        int patch, dim, depth, token_mlp_dim, channel_mlp_dim;
    } mixer;
    struct {
        int stages;        /* 1 to 4 */
        int blocks[4];     /* blocks per stage */
        int base_width;    /* the stem's channels and stage 0's (inner) width; doubled each stage */
        xf_resnet_norm norm;
        xf_resnet_block block; /* bottleneck blocks output 4 x their inner width */
        xf_resnet_stem stem;
    } resnet;
} xf_model_config;

typedef enum { XF_GROUP_BODY = 0, XF_GROUP_HEAD = 1 } xf_param_group;

enum { XF_MAX_DIMS = 4, XF_NAME_LEN = 96 };

typedef struct {
    char name[XF_NAME_LEN]; /* PyTorch state_dict name, e.g. "blocks.0.fc.weight" */
    size_t offset;          /* into params / grads, in floats */
    size_t numel;
    int ndim;
    int shape[XF_MAX_DIMS]; /* PyTorch layout: Linear weight is [out, in] */
    xf_param_group group;
} xf_tensor_info;

typedef struct xf_model xf_model;

/* What a family implements; model.c does the rest (the activation arena,
 * the batch checks, the double-precision loss). The passes are written once
 * over REAL (a family's *_pass.inc) and instantiated for float (the model)
 * and double (xf_model_loss_f64), so each comes twice. Their arguments:
 * p: n_params in the tensor table's layout; g: n_params, accumulated;
 * state: n_state (NULL: in training, leave the running statistics alone);
 * x: batch x H x W x C; arena: arena_size(m, batch) elements, laid out by
 * the family for this batch; logits and dlogits: batch x n_classes;
 * taps: NULL, or n_taps pointers that forward sets to where it left each
 * tap's batch x tap_dims[t] rows (it computes the block taps only then).
 * backward gets the p, x, batch and arena of the forward before it. */
typedef struct {
    /* Fills the tensor table, tap table and flops for m->config (models/tensors.h
     * has the helpers); may set m->impl. */
    xf_status (*build)(xf_model *m);
    /* Default initialisation of every parameter from the seed. */
    void (*init_weights)(xf_model *m, uint64_t seed);
    /* Elements (floats, or doubles for the double instance) of activations
     * the passes need for `batch` images. */
    size_t (*arena_size)(const xf_model *m, int batch);
    void (*forward)(const xf_model *m, const float *p, float *state, const float *x, int batch,
                    float *arena, float *logits, float **taps);
    void (*backward)(const xf_model *m, const float *p, float *g, const float *x, int batch,
                     float *arena, const float *dlogits);
    void (*forward_f64)(const xf_model *m, const double *p, double *state, const double *x,
                        int batch, double *arena, double *logits, double **taps);
    void (*backward_f64)(const xf_model *m, const double *p, double *g, const double *x,
                         int batch, double *arena, const double *dlogits);
    /* Frees m->impl and what build allocated besides the tables (NULL if
     * nothing). */
    void (*free_impl)(xf_model *m);
} xf_model_ops;

struct xf_model {
    xf_model_config config;
    const xf_model_ops *ops;
    float *params;          /* n_params; another model's when params_shared */
    float *grads;           /* n_params */
    size_t n_params;
    xf_tensor_info *tensors;
    int n_tensors;
    int n_taps;
    int *tap_dims;          /* n_taps */
    char (*tap_names)[32];  /* n_taps, e.g. "block0", "prelogits" */
    double flops_per_image; /* forward, multiply-add counted as 2 */
    int reserved_batch;
    float *arena;           /* ops->arena_size(m, reserved_batch) floats */
    float **tap_rows;       /* n_taps: the last forward's taps (NULL without taps) */
    const float *last_x;    /* the last forward's input (the caller's, for the backward) */
    int last_batch;         /* of the last forward; 0 before any */
    bool taps_enabled;
    bool training;          /* batch statistics for BatchNorm; set by the trainer */
    /* Inference only (feature extraction): the passes keep no activation for
     * a backward, so each block's buffers overwrite the block's before it and
     * the arena holds one block's worth instead of depth's (ViT-B/16 at batch
     * 32: 0.43 GB instead of 4.7). Set it before xf_model_reserve;
     * xf_model_backward is refused while a pass would run forward only
     * (xf_model_forward_only). */
    bool forward_only;
    bool arena_forward_only; /* the arena was sized for forward-only passes */
    bool params_shared;     /* params belong to the model this one copies */
    void *impl;             /* the family's own state (shapes), if it keeps any */
    /* Non-trainable tensors (BatchNorm's running_mean, running_var and
     * num_batches_tracked, the last of shape [] and kept as a float): named
     * views into `state` as the parameters are into `params`; checkpoints
     * save and load them with the parameters, optimizers never see them.
     * Allocated and freed by the family; NULL / 0 when it has none. */
    float *state;           /* n_state */
    size_t n_state;
    xf_tensor_info *state_tensors;
    int n_state_tensors;
};

/* Builds the model for cfg: tensor table, parameter and gradient buffers
 * (zeroed), taps. Weights are set by xf_model_init_weights or a checkpoint. */
xf_status xf_model_init(xf_model *m, const xf_model_config *cfg);
void xf_model_free(xf_model *m);

/* A model of m's config that reads m's parameters (m keeps them; m must
 * outlive it) and has its own gradients, activations and taps, in m's
 * forward_only mode: one slice
 * of a batch split over threads (models/replicas.h). Models with state
 * (BatchNorm's running statistics) are not shared. */
xf_status xf_model_init_sharing(xf_model *copy, const xf_model *m);

void xf_model_init_weights(xf_model *m, uint64_t seed);
/* Sizes the arena for batches up to `batch` in m->forward_only's mode; a
 * larger arena, or a full one when forward_only is set, is kept. */
xf_status xf_model_reserve(xf_model *m, int batch);

/* Whether m's passes keep nothing for a backward: forward_only is set, or
 * the arena was reserved that way (a forward after feature extraction runs
 * in the arena it left). The families lay out their arena by this. */
static inline bool xf_model_forward_only(const xf_model *m) {
    return m->forward_only || m->arena_forward_only;
}
void xf_model_forward(xf_model *m, const float *x, int batch, float *logits);
void xf_model_backward(xf_model *m, const float *dlogits, int batch);
void xf_model_zero_grad(xf_model *m);
const float *xf_model_tap(const xf_model *m, int t);

/* Mean cross-entropy of the double instance of the model's passes at
 * `params` (n_params doubles in m's layout) on x: [batch, H, W, C], in
 * m->training's mode (BatchNorm: batch statistics with the running ones
 * left as they are, or a double copy of m->state); when grads is not NULL,
 * adds d(loss)/d(params) into it. For gradient checks: it allocates its
 * own activations, and m's parameters, state and arena stay as they are. */
xf_status xf_model_loss_f64(const xf_model *m, const double *params, const double *x,
                            const int32_t *labels, int batch, double *loss, double *grads);

/* Looks a tensor up by name (NULL if none). */
const xf_tensor_info *xf_model_find_tensor(const xf_model *m, const char *name);

/* The config as a JSON object (a new string, caller frees), and back.
 * Parsing names the offending field on error. */
char *xf_model_config_to_json(const xf_model_config *cfg);
xf_status xf_model_config_from_json(const char *json, xf_model_config *cfg);

/* The checks that need no image: every setting in its range, and the
 * settings that depend on each other (vit heads divides dim, resnet's last
 * stage at most 4096 channels). A study's plan runs them on every trial. */
xf_status xf_model_config_check_settings(const xf_model_config *cfg);

/* cfg with the family's default settings (docs/models.md lists them) and
 * no image shape or classes yet. */
void xf_model_config_default(xf_model_config *cfg, xf_family f);

const char *xf_family_name(xf_family f);
xf_status xf_family_parse(const char *name, xf_family *f);

#endif
