/* Result files: how array workers on a cluster record trials without
 * touching the SQLite store (whose WAL mode must not be shared over a
 * network file system). Each finished (or failed) trial becomes one JSON
 * file, <study>/results/<trial id>.json, written to a temp file and renamed,
 * so a reader sees a whole file or none; `xfer merge` folds them into
 * study.db. The files stay as the record of the run: merging again changes
 * nothing.
 *
 *   {"id": ..., "study": ..., "config_json": "<canonical config>",
 *    "family": ..., "us_task": ..., "status": "finished"|"failed"|"diverged",
 *    "us_acc": ..., "params": ..., "flops_per_image": ..., "train_flops": ...,
 *    "seconds": ..., "error": null|"...", "finished_at": "2024-...Z",
 *    "probes": [{"ds_task", "layer", "layer_name", "n_layers", "shots",
 *                "draw", "acc"}, ...]} */
#ifndef XF_STUDY_RESULTS_H
#define XF_STUDY_RESULTS_H

#include "study/store.h"

/* Writes rec (finished_at: rec's, or now) and its probe rows to
 * results_dir/<rec->id>.json. */
xf_status xf_result_write(const char *results_dir, const xf_trial_record *rec,
                          const xf_probe_row *rows, int n);

/* The status recorded in results_dir/<id>.json; XF_TRIAL_ABSENT when there
 * is no such file. */
xf_status xf_result_status(const char *results_dir, const char *id, xf_trial_status *status);

typedef struct {
    int files;   /* result files found */
    int merged;  /* written into the store now */
    int skipped; /* the store already had them (or a finished record beats a failed file) */
    int bad;     /* unreadable: named in the log, left alone */
} xf_merge_summary;

/* Folds every JSON file of <study_dir>/results/ into <study_dir>/study.db: a
 * trial is written when the store lacks it, or has it failed and the file
 * says finished. Each trial in one transaction; idempotent. */
xf_status xf_study_merge(const char *study_dir, xf_merge_summary *summary);

#endif
