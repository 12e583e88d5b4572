/* The plan: a study's space expanded into trials. A trial's id is the
 * FNV-1a 64 hash of its canonical config (JSON, keys sorted, numbers in
 * shortest round-trip form, the downstream settings included) printed as
 * 16 hex digits. The study's name, the order of keys or list entries in the
 * file and the search method do not enter it, so adding a value to an axis
 * adds trials and keeps the ids, and with them the results, of the ones
 * already run; a random search draws from the same ids as the grid. */
#ifndef XF_STUDY_PLAN_H
#define XF_STUDY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/model.h"
#include "study/config.h"
#include "train/train.h"

enum { XF_TRIAL_ID_LEN = 17 }; /* 16 hex digits + NUL */

/* A trial pre-trains a model, or (checkpoint) probes an existing one:
 * then only id, upstream, checkpoint and config_json are set. */
typedef struct {
    char id[XF_TRIAL_ID_LEN];
    bool is_checkpoint;
    int checkpoint;        /* index into the study's checkpoints */
    char label[64];        /* a checkpoint's arch, or its file name, for logs */
    char upstream[XF_STUDY_NAME_LEN];
    char family[16];
    xf_model_config model; /* input shape and classes are 0: the task sets them */
    xf_train_config train; /* xf_train_config_default, then the trial's values */
    double data_fraction;  /* of the US training set */
    int data_count;        /* images of the US training set; 0: use data_fraction */
    char *config_json;     /* canonical config, owned */
} xf_trial;

typedef struct {
    xf_trial *trials;
    int n;
    double space; /* trials in the full grid (a random search draws from it), checkpoints
                     included */
} xf_plan;

/* Largest plan accepted; a bigger grid is almost surely a mistake (a
 * random search may draw from a larger space). */
enum { XF_PLAN_MAX_TRIALS = 1000000 };

/* Expands cfg: for a grid, every trial of every model entry in order
 * (upstream-major, seed fastest); for a random search, `samples` distinct
 * trials drawn with search_seed (more samples later keep the earlier ones
 * as a prefix). A trial listed by two model entries appears once. Then one
 * trial per checkpoint entry (never sampled), whose id hashes the
 * checkpoint's content, arch, image_size and settings, `us_acc: measure`, the
 * upstream and the downstream settings, but neither its path nor a US
 * accuracy the file gives (those may change without re-probing). cfg's
 * checkpoints must be resolved (xf_study_config_resolve). */
xf_status xf_plan_build(const xf_study_config *cfg, xf_plan *plan);
void xf_plan_free(xf_plan *plan);

/* FNV-1a 64 of a string, as 16 lower-case hex digits into id. */
void xf_trial_hash(const char *text, char id[XF_TRIAL_ID_LEN]);

/* A one-line summary of what varies, for logs and `xfer plan`:
 * "mlp w16 d1 | fashion-mnist 0.02 | 1 ep lr 0.003 seed 0". */
void xf_trial_describe(const xf_trial *t, char *buf, size_t size);

#endif
