/* The results store: one SQLite file per study (runs/<study>/study.db), in
 * WAL mode. A trial is written in one transaction when it ends (its row and
 * all its probe rows), so a killed study loses at most the trials in flight
 * and a re-run skips what is done.
 *
 * Schema:
 *   trials(id TEXT PRIMARY KEY, study TEXT, config_json TEXT, family TEXT,
 *          us_task TEXT, status TEXT  -- 'finished' | 'failed' | 'diverged'
 *          us_acc REAL, params INTEGER, flops_per_image REAL,
 *          train_flops REAL, seconds REAL, error TEXT, finished_at TEXT,
 *          resolution INTEGER  -- the model's input side in pixels; NULL: unknown)
 *   probes(trial_id TEXT, ds_task TEXT, layer INTEGER, layer_name TEXT,
 *          n_layers INTEGER, shots INTEGER, draw INTEGER, acc REAL,
 *          PRIMARY KEY (trial_id, ds_task, layer, shots, draw))
 *   claims(trial_id TEXT PRIMARY KEY, run TEXT, host TEXT, pid INTEGER,
 *          pid_start INTEGER, claimed_at TEXT)   -- who runs a trial now
 *   meta(key TEXT PRIMARY KEY, value TEXT)       -- planned, run_started, run_ended, ...
 */
#ifndef XF_STORE_H
#define XF_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"

typedef struct xf_store xf_store;

/* Opens (creating the file and schema if needed) the store at path, to
 * write it; where it cannot be written, the message says so. */
xf_status xf_store_open(const char *path, xf_store **out);
/* Opens an existing store to read it (status, export, plan, fit, report):
 * also from read-only media or without write permission, where it is
 * opened read-only (see study/store_open.h). */
xf_status xf_store_open_read(const char *path, xf_store **out);
void xf_store_close(xf_store *store);

/* One finished model's accuracies for one (DS task, shots) pair, at the
 * last layer (the pre-logits), averaged over draws; us_acc is on the test
 * set of the model's own US task. */
typedef struct {
    char trial_id[24];
    char family[16];
    double us_acc;   /* [0, 1] */
    double ds_acc;   /* [0, 1], mean over draws */
    double params;
    int draws;         /* few-shot draws averaged (0: unknown, e.g. a CSV file) */
    double ds_draw_sd; /* sample sd of the DS accuracy over those draws (0 for one) */
} xf_point;

/* The points of one (US task, DS task, shots): US accuracies of different
 * US tasks are measured on different test sets, so a set never mixes them. */
typedef struct {
    char us_task[64]; /* "" for points that name none (a CSV file) */
    char ds_task[64];
    int shots;
    xf_point *points;
    int n_points;
    int ds_test_size; /* images in the DS test set (0: unknown; the analysis fills it) */
} xf_point_set;

/* Every (us_task, ds_task, shots) of the finished trials, each with its
 * points ordered by US accuracy. Sets are ordered by US task (the one with
 * the most finished trials first, ties by name), then DS task, then shots. */
xf_status xf_store_points(xf_store *store, xf_point_set **sets, int *n_sets);
void xf_point_sets_free(xf_point_set *sets, int n_sets);

/* What the store knows of a trial. */
typedef enum {
    XF_TRIAL_ABSENT = 0, /* never recorded */
    XF_TRIAL_FINISHED,
    XF_TRIAL_FAILED,
    XF_TRIAL_DIVERGED,
} xf_trial_status;

/* "finished", "failed", "diverged" ("absent" for XF_TRIAL_ABSENT). */
const char *xf_trial_status_name(xf_trial_status status);

xf_status xf_store_trial_status(xf_store *store, const char *id, xf_trial_status *status);

/* One trial's row. Strings are borrowed; error may be NULL. */
typedef struct {
    const char *id;
    const char *study;
    const char *config_json;
    const char *family;
    const char *us_task;
    xf_trial_status status;
    double us_acc;
    long long params;
    double flops_per_image;
    double train_flops;
    double seconds;
    const char *error;
    const char *finished_at; /* ISO 8601 UTC; NULL: now (a merge keeps the worker's time) */
    int resolution;          /* the model's input height in pixels; 0: unknown */
} xf_trial_record;

/* One probe accuracy of a trial. */
typedef struct {
    const char *ds_task;
    int layer;
    const char *layer_name;
    int n_layers;
    int shots;
    int draw;
    double acc;
} xf_probe_row;

/* Writes the trial row and its n probe rows in one transaction, replacing
 * any earlier record of the same trial (a re-run of a failed one) and its
 * probes. finished_at is the record's, or the current UTC time. */
xf_status xf_store_write_trial(xf_store *store, const xf_trial_record *record,
                               const xf_probe_row *probes, int n);

/* Sets the US accuracy of a finished trial whose stored value differs (a
 * checkpoint's US accuracy the study file or its results table changed);
 * *changed tells whether it did. */
