/* The results store: one SQLite file per study (runs/<study>/study.db), in
 * WAL mode. A trial is written in one transaction when it ends (its row and
 * all its probe rows), so a killed study loses at most the trials in flight
 * and a re-run skips what is done.
 *
 * Schema:
 *   trials(id TEXT PRIMARY KEY, study TEXT, config_json TEXT, family TEXT,
 *          us_task TEXT, status TEXT  -- 'finished' | 'failed' | 'diverged'
 *          us_acc REAL, params INTEGER, flops_per_image REAL,
 *          train_flops REAL, seconds REAL, error TEXT, finished_at TEXT)
 *   probes(trial_id TEXT, ds_task TEXT, layer INTEGER, layer_name TEXT,
 *          n_layers INTEGER, shots INTEGER, draw INTEGER, acc REAL,
 *          PRIMARY KEY (trial_id, ds_task, layer, shots, draw))
 */
#ifndef XF_STORE_H
#define XF_STORE_H

#include "core/status.h"

typedef struct xf_store xf_store;

/* Opens (creating the file and schema if needed) the store at path. */
xf_status xf_store_open(const char *path, xf_store **out);
void xf_store_close(xf_store *store);

/* One finished model's accuracies for one (DS task, shots) pair, at the
 * last layer (the pre-logits), averaged over draws. */
typedef struct {
    char trial_id[24];
    char family[16];
    double us_acc;   /* [0, 1] */
    double ds_acc;   /* [0, 1], mean over draws */
    double params;
} xf_point;

typedef struct {
    char ds_task[64];
    int shots;
    xf_point *points;
    int n_points;
} xf_point_set;

/* Every (ds_task, shots) pair of the finished trials, ordered by task then
 * shots, each with its points ordered by US accuracy. */
xf_status xf_store_points(xf_store *store, xf_point_set **sets, int *n_sets);
void xf_point_sets_free(xf_point_set *sets, int n_sets);

#endif
