/* A study file: the space of pre-training runs and the probes every run
 * gets (docs/studies.md is the full reference).
 *
 *   name: quick                 # the study's folder: runs/<name>/
 *   upstream: fashion-mnist     # US task (grid)
 *   models:                     # one grid per entry
 *     - {family: mlp, width: [64, 256], depth: [1, 2]}
 *     - {family: vit, patch: 4, dim: [64, 128], depth: 4, heads: 4}
 *     - {family: vit, patch: 7, dim: 64, depth: 4, heads: 4,
 *        upstream: mnist, train: {head_wd: [0, 0.1, 1]}}  # entry overrides
 *   train:  {epochs, data_fraction | data_count, batch, lr, wd, head_lr,
 *            head_wd, warmup, seed, optimizer, momentum, decay, clip_norm,
 *            label_smoothing, crop_padding, flip, data_seed,
 *            augment_seed}                                       # each a grid
 *   search: grid                # or {method: random, samples: 40, seed: 0}
 *   downstream: {tasks: [...], shots: [...], draws, layers, test_limit, lambda}
 *
 * `model: {...}` (one mapping) is the same as a `models` list of one. Every
 * scalar of `upstream`, a model entry and `train` may be a list; the space
 * is, per model entry, the Cartesian product of its axes with upstream and
 * train, and the entries' spaces are concatenated. An entry's own
 * `upstream` replaces the study's for that entry, and each key of its own
 * `train` replaces the study's key (data_fraction and data_count replace
 * each other), so a sweep on one model does not multiply the others.
 * `downstream` is not a grid: every trial is probed on all its tasks at all
 * its shot counts.
 * Omitted train keys take the defaults of xf_train_config_default
 * (head_lr/head_wd: the body's values; data_seed/augment_seed: seed);
 * omitted downstream keys those of xf_probe_config_default. */
#ifndef XF_STUDY_CONFIG_H
#define XF_STUDY_CONFIG_H

#include <stddef.h>

#include "core/status.h"

enum {
    XF_STUDY_MAX_VALUES = 32, /* values per grid axis */
    XF_STUDY_MAX_TASKS = 16,  /* downstream tasks */
    XF_STUDY_NAME_LEN = 64,
    XF_STUDY_SHOTS_MAX = 16,  /* = XF_PROBE_MAX_SHOTS */
    XF_STUDY_MAX_MODELS = 16, /* entries of `models` */
    XF_STUDY_MAX_LAYERS = 64, /* = XF_PROBE_MAX_LAYERS */
    XF_STUDY_MAX_STAGES = 4,  /* resnet stages */
};

/* One grid axis; n == 0 means "not given" for the optional ones. Axes of
 * words (optimizer, pool, ...) hold each word's index in its setting's
 * list (core/setting.h). */
typedef struct {
    double v[XF_STUDY_MAX_VALUES];
    int n;
} xf_study_axis;

/* The training axes, given once under `train` and optionally again in a
 * model entry: one per row of xf_train_settings (train/train_settings.h),
 * in its order. The keys after seed are newer than the first studies: they
 * enter a trial's canonical config (and id) only when the file gives them,
 * so old ids stay. */
typedef struct {
    xf_study_axis epochs, data_fraction, data_count, batch, lr, wd, head_lr, head_wd, warmup,
        seed;
    xf_study_axis optimizer, momentum, decay, clip_norm, label_smoothing, crop_padding, flip,
        data_seed, augment_seed;
} xf_study_train;

/* One entry of `models`: a family and its grid. Only the family's own axes
 * are set (the parser rejects the others); optional ones left at n == 0
 * take the defaults listed in docs/studies.md. */
typedef struct {
    char family[16];
    int family_id;                          /* xf_family */
    xf_study_axis width, depth;             /* mlp; depth also vit, mixer */
    xf_study_axis patch, dim, heads, mlp_ratio, pool; /* vit; patch, dim also mixer */
    xf_study_axis token_mlp_dim, channel_mlp_dim;     /* mixer */
    xf_study_axis base_width, norm, block, stem;      /* resnet */
    int blocks[XF_STUDY_MAX_VALUES][XF_STUDY_MAX_STAGES]; /* resnet: blocks per stage */
    int n_stages[XF_STUDY_MAX_VALUES];                    /* stages of each blocks value */
    int n_blocks;                                         /* values of the blocks axis */
    /* The entry's own `upstream` and `train` keys, merged over the
     * study's: after parsing both hold what this entry's trials use. */
    char upstream[XF_STUDY_MAX_VALUES][XF_STUDY_NAME_LEN];
    int n_upstream;
    xf_study_train train;
} xf_study_model;

typedef enum { XF_SEARCH_GRID = 0, XF_SEARCH_RANDOM = 1 } xf_search_kind;

typedef struct {
    char name[XF_STUDY_NAME_LEN];
    char upstream[XF_STUDY_MAX_VALUES][XF_STUDY_NAME_LEN];
    int n_upstream;
    xf_study_model models[XF_STUDY_MAX_MODELS];
    int n_models;

    xf_study_train train;

    xf_search_kind search;
    int samples;               /* random search: trials drawn */
    unsigned long long search_seed;

    char ds_tasks[XF_STUDY_MAX_TASKS][XF_STUDY_NAME_LEN]; /* sorted by name */
    int n_ds_tasks;
    int shots[XF_STUDY_SHOTS_MAX];                         /* ascending */
    int n_shots;
    int draws;
    int test_limit;
    double lambda;
    int layers[XF_STUDY_MAX_LAYERS]; /* taps probed, sorted; < 0 counts from the end */
    int n_layers;                    /* 0: all */
} xf_study_config;

/* Parses the study YAML in text[0..len); `origin` (the file name) starts
 * every error message: "quick.yaml:7:12: model.width: expected ...". */
xf_status xf_study_config_parse(const char *text, size_t len, const char *origin,
                                xf_study_config *cfg);

/* Reads and parses a study file. */
xf_status xf_study_config_load(const char *path, xf_study_config *cfg);

#endif