xf_status xf_store_update_us_acc(xf_store *store, const char *id, double us_acc, bool *changed);

/* A stored trial's row, as read back (fixed-size copies). */
typedef struct {
    xf_trial_status status;
    char family[16];
    char us_task[64];
    double us_acc;
    long long params;
    double seconds;
    char finished_at[32];
    char error[256];
} xf_trial_info;

/* XF_ENOTFOUND when the trial is not in the store. */
xf_status xf_store_trial_get(xf_store *store, const char *id, xf_trial_info *info);

/* Number of trials with the given status (or all, for XF_TRIAL_ABSENT),
 * and of probe rows. */
xf_status xf_store_count(xf_store *store, xf_trial_status status, long long *trials,
                         long long *probes);

/* ---- Claims, meta and export (study runner and CLI; store.c) ---- */

/* A process that claims trials: its study run, host and process (pid plus
 * its start time, so a reused pid is not mistaken for the claimant). */
typedef struct {
    char run[40];
    char host[64];
    long long pid, pid_start;
} xf_claimant;

/* This process, as a claimant of `run`. */
void xf_claimant_self(xf_claimant *who, const char *run);

typedef enum {
    XF_CLAIM_TAKEN = 0, /* the caller runs it now */
    XF_CLAIM_DONE,      /* finished, failed/diverged (without retry), or taken by this run */
    XF_CLAIM_BUSY,      /* a live process of another run on this host runs it */
    XF_CLAIM_ELSEWHERE, /* claimed from another host: cannot tell if it lives */
} xf_claim_result;

/* In one transaction: looks at the trial's record and claim and takes it
 * for `who` when it is neither done nor held. A claim whose process is
 * gone (killed, crashed) is taken over. */
xf_status xf_store_claim(xf_store *store, const char *id, const xf_claimant *who,
                         bool retry_failed, xf_claim_result *result);

/* Deletes the claims of `run` and those on finished trials (at the end of
 * a run). */
xf_status xf_store_release_run(xf_store *store, const char *run);

/* Trials held by live processes now. */
xf_status xf_store_live_claims(xf_store *store, long long *n);

/* A key/value of the study, replaced on each write. */
xf_status xf_store_set_meta(xf_store *store, const char *key, const char *value);
/* "" when the key is absent. */
xf_status xf_store_get_meta(xf_store *store, const char *key, char *value, size_t size);

/* Where a study stands, for progress lines and `xfer status`. */
typedef struct {
    long long planned;        /* from meta "planned" (0: unknown) */
    long long finished, failed, diverged, probes;
    long long in_flight;      /* live claims */
    long long run_done;       /* trials recorded since meta "run_started" */
    double run_seconds;       /* from meta "run_started" to meta "run_ended" (now while
                                 trials are in flight; the last record of a killed run;
                                 0: no run recorded) */
} xf_store_progress;

xf_status xf_store_progress_get(xf_store *store, xf_store_progress *p);

/* One result row: column names and values as text (NULL for SQL NULL);
 * is_number tells which are numbers. Returning non-OK stops the query. */
typedef xf_status (*xf_store_row_fn)(void *ctx, int n, const char *const *names,
                                     const char *const *values, const bool *is_number);

/* Runs a read-only SELECT with at most one text parameter (?1; NULL for
 * none) and calls row for each result row. */
xf_status xf_store_select(xf_store *store, const char *sql, const char *param,
                          xf_store_row_fn row, void *ctx);

/* ---- Read-only queries for the analysis (src/study/store_query.c) ----
 * They open their own read-only connection to the store file, so a report
 * can read while a study writes (WAL). */

/* One trial row as the analysis reads it. */
typedef struct {
    char id[24];
    char family[16];
    char us_task[64];
    char *config_json; /* owned by the table; "" when NULL in the store */
    xf_trial_status status;
    double us_acc, params, flops_per_image, train_flops, seconds;
    double resolution; /* input height in pixels; NaN: unknown (older stores) */
} xf_trial_full;

/* One (trial, DS task, layer, shots) accuracy, averaged over draws. */
typedef struct {
    int trial; /* index into the table's trials */
    char ds_task[64];
    int layer, n_layers, shots, draws;
    double acc;
} xf_probe_mean;

typedef struct {
    xf_trial_full *trials; /* every trial, any status, ordered by id */
    int n_trials;
    xf_probe_mean *probes; /* finished trials only, by trial, task, shots, layer */
    int n_probes;
} xf_study_table;

/* Reads every trial and the per-layer mean probe accuracies of the store
 * file at path. Free with xf_study_table_free. */
xf_status xf_store_read_table(const char *path, xf_study_table *table);
void xf_study_table_free(xf_study_table *table);
/* Index of the trial with this id, or -1. */
int xf_study_table_find(const xf_study_table *table, const char *id);

#endif
