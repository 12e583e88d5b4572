/* A study file: the grid of pre-training runs and the probes every run gets.
 *
 *   name: quick                 # the study's folder: runs/<name>/
 *   upstream: fashion-mnist     # US task (grid)
 *   model:  {family: mlp, width: [64, 256], depth: [1, 2]}        # each a grid
 *   train:  {epochs, data_fraction, batch, lr, wd, head_lr, head_wd,
 *            warmup, seed}                                        # each a grid
 *   downstream: {tasks: [...], shots: [...], draws, test_limit, lambda}
 *
 * Every scalar of `upstream`, `model` and `train` may be a list; the plan is
 * their Cartesian product. `downstream` is not a grid: every trial is probed
 * on all its tasks at all its shot counts. Omitted train keys take the
 * defaults of xf_train_config_default (head_lr/head_wd: the body's values);
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
};

/* One grid axis; n == 0 means "not given" for the optional ones. */
typedef struct {
    double v[XF_STUDY_MAX_VALUES];
    int n;
} xf_study_axis;

typedef struct {
    char name[XF_STUDY_NAME_LEN];
    char upstream[XF_STUDY_MAX_VALUES][XF_STUDY_NAME_LEN];
    int n_upstream;
    char family[XF_STUDY_MAX_VALUES][16];
    int n_family;
    xf_study_axis width, depth;                      /* model.mlp */
    xf_study_axis epochs, data_fraction, batch, lr, wd, head_lr, head_wd, warmup, seed;

    char ds_tasks[XF_STUDY_MAX_TASKS][XF_STUDY_NAME_LEN]; /* sorted by name */
    int n_ds_tasks;
    int shots[XF_STUDY_SHOTS_MAX];                         /* ascending */
    int n_shots;
    int draws;
    int test_limit;
    double lambda;
} xf_study_config;

/* Parses the study YAML in text[0..len); `origin` (the file name) starts
 * every error message: "quick.yaml:7:12: model.width: expected ...". */
xf_status xf_study_config_parse(const char *text, size_t len, const char *origin,
                                xf_study_config *cfg);

/* Reads and parses a study file. */
xf_status xf_study_config_load(const char *path, xf_study_config *cfg);

#endif
